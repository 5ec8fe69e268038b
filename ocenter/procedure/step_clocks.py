"""Each step's clock against the SOP's time standard, kept as intervals (``StepInterval``).

A clock starts with the event the SOP implies: step 2 when the request form is filed, step 3 when
the request's data is received, step 4 when its data is accepted (or Pusdatin states no new data
is needed), step 6 when the unit approves the mock-up, steps 7, 8 and 9 when the step before
ends, step 10 when the letter is sent. It pauses while the request waits on the sender (its data
returned for fixing) or on the unit (the mock-up out for review), and resumes where it stopped:
the working days of a pause are not the step's. Step 6 starts from zero again when the unit asks
to adjust the mock-up during the build. Every interval is kept, so on-time performance can be
measured afterwards; a request has at most one open interval, the clock it stands on now.

May import: models, procedure.workdays, procedure.work_calendar, sqlmodel.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import exists
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session, col, select

from ocenter.context import AppContext
from ocenter.models import (
    ClockWait,
    DashboardRequest,
    RequestStatus,
    StepInterval,
    Submission,
    SubmissionStatus,
)
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import STEP_STANDARD_HK, StepClock, WorkCalendar, local_time

S = RequestStatus
#: The clock a request stands on in each status after step 3 (``None``: no clock, it is done).
#: A request still ``requested`` stands on the clock of its data (``data_clock``).
STATUS_CLOCK: dict[RequestStatus, tuple[int, ClockWait | None] | None] = {
    S.MOCKUP: (4, None),
    S.CHANGES_REQUESTED: (4, None),
    S.IN_REVIEW: (4, ClockWait.UNIT),
    S.APPROVED: (6, None),
    S.BUILT: (7, None),
    S.CLASSIFIED: (8, None),
    S.DISPLAYED: (9, None),
    S.EVALUATED: (10, None),
    S.RECEIVED: None,
}
#: The start event of a clock opened for a request already in flight when clocks were added.
OPENED_FOR_OLDER_RECORD = "clock.opened"


def open_interval(session: Session, request_id: int) -> StepInterval | None:
    """The interval of the request's clock that is running or paused now, if any."""
    return session.exec(
        select(StepInterval)
        .where(StepInterval.request_id == request_id, col(StepInterval.ended_at).is_(None))
    ).first()


def _last_of_step(session: Session, request_id: int, step: int) -> StepInterval | None:
    return session.exec(
        select(StepInterval)
        .where(StepInterval.request_id == request_id, StepInterval.step == step)
        .order_by(col(StepInterval.id).desc())
    ).first()


def move_clock(
    ctx: AppContext, session: Session, request_id: int, clock: tuple[int, ClockWait | None] | None,
    at: datetime, by: str, event: str, *, restart: bool | None = None,
) -> None:
    """Put the request on ``clock`` (step, whom it waits on) from ``at``, by the event ``event``
    of ``by``: the open interval is closed with its working days counted, and the new one opened.
    Already on that clock: nothing changes. ``restart`` says whether the step counts from zero;
    by default it does unless the request was on the same step (a pause or its end)."""
    current = open_interval(session, request_id)
    if current is not None and clock == (current.step, current.waiting_on):
        return
    if current is not None:
        current.ended_at, current.ended_by, current.end_event = at, by, event
        current.used_hk = calendar_of(ctx).working_days_between(
            local_time(current.started_at).date(), local_time(at).date())
        session.add(current)
        session.flush()  # closed before the next one opens: one open interval per request
    if clock is None:
        return
    step, waiting_on = clock
    if restart is None:
        restart = current is None or current.step != step
    carried = 0
    if not restart:
        previous = current if current is not None and current.step == step \
            else _last_of_step(session, request_id, step)
        if previous is not None:
            ran = previous.used_hk or 0 if previous.waiting_on is None else 0
            carried = previous.carried_hk + ran
    session.add(StepInterval(
        request_id=request_id, step=step, waiting_on=waiting_on, restarts=restart,
        carried_hk=carried, started_at=at, started_by=by, start_event=event,
    ))
    session.flush()


def data_missing(session: Session, request: DashboardRequest) -> list[str]:
    """The datasets of the request without a submission sent for it and accepted."""
    accepted = set(session.exec(
        select(Submission.dataset_id)
        .where(Submission.request_id == request.id, Submission.status == SubmissionStatus.VERIFIED)
    ).all())
    return [dataset for dataset in request.datasets if dataset not in accepted]


def data_ready(session: Session, request: DashboardRequest) -> bool:
    """Whether the request's data is accepted: every dataset it shows has a submission sent for
    it and accepted, or Pusdatin stated that it needs no new data."""
    return bool(request.no_new_data_reason) or not data_missing(session, request)


