"""One decision wins: a use case holds the request or submission it decides on, and whoever
comes second is told who decided what, or finds their own decision already done.

Two verifiers pressing Terima and Kembalikan at once, or a reviewer approving while another asks
for changes, each run a conditional UPDATE first (the row's status must still be the one the
decision is about; PostgreSQL then holds the row, SQLite its write lock). The second waits for
the first to end and then finds the row moved: it is refused with a message naming the person,
the decision and its time, in the reader's language. A person retrying their own decision after
an interruption gets it back instead, as already done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from ocenter.context import AppContext
from ocenter.errors import Conflict
from ocenter.models import (
    DashboardRequest,
    Evaluation,
    MainDecision,
    ReviewComment,
    Submission,
    SubmissionStatus,
    User,
)
from ocenter.procedure.common import _hold_request, checkpoint
from ocenter.procedure.main_record import latest_decision, take_in_pending
from ocenter.procedure.workdays import local_time

#: The catalogue key naming each decision on a request, by SOP step (5 has two outcomes).
_STEP_KEYS = {6: "decided.built", 7: "decided.classified", 8: "decided.displayed"}


@dataclass(frozen=True)
class Decided:
    """A decision someone made: which (a catalogue key), who, when, and what it was about."""

    key: str
    username: str
    at: datetime
    commit: str | None = None  # the commit on main recording it, for steps 5-8
    reviewed_commit: str | None = None  # the mock-up revision a step-5 decision was about
    text: str | None = None  # the comment of a request for changes, the notes of an evaluation


def lock_request(ctx: AppContext, session: Session, request_id: int) -> DashboardRequest:
    """Hold the request's row for this transaction and read it, with every decision main holds
    about it taken in first (an earlier use case may have died after moving main). What was taken
    in is committed at once, so it stays whatever this use case then decides."""
    checkpoint("request.holding")
    while True:
        request = _hold_request(session, request_id)
        if take_in_pending(ctx, session, request) == 0:
            return request
        session.commit()


def request_decision(session: Session, request_id: int, step: int) -> Decided | None:
    """The newest decision of ``step`` (5 to 10) on the request, if anyone made one."""
    if step == 5:
        found = []
        approval = latest_decision(session, request_id, 5)
        if approval is not None:
            found.append(_from_main("decided.approved", approval))
        comment = session.exec(
            select(ReviewComment).where(ReviewComment.request_id == request_id)
            .order_by(col(ReviewComment.id).desc())
        ).first()
        if comment is not None:
            found.append(Decided("decided.changes_requested", comment.author, comment.at,
                                 reviewed_commit=comment.commit, text=comment.text))
        return max(found, key=lambda d: d.at, default=None)
    if step in _STEP_KEYS:
        decision = latest_decision(session, request_id, step)
        return None if decision is None else _from_main(_STEP_KEYS[step], decision)
    evaluation = session.exec(
        select(Evaluation).where(Evaluation.request_id == request_id)
        .order_by(col(Evaluation.id).desc())
    ).first()
    if evaluation is None:
        return None
    if step == 9:
        return Decided("decided.evaluated", evaluation.evaluated_by, evaluation.evaluated_at,
                       text=evaluation.notes)
    if evaluation.acknowledged_by is None or evaluation.acknowledged_at is None:
        return None
    return Decided("decided.letter_received", evaluation.acknowledged_by,
                   evaluation.acknowledged_at)


def _from_main(key: str, decision: MainDecision) -> Decided:
    return Decided(key, decision.decided_by, decision.decided_at, commit=decision.commit,
                   reviewed_commit=decision.reviewed_commit)


def submission_decision(submission: Submission) -> Decided | None:
    """Who last decided on the submission: received it, accepted it or returned it."""
    if submission.status in (SubmissionStatus.VERIFIED, SubmissionStatus.RETURNED):
        key = ("decided.data_accepted" if submission.status == SubmissionStatus.VERIFIED
               else "decided.data_returned")
        if submission.verified_by and submission.verified_at:
            return Decided(key, submission.verified_by, submission.verified_at,
                           text=submission.decision_note)
    if submission.received_by and submission.received_at:
        return Decided("decided.data_received", submission.received_by, submission.received_at)
    return None


def decided_conflict(session: Session, decided: Decided, **about: object) -> Conflict:
    """The refusal telling the second person who decided what, and when (``about``: the
    request or submission number the message names)."""
    user = session.get(User, decided.username)
    return Conflict(
        decided.key,
        name=user.name if user is not None else decided.username,
        username=decided.username,
        when=local_time(decided.at).strftime("%Y-%m-%d %H:%M WIB"),
        **about,
    )


#: Every key ``Decided`` may carry, for the catalogue's own test.
DECIDED_KEYS = (
    "decided.approved", "decided.changes_requested", *_STEP_KEYS.values(), "decided.evaluated",
    "decided.letter_received", "decided.data_received", "decided.data_accepted",
    "decided.data_returned",
)
