"""Every step's clock, kept as intervals: started, paused, resumed and restarted by the events the
SOP implies, and the gates of steps 1-4 (data before the mock-up, fixes linked to what they fix, a
file never below its contract's level)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.levels import Level, Tier
from ocenter.bootstrap import demo_sampling_frame, initialise
from ocenter.clock import FixedClock
from ocenter.display.spec import DefaultView
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import (
    ClockWait,
    DashboardRequest,
    RequestStatus,
    StepInterval,
    Submission,
    SubmissionStatus,
)
from ocenter.procedure import worklists
from tests.conftest import settings_for

DATASET = "sampling-pengujian"
NO_NEW_DATA = "Data sampling sudah diterima sebelumnya."


def on(ctx, day: date, hour: int = 9):  # noqa: ANN001, ANN201 - AppContext
    """``ctx`` on ``day`` at ``hour`` in Jakarta (October 2026 has no holiday on a weekday)."""
    return replace(ctx, clock=FixedClock.wib(day.year, day.month, day.day, hour))


def intervals(ctx, request_id: int) -> list[tuple]:  # noqa: ANN001
    """(step, waiting on, restarts, carried, start event, end event, working days) per interval."""
    return [(i.step, i.waiting_on, i.restarts, i.carried_hk, i.start_event, i.end_event, i.used_hk)
            for i in procedure.intervals_of(ctx, request_id)]


def region_csv(ctx, upt, broken: bool = False) -> bytes:  # noqa: ANN001
    frame = demo_sampling_frame(ctx.clock.today(), months=12)
    frame = frame[frame["kode_upt"] == upt.unit_code].tail(40).reset_index(drop=True)
    if broken:
        frame.loc[2, "jumlah_sampel"] = "tiga"
    return frame.to_csv(index=False).encode("utf-8")


def file_request(ctx, as_user) -> DashboardRequest:  # noqa: ANN001
    return procedure.file_request(
        ctx, as_user("direktur"), title="Temuan per Wilayah", purpose="Rapat pimpinan.",
        datasets_wanted=[DATASET], level=Level.RAHASIA, audience=["kepala"])


def test_every_step_has_its_clock_and_every_interval_is_kept(demo_ctx, as_user):
    direktur, upt, verifier, analyst = (as_user(u) for u in ("direktur", "upt", "verifikator",
                                                              "analis"))
    ctx = on(demo_ctx, date(2026, 10, 5))  # Monday
    request = file_request(ctx, as_user)
    rid = request.id
    # Step 2 runs from the request form: 1 HK.
    clock = procedure.request_clock(on(ctx, date(2026, 10, 6)), procedure.get_request(ctx, rid))
    assert (clock.step, clock.due, clock.used_hk, clock.overdue) == (2, date(2026, 10, 6), 1, False)

    sent = procedure.submit_data(on(ctx, date(2026, 10, 6)), upt, dataset_id=DATASET,
                                 level=Level.TERBATAS, filename="a.csv",
                                 content=region_csv(ctx, upt, broken=True), request_id=rid)
    # Step 3 starts at the receipt: 5 HK.
    procedure.receive_submission(on(ctx, date(2026, 10, 7)), verifier, sent.id)
    procedure.check_submission(on(ctx, date(2026, 10, 8)), verifier, sent.id)
    procedure.decide_submission(on(ctx, date(2026, 10, 8)), verifier, sent.id, accept=False,
                                note="Baris 4 bukan angka.")
    # Returned: the clock waits on the sender, and the days it waits are not step 3's.
    paused = procedure.request_clock(on(ctx, date(2026, 10, 13)), procedure.get_request(ctx, rid))
    assert (paused.step, paused.waiting_on, paused.due, paused.used_hk) == (
        3, ClockWait.SENDER, None, 1)
    assert not paused.overdue
    fixed = procedure.submit_data(on(ctx, date(2026, 10, 13)), upt, dataset_id=DATASET,
                                  level=Level.TERBATAS, filename="b.csv",
                                  content=region_csv(ctx, upt), resubmits=sent.id)
    assert (fixed.resubmits_id, fixed.request_id) == (sent.id, rid)  # serves the same request
    procedure.receive_submission(on(ctx, date(2026, 10, 14)), verifier, fixed.id)
    resumed = procedure.request_clock(on(ctx, date(2026, 10, 14)), procedure.get_request(ctx, rid))
    # 1 HK used before the pause, 4 left from Wednesday 14: due Tuesday 20, not Wednesday 14.
    assert (resumed.step, resumed.used_hk, resumed.due) == (3, 1, date(2026, 10, 20))
    before = worklists.submission_page(ctx, upt, SubmissionStatus.RETURNED, needs_fixing=True)
    assert [s.id for s in before.items] == [sent.id]
    procedure.check_submission(on(ctx, date(2026, 10, 15)), verifier, fixed.id)
    procedure.decide_submission(on(ctx, date(2026, 10, 15)), verifier, fixed.id, accept=True,
                                note="Sesuai.")
    # The fix accepted closes the returned one: nothing left to fix.
    assert worklists.submission_page(ctx, upt, SubmissionStatus.RETURNED, needs_fixing=True).total == 0
    assert procedure.fixes_of(ctx, [sent.id])[sent.id].id == fixed.id

    # Step 4 started when the data was accepted, not when the analyst opened the mock-up.
    head = procedure.start_mockup(on(ctx, date(2026, 10, 16)), analyst, rid)
    step4 = procedure.request_clock(on(ctx, date(2026, 10, 16)), procedure.get_request(ctx, rid))
    assert (step4.step, step4.started, step4.due) == (4, date(2026, 10, 15), date(2026, 10, 22))
    procedure.send_mockup(on(ctx, date(2026, 10, 19)), analyst, rid)
    review = procedure.request_clock(on(ctx, date(2026, 10, 21)), procedure.get_request(ctx, rid))
    assert (review.waiting_on, review.used_hk) == (ClockWait.UNIT, 2)
    procedure.request_changes(on(ctx, date(2026, 10, 21)), direktur, rid, head, "Judul lain.")
    again = procedure.request_clock(on(ctx, date(2026, 10, 21)), procedure.get_request(ctx, rid))
    assert (again.step, again.used_hk, again.due) == (4, 2, date(2026, 10, 26))
    procedure.send_mockup(on(ctx, date(2026, 10, 22)), analyst, rid)
    procedure.approve_mockup(on(ctx, date(2026, 10, 23)), direktur, rid, head)
    build = procedure.request_clock(on(ctx, date(2026, 10, 26)), procedure.get_request(ctx, rid))
    assert (build.step, build.due, build.used_hk) == (6, date(2026, 11, 13), 1)

    # Step 6: the unit asks to adjust the mock-up during the build; it goes back to the mock-up,
    # and the approval after that starts 15 HK again.
    procedure.ask_mockup_adjustment(on(ctx, date(2026, 10, 26)), direktur, rid, "Tambah peta.")
    assert procedure.get_request(ctx, rid).status == RequestStatus.CHANGES_REQUESTED
    back = procedure.request_clock(on(ctx, date(2026, 10, 26)), procedure.get_request(ctx, rid))
    assert (back.step, back.used_hk, back.due) == (4, 0, date(2026, 11, 2))
    spec = ctx.store.snapshot(head).specs[request.dashboard_id]
    head = procedure.save_mockup(on(ctx, date(2026, 10, 27)), analyst, rid,
                                 spec.model_copy(update={"title": "Temuan per Wilayah (peta)"}),
                                 head, "Penyesuaian")
    procedure.send_mockup(on(ctx, date(2026, 10, 27)), analyst, rid)
    procedure.approve_mockup(on(ctx, date(2026, 10, 28)), direktur, rid, head)
    assert ctx.store.snapshot("main").specs[request.dashboard_id].title.endswith("(peta)")
    rebuild = procedure.request_clock(on(ctx, date(2026, 10, 28)), procedure.get_request(ctx, rid))
    assert (rebuild.step, rebuild.used_hk, rebuild.due) == (6, 0, date(2026, 11, 18))

    # Steps 7, 8 and 9 start when the step before ends; step 10 when the letter is sent.
    procedure.build_dashboard(on(ctx, date(2026, 10, 29)), analyst, rid)
    procedure.classify_defaults(on(ctx, date(2026, 10, 30)), analyst, rid,
                                [DefaultView(tier=Tier.KEPALA_BPOM, months=12)])
    procedure.put_on_display(on(ctx, date(2026, 11, 2)), analyst, rid)
    procedure.evaluate_dashboard(on(ctx, date(2026, 11, 3)), analyst, rid, "Dipakai rapat.")
    letter = procedure.request_clock(on(ctx, date(2026, 11, 5)), procedure.get_request(ctx, rid))
    assert (letter.step, letter.due, letter.overdue) == (10, date(2026, 11, 4), True)
    procedure.acknowledge_letter(on(ctx, date(2026, 11, 5)), direktur, rid, "Terima kasih.")

    sender, unit = ClockWait.SENDER, ClockWait.UNIT
    assert intervals(ctx, rid) == [
        (2, None, True, 0, "request.filed", "data.received", 2),
        (3, None, True, 0, "data.received", "data.returned", 1),
        (3, sender, False, 1, "data.returned", "data.submitted", 3),
        (2, None, True, 0, "data.submitted", "data.received", 1),
        (3, None, False, 1, "data.received", "data.verified", 1),
        (4, None, True, 0, "data.verified", "mockup.sent", 2),
        (4, unit, False, 2, "mockup.sent", "mockup.changes_requested", 2),
        (4, None, False, 2, "mockup.changes_requested", "mockup.sent", 1),
        (4, unit, False, 3, "mockup.sent", "mockup.approved", 1),
        (6, None, True, 0, "mockup.approved", "mockup.adjustment_requested", 1),
        (4, None, True, 0, "mockup.adjustment_requested", "mockup.sent", 1),
        (4, unit, False, 1, "mockup.sent", "mockup.approved", 1),
        (6, None, True, 0, "mockup.approved", "dashboard.built", 1),
        (7, None, True, 0, "dashboard.built", "dashboard.classified", 1),
        (8, None, True, 0, "dashboard.classified", "dashboard.displayed", 1),
        (9, None, True, 0, "dashboard.displayed", "dashboard.evaluated", 1),
        (10, None, True, 0, "dashboard.evaluated", "letter.received", 2),
    ]
    kept = procedure.intervals_of(ctx, rid)
    assert {(i.started_by, i.ended_by) for i in kept if i.step == 3} == {
        ("verifikator", "verifikator"), ("verifikator", "upt")}
    assert all(i.ended_at is not None for i in kept)  # received: no clock runs any more


def test_beranda_counts_a_paused_clock_as_on_time_and_a_late_one_as_late(demo_ctx, as_user):
    analyst = as_user("analis")
    ctx = on(demo_ctx, date(2026, 10, 5))
    waiting = file_request(ctx, as_user).id
    procedure.state_no_new_data(ctx, analyst, waiting, NO_NEW_DATA)
    procedure.start_mockup(ctx, analyst, waiting)
    procedure.send_mockup(ctx, analyst, waiting)  # with the unit: paused
    late = file_request(ctx, as_user).id  # step 2, 1 HK: late from Wednesday
    later = on(ctx, date(2026, 11, 30))
    counts = worklists.open_step_counts(later, analyst, later.clock.today())
    mine = {waiting: (5, False), late: (1, True)}
    for request_id, key in mine.items():
        assert counts.get(key, 0) >= 1, (request_id, counts)
    clocks = procedure.request_clocks(later, [procedure.get_request(ctx, r) for r in mine])
    assert clocks[waiting].waiting_on == ClockWait.UNIT and not clocks[waiting].overdue
    assert clocks[late].overdue and clocks[late].due == date(2026, 10, 6)


def _counts(ctx, request_id: int = 999) -> tuple:  # noqa: ANN001
    """What a refusal must leave as it was: submissions, intervals, uploads, main, the mock-up."""
    with Session(ctx.engine) as session:
        return (len(session.exec(select(Submission)).all()),
                len(session.exec(select(StepInterval)).all()),
                sorted(p.name for p in ctx.uploads_dir.iterdir()),
                ctx.store.head("main"), ctx.store.head(ctx.store.mockup_branch(request_id)))


def test_no_mockup_before_the_requests_data_is_accepted(demo_ctx, as_user):
    ctx, analyst = on(demo_ctx, date(2026, 10, 5)), as_user("analis")
    request = file_request(ctx, as_user)
    before = _counts(ctx, request.id)
    with pytest.raises(UserError) as refused:
        procedure.start_mockup(ctx, analyst, request.id)
    assert refused.value.key == "procedure.data_not_accepted"
    assert refused.value.params["datasets"] == DATASET
    assert "diterima" in refused.value.text("id") and "accepted" in refused.value.text("en")
    assert _counts(ctx, request.id) == before
    assert procedure.get_request(ctx, request.id).status == RequestStatus.REQUESTED

    # Only a Pusdatin analyst states that no new data is needed, and only with a reason.
    with pytest.raises(PermissionDenied):
        procedure.state_no_new_data(ctx, as_user("direktur"), request.id, NO_NEW_DATA)
    with pytest.raises(UserError) as no_reason:
        procedure.state_no_new_data(ctx, analyst, request.id, "  ")
    assert no_reason.value.key == "procedure.no_new_data_needs_reason"
    assert procedure.get_request(ctx, request.id).no_new_data_reason is None
    procedure.state_no_new_data(on(ctx, date(2026, 10, 7)), analyst, request.id, NO_NEW_DATA)
    stated = procedure.get_request(ctx, request.id)
    assert (stated.no_new_data_by, stated.no_new_data_reason) == ("analis", NO_NEW_DATA)
    # Step 4's clock starts with the statement.
    clock = procedure.request_clock(on(ctx, date(2026, 10, 8)), stated)
    assert (clock.step, clock.started, clock.due) == (4, date(2026, 10, 7), date(2026, 10, 14))
    procedure.start_mockup(ctx, analyst, request.id)
    assert procedure.get_request(ctx, request.id).status == RequestStatus.MOCKUP


def test_a_file_below_its_contracts_level_is_refused_and_nothing_is_kept(demo_ctx, as_user):
    ctx, upt = on(demo_ctx, date(2026, 10, 5)), as_user("upt")
    before = _counts(ctx)
    with pytest.raises(UserError) as refused:
        procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBUKA,
                              filename="a.csv", content=region_csv(ctx, upt))
    assert refused.value.key == "procedure.level_below_contract"
    assert refused.value.params == {"declared": "terbuka", "contract": "terbatas",
                                    "dataset": DATASET}
    assert refused.value.text("id").startswith("Tingkat kerahasiaan yang dinyatakan (terbuka)")
    assert "below the level of the contract" in refused.value.text("en")
    assert _counts(ctx) == before
    # At the contract's level or above, the same file is taken.
    procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.RAHASIA, filename="a.csv",
                          content=region_csv(ctx, upt))


def test_a_fix_is_linked_only_to_the_senders_own_returned_submission(demo_ctx, as_user):
    ctx, upt, verifier = on(demo_ctx, date(2026, 10, 5)), as_user("upt"), as_user("verifikator")
    sent = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                 filename="a.csv", content=region_csv(ctx, upt, broken=True))
    content = region_csv(ctx, upt)
    with pytest.raises(Conflict) as not_returned:  # still waiting for Pusdatin
        procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="b.csv", content=content, resubmits=sent.id)
    assert not_returned.value.key == "procedure.fix_not_returned"
    procedure.receive_submission(ctx, verifier, sent.id)
    procedure.check_submission(ctx, verifier, sent.id)
    procedure.decide_submission(ctx, verifier, sent.id, accept=False, note="Baris 4.")
    before = _counts(ctx)
    with pytest.raises(NotFound) as other_unit:  # another sender cannot fix this UPT's data
        procedure.submit_data(ctx, as_user("mitra"), dataset_id=DATASET, level=Level.TERBATAS,
                              filename="b.csv", content=content, resubmits=sent.id)
    assert other_unit.value.key == "procedure.submission_missing"
    request = file_request(ctx, as_user)
    with pytest.raises(UserError) as other_request:
        procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="b.csv", content=content, resubmits=sent.id,
                              request_id=request.id)
    assert other_request.value.key == "procedure.fix_other_request"
    assert _counts(ctx)[0::2] == before[0::2]
    fix = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                filename="b.csv", content=content, resubmits=sent.id)
    procedure.receive_submission(ctx, verifier, fix.id)
    procedure.check_submission(ctx, verifier, fix.id)
    procedure.decide_submission(ctx, verifier, fix.id, accept=True, note="Sesuai.")
    with pytest.raises(Conflict) as done:  # fixed once: a second fix has nothing to close
        procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="c.csv", content=content, resubmits=sent.id)
    assert done.value.key == "procedure.fix_done"


def test_only_the_requesting_unit_asks_to_adjust_and_only_during_the_build(demo_ctx, as_user):
    ctx, analyst = on(demo_ctx, date(2026, 10, 5)), as_user("analis")
    request = file_request(ctx, as_user)
    procedure.state_no_new_data(ctx, analyst, request.id, NO_NEW_DATA)
    head = procedure.start_mockup(ctx, analyst, request.id)
    procedure.send_mockup(ctx, analyst, request.id)
    with pytest.raises(Conflict) as in_review:  # in review, the unit asks for changes instead
        procedure.ask_mockup_adjustment(ctx, as_user("direktur"), request.id, "Tambah peta.")
    assert in_review.value.key == "procedure.adjust_not_building"
    procedure.approve_mockup(ctx, as_user("direktur"), request.id, head)
    with pytest.raises(PermissionDenied) as other_unit:
        procedure.ask_mockup_adjustment(ctx, as_user("unit"), request.id, "Tambah peta.")
    assert other_unit.value.key == "procedure.not_your_unit"
    with pytest.raises(UserError) as no_comment:
        procedure.ask_mockup_adjustment(ctx, as_user("direktur"), request.id, " ")
    assert no_comment.value.key == "procedure.changes_need_comment"
    assert procedure.get_request(ctx, request.id).status == RequestStatus.APPROVED
    assert [i.step for i in procedure.intervals_of(ctx, request.id)][-1] == 6
    procedure.ask_mockup_adjustment(ctx, as_user("direktur"), request.id, "Tambah peta.")
    procedure.ask_mockup_adjustment(ctx, as_user("direktur"), request.id, "Tambah peta.")  # again
    assert [c.text for c in procedure.review_comments(ctx, request.id)] == ["Tambah peta."]
    assert procedure.get_request(ctx, request.id).review_rounds == 1


def test_an_older_database_starts_and_its_requests_in_flight_get_their_clocks(demo_home: Path):
    """A database written before clocks were kept: no interval table, none of the new columns.
    The app starts on it, and each request in flight gets a clock from its current step's start."""
    database = demo_home / "ocenter.db"
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE alembic_version")  # made before migrations too
        connection.execute("DROP TABLE stepinterval")
        for column in ("no_new_data_reason", "no_new_data_by", "no_new_data_at"):
            connection.execute(f"ALTER TABLE dashboardrequest DROP COLUMN {column}")
        connection.execute("DROP INDEX ix_submission_resubmits_id")
        connection.execute("ALTER TABLE submission DROP COLUMN resubmits_id")
        connection.execute("UPDATE dashboardrequest SET step_started_at = '2026-10-05 02:00:00' "
                           "WHERE id = 1")
        connection.execute("UPDATE dashboardrequest SET step_started_at = '2026-10-07 02:00:00' "
                           "WHERE id = 2")
    ctx = initialise(settings_for(demo_home), demo=True, progress=lambda _m: None,
                     clock=FixedClock.wib(2026, 10, 12))
    try:
        opened = {i.request_id: (i.step, i.waiting_on, i.start_event, i.started_by)
                  for r in (1, 2) for i in procedure.intervals_of(ctx, r)}
        assert opened == {1: (9, None, "clock.opened", "system"),
                          2: (4, ClockWait.UNIT, "clock.opened", "system")}
        displayed = procedure.request_clock(ctx, procedure.get_request(ctx, 1))
        # Step 9, 5 HK from Monday 5 October: due Monday 12, on time that day.
        assert (displayed.step, displayed.due, displayed.overdue) == (9, date(2026, 10, 12), False)
        assert procedure.open_missing_clocks(ctx.engine) == 0  # once only
        # The new columns are there: a fix can name what it fixes.
        with Session(ctx.engine) as session:
            assert session.exec(select(Submission.resubmits_id)).first() is None
    finally:
        ctx.engine.dispose()


