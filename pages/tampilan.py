"""The Operational Center display: approved dashboards on main, filtered by the viewer's authority;
on a wall screen, full screen and in turn, as the screen's playlist says."""

import streamlit as st

from ocenter import ui
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.display.filtering import visible_specs
from ocenter.display.spec import DashboardSpec
from ocenter.procedure import wall
from ocenter.store.models import StoreSnapshot

ctx, viewer = ui.page("tampilan", wall=True)


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
    ui.show_dashboard(ctx, spec, main.contracts, current, main.lifecycle_of(spec.id), record=True)


if ui.in_wall_mode(viewer):
    # The wall: the dashboard on screen follows the clock and the screen's playlist, so every
    # screen with the same playlist agrees and a reload resumes where the round stands. A
    # fragment's run keeps the variables of the last full run, so each run reads the account,
    # main and the playlist again: a screen deactivated or lowered since shows no more than it
    # may now.
    @st.fragment(run_every=5)
    def _wall() -> None:
        current = ui.recheck_viewer(ctx, viewer)
        fresh_main, dashboards = _visible(current)
        entries = wall.playlist(ctx, current.username) if current.role == Role.LAYAR else []
        now = wall.on_screen(wall.round_of(entries, dashboards), ctx.clock.now())
        if now is None:
            st.info(ui.tr("display.none"))
            return
        spec = dashboards[now.entry.dashboard_id]
        title, where = st.columns([5, 1], vertical_alignment="bottom")
        title.markdown(f"### {ui.literal(spec.title_in(ui.lang()))}")
        where.caption(ui.tr("wall.position", position=now.position, count=now.count,
                            seconds=now.remaining))
        st.caption(ui.tr("display.caption", level=ui.tr(f"level.{spec.level.value}"),
                         unit=spec.owner_unit))
        ui.show_dashboard(ctx, spec, fresh_main.contracts, current, fresh_main.lifecycle_of(spec.id),
                          wall=True, record=True)

    _wall()
    if viewer.role != Role.LAYAR:
        st.button(ui.tr("wall.leave"), key="wall_leave", on_click=ui.set_wall_mode, args=(False,))
    st.stop()

main, by_id = _visible(viewer)
if not by_id:
    st.info(ui.tr("display.none"))
    st.stop()
st.button(ui.tr("wall.toggle"), help=ui.tr("wall.toggle_help"), key="wall_on",
          icon=":material/tv:", on_click=ui.set_wall_mode, args=(True,))
chosen = st.selectbox(ui.tr("display.choose"), options=list(by_id),  # options: plain text
                      format_func=lambda i: by_id[i].title_in(ui.lang()))
_show(main, by_id[chosen], viewer)
