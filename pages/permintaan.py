"""Formulir Permintaan Dashboard: a unit asks Pusdatin for an Operational Center dashboard."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import Level, Tier

ctx, viewer = ui.page("permintaan")
contracts = ctx.store.snapshot("main").contracts

if viewer.role.value in ("unit", "direktur"):
    with st.form("request_form", clear_on_submit=True):
        title = st.text_input(ui.tr("request.title"), max_chars=200)
        purpose = st.text_area(ui.tr("request.purpose"), max_chars=4000)
        wanted = st.multiselect(ui.tr("request.datasets"), options=sorted(contracts),
                                format_func=lambda d: f"{contracts[d].title} ({d})")
        level = st.selectbox(ui.tr("request.level"), options=list(Level),
                             format_func=lambda lv: ui.tr(f"level.{lv.value}"), index=1)
        audience = st.multiselect(ui.tr("request.audience"), options=list(Tier),
                                  format_func=lambda tier: ui.tr(f"tier.{tier.value}"))
        if st.form_submit_button(ui.tr("request.submit"), type="primary"):
            with ui.guarded():
                filed = procedure.file_request(ctx, viewer, title=title, purpose=purpose,
                                               datasets_wanted=wanted, level=level,
                                               audience=audience)
                st.success(ui.tr("request.filed", request=filed.id))

st.subheader(ui.tr("request.list"))
listed = ui.request_list(ctx, viewer, "requests", step_filter=True, page_size=100)
rows = [
    {
        ui.tr("col.number"): r.id,
        ui.tr("col.title"): ui.label_of(viewer, r),  # a table cell: plain text
        ui.tr("col.unit"): r.requesting_unit,
        ui.tr("col.status"): ui.tr(f"status.{r.status.value}"),
        ui.tr("col.filed"): ui.when(r.created_at),
    }
    for r in listed.items
]
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.info(ui.tr("beranda.no_requests"))
