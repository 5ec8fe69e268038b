"""What reaches the wall is exactly what was verified: every stored data file is checked against the
SHA-256 recorded for its bytes when it is read, and an upload against the digest recorded when it
was sent; a mismatch is refused, shown as such, and logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import demo_upt_code
from ocenter.contracts.model import ContractField, DataContract, FieldType, Partitioning
from ocenter.errors import IntegrityError
from ocenter.i18n import t, t_markdown
from ocenter.integration.build import build_integrated, current_partitions
from ocenter.integration.partitions import PartitionState
from ocenter.models import (
    DatasetVersion,
    Event,
    IntegratedDataset,
    PartitionVersion,
    Submission,
    SubmissionStatus,
)
from ocenter.verification.datasets import dataset_dir, load_dataset, store_dataset_version
from tests.test_app import _login
from tests.test_integration import DATASET, as_csv, integrated

# --- helpers ------------------------------------------------------------------------------------


def _flip_a_byte(path: Path) -> str:
    """Flip one byte in the middle of a file, in place (same inode); its new SHA-256."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return hashlib.sha256(bytes(data)).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build_path(ctx, build: IntegratedDataset) -> Path:  # noqa: ANN001
    return dataset_dir(ctx.home, build.dataset_id) / f"{build.sha256}.parquet"


def _integrity_events(ctx) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == "data.integrity_failed")
                                 .order_by(col(Event.id))).all())


def _state(ctx) -> tuple:  # noqa: ANN001
    """What an acceptance changes: versions, partitions, builds, submissions' status."""
    with Session(ctx.engine) as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (DatasetVersion, PartitionVersion, IntegratedDataset)) + (
            tuple(session.exec(select(Submission.id, Submission.status).order_by(col(Submission.id)))),
        )


def _contract(partitioned: bool) -> DataContract:
    return DataContract(
        id="uji", title="Uji", owner_unit="PPPOMN",
        partitioning=Partitioning(sender_field="upt", period_field="tanggal") if partitioned else None,
        fields=[ContractField(name="upt", label="UPT", description="UPT"),
                ContractField(name="tanggal", label="Tanggal", description="Tanggal",
                              type=FieldType.DATE),
                ContractField(name="nilai", label="Nilai", description="Nilai",
                              type=FieldType.INTEGER)],
    )


def _table(rows: list[tuple[str, str, str]]) -> pa.Table:
    return pa.table({name: pa.array([r[i] for r in rows], pa.string())
                     for i, name in enumerate(["upt", "tanggal", "nilai"])})


# --- stored files, without the app ------------------------------------------------------------


