"""Datasets and uploads kept in an S3-compatible bucket (a real local server: moto's), shared by
replicas that each keep only a cache under their own OCENTER_HOME."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import demo_sampling_frame, demo_upt_code, initialise, remove_stale_temporaries
from ocenter.config import load_settings
from ocenter.context import AppContext, open_context
from ocenter.errors import IntegrityError, Unavailable, UserError
from ocenter.models import DatasetVersion, IntegratedDataset, Submission, SubmissionStatus
from ocenter.verification.datasets import load_dataset, open_dataset
from tests.s3_server import bucket_env, new_bucket, running_s3_server

DATASET = "sampling-pengujian"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_s3_server() as endpoint:
        yield endpoint


class Installation:
    """One database, one store and one bucket, opened by as many replicas as a test wants."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.endpoint = endpoint
        self.bucket = new_bucket(endpoint)
        self.store = root / "shared" / "store.git"
        self.database_url = f"sqlite:///{root / 'shared' / 'ocenter.db'}"
        self.opened: list[AppContext] = []

    def env(self, home: Path) -> dict[str, str]:
        return {"OCENTER_HOME": str(home), "OCENTER_MODE": "demo", "DATABASE_URL": self.database_url,
                "OCENTER_STORE_PATH": str(self.store), **bucket_env(self.endpoint, self.bucket)}

    def replica(self, name: str) -> AppContext:
        """A replica with an empty home of its own."""
        ctx = open_context(load_settings(self.env(self.root / name)))
        self.opened.append(ctx)
        return ctx

    def keys(self, ctx: AppContext) -> list[str]:
        return ctx.bucket.list("datasets") + ctx.bucket.list("uploads")


