"""The Operational Center display: approved dashboards on main, filtered by the viewer's authority."""

import streamlit as st

from ocenter import ui
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.display.filtering import visible_specs
from ocenter.display.spec import DashboardSpec
from ocenter.store.models import StoreSnapshot

ctx, viewer = ui.page("tampilan")


def _visible(current: Authority) -> tuple[StoreSnapshot, dict[str, DashboardSpec]]:
    """What ``current`` may see on display now, read afresh: main and the authority both."""
    main = ctx.store.snapshot("main")
    shown = main.displayed_specs()
    return main, {spec.id: spec for spec in visible_specs(shown.values(), current,
                                                           on_display=shown.keys())}


def _show(main: StoreSnapshot, spec: DashboardSpec, current: Authority) -> None:
    st.header(ui.literal(spec.title_in(ui.lang())))
    st.caption(ui.tr("display.caption", level=ui.tr(f"level.{spec.level.value}"),
                     unit=spec.owner_unit))
    ui.show_dashboard(ctx, spec, main.contracts, current, main.lifecycle_of(spec.id))


main, by_id = _visible(viewer)
if not by_id:
    st.info(ui.tr("display.none"))
    st.stop()

if viewer.role == Role.LAYAR and len(by_id) > 1:
    rotate = st.toggle(ui.tr("display.rotate"), value=True)
else:
    rotate = False

if rotate:
    # The wall screen cycles through its dashboards, one a minute. A fragment's run keeps the
    # variables of the last full run, so each run reads the account and main again: a screen
    # deactivated or lowered since shows nothing more than it may now.
    @st.fragment(run_every=60)
    def _rotating() -> None:
        # A fragment's own runs skip the page's login check: an ended session or a changed
        # authority runs the whole page again; main is read afresh here.
        current = ui.recheck_viewer(ctx, viewer)
        fresh_main, dashboards = _visible(current)
        if not dashboards:
            st.info(ui.tr("display.none"))
            return
        order = list(dashboards)
        index = st.session_state.get("display_index", -1) + 1
        st.session_state["display_index"] = index % len(order)
        _show(fresh_main, dashboards[order[index % len(order)]], current)

    _rotating()
else:
    chosen = st.selectbox(ui.tr("display.choose"), options=list(by_id),  # options: plain text
                          format_func=lambda i: by_id[i].title_in(ui.lang()))
    _show(main, by_id[chosen], viewer)