def test_an_accepted_version_is_read_only_while_its_bytes_are_the_recorded_ones(tmp_path):
    contract = _contract(partitioned=False)
    stored = store_dataset_version(tmp_path, contract, _table([("A", "2026-01-05", "7")]),
                                   b"upt,tanggal,nilai\nA,2026-01-05,7\n", "a.csv")
    assert stored.file_sha256 == _sha256(stored.parquet_path)
    meta = pq.read_schema(stored.parquet_path).metadata
    assert meta[b"ocenter.sha256"].decode() == stored.sha256  # the upload's digest travels with it
    intact = load_dataset(tmp_path, "uji", stored.sha256, file_sha256=stored.file_sha256)
    assert intact.column("nilai").to_pylist() == [7]

    found = _flip_a_byte(stored.parquet_path)

    with pytest.raises(IntegrityError) as refused:
        load_dataset(tmp_path, "uji", stored.sha256, file_sha256=stored.file_sha256)
    assert refused.value.key == "dataset.integrity"
    assert str(refused.value) == t("dataset.integrity", "en", dataset_id="uji", address=stored.sha256,
                                   expected=stored.file_sha256, found=found)
    # Without a dataset split by sender, the accepted file is what dashboards read: the build
    # hands on the version's recorded digest, so the dashboard checks that same file.
    state = PartitionState(1, "", "", stored.sha256, 1, "accepted", dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    built = build_integrated(tmp_path, contract, current_partitions([state]), None, [("", "")],
                             {stored.sha256: stored.file_sha256})
    assert (built.sha256, built.file_sha256) == (stored.sha256, stored.file_sha256)


def test_an_altered_version_never_passes_into_a_new_build(tmp_path):
    """Integration reads accepted versions and the previous build: an altered one is refused
    there, or its numbers would reach the wall under a fresh, valid digest."""
    contract = _contract(partitioned=True)
    moment = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    a = store_dataset_version(tmp_path, contract, _table([("A", "2026-01-05", "1")]), b"a", "a.csv")
    b = store_dataset_version(tmp_path, contract, _table([("B", "2026-01-06", "2")]), b"b", "b.csv")
    digests = {a.sha256: a.file_sha256, b.sha256: b.file_sha256}
    states = [PartitionState(1, "A", "2026-01", a.sha256, 1, "accepted", moment)]
    first = build_integrated(tmp_path, contract, current_partitions(states), None, [("A", "2026-01")],
                             digests)
    assert first.file_sha256 == _sha256(dataset_dir(tmp_path, "uji") / f"{first.sha256}.parquet")
    digests[first.sha256] = first.file_sha256
    found = _flip_a_byte(b.parquet_path)
    states.append(PartitionState(2, "B", "2026-01", b.sha256, 1, "accepted", moment))

    with pytest.raises(IntegrityError) as refused:
        build_integrated(tmp_path, contract, current_partitions(states), first.sha256,
                         [("B", "2026-01")], digests)
    assert str(refused.value) == t("dataset.integrity", "en", dataset_id="uji", address=b.sha256,
                                   expected=b.file_sha256, found=found)


# --- through the procedure ----------------------------------------------------------------------


def test_every_stored_file_of_the_demo_carries_the_digest_of_its_bytes(demo_ctx):
    with Session(demo_ctx.engine) as session:
        versions = session.exec(select(DatasetVersion)).all()
        builds = session.exec(select(IntegratedDataset)).all()
    assert len(versions) == 76
    for row in [*versions, *builds]:
        path = dataset_dir(demo_ctx.home, row.dataset_id) / f"{row.sha256}.parquet"
        if path.exists():  # builds no one reads any more are removed
            assert row.file_sha256 == _sha256(path), row
    newest = procedure.latest_versions(demo_ctx)[DATASET]
    assert newest.file_sha256 == _sha256(_build_path(demo_ctx, newest))
    with Session(demo_ctx.engine) as session:  # the chained log vouches for the file too
        integrated_event = session.exec(select(Event).where(Event.action == "data.integrated")
                                        .order_by(col(Event.id).desc())).first()
    assert integrated_event.detail.endswith(f"sha256 {newest.file_sha256}")
    assert _integrity_events(demo_ctx) == []


def _sent_and_checked(ctx, as_user, content: bytes) -> Submission:  # noqa: ANN001
    upt, verifier = as_user("upt"), as_user("verifikator")
    submission = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                       filename="kiriman.csv", content=content)
    procedure.receive_submission(ctx, verifier, submission.id)
    assert procedure.check_submission(ctx, verifier, submission.id).valid
    return submission


def _bandung_rows(ctx, count: int = 3, value: str = "7") -> bytes:  # noqa: ANN001
    frame = integrated(ctx)
    mine = frame[frame["kode_upt"] == demo_upt_code()].tail(count).copy()
    mine["jumlah_sampel"] = value
    return as_csv(mine)


def test_an_upload_replaced_on_disk_before_acceptance_is_refused_and_logged(demo_ctx, as_user):
    ctx, verifier = demo_ctx, as_user("verifikator")
    sent = _bandung_rows(ctx, value="7")
    submission = _sent_and_checked(ctx, as_user, sent)
    upload = procedure.upload_path(ctx, submission)
    replacement = _bandung_rows(ctx, value="9999")  # conforms too: only the digest tells
    upload.write_bytes(replacement)
    before = _state(ctx)

    with pytest.raises(IntegrityError) as refused:
        procedure.decide_submission(ctx, verifier, submission.id, accept=True, note="Sesuai.")

    message = t("procedure.upload_changed", "en", submission=submission.id,
                expected=hashlib.sha256(sent).hexdigest(),
                found=hashlib.sha256(replacement).hexdigest())
    assert refused.value.key == "procedure.upload_changed" and str(refused.value) == message
    assert _state(ctx) == before  # nothing accepted, nothing integrated
    [logged] = _integrity_events(ctx)
    assert (logged.actor, logged.step, logged.submission_id, logged.outcome, logged.detail) == (
        "verifikator", 3, submission.id, "refused", message)
    # Returning it to the sender needs no file, and still works.
    returned = procedure.decide_submission(ctx, verifier, submission.id, accept=False,
                                           note="Berkas berubah setelah dikirim; kirim ulang.")
    assert returned.status == SubmissionStatus.RETURNED


