"""Step 9's monitoring: views counted once a minute per viewer and day however often the display
runs, views per day and tier, who of the audience never opened the dashboard, data freshness
against the contract's cadence, failed tiles; only for Pusdatin's analysts, and never at the cost
of the display."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.clock import WIB, FixedClock
from ocenter.database import make_engine
from ocenter.display.usage import (
    DashboardView,
    FailureKind,
    TileFailure,
    note_view,
    record_failures,
    record_view,
)
from ocenter.errors import PermissionDenied
from ocenter.models import DatasetVersion, PartitionVersion, User
from ocenter.procedure.monitoring import FreshnessStatus, dashboard_monitoring, freshness_of
from ocenter.verification.datasets import dataset_dir
from tests.test_app import _login

REQUEST = 1  # the demo's request on display, waiting for its evaluation
DASHBOARD = "pantauan-sampling-pengujian"
DATASET = "sampling-pengujian"  # its contract expects data every 31 days


def _views(engine, username: str | None = None) -> list[DashboardView]:  # noqa: ANN001
    with Session(engine) as session:
        query = select(DashboardView).where(DashboardView.dashboard_id == DASHBOARD)
        if username:
            query = query.where(DashboardView.username == username)
        return list(session.exec(query.order_by(DashboardView.day)).all())


def _refuse_writes(engine, table: str) -> None:  # noqa: ANN001
    """Make every write to ``table`` fail, as a full or broken database would."""
    with engine.begin() as connection:
        for when in ("INSERT", "UPDATE"):
            connection.execute(text(
                f"CREATE TRIGGER refuse_{table}_{when.lower()} BEFORE {when} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"))


def test_a_view_is_counted_once_a_minute_per_viewer_and_day(demo_ctx, as_user):
    kepala = as_user("kepala")
    ten = FixedClock.wib(2026, 12, 1, 10).now()
    written = [record_view(demo_ctx.engine, DASHBOARD, kepala, ten + timedelta(seconds=5 * i))
               for i in range(12)]  # the wall runs every 5 s: one minute of runs
    assert written == [True] + [False] * 11
    assert [(v.day.isoformat(), v.views, v.tier) for v in _views(demo_ctx.engine)] == [
        ("2026-12-01", 1, "kepala_bpom")]
    record_view(demo_ctx.engine, DASHBOARD, kepala, ten + timedelta(minutes=5))
    # 23:30 WIB is still the 1st in Jakarta; 00:30 WIB on the 2nd is a new day (UTC says the 1st).
    record_view(demo_ctx.engine, DASHBOARD, kepala, FixedClock.wib(2026, 12, 1, 23, 30).now())
    record_view(demo_ctx.engine, DASHBOARD, kepala, FixedClock.wib(2026, 12, 2, 0, 30).now())
    rows = _views(demo_ctx.engine)
    assert [(v.day.isoformat(), v.views) for v in rows] == [("2026-12-01", 3), ("2026-12-02", 1)]
    assert rows[0].first_seen_at.replace(tzinfo=UTC) == ten


def test_views_per_day_and_tier_and_who_never_opened(demo_ctx, as_user):
    engine = demo_ctx.engine
    day1, day2 = FixedClock.wib(2026, 12, 1, 9).now(), FixedClock.wib(2026, 12, 2, 9).now()
    for minute in range(3):  # three minutes on the wall on the 1st
        record_view(engine, DASHBOARD, as_user("layar"), day1 + timedelta(minutes=minute))
    record_view(engine, DASHBOARD, as_user("kepala"), day1)
    record_view(engine, DASHBOARD, as_user("kepala"), day2)
    record_view(engine, DASHBOARD, as_user("direktur"), day2)
    record_view(engine, "another-dashboard", as_user("deputi"), day2)  # not this one
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 2, 15))
    found = dashboard_monitoring(ctx, as_user("analis"), REQUEST)
    assert (found.first_day.isoformat(), found.last_day.isoformat()) == ("2026-11-03", "2026-12-02")
    assert [(v.day.isoformat(), v.tier, v.views, v.viewers) for v in found.views] == [
        ("2026-12-01", "kepala_bpom", 1, 1),
        ("2026-12-01", "wall_screen", 3, 1),
        ("2026-12-02", "eselon_2", 1, 1),
        ("2026-12-02", "kepala_bpom", 1, 1),
    ]
    # Request 1 is meant for Kepala BPOM, Eselon I, Eselon II and Kepala UPT: kepala, deputi,
    # direktur (its owner unit) and kabalai (a UPT head: the audience names Kepala UPT) may open it.
    assert found.audience == 4
    assert sorted(m.username for m in found.never_opened) == ["deputi", "kabalai"]
    # A period of one day sees only the 2nd.
    one_day = dashboard_monitoring(ctx, as_user("analis"), REQUEST, days=1)
    assert {v.day.isoformat() for v in one_day.views} == {"2026-12-02"}


def test_freshness_is_late_after_the_contracts_cadence(demo_ctx, as_user):
    with Session(demo_ctx.engine) as session:
        accepted = session.exec(select(func.max(DatasetVersion.accepted_at))
                                .where(DatasetVersion.dataset_id == DATASET)).one()
    accepted_day = accepted.replace(tzinfo=UTC).astimezone(WIB).date()

    def status_on(days_later: int):  # noqa: ANN202
        day = accepted_day + timedelta(days=days_later)
        ctx = replace(demo_ctx, clock=FixedClock.wib(day.year, day.month, day.day, 12))
        (only,) = dashboard_monitoring(ctx, as_user("analis"), REQUEST).freshness
        return only

    on_time, late = status_on(31), status_on(32)
    assert (on_time.dataset_id, on_time.cadence_days, on_time.age_days) == (DATASET, 31, 31)
    assert on_time.status == FreshnessStatus.ON_TIME
    assert (late.age_days, late.status) == (32, FreshnessStatus.LATE)
    assert late.due_on == accepted_day + timedelta(days=31)
    with Session(demo_ctx.engine) as session:  # the newest month any sender has rows for
        newest_month = session.exec(select(func.max(PartitionVersion.period)).where(
            PartitionVersion.dataset_id == DATASET, PartitionVersion.rows > 0)).one()
    assert on_time.newest_period == newest_month and len(newest_month) == 7


def test_freshness_without_data_or_cadence():
    day = FixedClock.wib(2026, 12, 2).today()
    assert freshness_of("d", 7, None, day).status == FreshnessStatus.NO_DATA
    at = datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert freshness_of("d", None, at, day).status == FreshnessStatus.NO_CADENCE
    # Accepted at 23:30 WIB on 24 November (16:30 UTC): counted from the 24th in Jakarta.
    late = freshness_of("d", 7, datetime(2026, 11, 24, 16, 30, tzinfo=UTC), day)
    assert (late.age_days, late.status) == (8, FreshnessStatus.LATE)


def test_failed_tiles_are_counted_per_panel_day_and_kind(demo_ctx, as_user):
    now = FixedClock.wib(2026, 12, 2, 10).now()
    failed = [("kpi-produk-tms", DATASET, FailureKind.UNREADABLE),
              ("tms-per-kategori", DATASET, FailureKind.ALTERED)]
    assert record_failures(demo_ctx.engine, DASHBOARD, failed, now) == 2
    assert record_failures(demo_ctx.engine, DASHBOARD, failed, now + timedelta(seconds=5)) == 0
    assert record_failures(demo_ctx.engine, DASHBOARD, failed[:1], now + timedelta(minutes=1)) == 1
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 2, 15))
    found = dashboard_monitoring(ctx, as_user("analis"), REQUEST)
    assert [(f.panel_id, f.kind, f.failures) for f in found.failed_tiles] == [
        ("kpi-produk-tms", FailureKind.UNREADABLE, 2), ("tms-per-kategori", FailureKind.ALTERED, 1)]


@pytest.mark.parametrize("username", ["kepala", "verifikator", "direktur", "admin"])
def test_only_pusdatins_analysts_read_the_monitoring(demo_ctx, as_user, username):
    with pytest.raises(PermissionDenied) as refused:
        dashboard_monitoring(demo_ctx, as_user(username), REQUEST)
    assert refused.value.key == "monitoring.forbidden"


def test_a_view_that_cannot_be_written_is_logged_and_tried_again(demo_ctx, as_user, caplog):
    _refuse_writes(demo_ctx.engine, "dashboardview")
    now = FixedClock.wib(2026, 12, 2, 10).now()
    assert note_view(demo_ctx.engine, DASHBOARD, as_user("kepala"), now) is False
    assert "was not recorded" in caplog.text
    with demo_ctx.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse_dashboardview_insert"))
    # Not claimed for the minute: the next run of the page writes it.
    assert note_view(demo_ctx.engine, DASHBOARD, as_user("kepala"), now) is True
    assert len(_views(demo_ctx.engine)) == 1


def _open_display(app: AppTest, username: str) -> AppTest:
    at = _login(app, username)
    at.switch_page("pages/tampilan.py").run()
    assert not at.exception, at.exception
    return at


def test_the_display_counts_its_viewer_once_however_many_runs(app, demo_ctx):
    at = _open_display(app, "kepala")
    for _ in range(3):
        at.run()
    assert not at.exception, at.exception
    (row,) = _views(demo_ctx.engine)  # one row for the viewer and the day
    assert row.username == "kepala" and row.tier == "kepala_bpom"
    assert 1 <= row.views <= 2  # once a minute: four runs fall in one minute or, rarely, two


def test_the_display_is_shown_when_counting_fails(app, demo_ctx):
    _refuse_writes(demo_ctx.engine, "dashboardview")
    at = _open_display(app, "kepala")
    assert at.get("vega_lite_chart"), "the dashboard is drawn"
    assert _views(demo_ctx.engine) == []


def test_the_display_counts_tiles_it_cannot_draw(app, demo_ctx, demo_home):
    for stored in dataset_dir(demo_home, DATASET).glob("*.parquet"):
        stored.unlink()
    _open_display(app, "kepala")
    with Session(demo_ctx.engine) as session:
        failed = session.exec(select(TileFailure)).all()
    assert {f.kind for f in failed} == {FailureKind.UNREADABLE}
    assert len(failed) == 7  # every panel of the dashboard reads the dataset


def test_the_evaluation_page_shows_the_monitoring_beside_the_notes(app, demo_ctx, as_user):
    record_view(demo_ctx.engine, DASHBOARD, as_user("kepala"), demo_ctx.clock.now())
    at = _login(app, "analis")
    at.switch_page("pages/evaluasi.py").run()
    assert not at.exception, at.exception
    assert "Pemantauan dasbor" in [h.value for h in at.subheader]
    markdown = [m.value for m in at.markdown]
    assert "**Belum pernah membuka: 3 dari 4 orang sasaran**" in markdown
    assert at.get("vega_lite_chart"), "the views per day, stacked by tier"
    assert [a.label for a in at.text_area] == ["Hasil monitoring dan evaluasi"]  # the notes beside it
    frames = [f.value for f in at.dataframe]
    names = {name for frame in frames for name in frame.get("Nama", [])}
    with Session(demo_ctx.engine) as session:
        assert names == {session.get(User, u).name for u in ("deputi", "direktur", "kabalai")}
    statuses = {s for frame in frames for s in frame.get("Status", [])}
    assert statuses & {"✅ Tepat waktu", "⚠️ Terlambat"}


@pytest.mark.postgres
def test_views_and_failures_add_up_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        kepala = Authority(username="kepala", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA,
                           scope=ScopeKind.BPOM)
        nine = FixedClock.wib(2026, 12, 2, 9).now()
        written = [record_view(engine, DASHBOARD, kepala, nine + timedelta(minutes=m, seconds=s))
                   for m in range(3) for s in (0, 5, 10)]
        assert written.count(True) == 3
        (row,) = _views(engine)
        assert (row.username, row.day.isoformat(), row.views, row.tier) == (
            "kepala", "2026-12-02", 3, "kepala_bpom")
        failed = [("kpi-produk-tms", DATASET, FailureKind.UNREADABLE)]
        record_failures(engine, DASHBOARD, failed, nine)
        record_failures(engine, DASHBOARD, failed, nine + timedelta(minutes=1))
        with Session(engine) as session:
            (tile,) = session.exec(select(TileFailure)).all()
        assert (tile.kind, tile.failures) == (FailureKind.UNREADABLE, 2)
    finally:
        engine.dispose()


def test_every_freshness_status_and_failure_reason_has_words_in_both_languages():
    from ocenter.i18n import t

    keys = [f"monitoring.status.{s.value}" for s in FreshnessStatus]
    keys += [f"monitoring.kind.{k.value}" for k in FailureKind]
    for key in keys:  # a key no catalogue file defines raises KeyError
        assert t(key, "id").strip() and t(key, "en").strip()


def test_a_view_does_not_wait_for_a_long_write(demo_ctx, as_user):
    import sqlite3
    import time

    from ocenter.database import SQLITE_BUSY_SECONDS

    writer = sqlite3.connect(demo_ctx.engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another writer holds the database
        started = time.monotonic()
        assert note_view(demo_ctx.engine, DASHBOARD, as_user("kepala"),
                         FixedClock.wib(2026, 12, 2, 10).now()) is False
        # Given up well before the usual wait of a use case for the lock.
        assert time.monotonic() - started < SQLITE_BUSY_SECONDS / 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert note_view(demo_ctx.engine, DASHBOARD, as_user("kepala"),
                     FixedClock.wib(2026, 12, 2, 10).now()) is True
    # The connection got its usual wait back.
    with demo_ctx.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_SECONDS * 1000
