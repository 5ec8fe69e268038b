"""Authorised parties: named dashboards granted to a user beyond their scope, with a reason, who
granted them and until when; revocable, and every grant and revocation in the event log.

The SOP shows dashboards to Kepala BPOM, Eselon I and II "dan pihak-pihak yang diberikan
otoritasi": the parties explicitly authorised. A grant is that authorisation for one approved
dashboard. It counts on the days before ``expires_on`` (in Jakarta) unless revoked, and
``login.authority_of`` reads only the grants that count into a viewer's ``Authority.grants``; an
ended grant is kept as the record of who could see what, and the grantee sees no trace of it.

Who grants: the administrator and Pusdatin's analysts, each only for dashboards within their own
clearance (a dashboard above it is refused as if it did not exist, and the list leaves out grants
on it); ``actor`` None is the server's operator on the command line, who sees and handles all.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.context import AppContext
from ocenter.display.spec import DashboardSpec
from ocenter.errors import Conflict, NotFound, UserError
from ocenter.events import record
from ocenter.i18n import t
from ocenter.models import DashboardGrant, User

#: Who may grant and revoke: the administrator and Pusdatin's analysts.
GRANTERS = (Role.ADMIN, Role.ANALIS)
#: The actor the event log names for the server's operator on the command line.
CLI_ACTOR = "cli"
#: A reason says why in a sentence or a paragraph, not in a document.
MAX_REASON_LENGTH = 500


class GrantState(StrEnum):
    """Whether a grant counts today."""

    ACTIVE = "active"  # counts: not revoked, and today is before its expiry day
    EXPIRED = "expired"  # its expiry day has come
    REVOKED = "revoked"  # revoked by a granter before it expired


class GrantEntry(BaseModel):
    """One grant as the authorised-parties page and ``grant list`` show it."""

    id: int = Field(description="Grant number.", examples=[1])
    username: str = Field(description="Who received it.", examples=["tamu"])
    user_name: str = Field(description="Their full name.", examples=["Tamu Berwenang (Mitra)"])
    dashboard_id: str = Field(description="Dashboard it opens.", examples=["ringkasan-pengawasan-nasional"])
    dashboard_title: str = Field(description="The dashboard's title on main; empty when not on main.")
    reason: str = Field(description="Why it was granted (plain text).")
    granted_by: str = Field(description="Who granted it, or 'cli'.")
    granted_at: datetime = Field(description="When it was granted (UTC).")
    expires_on: date = Field(description="The day it ends: it counts on the days before.")
    state: GrantState = Field(description="Active, expired or revoked, as of the clock's today.")
    revoked_by: str | None = Field(default=None, description="Who revoked it, or 'cli'.")
    revoked_at: datetime | None = Field(default=None, description="When it was revoked (UTC).")
    revoke_reason: str | None = Field(default=None, description="Why it was revoked (plain text).")


class GrantableDashboard(BaseModel):
    """An approved dashboard a granter may grant."""

    id: str = Field(description="Dashboard id.", examples=["ringkasan-pengawasan-nasional"])
    title: str = Field(description="Its title on main.")
    level: Level = Field(description="Its confidentiality level.")


class Grantee(BaseModel):
    """A user who may receive a grant, with what decides whether it helps them."""

    username: str = Field(description="Login name.", examples=["tamu"])
    name: str = Field(description="Full name.")
    clearance: Level = Field(description="Highest level they may see: a grant never lifts it.")
    scope: ScopeKind = Field(description="How much of BPOM they see without grants.")


def grant_state(grant: DashboardGrant, today: date) -> GrantState:
    """Whether ``grant`` counts on ``today``."""
    if grant.revoked_at is not None:
        return GrantState.REVOKED
    return GrantState.ACTIVE if grant.expires_on > today else GrantState.EXPIRED


def grantable_dashboards(ctx: AppContext, actor: Authority | None) -> list[GrantableDashboard]:
    """The approved dashboards on main that ``actor`` may grant (those within their clearance),
    by title."""
    _require_granter(actor)
    specs = [spec for spec in ctx.store.snapshot("main").specs.values() if _may_handle(actor, spec)]
    return [GrantableDashboard(id=spec.id, title=spec.title, level=spec.level)
            for spec in sorted(specs, key=lambda spec: (spec.title, spec.id))]


def grantees(ctx: AppContext, actor: Authority | None) -> list[Grantee]:
    """The active users a grant may be given to, by username."""
    _require_granter(actor)
    with Session(ctx.engine) as session:
        users = session.exec(
            select(User).where(col(User.active).is_(True)).order_by(col(User.username))
        ).all()
        return [Grantee(username=u.username, name=u.name, clearance=u.clearance, scope=u.scope)
                for u in users]


def grant_dashboard(
    ctx: AppContext,
    actor: Authority | None,
    username: str,
    dashboard_id: str,
    reason: str,
    expires_on: date,
) -> DashboardGrant:
    """Grant the approved dashboard ``dashboard_id`` to ``username`` until the day before
    ``expires_on``, for ``reason``; logged. Refused, with nothing stored, when the actor may not
    grant, the reason is empty, the expiry is not after today, the dashboard is not approved on
    main or is above the actor's clearance (one message for both, naming nothing), the user is
    unknown, the dashboard's level is above the user's clearance (the grant would not help), or
    the same grant is already active."""
    _require_granter(actor)
    reason = _reason(reason)
    today = ctx.clock.today()
    if expires_on <= today:
        raise UserError("grants.expiry_not_future", today=today.isoformat())
    spec = ctx.store.snapshot("main").specs.get(dashboard_id)
    if spec is None or not _may_handle(actor, spec):
        raise NotFound("grants.unknown_dashboard")
    with Session(ctx.engine) as session:
        # The grantee's row is held for the rest of the transaction (an UPDATE that changes
        # nothing: a row lock on PostgreSQL, the write lock on SQLite), so two granters giving
        # the same grant at once make one grant and one refusal.
        held = session.exec(
            update(User).where(col(User.username) == username).values(active=User.active)
            .execution_options(synchronize_session=False)
        )
        if held.rowcount != 1:
            raise NotFound("users.unknown", username=username)
        user = session.get(User, username, populate_existing=True)
        assert user is not None
        if not user.clearance.allows(spec.level):
            # The actor may see the dashboard's level (checked above), so the message names it,
            # by the classification's own Indonesian terms in both languages.
            raise UserError("grants.above_user_clearance", username=user.username,
                            level=t(f"level.{spec.level.value}"),
                            clearance=t(f"level.{user.clearance.value}"))
        for existing in session.exec(
            select(DashboardGrant).where(DashboardGrant.username == username,
                                         DashboardGrant.dashboard_id == dashboard_id)
        ).all():
            if grant_state(existing, today) == GrantState.ACTIVE:
                raise Conflict("grants.duplicate", username=username, grant=existing.id,
                               until=existing.expires_on.isoformat())
        grant = DashboardGrant(username=username, dashboard_id=dashboard_id, reason=reason,
                               granted_by=_actor_name(actor), granted_at=ctx.clock.now(),
                               expires_on=expires_on)
        session.add(grant)
        record_grant(session, grant)
        session.commit()
        session.refresh(grant)
        return grant


def record_grant(session: Session, grant: DashboardGrant) -> None:
    """Add ``grant`` to the event log, in the caller's transaction, as given by its granter."""
    session.flush()  # its number
    record(session, grant.granted_by, "grant.added",
           detail=f"grant {grant.id}: dashboard {grant.dashboard_id} to {grant.username}, ends on "
                  f"{grant.expires_on.isoformat()}; reason: {grant.reason}")


