"""``python -m ocenter restore SRC``: a backup brought back into an empty installation.

Nothing is written until everything was checked: the installation is empty (no rows in its
database, no ref in its store, no data file in its folders or under its bucket's prefix), every
file of the backup has the SHA-256 its manifest records, the store's bundle is whole and holds
the refs the manifest names, and every table and column of the dump exists in this version's
models. Then the data files (into the bucket too, when there is one), the store and the database
(in one transaction) are written, and the event log's hash chain is verified as ``audit verify``
does.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ocenter.audit import LogAudit, audit_lines, verify_event_log
from ocenter.config import Settings
from ocenter.context import attach_storage
from ocenter.database import make_engine, open_engine
from ocenter.errors import UserError
from ocenter.i18n import Said
from ocenter.migrations import HEAD, known_revisions
from ocenter.models import EventLogHead
from ocenter.operations import bundle, data_files, rows
from ocenter.operations.manifest import FILES_DIR, Manifest, read_manifest
from ocenter.storage import Bucket, files_of
from ocenter.store.git import GitError, _run
from ocenter.store.names import PUSHERS_FILE
from ocenter.store.spec_store import SpecStore


@dataclass
class RestoreResult:
    """What ``restore_backup`` brought back."""

    manifest: Manifest
    rows: dict[str, int]
    refs: dict[str, str]
    files: int
    audit: LogAudit
    problems: list[str] = field(default_factory=list)


def restore_backup(
    settings: Settings, source: Path, progress: Callable[[str], None] = print
) -> RestoreResult:
    """Restore the backup in ``source`` into the (empty) installation of ``settings``.

    Refused with a ``UserError``, before anything is written, when the installation is not empty
    or the backup is not whole. After writing, a chain of events that does not verify is a
    ``UserError`` too (``backup.chain_broken``): the installation holds the backup as it was.
    """
    source = source.resolve()
    manifest = read_manifest(source)
    bucket = attach_storage(settings)
    _check_empty(settings, bucket)
    _check_schema(manifest)
    _check_digests(source, manifest, progress)
    _check_bundle(source, manifest)
    progress(f"backup: whole, taken at {manifest.created_at} from {manifest.database.dialect}; "
             "the installation is empty")

    names = [name[len(FILES_DIR) + 1:] for name in manifest.files if name.startswith(f"{FILES_DIR}/")]
    store_existed = settings.store_path.exists()
    engine = None
    try:
        count = data_files.put_data_files(source / FILES_DIR, settings.home, names)
        progress(f"files: {count} put in place" + (f", and in {bucket.describe()}" if bucket else ""))

        store = SpecStore.open_or_init(settings.store_path)
        refs = bundle.unbundle(store.path, source / manifest.store.bundle) if manifest.store.bundle else {}
        if refs != manifest.store.refs:
            raise GitError(f"the store's refs after the restore differ from the backup's: {refs}")
        if manifest.store.pushers:
            data_files.copy_file(source / manifest.store.pushers, store.path / PUSHERS_FILE)
        progress(f"store: {len(refs)} refs restored")

        engine = make_engine(settings.database_url)
        with engine.begin() as connection:  # all rows or none
            loaded = rows.load_tables(connection, source, manifest.database.tables, progress)
    except BaseException:
        if engine is not None:
            engine.dispose()
        _undo_writing(settings, names, store_existed, progress)
        raise
    try:
        progress(f"database: {sum(loaded.values())} rows in {len(loaded)} tables "
                 f"({engine.dialect.name})")
        with rows.snapshot(engine) as connection:
            named = data_files.named_files(connection)
        restored = {name: manifest.files[f"{FILES_DIR}/{name}"] for name in names}
        problems = data_files.missing_or_altered(named, restored)
        for problem in problems:
            progress(f"warning: a file the database names: {problem}")
        audit = verify_event_log(engine)
    finally:
        engine.dispose()
    for line in audit_lines(audit, "en"):
        progress(f"audit: {line}")
    if not audit.intact:
        finding = Said(audit.finding.key, **audit.finding.params) if audit.finding else \
            Said("audit.triggers_missing", triggers=", ".join(audit.missing_triggers))
        raise UserError("backup.chain_broken", finding=finding)
    return RestoreResult(manifest=manifest, rows=loaded, refs=refs, files=count, audit=audit,
                         problems=problems)


def _undo_writing(settings: Settings, names: list[str], store_existed: bool,
                  progress: Callable[[str], None]) -> None:
    """After a restore failed while writing, take out what it wrote, so that the installation is
    empty again and the restore can simply be run again: the data files (and their copies in the
    bucket), the store's refs (the whole store when the restore made its folder). The database's rows
    went in one transaction, which the failure rolled back. Each step is tried whatever the
    others do; what could not be taken out is said."""
    left: list[str] = []
    for relative in names:
        try:
            files_of(settings.home / relative).delete(settings.home / relative)
        except Exception:  # noqa: BLE001 - said below; the restore's own error is raised after
            left.append(relative)
    try:
        if not store_existed:
            shutil.rmtree(settings.store_path, ignore_errors=False)
        else:
            for ref in bundle.read_refs(settings.store_path):
                _run(settings.store_path, ["update-ref", "-d", ref])
    except FileNotFoundError:
        pass  # never made
    except Exception:  # noqa: BLE001 - said below
        left.append(str(settings.store_path))
    if left:
        progress("restore failed; could not take out: " + ", ".join(left[:10])
                 + (", …" if len(left) > 10 else ""))
    else:
        progress("restore failed; what it had written was taken out: the installation is empty again")


def _check_empty(settings: Settings, bucket: Bucket | None) -> None:
    """Refuse an installation that holds anything: rows, refs or data files (in its folders, or
    under its bucket's prefix, which other replicas read)."""
    if _database_exists(settings.database_url):
        engine = open_engine(settings.database_url)
        try:
            with engine.connect() as connection:
                counts = rows.rows_in(connection)
                head_moved = "eventloghead" in counts and connection.execute(
                    select(EventLogHead.chain_seq).where(EventLogHead.chain_seq != 0)).first()
        except OperationalError as error:
            raise UserError("backup.database_unreachable",
                            problem=str(error.orig).strip().splitlines()[0][:300]) from None
        finally:
            engine.dispose()
        full = sorted(name for name, count in counts.items() if count and name != "eventloghead")
        if full or head_moved:
            raise UserError("backup.target_database_not_empty",
                            tables=", ".join(full or ["eventloghead"]))
    refs = bundle.read_refs(settings.store_path)
    if refs:
        raise UserError("backup.target_store_not_empty", path=str(settings.store_path), refs=len(refs))
    for folder in data_files.DATA_FOLDERS:
        root = settings.home / folder
        if root.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in root.rglob("*")):
            raise UserError("backup.target_files_not_empty", path=str(root))
        if bucket is not None and bucket.list(folder):
            raise UserError("backup.target_bucket_not_empty",
                            bucket=f"{bucket.describe()}/{folder}")