def data_clock(session: Session, request: DashboardRequest) -> tuple[int, ClockWait | None]:
    """The clock of a request whose data is still coming (steps 2-3), from its submissions:
    step 4 once its data is accepted; step 3 while Pusdatin verifies some; step 2 while some wait
    to be received, or nothing has come since the form was filed; paused on the sender while
    what came was returned, or accepted with more to come."""
    if data_ready(session, request):
        return 4, None
    statuses = set(session.exec(
        select(Submission.status).where(Submission.request_id == request.id)
    ).all())
    if SubmissionStatus.RECEIVED in statuses:
        return 3, None
    if SubmissionStatus.SENT in statuses or not statuses:
        return 2, None
    return 3, ClockWait.SENDER


def follow_data(
    ctx: AppContext, session: Session, request_id: int | None, at: datetime, by: str, event: str
) -> None:
    """After an event of steps 1-3 (data sent, received, accepted or returned, or no new data
    needed), put the request the data is for on the clock its data now implies. Step 3 resumes
    where its pause stopped; a request past step 3 is left alone."""
    if request_id is None:
        return
    request = session.get(DashboardRequest, request_id, populate_existing=True)
    if request is None or request.status != RequestStatus.REQUESTED:
        return
    clock = data_clock(session, request)
    restart = None
    if clock[0] == 3:  # verifying again after the sender's fix: the same step-3 clock goes on
        restart = _last_of_step(session, request_id, 3) is None
    move_clock(ctx, session, request_id, clock, at, by, event, restart=restart)


def follow_status(
    ctx: AppContext, session: Session, request: DashboardRequest, status: RequestStatus,
    at: datetime, by: str, event: str,
) -> None:
    """Put the request moving to ``status`` on that status's clock (``STATUS_CLOCK``)."""
    move_clock(ctx, session, request.id, STATUS_CLOCK[status], at, by, event)


def interval_clock(interval: StepInterval, today: date, calendar: WorkCalendar) -> StepClock:
    """Where the step of the open ``interval`` stands on ``today``: a paused clock has no due
    day; a running one has the standard less the days it carried, from when it (re)started."""
    standard = STEP_STANDARD_HK.get(interval.step)
    started = local_time(interval.started_at).date()
    if interval.waiting_on is not None or standard is None:
        return StepClock(step=interval.step, standard_hk=standard, started=started, due=None,
                         used_hk=interval.carried_hk, overdue=False,
                         waiting_on=interval.waiting_on)
    remaining = standard - interval.carried_hk
    due = calendar.add_working_days(started, remaining) if remaining > 0 else started
    return StepClock(
        step=interval.step, standard_hk=standard, started=started, due=due,
        used_hk=interval.carried_hk + calendar.working_days_between(started, today),
        overdue=today > due,
    )


def open_clocks(ctx: AppContext, request_ids: Iterable[int]) -> dict[int, StepClock]:
    """The clock each of ``request_ids`` stands on today (those with an open interval), in
    one query."""
    ids = list(request_ids)
    if not ids:
        return {}
    with Session(ctx.engine) as session:
        intervals = session.exec(
            select(StepInterval)
            .where(col(StepInterval.request_id).in_(ids), col(StepInterval.ended_at).is_(None))
        ).all()
    calendar, today = calendar_of(ctx), ctx.clock.today()
    return {i.request_id: interval_clock(i, today, calendar) for i in intervals}


def intervals_of(ctx: AppContext, request_id: int) -> list[StepInterval]:
    """Every interval of the request's clocks, oldest first: its record of time per step."""
    with Session(ctx.engine) as session:
        return list(session.exec(
            select(StepInterval).where(StepInterval.request_id == request_id)
            .order_by(col(StepInterval.id))
        ).all())


def open_missing_clocks(engine: Engine) -> int:
    """Open a clock for each request in flight that has none (a database from before clocks were
    kept): the clock its status implies, from its current step's start time. How many were
    opened; a second process doing the same at once leaves its work to this one."""
    with Session(engine) as session:
        waiting = session.exec(
            select(DashboardRequest)
            .where(DashboardRequest.status != RequestStatus.RECEIVED,
                   ~exists().where(StepInterval.request_id == DashboardRequest.id))
            .order_by(col(DashboardRequest.id))
        ).all()
        for request in waiting:
            clock = data_clock(session, request) if request.status == RequestStatus.REQUESTED \
                else STATUS_CLOCK[request.status]
            if clock is None:
                continue
            session.add(StepInterval(
                request_id=request.id, step=clock[0], waiting_on=clock[1],
                started_at=request.step_started_at, started_by="system",
                start_event=OPENED_FOR_OLDER_RECORD,
            ))
        try:
            session.commit()
        except DatabaseIntegrityError:
            session.rollback()
            return 0
        return len(waiting)
