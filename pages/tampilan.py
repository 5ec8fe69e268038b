"""The Operational Center display: approved dashboards on main, filtered by the viewer's authority."""

import streamlit as st

from ocenter import ui
from ocenter.accounts.levels import Role
from ocenter.display.filtering import visible_specs

ctx, viewer = ui.page("tampilan")
main = ctx.store.snapshot("main")
shown = main.displayed_specs()
dashboards = visible_specs(shown.values(), viewer, on_display=shown.keys())
if not dashboards:
    st.info(ui.tr("display.none"))
    st.stop()

by_id = {spec.id: spec for spec in dashboards}
if viewer.role == Role.LAYAR and len(by_id) > 1:
    rotate = st.toggle(ui.tr("display.rotate"), value=True)
else:
    rotate = False


def _show(spec_id: str) -> None:
    spec = by_id[spec_id]
    st.header(spec.title)
    st.caption(ui.tr("display.caption", level=ui.tr(f"level.{spec.level.value}"),
                     unit=spec.owner_unit))
    ui.show_dashboard(ctx, spec, main.contracts, viewer, main.lifecycle_of(spec.id))


if rotate:
    # The wall screen cycles through its dashboards, one a minute.
    @st.fragment(run_every=60)
    def _rotating() -> None:
        # A fragment's own runs skip the page's login check: ended sessions and changed
        # authority are checked here, and the whole page runs again if either happened.
        ui.recheck_viewer(ctx, viewer)
        order = list(by_id)
        index = st.session_state.get("display_index", -1) + 1
        st.session_state["display_index"] = index % len(order)
        _show(order[index % len(order)])

    _rotating()
else:
    chosen = st.selectbox(ui.tr("display.choose"), options=list(by_id),
                          format_func=lambda i: by_id[i].title)
    _show(chosen)
