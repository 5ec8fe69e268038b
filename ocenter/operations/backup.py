"""``python -m ocenter backup DEST``: one consistent snapshot of an installation, while it runs.

In this order, each part at least as new as the one before, so that whatever a part names exists
in the parts taken after it:

1. the database, every table in one read transaction (``rows.snapshot``): one point in time;
2. the spec store's refs, read after that point, and a bundle of exactly those refs: every commit
   a dumped row names (a decision on main, a reviewed mock-up) was written before its row was
   committed, so the refs reach it. A decision on main newer than the snapshot is taken in from
   its commit's trailers at the next start, as after a crash between the two (``reconcile_main``);
3. the data files, after that point too: each is in place before the row naming it is committed
   and never changes (``data_files``). With a bucket (``OCENTER_DATASETS_URL``) they are listed
   and read there, through the local cache, since the folders may hold only some of them.

The destination is a new folder, not an archive: each file is written once and checked on its
own, a restore can name the one file that changed, and tools that copy folders off the machine
(rsync, restic) send only the data files a previous night's backup did not have.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from ocenter.config import Settings
from ocenter.context import attach_storage
from ocenter.database import open_engine
from ocenter.errors import UserError
from ocenter.integration import integration_lock
from ocenter.models import IntegratedDataset
from ocenter.operations import bundle, data_files, rows
from ocenter.operations.manifest import (
    BUNDLE,
    FILES_DIR,
    FORMAT,
    FORMAT_VERSION,
    PUSHERS,
    DatabaseDump,
    DataFiles,
    FileEntry,
    Manifest,
    StoreBundle,
    write_manifest,
)
from ocenter.storage import Bucket
from ocenter.store.git import _run

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class BackupResult:
    """What ``make_backup`` wrote."""

    folder: Path
    manifest: Manifest

    @property
    def size(self) -> int:
        """Bytes of every file in the backup but the manifest."""
        return sum(entry.size for entry in self.manifest.files.values())


def make_backup(
    settings: Settings, destination: Path, progress: Callable[[str], None] = print
) -> BackupResult:
    """Write a backup of the installation of ``settings`` into ``destination``, a folder that must
    not exist yet or be empty (``UserError`` otherwise). ``progress`` receives a line per phase.

    Files the database names but the installation lacks do not stop the backup: they are listed
    in the manifest (``data.problems``), for the caller to report.
    """
    bucket = attach_storage(settings)
    folder = _new_folder(settings, destination)
    try:
        manifest = _write(settings, folder, progress, bucket)
    except BaseException:
        _empty(folder)  # everything in it is ours: it was empty or new
        raise
    return BackupResult(folder=folder, manifest=manifest)


def _write(
    settings: Settings, folder: Path, progress: Callable[[str], None], bucket: Bucket | None
) -> Manifest:
    files: dict[str, FileEntry] = {}
    target = folder / FILES_DIR
    engine = open_engine(settings.database_url)
    try:
        with rows.snapshot(engine) as connection:
            with builds_held(engine):
                created_at = datetime.now(UTC)
                builds = data_files.newest_builds(connection)  # the snapshot's first read
                pinned = data_files.copy_data_files(settings.home, target, only=builds)
            revision = rows.alembic_revision(connection)
            present = set(inspect(connection).get_table_names())
            dumps = {table.name: rows.dump_table(connection, table, folder)
                     for table in rows.tables() if table.name in present}
            named = data_files.named_files(connection)
        dialect = engine.dialect.name
    finally:
        engine.dispose()
    for dump in dumps.values():
        files[dump.file] = data_files.sha256_of(folder / dump.file)
    progress(f"database: {len(dumps)} tables, {sum(d.rows for d in dumps.values())} rows "
             f"({dialect}, snapshot at {created_at.isoformat(timespec='seconds')})")

    refs = bundle.read_refs(settings.store_path)
    if refs:
        bundle.bundle_refs(settings.store_path, refs, folder / BUNDLE)
        files[BUNDLE] = data_files.sha256_of(folder / BUNDLE)
    pushers = bundle.copy_pushers(settings.store_path, folder / PUSHERS)
    if pushers:
        files[PUSHERS] = data_files.sha256_of(folder / PUSHERS)
    progress(f"store: {len(refs)} refs bundled ({files[BUNDLE].size if refs else 0} bytes)")

    copied = pinned | data_files.copy_data_files(settings.home, target, done=pinned)
    files.update({f"{FILES_DIR}/{relative}": entry for relative, entry in copied.items()})
    problems = data_files.missing_or_altered(named, copied)
    counts = {name: sum(1 for r in copied if r.startswith(f"{name}/")) for name in data_files.DATA_FOLDERS}
    progress(f"files: {counts['datasets']} dataset files, {counts['uploads']} uploads "
             f"({sum(e.size for e in copied.values())} bytes"
             f"{', from ' + bucket.describe() if bucket else ''})")
    for problem in problems:
        progress(f"warning: a file the database names: {problem}")

    version, commit = _app_version()
    manifest = Manifest(
        format=FORMAT, format_version=FORMAT_VERSION, created_at=created_at.isoformat(),
        app_version=version, app_commit=commit,
        database=DatabaseDump(dialect=dialect, alembic_revision=revision, tables=dumps),
        store=StoreBundle(bundle=BUNDLE if refs else None, refs=refs,
                          pushers=PUSHERS if pushers else None),
        data=DataFiles(datasets=counts["datasets"], uploads=counts["uploads"], problems=problems),
        files=files,
    )
    write_manifest(folder, manifest)
    return manifest


@contextlib.contextmanager
def builds_held(engine: Engine) -> Iterator[None]:
    """While this holds, no dataset's integrated build is replaced, so none is removed.

    Every other data file stays once written; an integrated build is removed by the second build
    after it (``procedure.data_integration``). The backup begins its snapshot and copies the
    builds that snapshot names inside this, so they are still there, however fast data is
    accepted meanwhile. It is held for milliseconds (a few files copied): on SQLite it is the
    database's write lock (writers wait, as for any other writer); on PostgreSQL the lock each
    dataset's builds take turns on, taken before the snapshot begins, so no build is halfway.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                connection.rollback()
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        datasets = connection.execute(select(IntegratedDataset.dataset_id).distinct()).scalars().all()
        names = sorted(integration_lock(dataset_id) for dataset_id in datasets)
        for name in names:
            connection.execute(select(func.pg_advisory_lock(func.hashtext(name))))
        try:
            yield
        finally:
            for name in names:
                connection.execute(select(func.pg_advisory_unlock(func.hashtext(name))))


