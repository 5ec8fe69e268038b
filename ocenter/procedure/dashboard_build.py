"""Steps 6-8 on main: build the dashboard (15 HK), classify its default data (1 HK), display it (1 HK).

Each step writes the dashboard's lifecycle record (``lifecycle/<id>.yaml``) on main and leaves the
approved spec as the unit approved it; nothing else can write that record (see display/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import DefaultView
from ocenter.errors import NotFound
from ocenter.events import record
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
)
from ocenter.procedure.common import _advance, _expect_status, _request, author_of
from ocenter.store.names import lifecycle_path


def _change_on_main(
    ctx: AppContext, actor: Authority, request: DashboardRequest, step: int, message: str,
    change: Callable[[DashboardLifecycle], DashboardLifecycle],
) -> str:
    snapshot = ctx.store.snapshot("main")
    if request.dashboard_id not in snapshot.specs:
        raise NotFound("procedure.dashboard_missing", dashboard=request.dashboard_id)
    updated = change(snapshot.lifecycle_of(request.dashboard_id))
    return ctx.store.commit_to_main(
        {lifecycle_path(updated.id): lifecycle_to_yaml(updated)},
        author_of(ctx, actor),
        snapshot.commit,
        message,
        {"Request": str(request.id), "Step": str(step)},
    )


def _step_on_main(
    ctx: AppContext,
    actor: Authority,
    request_id: int,
    *,
    step: int,
    allowed: tuple[RequestStatus, ...],
    then: RequestStatus,
    action: str,
    message: str,
    change: Callable[[DashboardLifecycle], DashboardLifecycle],
) -> str:
    """One of Pusdatin's steps 6-8: record it in the dashboard's lifecycle on main, then move the
    request on."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, *allowed)
        commit = _change_on_main(ctx, actor, request, step,
                                 f"{message} {request.dashboard_id}", change)
        if request.status != then:
            _advance(ctx, request, then)
        record(session, actor.username, action, step=step, request_id=request_id, detail=commit)
        session.commit()
        return commit


def build_dashboard(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 6: Pusdatin builds the approved dashboard for the Operational Center display."""
    return _step_on_main(
        ctx, actor, request_id, step=6, allowed=(RequestStatus.APPROVED,),
        then=RequestStatus.BUILT, action="dashboard.built", message="Bangun dasbor",
        change=lambda lifecycle: lifecycle.model_copy(update={"built": True}),
    )


def classify_defaults(
    ctx: AppContext, actor: Authority, request_id: int, defaults: list[DefaultView]
) -> str:
    """Step 7: set the default data each kind of stakeholder sees, by their authority (may be
    set again while the dashboard waits for display)."""
    return _step_on_main(
        ctx, actor, request_id, step=7,
        allowed=(RequestStatus.BUILT, RequestStatus.CLASSIFIED), then=RequestStatus.CLASSIFIED,
        action="dashboard.classified", message="Klasifikasi data bawaan",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "classified": True,
             "defaults": [d.model_dump() for d in defaults]}
        ),
    )


def put_on_display(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 8: show the dashboard on the Operational Center display, to each by their authority."""
    return _step_on_main(
        ctx, actor, request_id, step=8, allowed=(RequestStatus.CLASSIFIED,),
        then=RequestStatus.DISPLAYED, action="dashboard.displayed", message="Tayangkan dasbor",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "on_display": True}
        ),
    )
