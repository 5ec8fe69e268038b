"""What every step shares: the roles that act, the request's status and clock, and the Git author."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session, update

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.contracts.model import DataContract
from ocenter.errors import Conflict, IntegrityError, NotFound, PermissionDenied
from ocenter.events import record
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
    User,
)
from ocenter.procedure.step_clocks import follow_status, open_clocks
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import StepClock, step_clock
from ocenter.store.models import Author

#: Upload types we accept, by lower-case suffix. The stored name is built from this table, never
#: from the uploaded file name.
UPLOAD_SUFFIXES = {".csv": ".csv", ".xlsx": ".xlsx", ".xls": ".xls", ".ods": ".ods", ".xlsb": ".xlsb"}

#: The SOP step a request is at, by status.
STATUS_STEP = {
    RequestStatus.REQUESTED: 1,
    RequestStatus.MOCKUP: 4,
    RequestStatus.CHANGES_REQUESTED: 4,
    RequestStatus.IN_REVIEW: 5,
    RequestStatus.APPROVED: 6,
    RequestStatus.BUILT: 7,
    RequestStatus.CLASSIFIED: 8,
    RequestStatus.DISPLAYED: 9,
    RequestStatus.EVALUATED: 10,
    RequestStatus.RECEIVED: 10,
}

SENDER_ROLES = (Role.UNIT, Role.UPT, Role.MITRA)
#: Who requests dashboards, reviews their mock-ups and receives the letter for a work unit: the
#: SOP's "unit kerja" is every central unit and every UPT BPOM (its head and its staff).
REQUESTER_ROLES = (Role.UNIT, Role.DIREKTUR, Role.UPT, Role.KABALAI)
PUSDATIN_ROLES = (Role.ANALIS, Role.VERIFIKATOR)


def author_of(ctx: AppContext, actor: Authority) -> Author:
    """The Git author for ``actor``: the logged-in user, by name."""
    return author_named(ctx, actor.username)


def author_named(ctx: AppContext, username: str) -> Author:
    """The Git author for the user ``username`` (say, an approver recorded earlier)."""
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        name = user.name if user else username
    return Author(username=username, name=name)


def contract_of(ctx: AppContext, dataset_id: str) -> DataContract:
    """The approved contract of ``dataset_id`` (on main)."""
    contract = ctx.store.snapshot("main").contracts.get(dataset_id)
    if contract is None:
        raise NotFound("procedure.contract_missing", dataset=dataset_id)
    return contract


def _request(session: Session, request_id: int) -> DashboardRequest:
    request = session.get(DashboardRequest, request_id)
    if request is None:
        raise NotFound("procedure.request_missing", request=request_id)
    return request


def _hold_request(session: Session, request_id: int) -> DashboardRequest:
    """Take the request's row for the rest of this transaction and read it: an UPDATE that
    changes nothing, so PostgreSQL locks the row and SQLite takes its write lock, before anything
    is read. Whoever decides on the request next waits until this transaction ends, then reads
    what it decided. It comes first in the transaction, so SQLite's lock is taken with the
    busy wait rather than refused from a stale snapshot."""
    held = session.exec(
        update(DashboardRequest)
        .where(DashboardRequest.id == request_id)
        .values(status=DashboardRequest.status)
        .execution_options(synchronize_session=False)
    )
    if held.rowcount != 1:
        raise NotFound("procedure.request_missing", request=request_id)
    request = session.get(DashboardRequest, request_id, populate_existing=True)
    assert request is not None
    return request


def _expect_status(request: DashboardRequest, *allowed: RequestStatus) -> None:
    if request.status not in allowed:
        raise Conflict("procedure.wrong_status", request=request.id, status=request.status.value)


def _own_unit(actor: Authority, request: DashboardRequest) -> None:
    if actor.unit_code != request.requesting_unit:
        raise PermissionDenied("procedure.not_your_unit")


def _advance(
    ctx: AppContext, session: Session, request: DashboardRequest, status: RequestStatus,
    at: datetime, by: str, event: str,
) -> None:
    """Move ``request`` to ``status`` at ``at`` by the event ``event`` of ``by``: a conditional
    UPDATE from the status it was read with, so a change made meanwhile is never overwritten (the
    use cases hold the request's row, see ``decisions.lock_request``; a miss here is a bug). The
    request's clock follows (``step_clocks``), its earlier intervals kept."""
    moved = session.exec(
        update(DashboardRequest)
        .where(DashboardRequest.id == request.id, DashboardRequest.status == request.status)
        .values(status=status, step_started_at=at)
    )
    if moved.rowcount != 1:
        raise RuntimeError(f"request {request.id} changed under its lock")
    session.refresh(request)
    follow_status(ctx, session, request, status, at, by, event)


def checkpoint(name: str) -> None:
    """Mark a point between two writes of an all-or-nothing step, as a Python audit event
    (``sys.audit("ocenter.checkpoint", name)``): free when nobody listens. An operator's audit
    hook can trace the steps with it; the crash tests stop a child process there and kill it."""
    sys.audit("ocenter.checkpoint", name)


def request_clock(ctx: AppContext, request: DashboardRequest) -> StepClock:
    """How the request's clock stands today against the SOP's time standard (``request_clocks``)."""
    return request_clocks(ctx, [request])[request.id]


def request_clocks(ctx: AppContext, requests: list[DashboardRequest]) -> dict[int, StepClock]:
    """The clock each request stands on today, in one query: its open interval
    (``step_clocks``); a request without one (done, or written outside the use cases) by its
    status from its current step's start."""
    clocks = open_clocks(ctx, [r.id for r in requests])
    calendar, today = calendar_of(ctx), ctx.clock.today()
    for request in requests:
        if request.id not in clocks:
            clocks[request.id] = step_clock(STATUS_STEP[request.status], request.step_started_at,
                                            today, calendar)
    return clocks


def log_integrity_failure(
    ctx: AppContext, username: str, error: IntegrityError, *, step: int | None = None,
    submission_id: int | None = None,
) -> None:
    """Write to the log, in a transaction of its own, that kept evidence was found altered (the
    refused use case's own transaction is rolled back)."""
    with Session(ctx.engine) as session:
        record(session, username, "data.integrity_failed", step=step,
               submission_id=submission_id, outcome="refused", detail=str(error)[:1000])
        session.commit()


@contextlib.contextmanager
def integrity_logged(
    ctx: AppContext, username: str, *, step: int | None = None, submission_id: int | None = None
) -> Iterator[None]:
    """Run a use case; if it meets altered evidence, log that and let the refusal through."""
    try:
        yield
    except IntegrityError as error:
        log_integrity_failure(ctx, username, error, step=step, submission_id=submission_id)
        raise