def revoke_grant(ctx: AppContext, actor: Authority | None, grant_id: int, reason: str) -> DashboardGrant:
    """Revoke the active grant ``grant_id`` for ``reason``; logged. It stops counting at the
    grantee's next page run. Refused, with nothing stored, when the actor may not grant, the
    reason is empty, the grant is unknown (or on a dashboard the actor may not handle), or it has
    already ended (revoked or expired)."""
    _require_granter(actor)
    reason = _reason(reason)
    today = ctx.clock.today()
    specs = ctx.store.snapshot("main").specs
    with Session(ctx.engine) as session:
        grant = session.get(DashboardGrant, grant_id)
        if grant is None or not _may_handle(actor, specs.get(grant.dashboard_id)):
            raise NotFound("grants.unknown", grant=grant_id)
        # Conditional: of two granters revoking at once, one revokes and the other is told.
        revoked = session.exec(
            update(DashboardGrant)
            .where(col(DashboardGrant.id) == grant_id, col(DashboardGrant.revoked_at).is_(None),
                   col(DashboardGrant.expires_on) > today)
            .values(revoked_at=ctx.clock.now(), revoked_by=_actor_name(actor), revoke_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if revoked.rowcount != 1:
            raise Conflict("grants.already_ended", grant=grant_id)
        record(session, _actor_name(actor), "grant.revoked",
               detail=f"grant {grant_id}: dashboard {grant.dashboard_id} of {grant.username}; "
                      f"reason: {reason}")
        session.commit()
        session.refresh(grant)
        return grant


def list_grants(
    ctx: AppContext, actor: Authority | None, include_ended: bool = False
) -> list[GrantEntry]:
    """The grants that count today (with ``include_ended`` also the expired and revoked ones),
    newest first, on dashboards the actor may handle."""
    _require_granter(actor)
    today = ctx.clock.today()
    specs = ctx.store.snapshot("main").specs
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(DashboardGrant, User.name).join(User, col(User.username) == DashboardGrant.username)
            .order_by(col(DashboardGrant.id).desc())
        ).all()
    entries = []
    for grant, user_name in rows:
        spec = specs.get(grant.dashboard_id)
        state = grant_state(grant, today)
        if not _may_handle(actor, spec) or (state != GrantState.ACTIVE and not include_ended):
            continue
        entries.append(GrantEntry(
            id=grant.id, username=grant.username, user_name=user_name,
            dashboard_id=grant.dashboard_id, dashboard_title=spec.title if spec else "",
            reason=grant.reason, granted_by=grant.granted_by, granted_at=grant.granted_at,
            expires_on=grant.expires_on, state=state, revoked_by=grant.revoked_by,
            revoked_at=grant.revoked_at, revoke_reason=grant.revoke_reason,
        ))
    return entries


def _require_granter(actor: Authority | None) -> None:
    if actor is not None:
        require_role(actor, *GRANTERS)


def _may_handle(actor: Authority | None, spec: DashboardSpec | None) -> bool:
    """Whether ``actor`` may grant ``spec``, see its grants and revoke them: only within their own
    clearance. A dashboard no longer on main has no level to check: only the operator handles it."""
    if actor is None:
        return True
    return spec is not None and actor.may_see_level(spec.level)


def _actor_name(actor: Authority | None) -> str:
    return actor.username if actor is not None else CLI_ACTOR


def _reason(text: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise UserError("grants.reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise UserError("grants.reason_too_long", limit=MAX_REASON_LENGTH)
    return reason
