"""The Formulir Permintaan Dashboard: a unit files a request; requests listed by who may see them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier, audience_tiers
from ocenter.accounts.visibility import shown_requests
from ocenter.context import AppContext
from ocenter.errors import Conflict, NotFound, UserError
from ocenter.events import record
from ocenter.models import DashboardRequest, RequestStatus
from ocenter.procedure.common import (
    PUSDATIN_ROLES,
    REQUESTER_ROLES,
    _expect_status,
    _hold_request,
    _request,
)
from ocenter.procedure.step_clocks import follow_data, move_clock


def file_request(
    ctx: AppContext,
    actor: Authority,
    *,
    title: str,
    purpose: str,
    datasets_wanted: list[str],
    level: Level,
    audience: list[Tier | str],
) -> DashboardRequest:
    """File a *Formulir Permintaan Dashboard* for the actor's unit. ``audience`` names the
    tiers of stakeholders the dashboard is meant for (older audience words are read as their
    tiers); it is what the mock-up's audience and step 7's tiers start from."""
    require_role(actor, *REQUESTER_ROLES)
    title, purpose = title.strip(), purpose.strip()
    tiers = audience_tiers(audience)  # the form offers only tiers: another word is a bug
    if not title or not purpose:
        raise UserError("procedure.request_incomplete")
    known = ctx.store.snapshot("main").contracts
    unknown = [d for d in datasets_wanted if d not in known]
    if unknown:
        raise NotFound("procedure.contract_missing", dataset=", ".join(unknown))
    filed_at = ctx.clock.now()
    with Session(ctx.engine) as session:
        request = DashboardRequest(
            title=title[:200],
            purpose=purpose,
            requesting_unit=actor.unit_code or "",
            requested_by=actor.username,
            datasets=list(datasets_wanted),
            level=level,
            audience=[tier.value for tier in tiers],
            dashboard_id="pending",
            created_at=filed_at,
            step_started_at=filed_at,
        )
        session.add(request)
        session.flush()
        # The dashboard id comes from our own number, never from the title the user typed.
        request.dashboard_id = f"dasbor-{request.id:04d}"
        record(session, actor.username, "request.filed", step=1, request_id=request.id)
        # Pusdatin's step 2 runs from the form: the data it names comes with it.
        move_clock(ctx, session, request.id, (2, None), filed_at, actor.username, "request.filed")
        session.commit()
        session.refresh(request)
        return request


def state_no_new_data(ctx: AppContext, actor: Authority, request_id: int, reason: str) -> None:
    """Pusdatin states that the request needs no new data (what it shows was accepted already),
    with its reason: the mock-up may then start, and step 4's clock starts now."""
    require_role(actor, Role.ANALIS)
    reason = reason.strip()
    if not reason:
        raise UserError("procedure.no_new_data_needs_reason")
    with Session(ctx.engine) as session:
        request = _hold_request(session, request_id)
        _expect_status(request, RequestStatus.REQUESTED)
        if request.no_new_data_reason:
            if request.no_new_data_by == actor.username and request.no_new_data_reason == reason[:2000]:
                return  # the same statement sent again: already done
            raise Conflict("procedure.no_new_data_stated", request=request_id,
                           user=request.no_new_data_by or "")
        now = ctx.clock.now()
        request.no_new_data_reason, request.no_new_data_by = reason[:2000], actor.username
        request.no_new_data_at = now
        session.add(request)
        session.flush()  # the data clock reads the request back from the database
        record(session, actor.username, "request.no_new_data", step=3, request_id=request_id,
               detail=reason[:500])
        follow_data(ctx, session, request_id, now, actor.username, "request.no_new_data")
        session.commit()


def list_requests(ctx: AppContext, actor: Authority) -> list[DashboardRequest]:
    """Requests the actor works on: Pusdatin and all-of-BPOM viewers see all, a unit its own;
    another unit's request above the actor's clearance is left out altogether (see
    ``accounts.visibility``: below its level, even one the actor works on is named only by
    number)."""
    with Session(ctx.engine) as session:
        query = select(DashboardRequest).where(worked_on_clause(actor))
        query = query.order_by(col(DashboardRequest.id).desc())
        return shown_requests(actor, list(session.exec(query).all()))


def worked_on_clause(actor: Authority) -> ColumnElement[bool]:
    """SQL for the requests ``actor`` works on: Pusdatin and all-of-BPOM viewers all, a unit its own
    (the work lists of ``worklists`` page the same ones)."""
    if actor.role in PUSDATIN_ROLES or actor.scope == ScopeKind.BPOM:
        return true()
    return col(DashboardRequest.requesting_unit) == (actor.unit_code or "")


def get_request(ctx: AppContext, request_id: int) -> DashboardRequest:
    """One request by number."""
    with Session(ctx.engine) as session:
        return _request(session, request_id)
