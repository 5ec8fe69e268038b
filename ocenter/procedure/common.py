"""What every step shares: the roles that act, the request's status and clock, and the Git author."""

from __future__ import annotations

from sqlmodel import Session

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.contracts.model import DataContract
from ocenter.errors import Conflict, NotFound, PermissionDenied
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
    User,
)
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
REQUESTER_ROLES = (Role.UNIT, Role.DIREKTUR)
PUSDATIN_ROLES = (Role.ANALIS, Role.VERIFIKATOR)


def author_of(ctx: AppContext, actor: Authority) -> Author:
    """The Git author for ``actor``: the logged-in user, by name."""
    with Session(ctx.engine) as session:
        user = session.get(User, actor.username)
        name = user.name if user else actor.username
    return Author(username=actor.username, name=name)


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


def _expect_status(request: DashboardRequest, *allowed: RequestStatus) -> None:
    if request.status not in allowed:
        raise Conflict("procedure.wrong_status", request=request.id, status=request.status.value)


def _own_unit(actor: Authority, request: DashboardRequest) -> None:
    if actor.unit_code != request.requesting_unit:
        raise PermissionDenied("procedure.not_your_unit")


def _advance(ctx: AppContext, request: DashboardRequest, status: RequestStatus) -> None:
    request.status = status
    request.step_started_at = ctx.clock.now()


def request_clock(ctx: AppContext, request: DashboardRequest) -> StepClock:
    """How the request's current step stands today against the SOP's time standard."""
    return step_clock(STATUS_STEP[request.status], request.step_started_at, ctx.clock.today())
