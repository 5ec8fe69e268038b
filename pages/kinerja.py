"""Pusdatin: its performance as it is judged, each step against the SOP's time standard."""

import streamlit as st

from ocenter import ui
from ocenter.errors import UserError
from ocenter.procedure import performance as perf
from ocenter.procedure.performance_charts import month_chart, on_time_chart

ctx, viewer = ui.page("kinerja")
st.caption(ui.tr("performance.explain"))
chosen = st.date_input(ui.tr("performance.period"), value=perf.default_period(ctx.clock.today()),
                       format="DD/MM/YYYY", key="kinerja_period")
if not isinstance(chosen, tuple) or len(chosen) != 2:
    st.stop()  # the second day of the range is still being picked
try:
    figures = perf.performance(ctx, viewer, chosen[0], chosen[1], ui.lang())
except UserError as error:
    ui.show_error(error)
    st.stop()

decided = sum(s.decided for s in figures.senders)
returned = sum(s.returned for s in figures.senders)
overall = figures.overall
columns = st.columns(5)
columns[0].metric(ui.tr("performance.kpi_completed"), overall.completed if overall else 0)
columns[1].metric(ui.tr("performance.kpi_on_time"), f"{overall.on_time_rate:.0%}" if overall else "-")
columns[2].metric(ui.tr("performance.kpi_median"), f"{overall.median_hk:g}" if overall else "-")
columns[3].metric(ui.tr("performance.kpi_overdue"), len(figures.overdue))
columns[4].metric(ui.tr("performance.kpi_returns"), f"{returned / decided:.0%}" if decided else "-")


def group_table(groups: list[perf.GroupFigures], header_key: str) -> None:
    """One row per group: completed, on time, the rate and the median working days."""
    st.dataframe(
        [{ui.tr_plain(header_key): g.group, ui.tr_plain("performance.col_completed"): g.completed,
          ui.tr_plain("performance.col_on_time_count"): g.on_time,
          ui.tr_plain("performance.col_rate"): f"{g.on_time_rate:.0%}",
          ui.tr_plain("performance.col_median"): g.median_hk} for g in groups],
        hide_index=True, width="stretch",
    )


if overall is None:
    st.info(ui.tr("performance.none"))
else:
    st.subheader(ui.tr("performance.per_step"))
    st.altair_chart(on_time_chart(figures.per_step, ui.lang()), width="stretch")
    group_table(figures.per_step, "performance.col_step")
    st.subheader(ui.tr("performance.per_month"))
    st.altair_chart(month_chart(figures.steps, ui.lang()), width="stretch")
    group_table(figures.per_month, "performance.col_month")
    st.subheader(ui.tr("performance.per_unit"))
    group_table(figures.per_unit, "performance.col_unit")
    st.subheader(ui.tr("performance.per_analyst"))
    group_table(figures.per_analyst, "performance.col_analyst")
    st.download_button(ui.tr("performance.download"), data=perf.steps_csv(figures.steps, ui.lang()),
                       file_name=f"kinerja-{chosen[0].isoformat()}-{chosen[1].isoformat()}.csv",
                       mime="text/csv", key="kinerja_download")

st.subheader(ui.tr("performance.per_sender"))
if figures.senders:
    st.dataframe(
        [{ui.tr_plain("performance.col_sender"): s.unit,
          ui.tr_plain("performance.col_decided"): s.decided,
          ui.tr_plain("performance.col_returned"): s.returned,
          ui.tr_plain("performance.col_return_rate"): f"{s.return_rate:.0%}"}
         for s in figures.senders],
        hide_index=True, width="stretch",
    )
else:
    st.info(ui.tr("performance.no_decisions"))

st.subheader(ui.tr("performance.overdue"))
if figures.overdue:
    st.dataframe(
        [{ui.tr_plain("performance.col_request"): o.request,
          ui.tr_plain("performance.col_unit"): o.unit,
          ui.tr_plain("performance.col_step"): o.step,
          ui.tr_plain("performance.col_due"): o.due.isoformat(),
          ui.tr_plain("performance.col_over"): o.over_hk} for o in figures.overdue],
        hide_index=True, width="stretch",
    )
else:
    st.success(ui.tr("performance.no_overdue"))
