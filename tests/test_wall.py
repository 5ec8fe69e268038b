"""The Operational Center's wall screens: the playlist Pusdatin keeps, the rotation every screen
agrees on, the wall page itself, and a tile that keeps its last good picture when its data
cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.bootstrap import DEMO_DASHBOARD
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.i18n import t
from ocenter.models import Event
from ocenter.procedure import wall
from ocenter.procedure.wall import PlaylistEntry
from tests.test_app import _login

NATIONAL = "ringkasan-pengawasan-nasional"


def test_the_rotation_is_a_function_of_the_clock_that_every_screen_agrees_on():
    entries = [PlaylistEntry(dashboard_id="a", seconds=30), PlaylistEntry(dashboard_id="b", seconds=90)]
    start = datetime.fromtimestamp(120 * 1000, UTC)  # a whole number of rounds after the epoch
    seen = [(s.entry.dashboard_id, s.position, s.count, s.remaining)
            for s in (wall.on_screen(entries, start + timedelta(seconds=k)) for k in (0, 29, 30, 119, 120))]
    assert seen == [("a", 1, 2, 30), ("a", 1, 2, 1), ("b", 2, 2, 90), ("b", 2, 2, 1), ("a", 1, 2, 30)]
    assert wall.on_screen([], start) is None


def test_a_screen_skips_what_it_may_not_see_and_without_a_playlist_shows_all_a_minute_each():
    entries = [PlaylistEntry(dashboard_id="rahasia", seconds=20), PlaylistEntry(dashboard_id="x", seconds=15)]
    assert wall.round_of(entries, ["x", "y"]) == [PlaylistEntry(dashboard_id="x", seconds=15)]
    assert wall.round_of([], ["x", "y"]) == [PlaylistEntry(dashboard_id="x", seconds=60),
                                             PlaylistEntry(dashboard_id="y", seconds=60)]


@pytest.mark.parametrize("rows", [
    [[False]], [[True, True, False], [False], [False, False], [False]], [[True, True, True]] + [[False]] * 4,
    [[False, False, False]] * 4, [[True, True]] * 2 + [[False]] * 2,
])
def test_every_row_of_tiles_fits_a_1920x1080_screen(rows):
    heights = wall.row_heights(rows)
    charts = [h for h, row in zip(heights, rows, strict=True) if not all(row)]
    assert all(100 <= h <= 460 for h in charts)
    used = wall.HEADER + sum(h + wall.TILE_CHROME for h in heights)
    assert used <= 1080
    figures = [h for h, row in zip(heights, rows, strict=True) if all(row)]
    assert all(h == wall.FIGURE_ROW - wall.TILE_CHROME for h in figures)


def test_six_rows_of_charts_do_not_fit_and_get_the_smallest_height():
    assert wall.row_heights([[False]] * 6) == [100] * 6


def test_pusdatin_sets_a_screens_playlist_and_the_log_says_so(demo_ctx, as_user):
    entries = [PlaylistEntry(dashboard_id=NATIONAL, seconds=20),
               PlaylistEntry(dashboard_id=DEMO_DASHBOARD, seconds=45)]
    assert wall.set_playlist(demo_ctx, as_user("analis"), "layar", entries) == entries
    assert wall.playlist(demo_ctx, "layar") == entries
    assert wall.wall_screens(demo_ctx) == ["layar"]
    with Session(demo_ctx.engine) as session:
        logged = session.exec(select(Event).where(Event.action == "wall.playlist_set")).one()
    assert logged.detail == f"layar: {NATIONAL} 20s, {DEMO_DASHBOARD} 45s"
    # An empty playlist goes back to every dashboard the screen may see.
    assert wall.set_playlist(demo_ctx, as_user("analis"), "layar", []) == []


@pytest.mark.parametrize(("who", "screen", "entries", "refusal", "key"), [
    ("kepala", "layar", [], PermissionDenied, "auth.forbidden"),
    ("verifikator", "layar", [], PermissionDenied, "auth.forbidden"),
    ("analis", "kepala", [], NotFound, "wall.not_a_screen"),
    ("analis", "layar", [NATIONAL, NATIONAL], UserError, "wall.twice"),
    ("analis", "layar", ["dasbor-9999"], NotFound, "wall.not_on_display"),
    ("analis", "layar", [NATIONAL] * 0 + [f"d{n}" for n in range(51)], UserError, "wall.too_many"),
])
def test_a_playlist_is_refused_with_its_reason_and_nothing_changes(
        demo_ctx, as_user, who, screen, entries, refusal, key):
    before = [PlaylistEntry(dashboard_id=NATIONAL, seconds=30)]
    wall.set_playlist(demo_ctx, as_user("analis"), "layar", before)
    with pytest.raises(refusal) as refused:
        wall.set_playlist(demo_ctx, as_user(who), screen,
                          [PlaylistEntry(dashboard_id=d) for d in entries])
    assert refused.value.key == key
    assert wall.playlist(demo_ctx, "layar") == before


def test_a_playlist_entry_stays_between_ten_seconds_and_an_hour():
    with pytest.raises(ValueError, match="greater than or equal to 10"):
        PlaylistEntry(dashboard_id=NATIONAL, seconds=5)
    with pytest.raises(ValueError, match="less than or equal to 3600"):
        PlaylistEntry(dashboard_id=NATIONAL, seconds=3601)


# --- the wall page ----------------------------------------------------------------------------


def _wall_texts(at) -> str:  # noqa: ANN001 - AppTest
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.warning, *at.info))


def test_the_wall_screen_shows_its_playlist_full_screen_without_the_page_chrome(app, demo_ctx, as_user):
    wall.set_playlist(demo_ctx, as_user("analis"), "layar",
                      [PlaylistEntry(dashboard_id=NATIONAL, seconds=3600)])
    at = _login(app, "layar")
    assert not at.exception, at.exception
    assert not at.title  # no page title, step caption or banner: the dashboard has the screen
    assert not [w for w in at.warning if w.value == t("app.demo_banner", "id")]
    texts = _wall_texts(at)
    assert "Ringkasan Pengawasan Nasional" in texts
    assert t("wall.position", "id", position=1, count=1, seconds=0).split(" · ")[0] in texts
    styles = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert 'data-testid="stSidebar"' in styles and "#0b1220" in styles
    assert 'class="ocenter-demo"' in styles  # the demo label, small, in the corner
    # Every tile says the level of the data it shows and how recent it is.
    level = t("level.terbatas", "id")
    assert sum(1 for c in at.caption if c.value.startswith(level)) >= 4


def test_a_viewer_asks_for_the_wall_and_leaves_it(app):
    at = _login(app, "kepala")
    at.switch_page("pages/tampilan.py").run()
    at.button(key="wall_on").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("layar") == "1" and not at.title
    at.button(key="wall_leave").click().run()
    assert not at.query_params.get("layar")
    assert at.title[0].value == t("page.tampilan", "id")


def _stale_notes(at) -> list[str]:  # noqa: ANN001 - AppTest
    return [w.value for w in at.warning if w.value != t("app.demo_banner", "id")]


def test_a_tile_whose_data_cannot_be_read_keeps_its_last_good_picture(app, demo_home):
    from ocenter.verification.datasets import dataset_dir

    at = _login(app, "kepala")
    at.switch_page("pages/tampilan.py").run()
    at.selectbox[0].set_value(NATIONAL).run()
    drawn = len(at.get("vega_lite_chart"))
    assert drawn >= 2 and not _stale_notes(at)
    for stored in dataset_dir(demo_home, "sampling-pengujian").glob("*.parquet"):
        stored.unlink()  # the storage is gone: nothing can be read
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == drawn  # the same pictures, still there
    stale = _stale_notes(at)
    assert len(stale) == 5 and all(w.startswith("Gambar terakhir yang baik") for w in stale)


def test_a_stale_picture_is_never_shown_to_a_viewer_of_another_authority(demo_ctx, monkeypatch):
    """The last good picture is kept by the viewer's cut: a viewer of another authority gets the
    message, not the picture drawn for someone who may see more."""
    from ocenter.display import render
    from ocenter.display.stale import LastGood
    from ocenter.ui import dashboard_tables

    monkeypatch.setattr(render, "LAST_GOOD", LastGood())
    main = demo_ctx.store.snapshot("main")
    spec = main.displayed_specs()[NATIONAL]
    kepala = Authority(username="k", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM)
    tables, _, _ = dashboard_tables(demo_ctx, spec.datasets, kepala)
    drawn = render.render_dashboard(spec, main.contracts, tables, kepala, "id")
    since = datetime(2026, 11, 30, 1, tzinfo=UTC)
    unreadable = {"sampling-pengujian": since}
    again = render.render_dashboard(spec, main.contracts, {}, kepala, "id", unreadable=unreadable)
    assert [r.chart for r in again] == [r.chart for r in drawn]
    assert all(r.stale_since == since for r in again)
    deputi = Authority(username="d", role=Role.DEPUTI, clearance=Level.TERBATAS, scope=ScopeKind.BPOM)
    other = render.render_dashboard(spec, main.contracts, {}, deputi, "id", unreadable=unreadable)
    assert {r.message for r in other} == {t("render.unreadable", "id")}
    assert all(r.chart is None and r.data is None and r.stale_since == since for r in other)