def test_an_upload_replaced_before_it_is_checked_is_refused_and_logged(demo_ctx, as_user):
    ctx = demo_ctx
    upt, verifier = as_user("upt"), as_user("verifikator")
    sent = _bandung_rows(ctx)
    submission = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                       filename="kiriman.csv", content=sent)
    procedure.receive_submission(ctx, verifier, submission.id)
    found = _flip_a_byte(procedure.upload_path(ctx, submission))

    with pytest.raises(IntegrityError) as refused:
        procedure.check_submission(ctx, verifier, submission.id)

    assert str(refused.value) == t("procedure.upload_changed", "en", submission=submission.id,
                                   expected=hashlib.sha256(sent).hexdigest(), found=found)
    [logged] = _integrity_events(ctx)
    assert logged.submission_id == submission.id and logged.detail == str(refused.value)
    with Session(ctx.engine) as session:
        assert session.get(Submission, submission.id).checks_passed is None


def test_an_intact_upload_is_accepted_and_its_build_sealed(demo_ctx, as_user):
    ctx = demo_ctx
    submission = _sent_and_checked(ctx, as_user, _bandung_rows(ctx))
    procedure.decide_submission(ctx, as_user("verifikator"), submission.id, accept=True, note="Sesuai.")
    newest = procedure.latest_versions(ctx)[DATASET]
    assert newest.file_sha256 == _sha256(_build_path(ctx, newest))
    with Session(ctx.engine) as session:
        version = session.exec(select(DatasetVersion).where(
            DatasetVersion.submission_id == submission.id)).one()
    assert version.file_sha256 == _sha256(dataset_dir(ctx.home, DATASET) / f"{version.sha256}.parquet")
    assert _integrity_events(ctx) == []


def test_an_altered_integrated_file_refuses_the_next_acceptance(demo_ctx, as_user):
    ctx = demo_ctx
    submission = _sent_and_checked(ctx, as_user, _bandung_rows(ctx))
    build = procedure.latest_versions(ctx)[DATASET]
    found = _flip_a_byte(_build_path(ctx, build))
    before = _state(ctx)

    with pytest.raises(IntegrityError) as refused:
        procedure.decide_submission(ctx, as_user("verifikator"), submission.id, accept=True,
                                    note="Sesuai.")

    message = t("dataset.integrity", "en", dataset_id=DATASET, address=build.sha256,
                expected=build.file_sha256, found=found)
    assert refused.value.key == "dataset.integrity" and str(refused.value) == message
    assert _state(ctx) == before
    assert [(e.submission_id, e.detail) for e in _integrity_events(ctx)] == [(submission.id, message)]


def test_going_back_to_an_altered_version_is_refused_and_logged(demo_ctx, as_user):
    ctx, verifier = demo_ctx, as_user("verifikator")
    bandung = demo_upt_code()
    with Session(ctx.engine) as session:  # the demo's version of Bandung's newest month
        month = session.exec(select(func.max(PartitionVersion.period))
                             .where(PartitionVersion.sender == bandung)).one()
        earlier = session.exec(select(PartitionVersion).where(
            PartitionVersion.sender == bandung, PartitionVersion.period == month)).one()
        recorded = session.exec(select(DatasetVersion.file_sha256)
                                .where(DatasetVersion.sha256 == earlier.sha256)).one()
    # A correction of Bandung's two newest months; going back for one of them makes a build
    # that did not exist yet, so the earlier version's file is read again.
    frame = integrated(ctx)
    mine = frame[frame["kode_upt"] == bandung]
    corrected = mine[mine["month"].isin(sorted(mine["month"].unique())[-2:])].groupby("month").head(1)
    submission = _sent_and_checked(ctx, as_user, as_csv(corrected))
    procedure.decide_submission(ctx, verifier, submission.id, accept=True, note="Koreksi.")
    found = _flip_a_byte(dataset_dir(ctx.home, DATASET) / f"{earlier.sha256}.parquet")
    before = _state(ctx)

    with pytest.raises(IntegrityError) as refused:
        procedure.restore_partition(ctx, verifier, earlier.id, "Koreksi keliru, kembali ke versi awal.")

    message = t("dataset.integrity", "en", dataset_id=DATASET, address=earlier.sha256,
                expected=recorded, found=found)
    assert str(refused.value) == message
    assert _state(ctx) == before
    assert [(e.actor, e.step, e.detail) for e in _integrity_events(ctx)] == [("verifikator", 3, message)]


