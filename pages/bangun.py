"""Step 6: Pusdatin builds the approved dashboard for the Operational Center display (15 HK)."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import RequestStatus

ctx, viewer = ui.page("bangun")
request = ui.choose_request(ctx, viewer, (RequestStatus.APPROVED,), nothing_key="build.nothing",
                            choose_key="build.choose")
ui.show_clock(procedure.request_clock(ctx, request))
main = ctx.store.snapshot("main")
spec = main.specs.get(request.dashboard_id)
if spec is None:
    st.error(ui.tr("build.missing", dashboard=request.dashboard_id))
    st.stop()
ui.show_dashboard(ctx, spec, main.contracts, viewer)
if st.button(ui.tr("build.publish"), type="primary"):
    with ui.guarded():
        commit = procedure.build_dashboard(ctx, viewer, request.id)
        ui.flash(ui.tr("build.done", commit=commit[:8]))
        st.rerun()
