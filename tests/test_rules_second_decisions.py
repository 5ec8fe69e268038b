"""What the log and a refusal say when a decision meets one made before: the same person sending
it again, another person after them, a command-line change, an unlock, a logout."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts import grants
from ocenter.accounts.admin import change_user, unlock_user
from ocenter.accounts.authentication import authenticate, log_out
from ocenter.accounts.levels import Level
from ocenter.accounts.throttle import USER_LOCK_AFTER, user_key
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.clock import FixedClock
from ocenter.errors import Conflict, UserError
from ocenter.models import Event, LoginThrottle, SubmissionStatus

WRONG = "bukan-sandinya"


def _events(ctx, action: str) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action).order_by(Event.id)).all())


def test_a_submission_received_by_one_verifier_is_refused_to_another_naming_the_first(demo_ctx, as_user):
    sent = procedure.submit_data(demo_ctx, as_user("pppomn"), dataset_id="sampling-pengujian",
                                 level=Level.TERBATAS, filename="a.csv", content=b"id_sampel\n1\n")
    assert sent.status == SubmissionStatus.SENT
    received = procedure.receive_submission(demo_ctx, as_user("verifikator"), sent.id)
    # The same person again: done already, nothing new logged.
    assert procedure.receive_submission(demo_ctx, as_user("verifikator"), sent.id).id == received.id
    with pytest.raises(Conflict) as refused:
        procedure.receive_submission(demo_ctx, as_user("analis"), sent.id)
    assert refused.value.key == "decided.data_received"
    assert refused.value.params["username"] == "verifikator"
    assert refused.value.params["submission"] == sent.id
    assert [e.actor for e in _events(demo_ctx, "data.received") if e.submission_id == sent.id] == [
        "verifikator"]


def test_a_change_made_from_the_command_line_is_logged_as_cli(demo_ctx):
    change_user(demo_ctx, None, "upt", clearance=Level.RAHASIA)
    [logged] = _events(demo_ctx, "user.changed")
    assert logged.actor == "cli" and "upt" in logged.detail


def test_a_second_grant_of_the_same_dashboard_names_the_grant_in_force(demo_ctx, as_user):
    ends = date.today() + timedelta(days=30)
    first = grants.grant_dashboard(demo_ctx, as_user("analis"), "upt", "ringkasan-pengawasan-nasional",
                                   "Koordinasi operasi pasar.", ends)
    with pytest.raises(UserError) as refused:
        grants.grant_dashboard(demo_ctx, as_user("admin"), "upt", "ringkasan-pengawasan-nasional",
                               "Koordinasi operasi pasar.", ends)
    assert refused.value.key == "grants.duplicate"
    assert refused.value.params["grant"] == first.id and refused.value.params["username"] == "upt"


def test_an_unlocked_name_starts_counting_failures_from_nothing(demo_ctx, as_user):
    start = datetime.now(UTC) - timedelta(hours=1)
    for failure in range(USER_LOCK_AFTER):
        with pytest.raises(UserError):
            authenticate(dataclasses.replace(demo_ctx, clock=FixedClock(start + timedelta(minutes=failure))),
                         "direktur", WRONG, "client:192.0.2.7")
    unlock_user(demo_ctx, as_user("admin"), "direktur")
    with Session(demo_ctx.engine) as session:
        row = session.get(LoginThrottle, user_key("direktur"))
        assert (row.failures, row.locked_at, row.not_before) == (0, None, None)
    assert authenticate(demo_ctx, "direktur", DEMO_PASSWORD, "client:192.0.2.7")


def test_a_logout_is_logged_with_its_reason(demo_ctx):
    session_id = authenticate(demo_ctx, "kepala", DEMO_PASSWORD, "client:192.0.2.8")
    log_out(demo_ctx, session_id)
    [logged] = _events(demo_ctx, "login.logged_out")
    assert (logged.actor, logged.outcome) == ("kepala", "logout")


def test_a_letter_for_a_request_not_on_display_and_a_receipt_before_it_are_refused(demo_ctx, as_user):
    in_review = 2  # the demo's request at step 5
    with pytest.raises(Conflict) as refused:
        procedure.evaluate_dashboard(demo_ctx, as_user("analis"), in_review, "Catatan.")
    assert (refused.value.key, refused.value.params["request"]) == ("procedure.wrong_status", in_review)
    with pytest.raises(Conflict) as refused:
        procedure.acknowledge_letter(demo_ctx, as_user("unit"), in_review, "Terima kasih.")
    assert refused.value.key == "procedure.wrong_status"
    assert procedure.evaluations_of(demo_ctx, in_review) == []


def test_a_verdict_sent_again_is_done_once_and_a_different_one_is_told_what_was_decided(demo_ctx, as_user):
    verifier = as_user("verifikator")
    sent = procedure.submit_data(demo_ctx, as_user("pppomn"), dataset_id="sampling-pengujian",
                                 level=Level.TERBATAS, filename="b.csv", content=b"id_sampel\n1\n")
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    procedure.check_submission(demo_ctx, verifier, sent.id)
    returned = procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False, note="Kolom kurang.")
    again = procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False, note="Kolom kurang.")
    assert again.id == returned.id and again.status == SubmissionStatus.RETURNED
    with pytest.raises(Conflict) as refused:  # another reason: not the same verdict sent again
        procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False, note="Format salah.")
    assert (refused.value.key, refused.value.params["username"]) == ("decided.data_returned", "verifikator")
    assert len([e for e in _events(demo_ctx, "data.returned") if e.submission_id == sent.id]) == 1