def test_files_stored_before_digests_existed_are_sealed_once_and_said_so(demo_ctx):
    ctx = demo_ctx
    with ctx.engine.begin() as connection:  # as an installation of the version before left them
        connection.execute(text("UPDATE datasetversion SET file_sha256 = NULL"))
        connection.execute(text("UPDATE integrateddataset SET file_sha256 = NULL"))
    newest = procedure.latest_versions(ctx)[DATASET]
    assert newest.file_sha256 is None

    sealed = procedure.seal_stored_files(ctx)

    newest = procedure.latest_versions(ctx)[DATASET]
    assert newest.file_sha256 == _sha256(_build_path(ctx, newest))
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(DatasetVersion)
                            .where(col(DatasetVersion.file_sha256).is_(None))).one() == 0
        logged = session.exec(select(Event).where(Event.action == "data.files_sealed")).one()
    assert sealed == 76 + 2  # every version, the build dashboards read and the one before it
    assert logged.detail.startswith(f"{sealed} stored files had no recorded digest; sealed as they are now")
    assert procedure.seal_stored_files(ctx) == 0  # once


# --- on the wall ------------------------------------------------------------------------------


def _kpis(at) -> list[str]:  # noqa: ANN001
    return [m.value for m in at.metric]


def test_an_altered_integrated_file_is_an_error_on_its_tiles_never_its_numbers(app, demo_ctx):
    ctx = demo_ctx
    at = _login(app, "kepala")
    at.switch_page("pages/tampilan.py").run()
    assert not at.exception, at.exception
    shown = _kpis(at)
    assert shown and at.error == []  # the intact file is read (and now cached)

    # Altered so that it is still a valid Parquet file with other numbers, keeping its inode and
    # modification time: the cached, verified copy must not hide it, nor may its numbers show.
    build = procedure.latest_versions(ctx)[DATASET]
    path = _build_path(ctx, build)
    status = path.stat()
    table = pq.read_table(path)
    index = table.schema.get_field_index("jumlah_sampel")
    table = table.set_column(index, "jumlah_sampel", pc.multiply(table.column("jumlah_sampel"), 10))
    pq.write_table(table, path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    found = _sha256(path)

    at.run()
    assert not at.exception, at.exception
    tile = t_markdown("dataset.integrity_tile", "id", dataset_id=DATASET)  # read as Markdown
    panels = len(ctx.store.snapshot("main").specs["pantauan-sampling-pengujian"].panels)
    assert [e.value for e in at.error] == [tile] * panels
    assert _kpis(at) == []
    at.run()  # the wall re-reads: still refused, and logged once
    assert [e.value for e in at.error] == [tile] * panels
    message = t("dataset.integrity", "en", dataset_id=DATASET, address=build.sha256,
                expected=build.file_sha256, found=found)
    assert [(e.actor, e.step, e.outcome, e.detail) for e in _integrity_events(ctx)] == [
        ("kepala", 8, "refused", message)]


def test_an_integrity_failure_is_logged_with_a_bounded_detail(demo_ctx):
    from ocenter.procedure.common import log_integrity_failure

    long_name = "berkas-" + "x" * 2000
    error = IntegrityError("procedure.upload_changed", submission=long_name, expected="a",
                           found="b")
    log_integrity_failure(demo_ctx, "verifikator", error, step=3, submission_id=7)
    [logged] = _integrity_events(demo_ctx)
    assert (logged.actor, logged.step, logged.submission_id, logged.outcome) == (
        "verifikator", 3, 7, "refused")
    assert logged.detail == str(error)[:1000] and len(logged.detail) == 1000
