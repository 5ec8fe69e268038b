"""Step 8: show the dashboard on the Operational Center display, to each by their authority."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.models import RequestStatus
from ocenter.reference import reference_rows

ctx, viewer = ui.page("tayangkan")
request = ui.choose_request(ctx, viewer, (RequestStatus.CLASSIFIED,), nothing_key="show.nothing",
                            choose_key="show.choose")
main = ctx.store.snapshot("main")
spec = main.specs[request.dashboard_id]

# Preview exactly what a stakeholder of each kind will receive: the server filters, then draws.
st.write(ui.tr("show.preview_as"))
profile = st.radio(ui.tr("show.profile"), options=["kepala", "eselon2", "upt"], horizontal=True,
                   format_func=lambda p: ui.tr(f"audience.{p}"))


def capped(level: Level) -> Level:
    """A preview never shows the analyst more than their own clearance allows."""
    return level if viewer.clearance.allows(level) else viewer.clearance


upt_codes = [row["code"] for row in reference_rows("upt")]
upt_code = st.selectbox(ui.tr("show.upt"), options=upt_codes) if profile == "upt" else None
profiles = {
    "kepala": Authority(username="pratinjau", role=Role.KEPALA,
                        clearance=capped(Level.SANGAT_RAHASIA), scope=ScopeKind.BPOM),
    "eselon2": Authority(username="pratinjau", role=Role.DIREKTUR, clearance=capped(Level.RAHASIA),
                         scope=ScopeKind.UNIT, unit_code=request.requesting_unit),
    "upt": Authority(username="pratinjau", role=Role.KABALAI, clearance=capped(Level.TERBATAS),
                     scope=ScopeKind.UPT, unit_code=upt_code),
}
ui.show_dashboard(ctx, spec, main.contracts, profiles[profile], main.lifecycle_of(spec.id))
if st.button(ui.tr("show.go"), type="primary"):
    with ui.guarded():
        commit = procedure.put_on_display(ctx, viewer, request.id)
        ui.flash(ui.tr("show.done", commit=commit[:8]))
        st.rerun()
