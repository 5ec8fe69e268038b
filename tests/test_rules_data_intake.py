"""Steps 1-3 on the demo: what a sent file must be, who sees which submissions, the order of
receive, check and decide, and that returned data never becomes a dataset version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, col, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import demo_sampling_frame, demo_upt_code
from ocenter.clock import FixedClock
from ocenter.errors import Conflict, IntegrityError, NotFound, PermissionDenied, UserError
from ocenter.models import DatasetVersion, Submission, SubmissionStatus

DATASET = "sampling-pengujian"


@pytest.fixture(scope="module")
def region_frame():  # noqa: ANN201 - pandas.DataFrame
    """20 rows of the Bandung UPT's own region: a UPT may send only rows with its own code."""
    frame = demo_sampling_frame(date(2026, 11, 30), months=2)
    return frame[frame["kode_upt"] == demo_upt_code()].head(20).reset_index(drop=True)


@pytest.fixture(scope="module")
def region_rows(region_frame) -> bytes:  # noqa: ANN001
    return region_frame.to_csv(index=False).encode("utf-8")


def ids(submissions) -> list[int]:  # noqa: ANN001
    return [s.id for s in submissions]


def send(ctx, actor, content: bytes, filename: str = "kiriman.csv", **more):  # noqa: ANN001, ANN201
    return procedure.submit_data(ctx, actor, dataset_id=DATASET, level=Level.TERBATAS,
                                 filename=filename, content=content, **more)


def test_a_sent_file_is_kept_once_by_its_content_with_its_classification(demo_ctx, as_user, region_rows):
    upt = as_user("upt")
    uploads_before = set(demo_ctx.uploads_dir.iterdir())
    first = send(demo_ctx, upt, region_rows, filename="../../laporan/Sampling.CSV")
    again = send(demo_ctx, upt, region_rows, filename="sampling.csv", request_id=1)
    assert (first.unit_code, first.submitted_by, first.level) == (upt.unit_code, "upt", Level.TERBATAS)
    assert (first.original_name, first.upload_suffix, first.rows) == ("Sampling.CSV", ".csv", 20)
    assert first.size_bytes == len(region_rows) and first.status == SubmissionStatus.SENT
    assert (first.request_id, again.request_id) == (None, 1)
    kept = procedure.upload_path(demo_ctx, first)
    assert kept == procedure.upload_path(demo_ctx, again) and kept.read_bytes() == region_rows
    assert set(kept.parent.iterdir()) - uploads_before == {kept}
    [logged] = [e for e in procedure.events(demo_ctx) if e.submission_id == first.id]
    assert (logged.step, logged.detail) == (1, f"{DATASET}, 20 rows, terbatas")


def test_only_csv_and_spreadsheets_under_the_size_limit_for_a_known_request_are_taken(
    demo_ctx, as_user, region_rows
):
    upt = as_user("upt")
    before = procedure.list_submissions(demo_ctx, as_user("verifikator"))
    with pytest.raises(UserError) as refused:
        send(demo_ctx, upt, region_rows, filename="kiriman.txt")
    assert (refused.value.key, refused.value.params) == (
        "procedure.upload_type", {"allowed": ".csv, .xlsx, .xls, .ods, .xlsb"})
    demo_ctx.settings.max_upload_mb = 1
    with pytest.raises(UserError) as too_large:
        send(demo_ctx, upt, region_rows + b"\n" * (1024 * 1024))
    assert (too_large.value.key, too_large.value.params) == ("procedure.upload_too_large", {"limit": 1})
    with pytest.raises(NotFound) as no_request:
        send(demo_ctx, upt, region_rows, request_id=99)
    assert no_request.value.key == "procedure.request_missing"
    assert procedure.list_submissions(demo_ctx, as_user("verifikator")) == before


