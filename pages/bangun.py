"""Step 6: Pusdatin builds the approved dashboard for the Operational Center display (15 HK)."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import RequestStatus

ctx, viewer = ui.page("bangun")
requests = {r.id: r for r in procedure.list_requests(ctx, viewer)
            if r.status == RequestStatus.APPROVED}
if not requests:
    st.success(ui.tr("build.nothing"))
    st.stop()
chosen = st.selectbox(ui.tr("build.choose"), options=list(requests),
                      format_func=lambda i: f"#{i} · {requests[i].title}")
request = requests[chosen]
clock = procedure.request_clock(request)
(st.error if clock.overdue else st.info)(
    ui.tr("beranda.due", due=clock.due.isoformat(), used=clock.used_hk, standard=clock.standard_hk)
)
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
