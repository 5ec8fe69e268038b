"""Steps 9-10: Pusdatin evaluates the dashboard and sends the letter (5 HK); the unit confirms (1 HK)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.accounts.visibility import RequestView, request_view
from ocenter.context import AppContext
from ocenter.errors import NotFound, UserError
from ocenter.events import record
from ocenter.models import (
    DashboardRequest,
    Evaluation,
    Event,
    RequestStatus,
    Submission,
    Unit,
)
from ocenter.procedure.common import REQUESTER_ROLES, _advance, _expect_status, _own_unit
from ocenter.procedure.data_intake import submission_level
from ocenter.procedure.decisions import decided_conflict, lock_request, request_decision
from ocenter.procedure.letters import issue_letter
from ocenter.procedure.workdays import local_time


def evaluate_dashboard(ctx: AppContext, actor: Authority, request_id: int, notes: str) -> Evaluation:
    """Step 9: Pusdatin monitors and evaluates the dashboard and sends the unit the letter,
    numbered, signed by the head of Pusdatin and kept as a PDF (``letters.issue_letter``)."""
    require_role(actor, Role.ANALIS)
    if not notes.strip():
        raise UserError("procedure.evaluation_needs_notes")
    now = ctx.clock.now()
    today = local_time(now).date()  # the letter's date, from the same reading as its stamp
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        if request.status != RequestStatus.DISPLAYED:
            decided = request_decision(session, request_id, 9)
            if decided is None:
                _expect_status(request, RequestStatus.DISPLAYED)
            if decided.username == actor.username and decided.text == notes.strip():
                return _latest_evaluation(session, request_id)  # sent again: already done
            raise decided_conflict(session, decided, request=request_id)
        # It exists: the request's unit is a foreign key.
        unit = session.get(Unit, request.requesting_unit)
        evaluation = Evaluation(
            request_id=request_id, notes=notes.strip(), letter_number="", letter_text="",
            evaluated_by=actor.username, evaluated_at=now,
        )
        issue_letter(ctx, session, evaluation, request, unit, today)
        number = evaluation.letter_number
        _advance(ctx, session, request, RequestStatus.EVALUATED, now, actor.username,
                 "dashboard.evaluated")
        record(session, actor.username, "dashboard.evaluated", step=9, request_id=request_id,
               detail=number)
        session.commit()
        session.refresh(evaluation)
        return evaluation


def _latest_evaluation(session: Session, request_id: int) -> Evaluation | None:
    query = select(Evaluation).where(Evaluation.request_id == request_id)
    return session.exec(query.order_by(col(Evaluation.id).desc())).first()


def evaluations_of(ctx: AppContext, request_id: int) -> list[Evaluation]:
    """Every evaluation of a request, newest first."""
    with Session(ctx.engine) as session:
        query = select(Evaluation).where(Evaluation.request_id == request_id)
        return list(session.exec(query.order_by(col(Evaluation.id).desc())).all())


def acknowledge_letter(
    ctx: AppContext, actor: Authority, request_id: int, note: str = ""
) -> Evaluation:
    """Step 10: the requesting unit receives the evaluated dashboard and the letter."""
    require_role(actor, *REQUESTER_ROLES)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _own_unit(actor, request)
        if request.status != RequestStatus.EVALUATED:
            decided = request_decision(session, request_id, 10)
            if decided is None:
                _expect_status(request, RequestStatus.EVALUATED)
            if decided.username == actor.username:
                return _latest_evaluation(session, request_id)  # sent again: already done
            raise decided_conflict(session, decided, request=request_id)
        evaluation = _latest_evaluation(session, request_id)
        if evaluation is None:
            raise NotFound("procedure.letter_missing", request=request_id)
        now = ctx.clock.now()
        evaluation.acknowledged_by = actor.username
        evaluation.acknowledged_at = now
        evaluation.acknowledgement_note = note.strip()[:1000]
        _advance(ctx, session, request, RequestStatus.RECEIVED, now, actor.username,
                 "letter.received")
        record(session, actor.username, "letter.received", step=10, request_id=request_id)
        session.commit()
        session.refresh(evaluation)
        return evaluation


def events(ctx: AppContext, request_id: int | None = None, limit: int = 500) -> list[Event]:
    """The newest events of the log, for one request or all."""
    with Session(ctx.engine) as session:
        query = select(Event).order_by(col(Event.id).desc()).limit(limit)
        if request_id is not None:
            query = query.where(Event.request_id == request_id)
        return list(session.exec(query).all())


def readable_events(
    ctx: AppContext, actor: Authority, request_id: int | None = None, limit: int = 500
) -> list[tuple[Event, bool]]:
    """``events`` as ``actor`` may read them: each with whether its detail is theirs to read.
    A detail quotes people's words (a comment, a reason) and the data they were about, so it is
    withheld on a request whose words are withheld from the actor (``accounts.visibility``) and
    on a submission above their clearance (the higher of its declared level and its contract's)."""
    found = events(ctx, request_id, limit)
    request_ids = {e.request_id for e in found if e.request_id is not None}
    submission_ids = {e.submission_id for e in found if e.submission_id is not None}
    contracts = ctx.store.snapshot("main").contracts
    with Session(ctx.engine) as session:
        requests = {r.id: r for r in session.exec(
            select(DashboardRequest).where(col(DashboardRequest.id).in_(request_ids))).all()}
        submissions = {s.id: s for s in session.exec(
            select(Submission).where(col(Submission.id).in_(submission_ids))).all()}

    def readable(event: Event) -> bool:
        request = requests.get(event.request_id)
        if request is not None and request_view(actor, request) != RequestView.FULL:
            return False
        submission = submissions.get(event.submission_id)
        if submission is None:
            return True
        contract = contracts.get(submission.dataset_id)
        level = submission.level if contract is None else submission_level(contract, submission)
        return actor.may_see_level(level)

    return [(event, readable(event)) for event in found]