def test_pusdatin_sees_every_submission_and_a_sender_its_own_units(demo_ctx, as_user, region_rows):
    verifier = as_user("verifikator")
    # The demo data: one file per UPT, the Bandung UPT's sent by `upt`, the others by PPPOMN.
    demo_sent = procedure.list_submissions(demo_ctx, verifier)
    demo = ids(demo_sent)

    def demo_of(username: str) -> list[int]:
        return [s.id for s in demo_sent if s.unit_code == as_user(username).unit_code]

    assert len(demo_of("upt")) == 1 and demo_of("kabalai") == demo_of("upt")
    assert len(demo) > 1 and demo_of("unit") == []
    upt_sent = send(demo_ctx, as_user("upt"), region_rows)
    unit_sent = send(demo_ctx, as_user("unit"), region_rows + b"\n")
    newest_first = [unit_sent.id, upt_sent.id, *demo]
    assert ids(procedure.list_submissions(demo_ctx, verifier)) == newest_first
    assert ids(procedure.list_submissions(demo_ctx, as_user("analis"))) == newest_first
    assert ids(procedure.list_submissions(demo_ctx, as_user("upt"))) == [upt_sent.id, *demo_of("upt")]
    assert ids(procedure.list_submissions(demo_ctx, as_user("kabalai"))) == [
        upt_sent.id, *demo_of("upt")]
    assert ids(procedure.list_submissions(demo_ctx, as_user("unit"))) == [unit_sent.id]
    assert procedure.list_submissions(demo_ctx, as_user("kepala")) == []  # no unit, nothing sent
    procedure.receive_submission(demo_ctx, verifier, upt_sent.id)
    received = procedure.list_submissions(demo_ctx, verifier, SubmissionStatus.RECEIVED)
    assert [s.id for s in received] == [upt_sent.id]


def test_receive_check_and_decide_happen_in_that_order_once(demo_ctx, as_user, region_rows):
    verifier = as_user("verifikator")
    sent = send(demo_ctx, as_user("upt"), region_rows)
    for premature in (lambda: procedure.check_submission(demo_ctx, verifier, sent.id),
                      lambda: procedure.decide_submission(demo_ctx, verifier, sent.id, accept=True, note="")):
        with pytest.raises(Conflict) as refused:
            premature()
        assert (refused.value.key, refused.value.params) == (
            "procedure.submission_status", {"submission": sent.id, "status": "sent"})
    received = procedure.receive_submission(demo_ctx, verifier, sent.id)
    assert (received.status, received.received_by) == (SubmissionStatus.RECEIVED, "verifikator")
    assert received.received_at is not None
    # Received again by the same verifier: recognised as done, nothing changes.
    again = procedure.receive_submission(demo_ctx, verifier, sent.id)
    assert (again.status, again.received_by, again.received_at) == (
        SubmissionStatus.RECEIVED, "verifikator", received.received_at)
    with pytest.raises(Conflict):  # received but not checked yet
        procedure.decide_submission(demo_ctx, verifier, sent.id, accept=True, note="")
    with pytest.raises(NotFound) as missing:
        procedure.receive_submission(demo_ctx, verifier, 999)
    assert (missing.value.key, missing.value.params) == ("procedure.submission_missing", {"submission": 999})


def test_returned_data_needs_a_reason_and_never_becomes_a_version(demo_ctx, as_user, region_rows):
    verifier = as_user("verifikator")
    before = procedure.latest_versions(demo_ctx)[DATASET]
    sent = send(demo_ctx, as_user("upt"), region_rows)
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    report = procedure.check_submission(demo_ctx, verifier, sent.id)
    assert report.valid and procedure.stored_report(procedure.list_submissions(demo_ctx, verifier)[0]).valid
    with pytest.raises(UserError) as no_reason:
        procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False, note="  ")
    assert no_reason.value.key == "procedure.return_needs_reason"
    returned = procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False,
                                           note="  Periode salah.  ")
    assert (returned.status, returned.decision_note, returned.verified_by) == (
        SubmissionStatus.RETURNED, "Periode salah.", "verifikator")
    assert procedure.latest_versions(demo_ctx)[DATASET].id == before.id
    [logged] = [e for e in procedure.events(demo_ctx) if e.action == "data.returned"]
    assert (logged.step, logged.outcome, logged.detail) == (3, "returned", "Periode salah.")