def _a_second_open_clock_is_refused(ctx, as_user) -> None:  # noqa: ANN001
    """A request has one open clock: the database refuses a second (two processes at once)."""
    from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError

    request = file_request(on(ctx, date(2026, 10, 5)), as_user)
    with Session(ctx.engine) as session:
        session.add(StepInterval(request_id=request.id, step=3, started_at=ctx.clock.now(),
                                 started_by="analis", start_event="data.received"))
        with pytest.raises(DatabaseIntegrityError):
            session.commit()
    assert [i.step for i in procedure.intervals_of(ctx, request.id)] == [2]


def test_a_request_has_one_open_clock(demo_ctx, as_user):
    _a_second_open_clock_is_refused(demo_ctx, as_user)


@pytest.mark.postgres
def test_a_request_has_one_open_clock_on_postgresql(postgres_url, tmp_path):
    from ocenter.accounts.login import authority_of

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=FixedClock.wib(2026, 10, 5))
    try:
        # The demo's requests in flight got their clocks at the first start.
        assert [i.step for i in procedure.intervals_of(ctx, 2)] == [4]
        _a_second_open_clock_is_refused(ctx, lambda username: authority_of(
            ctx.engine, username, production=False, today=ctx.clock.today()))
    finally:
        ctx.engine.dispose()
