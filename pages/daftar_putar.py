"""The wall screens' playlists: Pusdatin decides which dashboards on display each wall screen of
the Operational Center shows, in what order and for how many seconds each."""

import streamlit as st

from ocenter import ui
from ocenter.display.filtering import visible_specs
from ocenter.procedure import wall

ctx, viewer = ui.page("daftar-putar")
screens = wall.wall_screens(ctx)
if not screens:
    st.info(ui.tr("playlist.no_screens"))
    st.stop()
on_display = ctx.store.snapshot("main").displayed_specs()
# Titles the analyst may read; any other dashboard on display is offered by its id alone.
readable = {spec.id: spec.title for spec in visible_specs(on_display.values(), viewer,
                                                            on_display=on_display.keys())}
if not on_display:
    st.info(ui.tr("display.none"))
    st.stop()

screen = st.selectbox(ui.tr("playlist.screen"), options=screens)  # usernames: plain text
entries = wall.playlist(ctx, screen)
if not entries:
    st.caption(ui.tr("playlist.default", seconds=wall.DEFAULT_SECONDS))
col_order, col_dashboard, col_seconds = (ui.tr_plain("playlist.col_order"),
                                         ui.tr_plain("playlist.col_dashboard"),
                                         ui.tr_plain("playlist.col_seconds"))
edited = st.data_editor(
    [{col_order: n, col_dashboard: e.dashboard_id, col_seconds: e.seconds}
     for n, e in enumerate(entries, start=1)] or [],
    num_rows="dynamic", hide_index=True, width="stretch", key=f"playlist_{screen}",
    column_config={
        col_order: st.column_config.NumberColumn(min_value=1, step=1, required=True),
        col_dashboard: st.column_config.SelectboxColumn(
            options=list(on_display), required=True,
            format_func=lambda i: f"{readable[i]} ({i})" if i in readable else i),
        col_seconds: st.column_config.NumberColumn(min_value=wall.MIN_SECONDS, max_value=wall.MAX_SECONDS,
                                                   step=5, default=wall.DEFAULT_SECONDS, required=True),
    },
)
if st.button(ui.tr("playlist.save"), type="primary"):
    rows = sorted((r for r in edited if r.get(col_dashboard)), key=lambda r: r.get(col_order) or 0)
    with ui.guarded():
        saved = wall.set_playlist(ctx, viewer, screen, [
            wall.PlaylistEntry(dashboard_id=r[col_dashboard],
                               seconds=int(r.get(col_seconds) or wall.DEFAULT_SECONDS)) for r in rows])
        ui.flash(ui.tr("playlist.saved", screen=screen, count=len(saved)))
        st.rerun()