def test_accepted_data_becomes_the_newest_version(demo_ctx, as_user, region_frame, region_rows):
    verifier = as_user("verifikator")
    before = procedure.latest_versions(demo_ctx)[DATASET]
    sent = send(demo_ctx, as_user("upt"), region_rows)
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    procedure.check_submission(demo_ctx, verifier, sent.id)
    decided_at = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
    accepted = procedure.decide_submission(dataclasses.replace(demo_ctx, clock=FixedClock(decided_at)),
                                           verifier, sent.id, accept=True, note=" Sesuai. ")
    assert (accepted.status, accepted.decision_note) == (SubmissionStatus.VERIFIED, "Sesuai.")
    with Session(demo_ctx.engine) as session:
        [version] = session.exec(select(DatasetVersion).where(DatasetVersion.submission_id == sent.id)).all()
    assert (version.dataset_id, version.rows) == (DATASET, 20)
    # Its time is the decision's: the display's "data as of" and the freshness checks read it.
    assert version.accepted_at.replace(tzinfo=UTC) == decided_at
    # The file's partitions (Bandung, each month it holds) now show its rows, and the integrated
    # build dashboards read is a new one holding them in place of the partitions' earlier rows.
    replaced = 0
    for period, rows in region_frame["tanggal_sampling"].str[:7].value_counts().items():
        newest_part, earlier, *_ = procedure.partition_history(
            demo_ctx, verifier, DATASET, demo_upt_code(), period)
        assert (newest_part.submission_id, newest_part.rows) == (sent.id, rows)
        replaced += earlier.rows
    newest = procedure.latest_versions(demo_ctx)[DATASET]
    assert newest.id > before.id and newest.rows == before.rows - replaced + 20
    [checked] = [e for e in procedure.events(demo_ctx)
                 if e.action == "data.checked" and e.submission_id == sent.id]
    assert (checked.step, checked.outcome, checked.detail) == (3, "valid", "0 failing cells")
    [logged] = [e for e in procedure.events(demo_ctx)
                if e.action == "data.verified" and e.submission_id == sent.id]
    assert (logged.step, logged.outcome, logged.submission_id) == (3, "accepted", sent.id)


def test_data_that_failed_the_checks_cannot_be_accepted(demo_ctx, as_user, region_frame):
    verifier = as_user("verifikator")
    broken = region_frame.copy()
    broken.loc[3, "jumlah_sampel"] = "dua"
    sent = send(demo_ctx, as_user("upt"), broken.to_csv(index=False).encode("utf-8"))
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    report = procedure.check_submission(demo_ctx, verifier, sent.id)
    assert not report.valid
    with pytest.raises(UserError) as refused:
        procedure.decide_submission(demo_ctx, verifier, sent.id, accept=True, note="")
    assert refused.value.key == "procedure.cannot_accept_invalid"
    [checked] = [e for e in procedure.events(demo_ctx)
                 if e.action == "data.checked" and e.submission_id == sent.id]
    assert checked.outcome == "invalid" and checked.detail == f"{len(report.errors)} failing cells"


def test_failing_rows_go_to_the_sender_and_pusdatin_only_after_a_check(demo_ctx, as_user, region_rows):
    sent = send(demo_ctx, as_user("upt"), region_rows)
    with pytest.raises(NotFound) as unchecked:
        procedure.failing_rows_file(demo_ctx, as_user("upt"), sent.id, "csv")
    assert unchecked.value.key == "procedure.report_missing"
    assert unchecked.value.params == {"submission": sent.id}
    procedure.receive_submission(demo_ctx, as_user("verifikator"), sent.id)
    procedure.check_submission(demo_ctx, as_user("verifikator"), sent.id)
    for allowed in ("upt", "verifikator", "analis"):
        assert procedure.failing_rows_file(demo_ctx, as_user(allowed), sent.id, "csv")
    # In the reader's language: its own columns are named in it.
    for lang, first in (("id", "baris"), ("en", "row")):
        text = procedure.failing_rows_file(demo_ctx, as_user("upt"), sent.id, "csv", lang).decode("utf-8-sig")
        assert text.splitlines()[0].split(",")[0] == first
    # The head of the same UPT shares its unit code but sends no data: not the sender.
    for refused_user in ("kabalai", "unit", "kepala"):
        with pytest.raises(PermissionDenied) as refused:
            procedure.failing_rows_file(demo_ctx, as_user(refused_user), sent.id, "csv")
        assert refused.value.key == "auth.forbidden"


