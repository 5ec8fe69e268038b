"""Authorised parties: dashboards granted by name, with a reason and an end date; revocable."""

from datetime import timedelta

import streamlit as st

from ocenter import ui
from ocenter.accounts import grants

ctx, viewer = ui.page("hak-akses")
st.caption(ui.tr("grants.explain"))
today = ctx.clock.today()

# Every text a person wrote (reasons, names, titles) reaches the page as table cells or widget
# options, which are shown as plain text, never as Markdown.
show_ended = st.toggle(ui.tr("grants.show_ended"), key="grants_show_ended")
entries = grants.list_grants(ctx, viewer, include_ended=show_ended)
if entries:
    rows = []
    for entry in entries:
        row = {
            ui.tr("grants.col_number"): entry.id,
            ui.tr("grants.col_user"): entry.username,
            ui.tr("grants.col_user_name"): entry.user_name,
            ui.tr("grants.col_dashboard"): entry.dashboard_title or entry.dashboard_id,
            ui.tr("grants.col_reason"): entry.reason,
            ui.tr("grants.col_granted_by"): entry.granted_by,
            ui.tr("grants.col_granted_at"): ui.when(entry.granted_at),
            ui.tr("grants.col_expires_on"): entry.expires_on.isoformat(),
        }
        if show_ended:
            row |= {
                ui.tr("grants.col_state"): ui.tr(f"grants.state.{entry.state.value}"),
                ui.tr("grants.col_revoked_by"): entry.revoked_by or "",
                ui.tr("grants.col_revoke_reason"): entry.revoke_reason or "",
            }
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.info(ui.tr("grants.none"))

st.subheader(ui.tr("grants.add"))
dashboards = {d.id: d for d in grants.grantable_dashboards(ctx, viewer)}
if not dashboards:
    st.info(ui.tr("grants.no_dashboards"))
else:
    users = {u.username: u for u in grants.grantees(ctx, viewer)}
    with st.form("grant_add"):
        username = st.selectbox(
            ui.tr("grants.user"), options=list(users), key="grant_user",
            format_func=lambda u: f"{u} · {users[u].name} · {ui.tr('level.' + users[u].clearance.value)}",
        )
        dashboard_id = st.selectbox(
            ui.tr("grants.dashboard"), options=list(dashboards), key="grant_dashboard",
            format_func=lambda d: f"{dashboards[d].title} · {ui.tr('level.' + dashboards[d].level.value)}",
        )
        reason = st.text_area(ui.tr("grants.reason"), max_chars=grants.MAX_REASON_LENGTH,
                              key="grant_reason")
        expires_on = st.date_input(ui.tr("grants.expires_on"), value=today + timedelta(days=365),
                                   min_value=today + timedelta(days=1), key="grant_expires_on")
        if st.form_submit_button(ui.tr("grants.submit"), type="primary"):
            with ui.guarded():
                grant = grants.grant_dashboard(ctx, viewer, username, dashboard_id, reason, expires_on)
                ui.flash(ui.tr("grants.granted", grant=grant.id, username=grant.username,
                               until=grant.expires_on.isoformat()))
                st.session_state.pop("grant_reason", None)
                st.rerun()

active = {e.id: e for e in entries if e.state == grants.GrantState.ACTIVE}
if active:
    st.subheader(ui.tr("grants.revoke"))
    chosen = st.selectbox(
        ui.tr("grants.choose_revoke"), options=list(active), key="revoke_grant",
        format_func=lambda i: f"#{i} · {active[i].username} · "
                              f"{active[i].dashboard_title or active[i].dashboard_id}",
    )
    revoke_reason = st.text_input(ui.tr("grants.revoke_reason"), max_chars=grants.MAX_REASON_LENGTH,
                                  key="revoke_reason")
    if st.button(ui.tr("grants.revoke_button"), key="revoke_button"):
        with ui.guarded():
            grants.revoke_grant(ctx, viewer, chosen, revoke_reason)
            ui.flash(ui.tr("grants.revoked", grant=chosen))
            st.session_state.pop("revoke_reason", None)
            st.rerun()
