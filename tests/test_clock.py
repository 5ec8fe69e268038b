"""The use cases take the time and the day from the installation's clock, never from the machine.

Each test says which day it is with a ``FixedClock``; the due days are counted by hand on the
decreed calendar (as in ``tests/test_workdays.py``), which the demo installation's database holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import DEMO_DATASET, demo_sampling_frame, initialise
from ocenter.clock import FixedClock
from ocenter.models import DashboardRequest, RequestStatus, Submission
from ocenter.verification.datasets import load_dataset
from tests.conftest import settings_for


def _on(ctx, day: date, hour: int = 9, minute: int = 0):  # noqa: ANN001, ANN202 - AppContext
    """The same installation, on ``day`` at that time in Jakarta."""
    return replace(ctx, clock=FixedClock.wib(day.year, day.month, day.day, hour, minute))


def _region_csv(upt_code: str, until: date) -> tuple[bytes, date]:
    """Some of one UPT's demo samples up to ``until``, and the newest sampling date among them."""
    frame = demo_sampling_frame(until, months=2)
    frame = frame[frame["kode_upt"] == upt_code].tail(30).reset_index(drop=True)
    return frame.to_csv(index=False).encode("utf-8"), date.fromisoformat(
        frame["tanggal_sampling"].max()
    )


def test_a_fixed_clock_gives_the_day_in_jakarta():
    # 06:30 WIB on Fri 13 Mar 2026 is still Thu 12 Mar in UTC.
    clock = FixedClock.wib(2026, 3, 13, 6, 30)
    assert clock.now() == datetime(2026, 3, 12, 23, 30, tzinfo=UTC)
    assert clock.today() == date(2026, 3, 13)
    with pytest.raises(ValueError, match="time zone"):
        FixedClock(datetime(2026, 3, 13, 9))


def test_data_received_on_the_friday_before_nyepi_and_idul_fitri_is_due_on_27_march(
    demo_ctx, as_user
):
    upt, verifier = as_user("upt"), as_user("verifikator")
    content, _newest = _region_csv(upt.unit_code, date(2026, 3, 12))
    sending = _on(demo_ctx, date(2026, 3, 12), 15)
    sent = procedure.submit_data(sending, upt, dataset_id=DEMO_DATASET, level=Level.TERBATAS,
                                 filename="sampling.csv", content=content)
    assert sent.submitted_at == sending.clock.now()
    # Step 2 (1 HK) from Thu 12 Mar 2026: Fri 13 = 1.
    waiting = procedure.submission_clock(sending, sent)
    assert (waiting.step, waiting.due, waiting.overdue) == (2, date(2026, 3, 13), False)

    # Received on Friday at 06:30 WIB, when the UTC date is still Thursday: the Friday counts.
    receiving = _on(demo_ctx, date(2026, 3, 13), 6, 30)
    received = procedure.receive_submission(receiving, verifier, sent.id)
    assert received.received_at == receiving.clock.now()
    # Step 3 (5 HK): weekend, Mon 16 = 1, Tue 17 = 2, Wed 18 cuti Nyepi, Thu 19 Nyepi, Fri 20
    # Idul Fitri, weekend, Mon 23 and Tue 24 cuti Idul Fitri, Wed 25 = 3, Thu 26 = 4, Fri 27 = 5.
    expected = {
        date(2026, 3, 13): (0, False),
        date(2026, 3, 24): (2, False),  # a week and a half later, only two HK are used
        date(2026, 3, 27): (5, False),  # the due day itself is on time
        date(2026, 3, 28): (5, True),  # Saturday: no HK more, but the due day is past
        date(2026, 3, 30): (6, True),
    }
    for day, (used, late) in expected.items():
        clock = procedure.submission_clock(_on(demo_ctx, day), received)
        assert (clock.step, clock.due, clock.used_hk, clock.overdue) == (
            3, date(2026, 3, 27), used, late
        ), day


def test_verification_judges_freshness_on_the_day_of_the_clock(demo_ctx, as_user):
    upt, verifier = as_user("upt"), as_user("verifikator")
    content, newest = _region_csv(upt.unit_code, date(2026, 3, 12))
    cadence = procedure.contract_of(demo_ctx, DEMO_DATASET).cadence_days
    for days_later, issues in ((cadence, []), (cadence + 1, [("freshness", cadence + 1)])):
        ctx = _on(demo_ctx, newest + timedelta(days=days_later))
        sent = procedure.submit_data(ctx, upt, dataset_id=DEMO_DATASET, level=Level.TERBATAS,
                                     filename="sampling.csv", content=content)
        procedure.receive_submission(ctx, verifier, sent.id)
        report = procedure.check_submission(ctx, verifier, sent.id)
        assert report.valid  # freshness is a warning: late data may be a deliberate back-fill
        assert [(i.check, i.params["days_old"]) for i in report.dataset_issues] == issues


