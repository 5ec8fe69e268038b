"""The operator's health check: real installations (SQLite and PostgreSQL), a real store, the
command's exit codes, and the administrator's page."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from benchmarks.load_client import free_port
from ocenter.clock import FixedClock
from ocenter.config import SmtpSettings
from ocenter.display.usage import FailureKind, record_failures
from ocenter.operations.health import (
    CHECK_NAMES,
    CheckStatus,
    check_health,
    disk_status,
    health_context,
    installation_health,
)
from ocenter.procedure.reminders import send_reminders
from ocenter.store.mirror import PENDING_MARKER
from tests.conftest import APPTEST_TIMEOUT, PROJECT_ROOT, settings_for
from tests.test_app import _login, logged_in_session

PASSWORD = "Rahasia-Sekali-42"


def _by_name(report) -> dict:  # noqa: ANN001 - HealthReport
    return {check.name: check for check in report.checks}


def _ocenter_health(home: Path, *args: str, database_url: str | None = None):  # noqa: ANN202
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OCENTER_HOME": str(home),
           "OCENTER_MODE": "demo"}
    env.pop("DATABASE_URL", None)
    env.pop("OCENTER_STORE_REMOTE", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ocenter", "health", *args], capture_output=True,
                          text=True, env=env, cwd=PROJECT_ROOT, timeout=120)


def test_a_healthy_demo_installation_is_all_ok(demo_ctx):
    report = check_health(demo_ctx)
    assert [(c.name, c.status) for c in report.checks] == [(n, CheckStatus.OK) for n in CHECK_NAMES]
    assert report.exit_code == 0
    checks = _by_name(report)
    assert checks["database"].params["dialect"] == "sqlite" and checks["database"].unit == "ms"
    assert checks["store"].value == demo_ctx.store.head()[:12]
    assert checks["freshness"].message("en") == "1 datasets with a cadence are on time (0 never sent yet)."
    assert checks["disk"].unit == "GB" and checks["disk"].value > 0
    # The write probe leaves nothing behind.
    assert not [p for p in (demo_ctx.home / "datasets").iterdir() if p.name.startswith(".ocenter-health")]


@pytest.mark.postgres
def test_a_healthy_installation_on_postgresql_is_all_ok(postgres_url, tmp_path):
    from ocenter.bootstrap import initialise

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None)
    try:
        report = check_health(ctx)
    finally:
        ctx.engine.dispose()
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(CHECK_NAMES, CheckStatus.OK)
    database = _by_name(report)["database"]
    assert database.params["dialect"] == "postgresql"
    assert database.params["where"] == "127.0.0.1:5432/" + postgres_url.rsplit("/", 1)[1]


def test_a_dataset_past_its_cadence_is_a_warning_naming_it(demo_ctx):
    later = replace(demo_ctx, clock=FixedClock(demo_ctx.clock.now() + timedelta(days=45)))
    report = check_health(later)
    freshness = _by_name(report)["freshness"]
    assert freshness.status == CheckStatus.WARNING and report.exit_code == 1
    # 45 days after it was accepted, against a cadence of 31: 14 days late (give or take the
    # hour of the day in Jakarta).
    assert freshness.params["datasets"] in ("sampling-pengujian (14)", "sampling-pengujian (13)")
    assert "sampling-pengujian" in freshness.message("id")
    assert [c.name for c in report.checks if c.status != CheckStatus.OK] == ["freshness"]


def test_a_tile_that_failed_yesterday_shows_and_one_of_last_week_does_not(demo_ctx):
    now = demo_ctx.clock.now()
    record_failures(demo_ctx.engine, "pantauan-sampling-pengujian",
                    [("peta-tms", "sampling-pengujian", FailureKind.ALTERED)], now - timedelta(days=1))
    record_failures(demo_ctx.engine, "pantauan-sampling-pengujian",
                    [("tren-bulanan", "sampling-pengujian", FailureKind.UNREADABLE)],
                    now - timedelta(days=7))
    renders = _by_name(check_health(demo_ctx))["renders"]
    assert renders.status == CheckStatus.WARNING and renders.value == 1
    assert renders.params["names"] == "pantauan-sampling-pengujian/peta-tms (altered)"


def test_reminder_mails_that_failed_to_send_are_a_warning(demo_ctx, as_user):
    from tests.test_inbox_reminders import mockup_due_monday_19_october

    mockup_due_monday_19_october(demo_ctx, as_user)
    ctx = replace(demo_ctx, settings=demo_ctx.settings.model_copy(update={"smtp": SmtpSettings(
        host="127.0.0.1", port=free_port(), from_address="ocenter@pom.go.id", timeout_seconds=5)}))
    run = send_reminders(ctx, datetime(2026, 10, 20).date())
    assert run.email_failed >= 2
    notifications = _by_name(check_health(ctx))["notifications"]
    assert notifications.status == CheckStatus.WARNING and notifications.value == run.email_failed


def test_a_ref_to_a_missing_object_fails_the_store_check(demo_ctx):
    (demo_ctx.store.path / "refs" / "heads" / "mockup").mkdir(exist_ok=True)
    (demo_ctx.store.path / "refs" / "heads" / "mockup" / "req-999").write_text("ab" * 20 + "\n")
    store = _by_name(check_health(demo_ctx))["store"]
    assert (store.status, store.message_key) == (CheckStatus.FAILING, "health.store.broken_refs")


def test_a_folder_that_cannot_be_made_fails_the_storage_check(demo_ctx):
    shutil.rmtree(demo_ctx.uploads_dir)
    demo_ctx.uploads_dir.write_text("not a folder")
    storage = _by_name(check_health(demo_ctx))["storage"]
    assert (storage.status, storage.params) == (CheckStatus.FAILING, {"folder": "uploads"})


def test_a_new_installation_without_data_yet_is_all_ok(tmp_path):
    from ocenter.bootstrap import initialise

    ctx = initialise(settings_for(tmp_path / "home", mode="production"), progress=lambda _m: None)
    try:
        assert not (ctx.home / "datasets").exists()  # made by the first accepted upload
        report = check_health(ctx)
    finally:
        ctx.engine.dispose()
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(CHECK_NAMES, CheckStatus.OK)
    assert _by_name(report)["freshness"].message_key == "health.freshness.none"
    assert not [p for p in ctx.home.iterdir() if p.name.startswith(".ocenter-health")]  # probe gone


def test_a_change_waiting_for_its_push_warns_then_fails(demo_home, tmp_path):
    settings = settings_for(demo_home).model_copy(update={"store_remote": str(tmp_path / "remote.git")})
    ctx = health_context(settings)  # no pusher runs here: the marker is what tells
    marker = settings.store_path / PENDING_MARKER
    try:
        assert _by_name(check_health(ctx))["mirror"].message_key == "health.mirror.current"
        marker.write_text("token\n")
        assert _by_name(check_health(ctx))["mirror"].status == CheckStatus.OK  # just made
        hour_ago = time.time() - 3600
        os.utime(marker, (hour_ago, hour_ago))
        mirror = _by_name(check_health(ctx))["mirror"]
        assert (mirror.status, mirror.value) == (CheckStatus.WARNING, 60)
        two_days_ago = time.time() - 2 * 86400
        os.utime(marker, (two_days_ago, two_days_ago))
        assert _by_name(check_health(ctx))["mirror"].status == CheckStatus.FAILING
    finally:
        ctx.engine.dispose()


def test_a_check_that_hangs_is_failing_after_its_time_limit(demo_ctx):
    # Another process holds SQLite's exclusive lock: reading waits for the busy timeout (30 s).
    demo_ctx.engine.dispose()  # the app's own connections closed, as between two page runs
    holder = sqlite3.connect(demo_ctx.home / "ocenter.db", timeout=10)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        report = check_health(demo_ctx, timeout=1.0)
    finally:
        holder.rollback()
        holder.close()
    database = _by_name(report)["database"]
    assert (database.status, database.message_key) == (CheckStatus.FAILING, "health.timeout")
    assert _by_name(report)["freshness"].message_key == "health.needs_database"
    assert _by_name(report)["disk"].status == CheckStatus.OK  # the others are still checked


@pytest.mark.parametrize(("free_gb", "total_gb", "expected"), [
    (50, 100, CheckStatus.OK), (8, 100, CheckStatus.WARNING), (4, 20, CheckStatus.WARNING),
    (0.5, 20, CheckStatus.FAILING), (15, 1000, CheckStatus.FAILING), (0, 0, CheckStatus.FAILING),
])
def test_free_disk_limits(free_gb, total_gb, expected):
    assert disk_status(int(free_gb * 1024**3), int(total_gb * 1024**3)) == expected


def test_only_the_administrator_may_read_it(demo_ctx, as_user):
    from ocenter.errors import PermissionDenied

    assert installation_health(demo_ctx, as_user("admin")).status == CheckStatus.OK
    with pytest.raises(PermissionDenied):
        installation_health(demo_ctx, as_user("analis"))


# --- the command ---------------------------------------------------------------------------------


def test_the_command_exits_0_when_all_is_ok_and_1_on_a_warning(demo_home):
    healthy = _ocenter_health(demo_home, "--json")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    document = json.loads(healthy.stdout)
    assert document["status"] == "ok"
    assert [c["name"] for c in document["checks"]] == list(CHECK_NAMES)

    ctx = health_context(settings_for(demo_home))
    try:
        record_failures(ctx.engine, "pantauan-sampling-pengujian",
                        [("peta-tms", "sampling-pengujian", FailureKind.UNREADABLE)], datetime.now(UTC))
    finally:
        ctx.engine.dispose()
    warned = _ocenter_health(demo_home, "--lang", "en")
    assert warned.returncode == 1, warned.stdout + warned.stderr
    assert "warning\trenders\t1\t1 tiles failed to draw" in warned.stdout
    assert "1 tile gagal digambar" in _ocenter_health(demo_home).stdout  # Indonesian unless asked


def test_an_unreachable_database_fails_without_traceback_or_password(demo_home):
    url = f"postgresql+psycopg://ocenter:{PASSWORD}@127.0.0.1:{free_port()}/ocenter"
    for args in ((), ("--json", "--lang", "en")):
        result = _ocenter_health(demo_home, *args, database_url=url)
        assert result.returncode == 2, result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert PASSWORD not in output and "Traceback" not in output
    database = json.loads(result.stdout)["checks"][0]
    assert (database["status"], database["params"]["error"]) == ("failing", "OperationalError")
    assert database["message"].startswith("postgresql at 127.0.0.1:")
    assert result.stderr == ""


# --- the page ------------------------------------------------------------------------------------


def test_the_administrator_sees_every_check_on_the_page(app):
    at = _login(app, "admin")
    at.switch_page("pages/kesehatan_sistem.py").run()
    assert not at.exception, at.exception
    assert "Kesehatan Sistem" in [title.value for title in at.title]
    assert [s.value for s in at.success] == ["Semua pemeriksaan baik."]
    table = at.dataframe[0].value
    assert list(table["Pemeriksaan"]) == ["Basis data", "Penyimpanan spesifikasi (Git)",
                                          "Cermin penyimpanan", "Folder data dan unggahan",
                                          "Ruang disk", "Kebaruan data", "Tile gagal digambar",
                                          "E-mail pengingat"]
    assert set(table["Status"]) == {"baik"}
    at.button(key="health_refresh").click().run()
    assert not at.exception and len(at.dataframe[0].value) == len(CHECK_NAMES)


@pytest.mark.parametrize("username", ["analis", "kepala"])
def test_the_page_does_not_exist_for_other_roles(app, username):
    at = _login(app, username, settle=False)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/kesehatan_sistem.py")


def test_the_page_run_directly_refuses_another_role(demo_home, monkeypatch):
    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = AppTest.from_file("../pages/kesehatan_sistem.py", default_timeout=APPTEST_TIMEOUT)
    at.session_state["ocenter_session"] = logged_in_session(demo_home, "analis")
    at.run()
    assert [e.value for e in at.error] == [
        "Anda tidak berwenang membuka halaman atau melakukan tindakan ini."]
    assert not at.dataframe


def test_a_database_at_another_schema_revision_than_the_app_is_named_with_what_to_do(demo_ctx, demo_home,
                                                                                   monkeypatch):
    from sqlalchemy import text

    from ocenter.migrations import HEAD
    from ocenter.operations import health

    def set_revision(statement: str, **values: str) -> None:
        with demo_ctx.engine.begin() as connection:
            connection.execute(text(statement), values)

    assert _by_name(check_health(demo_ctx))["database"].message_key == "health.database.ok"
    # Newer than this app knows: made by a newer version (a downgrade of the app, say).
    set_revision("UPDATE alembic_version SET version_num = '0999'")
    database = _by_name(check_health(demo_ctx))["database"]
    assert (database.status, database.message_key, database.value) == (
        CheckStatus.FAILING, "health.database.newer", "0999")
    unknown = f"revision 0999, which this version of the app does not know (it needs {HEAD})"
    assert unknown in database.message("en")
    command = _ocenter_health(demo_home)
    assert command.returncode == 2 and "0999" in command.stdout and "Traceback" not in command.stderr
    # Behind: the app needs a revision the database has not had yet (an upgrade not migrated).
    set_revision("UPDATE alembic_version SET version_num = :head", head=HEAD)
    monkeypatch.setattr(health, "HEAD", "0002")
    database = _by_name(check_health(demo_ctx))["database"]
    assert (database.status, database.message_key) == (CheckStatus.FAILING, "health.database.behind")
    assert "python -m ocenter db upgrade" in database.message("en")
    assert "python -m ocenter db upgrade" in database.message("id")
    monkeypatch.undo()
    # Made before migrations: the app adopts it at its next start, so only a warning.
    set_revision("DROP TABLE alembic_version")
    database = _by_name(check_health(demo_ctx))["database"]
    assert (database.status, database.message_key) == (CheckStatus.WARNING, "health.database.unversioned")