def _accept(ctx, verifier, submission_id: int):  # noqa: ANN001, ANN202
    procedure.receive_submission(ctx, verifier, submission_id)
    procedure.check_submission(ctx, verifier, submission_id)
    return procedure.decide_submission(ctx, verifier, submission_id, accept=True, note="Sesuai.")


def test_the_same_file_accepted_again_reuses_its_stored_copy_unless_it_was_altered(
        demo_ctx, as_user, region_rows):
    verifier, upt = as_user("verifikator"), as_user("upt")
    first = send(demo_ctx, upt, region_rows)
    _accept(demo_ctx, verifier, first.id)
    # Sent and accepted once more (a resend of the same month, say): the same stored copy serves.
    again = send(demo_ctx, upt, region_rows, request_id=1)
    assert _accept(demo_ctx, verifier, again.id).status == SubmissionStatus.VERIFIED
    with Session(demo_ctx.engine) as session:
        versions = session.exec(select(DatasetVersion).where(
            col(DatasetVersion.submission_id).in_([first.id, again.id]))).all()
    assert len({(v.sha256, v.file_sha256) for v in versions}) == 1 and len(versions) == 2
    # The stored copy changed on disk behind the application's back: a third acceptance of the
    # same file is refused rather than taking the altered copy as the accepted data.
    [stored] = (demo_ctx.home / "datasets" / DATASET).glob(f"{versions[0].sha256}.parquet")
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(stored), stored, compression="none")  # still Parquet, other bytes
    third = send(demo_ctx, upt, region_rows, request_id=2)
    with pytest.raises(IntegrityError) as refused:
        _accept(demo_ctx, verifier, third.id)
    assert refused.value.key == "dataset.integrity"
    with Session(demo_ctx.engine) as session:
        assert session.get(Submission, third.id).status != SubmissionStatus.VERIFIED


def test_an_upload_whose_writer_died_mid_write_is_swept_at_the_next_start(demo_ctx, tmp_path):
    import os
    import subprocess
    import sys

    from ocenter.bootstrap import remove_stale_temporaries
    from ocenter.procedure.data_intake import _write_once
    from tests.conftest import PROJECT_ROOT

    whole = demo_ctx.uploads_dir / ("a" * 64 + ".csv")
    _write_once(whole, b"kode,nilai\n1,2\n")  # a write that finishes leaves the file alone
    # A sender's upload whose server process dies between writing and renaming it.
    dying = demo_ctx.uploads_dir / ("b" * 64 + ".csv")
    script = ("import os, sys; from pathlib import Path\n"
              "from ocenter.procedure.data_intake import _write_once\n"
              "os.fsync = lambda fd: os._exit(9)\n"
              "_write_once(Path(sys.argv[1]), b'kode,nilai\\n3,4\\n')\n")
    died = subprocess.run([sys.executable, "-c", script, str(dying)], cwd=PROJECT_ROOT,
                          capture_output=True, check=False)
    assert died.returncode == 9 and not dying.exists()
    [left] = [p for p in demo_ctx.uploads_dir.iterdir() if p.name.startswith(f".{dying.name}.")]
    os.utime(left, (0, 0))  # stale by now
    assert remove_stale_temporaries(demo_ctx) == [str(left.relative_to(demo_ctx.home))]
    assert not left.exists() and whole.read_bytes() == b"kode,nilai\n1,2\n"
