"""Step 9's monitoring of a dashboard on display: its views per day and per tier, who among its
audience has never opened it, how fresh each dataset it reads is against its contract's cadence,
and which tiles failed. Read by Pusdatin's analysts on the evaluation page, beside their notes.

The views and failures are counted by the display (``display.usage``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role, audience_tiers
from ocenter.accounts.login import authority_from_user
from ocenter.context import AppContext
from ocenter.display.filtering import can_view
from ocenter.display.usage import DashboardView, FailureKind, TileFailure
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.models import DashboardRequest, DatasetVersion, User
from ocenter.procedure.data_integration import data_status
from ocenter.procedure.workdays import local_time

#: The period looked at unless asked otherwise, in days up to today.
DEFAULT_DAYS = 30
#: The longest period that may be asked for.
MAX_DAYS = 366


class DayViews(BaseModel):
    """The views of one day by one tier."""

    day: date = Field(description="The day, in Jakarta.")
    tier: str = Field(description="The viewers' stakeholder tier (``Tier`` value).")
    views: int = Field(description="Minutes in which the dashboard was shown to viewers of the tier.")
    viewers: int = Field(description="Different viewers of the tier who saw it that day.")


class AudienceMember(BaseModel):
    """Someone the dashboard is meant for and may open."""

    username: str = Field(description="Login name.")
    name: str = Field(description="Full name.")
    tier: str = Field(description="Their stakeholder tier (``Tier`` value).")


class FreshnessStatus(StrEnum):
    """How a dataset's newest accepted version stands against its contract's cadence."""

    ON_TIME = "on_time"  # accepted no longer ago than the cadence
    LATE = "late"  # older than the cadence: a new version is due
    NO_DATA = "no_data"  # nothing accepted yet
    NO_CADENCE = "no_cadence"  # the contract sets no cadence


class Freshness(BaseModel):
    """One dataset the dashboard reads, and how recent its data is."""

    dataset_id: str = Field(description="Data contract id.")
    cadence_days: int | None = Field(description="Days between versions the contract expects.")
    accepted_at: datetime | None = Field(description="When its newest version was accepted (UTC).")
    age_days: int | None = Field(description="Days from that acceptance to today (in Jakarta).")
    due_on: date | None = Field(description="The last day a new version is on time.")
    status: FreshnessStatus = Field(description="On time, late, no data, or no cadence.")
    newest_period: str | None = Field(
        default=None,
        description="The newest month any sender has sent rows for, YYYY-MM (``integration."
        "completeness``); None when the dataset has no months.",
    )


class FailedTile(BaseModel):
    """A tile that could not be drawn on one day."""

    day: date = Field(description="The day, in Jakarta.")
    panel_id: str = Field(description="Id of the panel.")
    dataset_id: str = Field(description="The dataset it reads.")
    kind: FailureKind = Field(description="Why it could not be drawn.")
    failures: int = Field(description="Minutes of the day in which it failed.")


class Monitoring(BaseModel):
    """Everything the evaluation page shows of one dashboard's use."""

    request_id: int = Field(description="The request of the dashboard.")
    dashboard_id: str = Field(description="Id of the dashboard spec.")
    first_day: date = Field(description="First day of the period (in Jakarta).")
    last_day: date = Field(description="Last day of the period: today.")
    views: list[DayViews] = Field(description="Views per day and tier in the period, oldest first.")
    audience: int = Field(description="People it is meant for who may open it.")
    never_opened: list[AudienceMember] = Field(description="Those of them who have never opened it.")
    freshness: list[Freshness] = Field(description="Each dataset it reads, in the dashboard's order.")
    failed_tiles: list[FailedTile] = Field(description="Tiles that failed in the period, newest first.")


