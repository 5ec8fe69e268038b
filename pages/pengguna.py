"""User administration: who may log in, with which role, clearance and scope; locked accounts."""

import streamlit as st

from ocenter import ui
from ocenter.accounts import admin
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.throttle import name_of

ctx, viewer = ui.page("pengguna")
users = admin.list_users(ctx, viewer)
st.dataframe(
    [{ui.tr("col.username"): u.username, ui.tr("col.name"): u.name,
      ui.tr("col.role"): ui.tr(f"role.{u.role.value}"),
      ui.tr("col.level"): ui.tr(f"level.{u.clearance.value}"),
      ui.tr("col.scope"): u.scope.value, ui.tr("col.unit"): u.unit_code,
      ui.tr("col.email"): u.email,
      ui.tr("col.active"): u.active, ui.tr("col.demo"): u.is_demo} for u in users],
    hide_index=True, width="stretch",
)

st.subheader(ui.tr("users.add"))
with st.form("add_user", clear_on_submit=True):
    left, right = st.columns(2)
    username = left.text_input(ui.tr("col.username"))
    name = right.text_input(ui.tr("col.name"))
    role = left.selectbox(ui.tr("col.role"), options=list(Role),
                          format_func=lambda r: ui.tr(f"role.{r.value}"))
    clearance = right.selectbox(ui.tr("col.level"), options=list(Level),
                                format_func=lambda lv: ui.tr(f"level.{lv.value}"))
    scope = left.selectbox(ui.tr("col.scope"), options=list(ScopeKind),
                           format_func=lambda s: ui.tr(f"scope.{s.value}"))
    unit = right.text_input(ui.tr("col.unit"))
    password = left.text_input(ui.tr("login.password"), type="password")
    email = right.text_input(ui.tr("col.email"))
    if st.form_submit_button(ui.tr("users.save"), type="primary"):
        with ui.guarded():
            admin.add_user(ctx, viewer, username=username, name=name, role=role,
                           clearance=clearance, scope=scope, unit_code=unit or None,
                           password=password, email=email)
            ui.flash(ui.tr("users.added", username=username))
            st.rerun()

st.subheader(ui.tr("users.change"))
by_name = {u.username: u for u in users}
target = st.selectbox(ui.tr("col.username"), options=list(by_name), key="change_target")
with st.form("change_user"):
    left, right = st.columns(2)
    # Keyed by the user chosen, so that each starts from that user's own role and clearance.
    new_role = left.selectbox(ui.tr("col.role"), options=list(Role), key=f"change_role_{target}",
                              index=list(Role).index(by_name[target].role),
                              format_func=lambda r: ui.tr(f"role.{r.value}"))
    new_clearance = right.selectbox(ui.tr("col.level"), options=list(Level),
                                    key=f"change_level_{target}",
                                    index=list(Level).index(by_name[target].clearance),
                                    format_func=lambda lv: ui.tr(f"level.{lv.value}"))
    if st.form_submit_button(ui.tr("users.change_button")):
        with ui.guarded():
            admin.change_user(ctx, viewer, target, role=new_role, clearance=new_clearance)
            ui.flash(ui.tr("users.changed", username=target))
            st.rerun()

st.subheader(ui.tr("users.email"))
with st.form("user_email"):
    left, right = st.columns(2)
    email_target = left.selectbox(ui.tr("col.username"), options=list(by_name), key="email_target")
    new_email = right.text_input(ui.tr("col.email"), key="email_value",
                                 help=ui.tr_plain("users.email_help"))
    if st.form_submit_button(ui.tr("users.email_button")):
        with ui.guarded():
            admin.set_email(ctx, viewer, email_target, new_email)
            ui.flash(ui.tr("users.changed", username=email_target))
            st.rerun()

st.subheader(ui.tr("users.toggle"))
target = st.selectbox(ui.tr("col.username"), options=[u.username for u in users],
                      key="toggle_user")
if st.button(ui.tr("users.toggle_button")):
    with ui.guarded():
        now_active = admin.toggle_active(ctx, viewer, target)
        ui.flash(ui.tr("users.now_active" if now_active else "users.now_inactive",
                       username=target))
        st.rerun()

st.subheader(ui.tr("users.locked"))
st.caption(ui.tr("users.locked_help"))
locked = {name_of(row.key): row for row in admin.locked_users(ctx, viewer)}
if not locked:
    st.success(ui.tr("users.none_locked"))
else:
    st.dataframe(
        [{ui.tr("col.username"): name, ui.tr("col.failures"): row.failures,
          ui.tr("col.locked_at"): ui.when(row.locked_at)} for name, row in locked.items()],
        hide_index=True, width="stretch",
    )
    chosen = st.selectbox(ui.tr("col.username"), options=list(locked), key="unlock_user")
    if st.button(ui.tr("users.unlock_button"), key="unlock_button"):
        with ui.guarded():
            admin.unlock_user(ctx, viewer, chosen)
            ui.flash(ui.tr("users.unlocked", username=chosen))
            st.rerun()