def _database_exists(database_url: str) -> bool:
    """False for a SQLite file not made yet (nothing to look into); True for any server."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return True
    return Path(url.database).exists()


def _check_schema(manifest: Manifest) -> None:
    """The backup must be of this version's schema revision, and every dumped table and column
    must exist in this version's models.

    A restore writes the rows into the schema this version creates: rows of an older revision
    may lack a column it requires, and a newer revision's rows mean what only a newer app knows.
    A backup from before migrations (no revision) is judged by its tables and columns alone.
    """
    revision = manifest.database.alembic_revision
    if revision is not None and revision != HEAD:
        key = "backup.revision_behind" if revision in known_revisions() else "backup.revision_newer"
        raise UserError(key, revision=revision[:40], head=HEAD)
    known = {table.name: table for table in rows.tables()}
    for name, dump in manifest.database.tables.items():
        table = known.get(name)
        if table is None:
            raise UserError("backup.unknown_table", table=name[:100])
        for column in dump.columns:
            if column not in table.columns:
                raise UserError("backup.unknown_column", table=name, column=column[:100])


def _check_digests(source: Path, manifest: Manifest, progress: Callable[[str], None]) -> None:
    """Every file the manifest names must be in the backup with the SHA-256 it records."""
    total = 0
    for name, expected in manifest.files.items():
        path = source / name
        if not path.is_file() or path.is_symlink():
            raise UserError("backup.file_missing", path=name)
        found = data_files.sha256_of(path)
        if found.sha256 != expected.sha256 or found.size != expected.size:
            raise UserError("backup.tampered", path=name, expected=expected.sha256, found=found.sha256)
        total += found.size
    progress(f"verify: {len(manifest.files)} files, {total} bytes, every SHA-256 as recorded")


def _check_bundle(source: Path, manifest: Manifest) -> None:
    """The bundle must be whole and hold exactly the refs the manifest names."""
    if manifest.store.bundle is None:
        if manifest.store.refs:
            raise UserError("backup.bundle_refs", path="(none)")
        return
    with tempfile.TemporaryDirectory(prefix="ocenter-restore-") as scratch:
        empty = Path(scratch) / "check.git"
        _run(None, ["init", "--quiet", "--bare", str(empty)])
        try:
            heads = bundle.verify_bundle(empty, source / manifest.store.bundle)
        except GitError:
            raise UserError("backup.bundle_refs", path=manifest.store.bundle) from None
    if heads != manifest.store.refs:
        raise UserError("backup.bundle_refs", path=manifest.store.bundle)