def dashboard_monitoring(
    ctx: AppContext, actor: Authority, request_id: int, days: int = DEFAULT_DAYS
) -> Monitoring:
    """The monitoring of the dashboard of request ``request_id`` over the last ``days`` days up
    to today. Only Pusdatin's analysts, who evaluate dashboards (step 9), may read it."""
    if actor.role != Role.ANALIS:
        raise PermissionDenied("monitoring.forbidden")
    if not 1 <= days <= MAX_DAYS:
        raise UserError("monitoring.bad_period", days=MAX_DAYS)
    today = ctx.clock.today()
    first = today - timedelta(days=days - 1)
    main = ctx.store.snapshot("main")
    with Session(ctx.engine) as session:
        request = session.get(DashboardRequest, request_id)
        if request is None:
            raise NotFound("procedure.request_missing", request=request_id)
        dashboard = request.dashboard_id
        views = [
            DayViews(day=day, tier=tier, views=int(total), viewers=int(people))
            for day, tier, total, people in session.exec(
                select(DashboardView.day, DashboardView.tier, func.sum(DashboardView.views), func.count())
                .where(
                    DashboardView.dashboard_id == dashboard,
                    DashboardView.day >= first,
                    DashboardView.day <= today,
                )
                .group_by(DashboardView.day, DashboardView.tier)
                .order_by(DashboardView.day, DashboardView.tier)
            ).all()
        ]
        audience = _audience(session, request, main.displayed_specs().get(dashboard), today)
        opened = set(
            session.exec(
                select(DashboardView.username).distinct().where(DashboardView.dashboard_id == dashboard)
            ).all()
        )
        failed = [
            FailedTile(
                day=f.day, panel_id=f.panel_id, dataset_id=f.dataset_id, kind=f.kind, failures=f.failures
            )
            for f in session.exec(
                select(TileFailure)
                .where(
                    TileFailure.dashboard_id == dashboard, TileFailure.day >= first, TileFailure.day <= today
                )
                .order_by(col(TileFailure.day).desc(), TileFailure.panel_id)
            ).all()
        ]
        accepted = dict(
            session.exec(
                select(DatasetVersion.dataset_id, func.max(DatasetVersion.accepted_at))
                .where(col(DatasetVersion.dataset_id).in_(request.datasets))
                .group_by(DatasetVersion.dataset_id)
            ).all()
        )
    status = data_status(ctx, list(request.datasets))  # kept per process; read again when changed
    freshness = []
    for dataset_id in request.datasets:
        contract = main.contracts.get(dataset_id)
        cadence = contract.cadence_days if contract is not None else None
        found = freshness_of(dataset_id, cadence, accepted.get(dataset_id), today)
        held = status.get(dataset_id)
        freshness.append(found.model_copy(update={"newest_period": held.period if held else None}))
    return Monitoring(
        request_id=request_id,
        dashboard_id=dashboard,
        first_day=first,
        last_day=today,
        views=views,
        audience=len(audience),
        never_opened=[m for m in audience if m.username not in opened],
        freshness=freshness,
        failed_tiles=failed,
    )


def freshness_of(
    dataset_id: str, cadence_days: int | None, accepted_at: datetime | None, today: date
) -> Freshness:
    """How ``dataset_id``'s newest version, accepted at ``accepted_at``, stands on ``today``
    against a cadence of ``cadence_days``: on time while no more than that many days have passed
    since the day it was accepted (in Jakarta), as the verification's freshness check counts."""
    age = None if accepted_at is None else (today - local_time(accepted_at).date()).days
    due = None
    if not cadence_days:
        status = FreshnessStatus.NO_CADENCE if accepted_at is not None else FreshnessStatus.NO_DATA
    elif accepted_at is None:
        status = FreshnessStatus.NO_DATA
    else:
        due = local_time(accepted_at).date() + timedelta(days=cadence_days)
        status = FreshnessStatus.ON_TIME if age <= cadence_days else FreshnessStatus.LATE
    return Freshness(
        dataset_id=dataset_id,
        cadence_days=cadence_days or None,
        accepted_at=accepted_at,
        age_days=age,
        due_on=due,
        status=status,
    )


def _audience(session: Session, request: DashboardRequest, spec, today: date) -> list[AudienceMember]:  # noqa: ANN001 - DashboardSpec or None
    """The active users of the tiers the request names who may open the dashboard on display
    (the display's own rule, ``display.filtering.can_view``), by tier and name."""
    tiers = set()
    for word in request.audience:
        try:
            tiers.update(audience_tiers([word]))
        except ValueError:
            continue  # a word that names no tier names nobody
    members = []
    for user in session.exec(select(User).where(col(User.active).is_(True))).all():
        authority = authority_from_user(session, user, today)
        if authority.tier not in tiers:
            continue
        if spec is not None and not can_view(authority, spec):
            continue
        members.append(AudienceMember(username=user.username, name=user.name, tier=authority.tier.value))
    return sorted(members, key=lambda m: (m.tier, m.name))
