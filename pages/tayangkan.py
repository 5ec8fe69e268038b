"""Step 8: show the dashboard on the Operational Center display, to each by their authority."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import Tier
from ocenter.models import RequestStatus
from ocenter.reference import reference_rows

ctx, viewer = ui.page("tayangkan")
request = ui.choose_request(ctx, viewer, (RequestStatus.CLASSIFIED,), nothing_key="show.nothing",
                            choose_key="show.choose")
main = ctx.store.snapshot("main")
spec = main.specs[request.dashboard_id]
lifecycle = main.lifecycle_of(spec.id)

# Preview exactly what a stakeholder of each tier will receive: the server filters, then draws.
st.write(ui.tr("show.preview_as"))
tier = st.radio(ui.tr("show.profile"), options=procedure.classification_tiers(request, spec, lifecycle),
                horizontal=True, format_func=lambda t: ui.tr(f"tier.{t.value}"))
upt_code = None
if tier == Tier.KEPALA_UPT:
    upt_code = st.selectbox(ui.tr("show.upt"), options=[row["code"] for row in reference_rows("upt")])
with ui.guarded():  # a tier outside the dashboard's audience is told so
    ui.show_dashboard(ctx, spec, main.contracts, procedure.preview_viewer(tier, viewer, request, upt_code),
                      lifecycle)
if st.button(ui.tr("show.go"), type="primary"):
    with ui.guarded():
        commit = procedure.put_on_display(ctx, viewer, request.id)
        ui.flash(ui.tr("show.done", commit=commit[:8]))
        st.rerun()