@pytest.fixture(scope="module")
def installation(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """The demo, set up by a first replica whose files went to the bucket from the start."""
    inst = Installation(tmp_path_factory.mktemp("replicas"), s3_endpoint)
    (inst.root / "shared").mkdir()
    first = initialise(load_settings(inst.env(inst.root / "first")), demo=True,
                       progress=lambda _message: None)
    inst.opened.append(first)
    yield inst
    for ctx in inst.opened:
        ctx.engine.dispose()


def _as(ctx: AppContext, username: str) -> Authority:
    authority = authority_of(ctx.engine, username, production=False)
    assert authority is not None
    return authority


def _region_rows(rows: int, skip: int = 0) -> bytes:
    frame = demo_sampling_frame(date(2026, 11, 30), months=2)
    frame = frame[frame["kode_upt"] == demo_upt_code()].iloc[skip:skip + rows]
    return frame.to_csv(index=False).encode("utf-8")


def _send(ctx: AppContext, content: bytes) -> Submission:
    return procedure.submit_data(ctx, _as(ctx, "upt"), dataset_id=DATASET, level=Level.TERBATAS,
                                 filename="kiriman.csv", content=content)


def _verify(ctx: AppContext, submission_id: int) -> Submission:
    verifier = _as(ctx, "verifikator")
    procedure.receive_submission(ctx, verifier, submission_id)
    assert procedure.check_submission(ctx, verifier, submission_id).valid
    return procedure.decide_submission(ctx, verifier, submission_id, accept=True, note="Sesuai.")


def _version(ctx: AppContext, submission_id: int) -> DatasetVersion:
    with Session(ctx.engine) as session:
        return session.exec(select(DatasetVersion).where(DatasetVersion.submission_id == submission_id)).one()


def test_an_accepted_dataset_lands_in_the_bucket_and_a_replica_with_an_empty_home_reads_it(installation):
    first = installation.opened[0]
    content = _region_rows(15)
    accepted = _verify(first, _send(first, content).id)
    version = _version(first, accepted.id)
    digest = hashlib.sha256(content).hexdigest()
    keys = installation.keys(first)
    # The upload, the original kept with the version, its typed Parquet: all in the bucket, as
    # they are in the first replica's folders.
    for key in (f"uploads/{digest}.csv", f"datasets/{DATASET}/{digest}.orig.csv",
                f"datasets/{DATASET}/{digest}.parquet"):
        assert key in keys
        assert first.bucket.get(key) == (first.home / key).read_bytes()
    assert hashlib.sha256(first.bucket.get(f"datasets/{DATASET}/{digest}.parquet")).hexdigest() \
        == version.file_sha256
    # A derived table never goes to the bucket: any replica makes its own.
    assert not [k for k in keys if k.endswith(".arrow")]

    second = installation.replica("second")
    assert not (second.home / "datasets").exists()
    table = load_dataset(second.home, DATASET, version.sha256, file_sha256=version.file_sha256)
    assert table.num_rows == 15
    assert table.equals(load_dataset(first.home, DATASET, version.sha256, file_sha256=version.file_sha256))
    # What dashboards read, the newest integrated build, is there for the new replica too.
    build = procedure.latest_versions(second)[DATASET]
    shown = open_dataset(second.home, DATASET, build.sha256, file_sha256=build.file_sha256)
    assert shown.read().num_rows == build.rows
    # The record of the request (the upload as sent) is built from the bucket as well.
    assert procedure.upload_path(second, accepted).read_bytes() == content


def test_an_object_altered_in_the_bucket_is_refused_by_its_recorded_digest(installation):
    first = installation.opened[0]
    accepted = _verify(first, _send(first, _region_rows(8, skip=12)).id)
    version = _version(first, accepted.id)
    key = f"datasets/{DATASET}/{version.sha256}.parquet"
    good = first.bucket.get(key)
    # Someone with access to the bucket rewrites the file: valid Parquet, other numbers.
    table = pq.read_table(first.home / key)
    altered_path = installation.root / "altered.parquet"
    pq.write_table(table.slice(0, 5), altered_path)
    first.bucket.put(key, altered_path.read_bytes())

    reader = installation.replica("reader-after-change")
    with pytest.raises(IntegrityError) as refused:
        load_dataset(reader.home, DATASET, version.sha256, file_sha256=version.file_sha256)
    assert refused.value.key == "dataset.integrity"
    with pytest.raises(IntegrityError):
        open_dataset(reader.home, DATASET, version.sha256, file_sha256=version.file_sha256)
    # The refused copy is not kept as if it were good: once the bucket holds the file again,
    # the same replica reads it.
    assert not (reader.home / key).exists()
    first.bucket.put(key, good)
    restored = load_dataset(reader.home, DATASET, version.sha256, file_sha256=version.file_sha256)
    assert restored.num_rows == version.rows == table.num_rows


def test_an_upload_waiting_for_verification_is_verified_by_another_replica(installation):
    first = installation.opened[0]
    sender_side, verifier_side = installation.replica("sender-side"), installation.replica("verifier-side")
    content = _region_rows(7, skip=20)
    sent = _send(sender_side, content)
    assert not (verifier_side.uploads_dir / f"{sent.upload_sha256}.csv").exists()
    decided = _verify(verifier_side, sent.id)
    assert decided.status == SubmissionStatus.VERIFIED
    # The build the verifier's replica made is read by the other replicas, checked.
    build = procedure.latest_versions(first)[DATASET]
    with Session(first.engine) as session:
        assert session.exec(select(IntegratedDataset).where(IntegratedDataset.id == build.id)).one()
    for ctx in (first, sender_side):
        shown = load_dataset(ctx.home, DATASET, build.sha256, file_sha256=build.file_sha256)
        assert shown.num_rows == build.rows

    # An upload altered in the bucket before it is checked is refused and logged.
    altered = _send(sender_side, _region_rows(6, skip=27))
    key = f"uploads/{altered.upload_sha256}.csv"
    sender_side.bucket.put(key, _region_rows(5, skip=27))
    late = installation.replica("late-verifier")
    verifier = _as(late, "verifikator")
    procedure.receive_submission(late, verifier, altered.id)
    with pytest.raises(IntegrityError) as refused:
        procedure.check_submission(late, verifier, altered.id)
    assert refused.value.key == "procedure.upload_changed"
    logged = [e.action for e in procedure.events(late) if e.submission_id == altered.id]
    assert logged[0] == "data.integrity_failed", logged  # newest first


def test_a_spreadsheet_is_shared_and_its_derived_table_stays_with_each_replica(installation):
    from ocenter.intake.stored import kept_table_path
    from tests.test_spreadsheets import _sampling_xlsx

    sender_side, verifier_side = installation.replica("xlsx-sender"), installation.replica("xlsx-verifier")
    upt = _as(sender_side, "upt")
    frame = demo_sampling_frame(date(2026, 11, 30), months=2)
    frame = frame[frame["kode_upt"] == upt.unit_code].head(6).reset_index(drop=True)
    frame.loc[2, "jumlah_sampel"] = "dua"
    sent = procedure.submit_data(sender_side, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                 filename="Sampling.xlsx", content=_sampling_xlsx(frame))
    contract = procedure.contract_of(sender_side, DATASET)
    assert kept_table_path(procedure.upload_path(sender_side, sent), contract).exists()
    verifier = _as(verifier_side, "verifikator")
    procedure.receive_submission(verifier_side, verifier, sent.id)
    report = procedure.check_submission(verifier_side, verifier, sent.id)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(4, "jumlah_sampel", "dua")]
    # The verifier's replica read the upload from the bucket and keeps its own table of it;
    # the bucket holds the upload only.
    upload = procedure.upload_path(verifier_side, sent)
    assert kept_table_path(upload, contract).exists()
    assert f"uploads/{sent.upload_sha256}.xlsx" in installation.keys(verifier_side)
    assert not [k for k in installation.keys(verifier_side) if k.endswith(".arrow")]
    # The sender downloads the failing rows from its own replica.
    failing = procedure.failing_rows_file(sender_side, upt, sent.id, "csv").decode("utf-8-sig")
    assert "dua" in failing