def test_changes_restart_the_clock_and_building_is_late_on_the_sixteenth_working_day(
    demo_ctx, as_user
):
    """The demo's request 2 is in review by the unit; its mock-up is sound."""
    unit, analyst = as_user("unit"), as_user("analis")
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(2))

    # Thu 18 Dec 2025 the unit asks for changes: step 4's 5 HK count again from that day.
    # Fri 19 = 1, Mon 22 = 2, Tue 23 = 3, Wed 24 = 4, Thu 25 Natal, Fri 26 cuti, Mon 29 = 5.
    asking = _on(demo_ctx, date(2025, 12, 18), 14)
    procedure.request_changes(asking, unit, 2, head, "Tambahkan tren per provinsi.")
    request = procedure.get_request(asking, 2)
    assert request.step_started_at == asking.clock.now()
    clock = procedure.request_clock(asking, request)
    assert (clock.step, clock.started, clock.due) == (4, date(2025, 12, 18), date(2025, 12, 29))

    procedure.send_mockup(_on(demo_ctx, date(2025, 12, 22)), analyst, 2)
    approving = _on(demo_ctx, date(2025, 12, 23), 16)
    procedure.approve_mockup(approving, unit, 2, head)
    request = procedure.get_request(approving, 2)
    assert request.status == RequestStatus.APPROVED
    # Step 6 (15 HK) from Tue 23 Dec 2025: Wed 24 = 1, Thu 25 Natal, Fri 26 cuti, Mon 29 to
    # Wed 31 = 2..4, Thu 1 Jan Tahun Baru, Fri 2 = 5, Mon 5 to Fri 9 = 6..10, Mon 12 to Thu 15
    # = 11..14, Fri 16 Isra Mikraj, weekend, Mon 19 Jan 2026 = 15.
    expected = {
        date(2025, 12, 23): (0, False),
        date(2026, 1, 16): (14, False),  # a holiday: still 14
        date(2026, 1, 19): (15, False),  # the due day is on time
        date(2026, 1, 20): (16, True),
    }
    for day, (used, late) in expected.items():
        clock = procedure.request_clock(_on(demo_ctx, day), request)
        assert (clock.step, clock.due, clock.used_hk, clock.overdue) == (
            6, date(2026, 1, 19), used, late
        ), day


def test_the_letter_is_dated_and_received_on_the_days_of_the_clock(demo_ctx, as_user):
    """The demo's request 1 is on display, waiting for its evaluation (step 9)."""
    analyst, direktur = as_user("analis"), as_user("direktur")
    # 06:30 WIB on Mon 2 Feb 2026 is still Sun 1 Feb in UTC: the letter is of February.
    evaluating = _on(demo_ctx, date(2026, 2, 2), 6, 30)
    evaluation = procedure.evaluate_dashboard(evaluating, analyst, 1, "Dasbor dipakai rapat.")
    assert evaluation.evaluated_at == evaluating.clock.now()
    assert evaluation.letter_number.endswith("/POM.09.01/02/2026")
    assert "Jakarta, 2 Februari 2026" in evaluation.letter_text
    # Step 10 (1 HK) from Mon 2 Feb 2026: Tue 3 = 1; late on Wed 4.
    request = procedure.get_request(evaluating, 1)
    on_time = procedure.request_clock(_on(demo_ctx, date(2026, 2, 3)), request)
    late = procedure.request_clock(_on(demo_ctx, date(2026, 2, 4)), request)
    assert (on_time.step, on_time.due, on_time.overdue) == (10, date(2026, 2, 3), False)
    assert (late.used_hk, late.overdue) == (2, True)

    receiving = _on(demo_ctx, date(2026, 2, 4), 8)
    received = procedure.acknowledge_letter(receiving, direktur, 1)
    assert received.acknowledged_at == receiving.clock.now()
    assert procedure.get_request(receiving, 1).step_started_at == receiving.clock.now()


def test_the_demo_content_is_made_up_to_the_day_of_the_clock(tmp_path):
    clock = FixedClock.wib(2025, 6, 30, 10)
    ctx = initialise(settings_for(tmp_path / "home"), demo=True, progress=lambda _message: None,
                     clock=clock)
    try:
        with Session(ctx.engine) as session:
            requests = session.exec(select(DashboardRequest)).all()
            submission = session.exec(select(Submission).order_by(col(Submission.id))).first()
        assert {(r.created_at, r.step_started_at) for r in requests} == {(clock.now(), clock.now())}
        assert (submission.submitted_at, submission.verified_at) == (clock.now(), clock.now())
        report = procedure.stored_report(submission)
        assert report.valid and report.dataset_issues == []  # fresh on that day
        version = procedure.latest_versions(ctx)[DEMO_DATASET]
        dates = load_dataset(ctx.home, DEMO_DATASET, version.sha256).column("tanggal_sampling")
        assert str(max(dates.to_pylist()))[:7] == "2025-06"
        assert str(min(dates.to_pylist()))[:7] == "2023-07"  # the 24 months up to June 2025
    finally:
        ctx.engine.dispose()
