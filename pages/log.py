"""The event log: every step of the procedure, who did it and when (the SOP's records)."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.events import action_text, outcome_text

ctx, viewer = ui.page("log")
request_id = st.number_input(ui.tr("log.request"), min_value=0, value=0, step=1,
                             help=ui.tr("log.request_help"))
withheld = ui.tr_plain("log.withheld")
rows = [
    {ui.tr("col.time"): ui.when(e.at), ui.tr("col.actor"): e.actor,
     ui.tr("col.step"): e.step, ui.tr("col.action"): action_text(e.action, ui.lang()),
     ui.tr("col.number"): e.request_id, ui.tr("col.outcome"): outcome_text(e.outcome, ui.lang()),
     ui.tr("col.detail"): e.detail if readable else withheld}
    for e, readable in procedure.readable_events(ctx, viewer, int(request_id) or None)
]
st.dataframe(rows, hide_index=True, width="stretch")
