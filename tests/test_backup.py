"""Backup and restore: a worked installation backed up and restored into empty ones (SQLite and
PostgreSQL) holds the same rows, commits and files, and its event log verifies; a tampered backup
and a non-empty installation are refused; a backup taken while people work restores whole."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.accounts.login import authority_of
from ocenter.audit import verify_event_log
from ocenter.bootstrap import demo_sampling_frame
from ocenter.config import Settings
from ocenter.context import open_context
from ocenter.database import open_engine
from ocenter.errors import UserError
from ocenter.models import DashboardRequest, Submission
from ocenter.operations import data_files, rows
from ocenter.operations.backup import make_backup
from ocenter.operations.bundle import read_refs
from ocenter.operations.manifest import read_manifest
from ocenter.operations.restore import restore_backup
from ocenter.store.git import _run
from tests.conftest import fresh_postgres_database, settings_for
from tests.test_procedure import WALK_CLOCK, walk_the_procedure

ROOT = Path(__file__).resolve().parent.parent


# --- what an installation holds ------------------------------------------------------------


def database_rows(engine: Engine) -> dict[str, list[dict]]:
    """Every row of every table, all columns, in primary-key order (compared in Python, so the
    order does not depend on the database's collation)."""
    found = {}
    with engine.connect() as connection:
        for table in rows.tables():
            key = [column.name for column in table.primary_key.columns]
            table_rows = [dict(row._mapping) for row in connection.execute(select(table))]
            found[table.name] = sorted(table_rows, key=lambda row, key=key: [row[k] for k in key])
    return found


def store_commits(store_path: Path) -> list[str]:
    """Every commit the store's refs reach, with its tree and parents."""
    out = _run(store_path, ["log", "--all", "--format=%H %T %P"]).stdout.decode()
    return sorted(out.splitlines())


def data_file_digests(home: Path) -> dict[str, str]:
    """SHA-256 of every data file under datasets/ and uploads/ (temporaries left out)."""
    found = {}
    for folder in data_files.DATA_FOLDERS:
        for path in (home / folder).rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                found[path.relative_to(home).as_posix()] = data_files.sha256_of(path).sha256
    return found


def installation(settings: Settings) -> dict:
    """What a restore must bring back: rows, refs, commits, files, and who pushed what."""
    engine = open_engine(settings.database_url)
    try:
        audit = verify_event_log(engine)
        state = {"rows": database_rows(engine), "intact": audit.intact, "events": audit.chained}
    finally:
        engine.dispose()
    pushers = settings.store_path / "ocenter-pushers"
    state |= {
        "refs": read_refs(settings.store_path),
        "commits": store_commits(settings.store_path) if settings.store_path.exists() else [],
        "files": data_file_digests(settings.home),
        "pushers": pushers.read_text(encoding="utf-8") if pushers.exists() else None,
    }
    return state


# --- a worked installation, backed up once ---------------------------------------------------


@pytest.fixture(scope="module")
def worked(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo installation after real work: a request walked from the form to the unit's
    receipt (returned and accepted data, mock-up rounds, an approval merged into main, the
    letter's PDF), a second request whose mock-up branch stays open, and a push recorded by the
    store's hook."""
    home = tmp_path_factory.mktemp("worked") / "home"
    shutil.copytree(demo_template, home)
    settings = settings_for(home)
    ctx = replace(open_context(settings), clock=WALK_CLOCK)
    try:
        def as_user(username: str):  # noqa: ANN202
            return authority_of(ctx.engine, username, production=False, today=ctx.clock.today())

        walk_the_procedure(ctx, as_user)
        request = procedure.file_request(
            ctx, as_user("direktur"), title="Dasbor kedua", purpose="Mock-up yang masih dibuka.",
            datasets_wanted=["sampling-pengujian"], level=Level.RAHASIA, audience=["eselon2"])
        procedure.state_no_new_data(ctx, as_user("analis"), request.id,
                                    "Data sampling yang sudah diterima cukup.")
        procedure.start_mockup(ctx, as_user("analis"), request.id)
    finally:
        ctx.engine.dispose()
    (settings.store_path / "ocenter-pushers").write_text(
        f"{read_refs(settings.store_path)['refs/heads/main']} pengembang\n", encoding="utf-8")
    return settings


@pytest.fixture(scope="module")
def backup_of_worked(worked: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the worked installation, made with the command an operator runs."""
    destination = tmp_path_factory.mktemp("backups") / "nightly"
    made = _ocenter("backup", str(destination), home=worked.home)
    assert made.returncode == 0, made.stderr
    # A line per phase, with counts, on standard error.
    assert [line.split(":")[0] for line in made.stderr.splitlines()] == ["database", "store", "files"]
    assert "backup written to" in made.stdout
    return destination


def _ocenter(*args: str, home: Path, database_url: str | None = None):  # noqa: ANN202
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OCENTER_HOME": str(home), "OCENTER_MODE": "demo"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ocenter", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def _quiet(_line: str) -> None:
    pass


def _sequences_go_on(settings: Settings) -> None:
    """The restored installation takes new work: new ids follow the restored ones (PostgreSQL's
    counters were moved past them), and the new event extends the restored chain."""
    ctx = open_context(settings)
    try:
        with ctx.engine.connect() as connection:
            highest = connection.execute(select(DashboardRequest.id).order_by(
                DashboardRequest.id.desc())).scalars().first()
        direktur = authority_of(ctx.engine, "direktur", production=False, today=ctx.clock.today())
        request = procedure.file_request(
            ctx, direktur, title="Setelah pemulihan", purpose="Pekerjaan baru.",
            datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS, audience=["eselon2"])
        assert request.id == highest + 1
        assert verify_event_log(ctx.engine).intact
    finally:
        ctx.engine.dispose()


# --- restoring -----------------------------------------------------------------------------


def test_the_manifest_records_the_snapshot_the_refs_and_every_files_digest(worked, backup_of_worked):
    manifest = json.loads((backup_of_worked / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "ocenter-backup" and manifest["format_version"] == 1
    assert manifest["database"]["dialect"] == "sqlite" and manifest["app_version"]
    assert manifest["store"]["refs"] == read_refs(worked.store_path)
    assert manifest["data"]["problems"] == []
    original = installation(worked)
    assert {name: dump["rows"] for name, dump in manifest["database"]["tables"].items()} == \
        {name: len(table) for name, table in original["rows"].items()}
    for relative, digest in original["files"].items():
        assert manifest["files"][f"files/{relative}"]["sha256"] == digest
    listed = {p.relative_to(backup_of_worked).as_posix() for p in backup_of_worked.rglob("*")
              if p.is_file()}
    assert listed == {*manifest["files"], "manifest.json"}
    bundle = _run(None, ["bundle", "list-heads", str(backup_of_worked / "store.bundle")],
                  cwd=backup_of_worked).stdout.decode()
    assert {line.split()[1]: line.split()[0] for line in bundle.splitlines()
            if line.split()[1].startswith("refs/")} == manifest["store"]["refs"]


def test_a_backup_restores_into_an_empty_sqlite_installation_as_it_was(
    worked, backup_of_worked, tmp_path
):
    target = settings_for(tmp_path / "restored")
    restored = _ocenter("restore", str(backup_of_worked), home=target.home)
    assert restored.returncode == 0, restored.stderr
    assert "audit: Event log intact" in restored.stderr
    assert installation(target) == installation(worked)
    assert installation(target)["intact"] and installation(target)["events"] > 400
    _sequences_go_on(target)


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgresql_and_back(worked, backup_of_worked, tmp_path):
    original = installation(worked)
    with fresh_postgres_database() as url:
        on_postgres = settings_for(tmp_path / "pg-home", url)
        result = restore_backup(on_postgres, backup_of_worked, _quiet)
        assert result.audit.intact and result.problems == []
        assert installation(on_postgres) == original
        # Backed up again from PostgreSQL, the dump is the same bytes as from SQLite.
        again = make_backup(on_postgres, tmp_path / "from-pg", _quiet)
        first = json.loads((backup_of_worked / "manifest.json").read_text(encoding="utf-8"))
        assert again.manifest.database.dialect == "postgresql"
        assert {name: entry.sha256 for name, entry in again.manifest.files.items()} == \
            {name: entry["sha256"] for name, entry in first["files"].items()}
        _sequences_go_on(on_postgres)
    back_on_sqlite = settings_for(tmp_path / "sqlite-again")
    restore_backup(back_on_sqlite, tmp_path / "from-pg", _quiet)
    assert installation(back_on_sqlite) == original


@pytest.mark.parametrize("victim", ["files/uploads", "files/datasets", "database/event.jsonl.gz",
                                    "store.bundle"])
def test_a_tampered_backup_is_refused_naming_the_file_and_nothing_is_written(
    backup_of_worked, tmp_path, victim
):
    copy = tmp_path / "copy"
    shutil.copytree(backup_of_worked, copy)
    name = next(p for p in sorted(copy.rglob("*")) if p.is_file()
                and p.relative_to(copy).as_posix().startswith(victim))
    data = bytearray(name.read_bytes())
    data[len(data) // 2] ^= 0x01
    name.write_bytes(bytes(data))
    target = settings_for(tmp_path / "target")
    with pytest.raises(UserError) as refused:
        restore_backup(target, copy, _quiet)
    assert refused.value.key == "backup.tampered"
    assert name.relative_to(copy).as_posix() in str(refused.value)
    assert name.relative_to(copy).as_posix() in refused.value.text("id")
    assert not target.store_path.exists() and not (target.home / "ocenter.db").exists()
    assert not (target.home / "datasets").exists() and not (target.home / "uploads").exists()


def test_an_event_changed_with_its_digest_recomputed_is_found_by_the_chain_after_restore(
    backup_of_worked, tmp_path
):
    """Someone who rewrites an event in the dump and its digest in the manifest passes the file
    checks; the event log's chain, verified after the restore, names the entry."""
    copy = tmp_path / "copy"
    shutil.copytree(backup_of_worked, copy)
    dump = copy / "database" / "event.jsonl.gz"
    events = [json.loads(line) for line in gzip.decompress(dump.read_bytes()).decode().splitlines()]
    events[9]["detail"] += " (edited)"
    dump.write_bytes(gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode()))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["database/event.jsonl.gz"] = {
        "sha256": data_files.sha256_of(dump).sha256, "size": dump.stat().st_size}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(UserError) as refused:
        restore_backup(settings_for(tmp_path / "target"), copy, _quiet)
    assert refused.value.key == "backup.chain_broken"
    assert f"#{events[9]['id']}" in str(refused.value)


def test_a_manifest_naming_a_path_outside_the_backup_is_refused(backup_of_worked, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(backup_of_worked, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["files"].pop(next(iter(manifest["files"])))
    manifest["files"]["files/../../outside"] = entry
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(UserError) as refused:
        restore_backup(settings_for(tmp_path / "target"), copy, _quiet)
    assert refused.value.key == "backup.bad_path"


def test_a_backup_of_another_schema_revision_is_refused_before_anything_is_written(
    backup_of_worked, tmp_path, monkeypatch
):
    from ocenter.migrations import HEAD
    from ocenter.operations import restore

    assert read_manifest(backup_of_worked).database.alembic_revision == HEAD
    copy = tmp_path / "copy"
    shutil.copytree(backup_of_worked, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["database"]["alembic_revision"] = "0999"  # taken by a newer version of the app
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    target = settings_for(tmp_path / "target")
    with pytest.raises(UserError) as refused:
        restore_backup(target, copy, _quiet)
    assert refused.value.key == "backup.revision_newer"
    assert "0999" in refused.value.text("en") and HEAD in refused.value.text("id")
    assert not target.store_path.exists() and not (target.home / "ocenter.db").exists()
    # This version needs a revision the backup's database had not reached yet.
    monkeypatch.setattr(restore, "HEAD", "0002")
    with pytest.raises(UserError) as refused:
        restore_backup(target, backup_of_worked, _quiet)
    assert refused.value.key == "backup.revision_behind"
    assert "python -m ocenter db upgrade" in refused.value.text("id")
    assert not target.store_path.exists() and not (target.home / "ocenter.db").exists()


def test_a_restore_that_fails_while_writing_leaves_the_installation_empty_to_run_it_again(
    worked, backup_of_worked, tmp_path, monkeypatch
):
    from ocenter.operations import restore

    target = settings_for(tmp_path / "target")
    said: list[str] = []

    def disk_full(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    # The files and the store are written, then the database fails part way.
    monkeypatch.setattr(restore.rows, "load_tables", disk_full)
    with pytest.raises(OSError, match="No space left"):
        restore_backup(target, backup_of_worked, said.append)
    assert said[-1].endswith("the installation is empty again")
    assert not target.store_path.exists()
    for folder in ("datasets", "uploads"):
        assert not [p for p in (target.home / folder).rglob("*") if p.is_file()]
    monkeypatch.undo()
    # Nothing to empty by hand: the same restore runs again and gives the backup's installation.
    result = restore_backup(target, backup_of_worked, _quiet)
    assert result.audit.intact and result.files == len(
        [name for name in read_manifest(backup_of_worked).files if name.startswith("files/")])
    assert read_refs(target.store_path) == read_manifest(backup_of_worked).store.refs


def test_a_restore_into_a_working_installation_is_refused_and_changes_nothing(
    backup_of_worked, demo_home
):
    target = settings_for(demo_home)
    before = installation(target)
    refused = _ocenter("restore", str(backup_of_worked), home=demo_home)
    assert refused.returncode == 2
    assert "empty installation" in refused.stderr and "Traceback" not in refused.stderr
    assert installation(target) == before


def test_a_restore_is_refused_by_a_store_or_files_left_in_the_installation(
    backup_of_worked, worked, tmp_path
):
    with_store = settings_for(tmp_path / "with-store")
    shutil.copytree(worked.store_path, with_store.store_path)
    with pytest.raises(UserError) as refused:
        restore_backup(with_store, backup_of_worked, _quiet)
    assert refused.value.key == "backup.target_store_not_empty"
    assert not (with_store.home / "ocenter.db").exists()

    with_files = settings_for(tmp_path / "with-files")
    (with_files.home / "uploads").mkdir(parents=True)
    (with_files.home / "uploads" / "left.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        restore_backup(with_files, backup_of_worked, _quiet)
    assert refused.value.key == "backup.target_files_not_empty"
    assert not with_files.store_path.exists()


def test_a_backup_never_writes_into_a_folder_that_holds_something(worked, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        make_backup(worked, occupied, _quiet)
    assert refused.value.key == "backup.destination_not_empty"
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]
    with pytest.raises(UserError) as refused:
        make_backup(worked, worked.home / "datasets" / "backup", _quiet)
    assert refused.value.key == "backup.destination_inside"


# --- a backup while people work ------------------------------------------------------------


def test_a_backup_taken_while_data_is_accepted_restores_to_rows_and_files_that_agree(
    demo_ctx, tmp_path, monkeypatch
):
    """A UPT keeps sending files that Pusdatin receives, checks and accepts (each acceptance
    writes a dataset version, rebuilds the integrated dataset and removes an older build) while
    the backup runs; the restored installation is one moment of that work.

    The backup pauses after its snapshot has named the integrated builds, long enough for two
    more acceptances: the second would remove the build the snapshot names, unless the backup
    holds the builds until it has copied them (then the acceptances wait)."""
    upt = authority_of(demo_ctx.engine, "upt", production=False)
    verifier = authority_of(demo_ctx.engine, "verifikator", production=False)
    region = demo_sampling_frame(demo_ctx.clock.today(), months=12)
    region = region[region["kode_upt"] == upt.unit_code].reset_index(drop=True)
    stop, first_done, failures, accepted = threading.Event(), threading.Event(), [], []

    def keep_working() -> None:
        try:
            for size in range(40, len(region)):
                if stop.is_set():
                    return
                content = region.tail(size).to_csv(index=False).encode("utf-8")
                sent = procedure.submit_data(demo_ctx, upt, dataset_id="sampling-pengujian",
                                             level=Level.TERBATAS, filename="kiriman.csv",
                                             content=content)
                procedure.receive_submission(demo_ctx, verifier, sent.id)
                assert procedure.check_submission(demo_ctx, verifier, sent.id).valid
                procedure.decide_submission(demo_ctx, verifier, sent.id, accept=True, note="")
                accepted.append(sent.id)
                first_done.set()
        except BaseException as error:  # reported by the test below
            failures.append(error)
            first_done.set()

    named_builds = data_files.newest_builds

    def builds_then_pause(connection):  # noqa: ANN001, ANN202
        builds, start = named_builds(connection), len(accepted)
        deadline = time.monotonic() + 4
        while len(accepted) < start + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setattr(data_files, "newest_builds", named_builds)
        return builds

    monkeypatch.setattr(data_files, "newest_builds", builds_then_pause)
    worker = threading.Thread(target=keep_working)
    worker.start()
    try:
        assert first_done.wait(120)
        result = make_backup(demo_ctx.settings, tmp_path / "busy", _quiet)
    finally:
        stop.set()
        worker.join(300)
    assert not failures, failures
    with demo_ctx.engine.connect() as connection:
        sent_by_then = connection.execute(select(Submission.id)).scalars().all()
    dumped = result.manifest.database.tables["submission"].rows
    assert result.manifest.data.problems == []
    assert 76 < dumped <= len(sent_by_then)

    target = settings_for(tmp_path / "restored")
    restored = restore_backup(target, tmp_path / "busy", _quiet)
    assert restored.audit.intact and restored.problems == []
    engine = open_engine(target.database_url)
    try:
        with engine.connect() as connection:
            named = data_files.named_files(connection)
            restored_ids = connection.execute(select(Submission.id)).scalars().all()
    finally:
        engine.dispose()
    # Every file a restored row names is there, with the bytes its row records.
    on_disk = {name: data_files.sha256_of(target.home / name) for name in data_file_digests(target.home)}
    assert data_files.missing_or_altered(named, on_disk) == []
    # The snapshot is a moment: the submissions up to one of them, none skipped.
    assert sorted(restored_ids) == sorted(sent_by_then)[:dumped]