def _new_folder(settings: Settings, destination: Path) -> Path:
    """``destination`` made (private to its owner), once it is known to be new or empty and
    outside what it backs up."""
    folder = destination.resolve()
    inside = [settings.home / name for name in (*data_files.DATA_FOLDERS, "store.git")]
    if any(folder == part.resolve() or folder.is_relative_to(part.resolve()) for part in inside):
        raise UserError("backup.destination_inside", path=str(destination))
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError("backup.destination_not_empty", path=str(destination))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # it holds password hashes and confidential data
    return folder


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _app_version() -> tuple[str | None, str | None]:
    """OCenter's version, and its commit when it runs from a Git checkout."""
    try:
        version: str | None = metadata.version("ocenter")
    except metadata.PackageNotFoundError:
        version = _pyproject_version()
    commit = None
    if (PROJECT_ROOT / ".git").exists():
        found = _run(None, ["rev-parse", "--verify", "--quiet", "HEAD"], cwd=PROJECT_ROOT,
                     ok_codes=(0, 1, 128))
        text = found.stdout.decode().strip()
        commit = text if found.returncode == 0 and len(text) == 40 else None
    return version, commit


def _pyproject_version() -> str | None:
    import tomllib

    try:
        with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
            return tomllib.load(handle).get("project", {}).get("version")
    except (OSError, tomllib.TOMLDecodeError):
        return None


def to_stderr(line: str) -> None:
    """A progress line for the operator, on standard error."""
    print(line, file=sys.stderr, flush=True)
