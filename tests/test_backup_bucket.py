"""Backup and restore of an installation whose datasets and uploads live in an S3-compatible
bucket (a real local server: moto's): the backup takes every file from the bucket, whatever the
local cache holds, and a restore puts every file into the new installation's bucket, where a
replica with an empty home reads it; a bucket that already holds files is refused."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.config import Settings, load_settings
from ocenter.context import AppContext, open_context
from ocenter.errors import UserError
from ocenter.models import DatasetVersion
from ocenter.operations import data_files, rows
from ocenter.operations.backup import make_backup
from ocenter.operations.bundle import read_refs
from ocenter.operations.manifest import FILES_DIR, read_manifest
from ocenter.operations.restore import restore_backup
from ocenter.storage import Bucket, parse_bucket_url
from ocenter.verification.datasets import load_dataset, open_dataset
from tests.s3_server import bucket_env, new_bucket, running_s3_server
from tests.test_object_storage import DATASET, _region_rows, _send, _verify

ROWS = 12


def _quiet(_line: str) -> None:
    pass


@dataclass(frozen=True)
class Target:
    """Where an installation lives: its database and store (in ``shared``) and its bucket,
    opened by replicas that each have a home of their own."""

    root: Path
    endpoint: str
    bucket: str
    prefix: str = "ocenter"

    def settings(self, home: str = "home") -> Settings:
        return load_settings({
            "OCENTER_HOME": str(self.root / home), "OCENTER_MODE": "demo",
            "DATABASE_URL": f"sqlite:///{self.root / 'shared' / 'ocenter.db'}",
            "OCENTER_STORE_PATH": str(self.root / "shared" / "store.git"),
            **bucket_env(self.endpoint, self.bucket, self.prefix)})

    def keys(self, ctx: AppContext) -> list[str]:
        bucket = ctx.bucket
        assert bucket is not None
        return [*bucket.list("datasets"), *bucket.list("uploads")]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def source(
    s3_endpoint: str, demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """The demo switched to a bucket as README says (its folders copied to the prefix, then the
    URL set), one more dataset version accepted through the procedure, and then the local cache
    emptied, as a replica's may be at any time."""
    target = Target(tmp_path_factory.mktemp("bucketed"), s3_endpoint, new_bucket(s3_endpoint))
    shutil.copytree(demo_template, target.root / "shared")
    bucket = Bucket(parse_bucket_url(f"s3://{target.bucket}/{target.prefix}", s3_endpoint))
    for folder in data_files.DATA_FOLDERS:
        for path in sorted((target.root / "shared" / folder).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                bucket.put(path.relative_to(target.root / "shared").as_posix(), path.read_bytes())
        shutil.rmtree(target.root / "shared" / folder)
    ctx = open_context(target.settings())
    try:
        _verify(ctx, _send(ctx, _region_rows(ROWS)).id)
    finally:
        ctx.engine.dispose()
    for folder in data_files.DATA_FOLDERS:
        shutil.rmtree(target.root / "home" / folder)
    yield target


@pytest.fixture(scope="module")
def backup(source: Target, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("backups") / "nightly"
    (destination.parent / "progress.txt").write_text("", encoding="utf-8")
    make_backup(source.settings(), destination, _append_to(destination.parent / "progress.txt"))
    return destination


def _append_to(path: Path):  # noqa: ANN202 - a progress callback
    def append(line: str) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return append


def test_a_backup_takes_every_file_from_the_bucket_when_the_local_cache_is_empty(source, backup):
    manifest = read_manifest(backup)
    assert manifest.data.problems == []
    files_line = (backup.parent / "progress.txt").read_text(encoding="utf-8").splitlines()[-1]
    assert files_line.startswith("files: ") and files_line.endswith(f"from s3://{source.bucket}/ocenter)")
    ctx = open_context(source.settings("reader"))
    try:
        with rows.snapshot(ctx.engine) as connection:
            named = data_files.named_files(connection)
        keys = source.keys(ctx)
        bucket = ctx.bucket
        assert bucket is not None
        # Every object of the bucket is in the backup, with the bucket's bytes.
        backed_up = sorted(name[len(FILES_DIR) + 1:] for name in manifest.files
                           if name.startswith(f"{FILES_DIR}/"))
        assert backed_up == sorted(keys)
        for key in keys:
            assert manifest.files[f"{FILES_DIR}/{key}"].sha256 == hashlib.sha256(bucket.get(key)).hexdigest()
            assert (backup / FILES_DIR / key).read_bytes() == bucket.get(key)
    finally:
        ctx.engine.dispose()
    # ... which holds every file a row names, with the digest its row records.
    assert named and set(named) <= set(backed_up)
    for relative, recorded in named.items():
        if recorded is not None:
            assert manifest.files[f"{FILES_DIR}/{relative}"].sha256 == recorded
    assert manifest.data.datasets + manifest.data.uploads == len(keys)


def test_a_restore_puts_every_file_into_the_new_bucket_for_a_replica_with_an_empty_home(
    source, backup, s3_endpoint, tmp_path
):
    target = Target(tmp_path / "restored", s3_endpoint, new_bucket(s3_endpoint), prefix="pulih")
    (tmp_path / "restored" / "shared").mkdir(parents=True)
    lines: list[str] = []
    result = restore_backup(target.settings(), backup, lines.append)
    assert result.problems == [] and result.audit.intact
    assert f"and in s3://{target.bucket}/pulih" in next(line for line in lines if line.startswith("files:"))
    manifest = read_manifest(backup)

    # A replica with an empty home over the restored database, store and bucket.
    shutil.rmtree(tmp_path / "restored" / "home")
    replica = open_context(target.settings("replica"))
    try:
        bucket = replica.bucket
        assert bucket is not None
        keys = target.keys(replica)
        assert sorted(f"{FILES_DIR}/{key}" for key in keys) == \
            sorted(name for name in manifest.files if name.startswith(f"{FILES_DIR}/"))
        for key in keys:
            assert hashlib.sha256(bucket.get(key)).hexdigest() == \
                manifest.files[f"{FILES_DIR}/{key}"].sha256
        assert not (replica.home / "datasets").exists()
        with Session(replica.engine) as session:
            versions = session.exec(select(DatasetVersion).where(DatasetVersion.dataset_id == DATASET)
                                    .order_by(DatasetVersion.id)).all()  # type: ignore[arg-type]
        newest = versions[-1]
        # Read through the cache from the restored bucket, each checked against its row's digest.
        table = load_dataset(replica.home, DATASET, newest.sha256, file_sha256=newest.file_sha256)
        assert table.num_rows == ROWS
        build = procedure.latest_versions(replica)[DATASET]
        assert open_dataset(replica.home, DATASET, build.sha256,
                            file_sha256=build.file_sha256).read().num_rows == build.rows
    finally:
        replica.engine.dispose()


def test_a_restore_that_fails_while_writing_takes_its_files_out_of_the_new_bucket_too(
    backup, s3_endpoint, tmp_path, monkeypatch
):
    from ocenter.operations import restore

    target = Target(tmp_path / "failed", s3_endpoint, new_bucket(s3_endpoint), prefix="pulih")
    (tmp_path / "failed" / "shared").mkdir(parents=True)

    def refused(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(restore.rows, "load_tables", refused)
    lines: list[str] = []
    with pytest.raises(OSError):
        restore_backup(target.settings(), backup, lines.append)
    assert any(line.startswith("files:") for line in lines)  # the files went in before the failure
    assert lines[-1].endswith("the installation is empty again")
    reader = Bucket(parse_bucket_url(f"s3://{target.bucket}/pulih", s3_endpoint))
    assert reader.list("datasets") == [] and reader.list("uploads") == []
    monkeypatch.undo()
    assert restore_backup(target.settings(), backup, _quiet).audit.intact  # run again, as it is


def test_a_restore_into_an_installation_whose_bucket_holds_files_is_refused_and_writes_nothing(
    source, backup, tmp_path
):
    # A new home, database and store, but the bucket (and prefix) the source installation uses.
    target = Target(tmp_path / "over", source.endpoint, source.bucket)
    (tmp_path / "over" / "shared").mkdir(parents=True)
    reader = Bucket(parse_bucket_url(f"s3://{source.bucket}/ocenter", source.endpoint))
    before = {folder: reader.list(folder) for folder in ("datasets", "uploads", "tmp")}
    with pytest.raises(UserError) as refused:
        restore_backup(target.settings(), backup, _quiet)
    assert refused.value.key == "backup.target_bucket_not_empty"
    assert refused.value.params["bucket"] == f"s3://{source.bucket}/ocenter/datasets"
    assert {folder: reader.list(folder) for folder in ("datasets", "uploads", "tmp")} == before
    assert before["uploads"] and not before["tmp"]
    assert not (tmp_path / "over" / "shared" / "ocenter.db").exists()
    assert read_refs(tmp_path / "over" / "shared" / "store.git") == {}
    # (its demo cookie key is made when its settings are read, before any restore)
    assert not [p for p in (tmp_path / "over").rglob("*") if p.is_file() and p.name != "demo-cookie-key"]


def test_a_file_gone_from_the_bucket_between_naming_and_fetching_is_skipped(source, tmp_path):
    # An integrated build replaced meanwhile is removed from the bucket; the copy goes on.
    ctx = open_context(source.settings("pinned"))
    try:
        kept = source.keys(ctx)[0]
        copied = data_files.copy_data_files(
            ctx.home, tmp_path / "copy", only=[kept, f"datasets/{DATASET}/{'0' * 64}.parquet"])
    finally:
        ctx.engine.dispose()
    assert list(copied) == [kept]
    assert (tmp_path / "copy" / kept).read_bytes() == (ctx.home / kept).read_bytes()
