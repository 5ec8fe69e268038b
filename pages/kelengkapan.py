"""Pusdatin: which senders have sent each dataset for a month, and each part's versions."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import Role
from ocenter.display.charts import completeness_chart
from ocenter.reference import reference_rows

ctx, viewer = ui.page("kelengkapan")
contracts = {i: c for i, c in ctx.store.snapshot("main").contracts.items() if c.partitioning}
if not contracts:
    st.info(ui.tr("completeness.none"))
    st.stop()
dataset_id = st.selectbox(ui.tr("completeness.dataset"), options=sorted(contracts),
                          format_func=lambda d: f"{contracts[d].title} ({d})")
cells = procedure.completeness_grid(ctx, viewer, dataset_id, months=12)
periods = sorted({c["period"] for c in cells}, reverse=True)
if not periods:
    st.info(ui.tr("completeness.no_data"))
    st.stop()
period = st.selectbox(ui.tr("completeness.period"), options=periods)
status = procedure.completeness_of(ctx, viewer, dataset_id, period)
missing = [s for s in status.senders if s.status.value == "missing"]

left, middle, right = st.columns(3)
left.metric(ui.tr("completeness.reported"), f"{status.reported} / {status.expected}")
middle.metric(ui.tr("completeness.missing"), len(missing))
right.metric(ui.tr("completeness.newest"), ui.when(status.newest_at)[:10] if status.newest_at else "-",
             help=ui.when(status.newest_at) if status.newest_at else None)

st.subheader(ui.tr("completeness.chart"))
labels = {key: ui.tr(f"completeness.{key}") for key in ("period", "sender", "rows", "status")}
labels |= {f"status.{s}": ui.tr(f"completeness.status.{s}") for s in ("sent", "empty", "missing")}
st.altair_chart(completeness_chart(cells, labels), width="stretch")

names = {row["code"]: row["name"] for row in reference_rows("upt")}
st.dataframe(
    [
        {ui.tr("completeness.sender"): s.sender, ui.tr("completeness.name"): names.get(s.sender, ""),
         ui.tr("completeness.status"): ui.tr(f"completeness.status.{s.status.value}"),
         ui.tr("completeness.rows"): s.rows,
         ui.tr("completeness.newest_period"): s.newest_period or "-",
         ui.tr("completeness.decided_at"): ui.when(s.decided_at) if s.decided_at else "-"}
        for s in sorted(status.senders, key=lambda s: (s.status.value != "missing", s.sender))
    ],
    hide_index=True, width="stretch",
)

st.subheader(ui.tr("completeness.history"))
sender = st.selectbox(ui.tr("completeness.sender"), options=[s.sender for s in status.senders],
                      format_func=lambda code: f"{code} {names.get(code, '')}".strip())
history = procedure.partition_history(ctx, viewer, dataset_id, sender, period)
st.dataframe(
    [
        {ui.tr("completeness.version"): v.id,
         ui.tr("completeness.status"): ui.tr(f"completeness.action.{v.action.value}"),
         ui.tr("completeness.rows"): v.rows, ui.tr("completeness.by"): v.decided_by,
         ui.tr("completeness.decided_at"): ui.when(v.decided_at), ui.tr("completeness.note"): v.note}
        for v in history
    ],
    hide_index=True, width="stretch",
)
if viewer.role == Role.VERIFIKATOR and len(history) > 1:
    with st.form("restore_partition"):
        earlier = st.selectbox(ui.tr("completeness.version"), options=history[1:],
                               format_func=lambda v: f"#{v.id} · {v.rows} · {ui.when(v.decided_at)}")
        note = st.text_area(ui.tr("completeness.restore_reason"))
        if st.form_submit_button(ui.tr("completeness.restore")):
            with ui.guarded():
                procedure.restore_partition(ctx, viewer, earlier.id, note)
                ui.flash(ui.tr("completeness.restored", sender=sender, period=period,
                               version=earlier.id))
                st.rerun()
