"""Kesehatan Sistem: the administrator's view of the installation's health, checked on demand."""

import pandas as pd
import streamlit as st

from ocenter import ui
from ocenter.operations.health import CheckStatus, installation_health

#: Background of the status cell (a light tint, readable with dark text).
_COLOURS = {CheckStatus.OK.value: "#d9f2e3", CheckStatus.WARNING.value: "#fff1c2",
            CheckStatus.FAILING.value: "#f9d0cc"}

ctx, viewer = ui.page("kesehatan-sistem")
st.caption(ui.tr("health.explain"))
st.button(ui.tr("health.refresh"), key="health_refresh", icon=":material/refresh:")

with ui.guarded():
    report = installation_health(ctx, viewer)  # every run: the button only asks for one
    summary = {CheckStatus.OK: st.success, CheckStatus.WARNING: st.warning,
               CheckStatus.FAILING: st.error}[report.status]
    summary(ui.tr(f"health.summary.{report.status.value}"))
    st.caption(ui.tr("health.checked_at", time=ui.when(report.checked_at)))
    status_column = ui.tr_plain("health.col.status")
    table = pd.DataFrame([
        {ui.tr_plain("health.col.check"): ui.tr_plain(f"health.check.{check.name}"),
         status_column: ui.tr_plain(f"health.status.{check.status.value}"),
         ui.tr_plain("health.col.value"):
             "" if check.value is None else f"{check.value} {check.unit}".strip(),
         ui.tr_plain("health.col.message"): check.message(ui.lang()),
         ui.tr_plain("health.col.seconds"): check.seconds}
        for check in report.checks
    ])
    colour_of = {ui.tr_plain(f"health.status.{s.value}"): _COLOURS[s.value] for s in CheckStatus}
    st.dataframe(table.style.map(lambda cell: f"background-color: {colour_of.get(cell, '')}",
                                 subset=[status_column]),
                 hide_index=True, width="stretch")