def test_without_a_bucket_files_stay_in_the_home_folders(tmp_path):
    ctx = open_context(load_settings({"OCENTER_HOME": str(tmp_path / "home"), "OCENTER_MODE": "demo"}))
    try:
        assert ctx.settings.datasets_url is None and ctx.bucket is None
        assert ctx.settings.store_path == tmp_path / "home" / "store.git"
    finally:
        ctx.engine.dispose()


@pytest.mark.parametrize("url", ["http://bucket/x", "s3://", "s3://Bad_Bucket/x", "s3://bucket/../x",
                                 "s3://bucket/x?endpoint_override=evil:80", "/srv/datasets"])
def test_a_bucket_url_that_cannot_be_used_is_refused_at_start(tmp_path, url):
    with pytest.raises(UserError) as refused:
        load_settings({"OCENTER_HOME": str(tmp_path), "OCENTER_DATASETS_URL": url})
    assert refused.value.key == "storage.bad_url"


@pytest.mark.parametrize("endpoint", ["ftp://minio:21", "http://user:pass@minio:9000", "http://minio/path"])
def test_an_endpoint_with_credentials_or_a_path_is_refused(tmp_path, endpoint):
    with pytest.raises(UserError) as refused:
        load_settings({"OCENTER_HOME": str(tmp_path), "OCENTER_DATASETS_URL": "s3://bucket/x",
                       "OCENTER_S3_ENDPOINT_URL": endpoint})
    assert refused.value.key == "storage.bad_endpoint"


def test_an_unreachable_bucket_refuses_the_upload_and_records_nothing(installation):
    first = installation.opened[0]
    env = installation.env(installation.root / "cut-off")
    env["OCENTER_S3_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens there
    cut_off = open_context(load_settings(env))
    installation.opened.append(cut_off)
    with Session(first.engine) as session:
        before = len(session.exec(select(Submission.id)).all())
    with pytest.raises(Unavailable) as refused:
        _send(cut_off, _region_rows(5, skip=33))
    assert refused.value.key == "storage.unavailable"
    with Session(first.engine) as session:
        assert len(session.exec(select(Submission.id)).all()) == before


def test_the_health_check_probes_the_bucket(installation):
    from ocenter.operations.health import CheckStatus, check_health

    def storage_of(ctx: AppContext):  # noqa: ANN202
        [check] = [c for c in check_health(ctx).checks if c.name == "storage"]
        return check

    healthy = storage_of(installation.replica("health-ok"))
    assert (healthy.status, healthy.message_key) == (CheckStatus.OK, "storage.bucket_ok")
    env = installation.env(installation.root / "health-cut-off")
    env["OCENTER_S3_ENDPOINT_URL"] = "http://127.0.0.1:9"
    cut_off = open_context(load_settings(env))
    installation.opened.append(cut_off)
    failing = storage_of(cut_off)
    assert (failing.status, failing.message_key) == (CheckStatus.FAILING, "storage.bucket_failing")
    assert installation.opened[0].bucket.list("tmp") == []  # the probe leaves nothing


def test_temporary_objects_of_killed_writers_are_swept_at_the_next_start(installation):
    first = installation.opened[0]
    fs = first.bucket._fs  # a writer killed after its upload, before the copy to the name
    left = f"{first.bucket._root}tmp/{'0' * 32}.part"
    with fs.open_output_stream(left) as stream:
        stream.write(b"half")
    assert remove_stale_temporaries(first, older_than=3600) == []  # maybe still being written
    swept = remove_stale_temporaries(first, older_than=-60)
    assert swept == [f"{first.bucket.describe()}/tmp/{'0' * 32}.part"]
    assert first.bucket.list("tmp") == []
