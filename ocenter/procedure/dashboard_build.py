"""Steps 6-8 on main: build the dashboard (15 HK), classify its default data (1 HK), display it (1 HK)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.display.spec import DashboardSpec, DefaultView, spec_to_yaml
from ocenter.errors import NotFound
from ocenter.events import record
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
)
from ocenter.procedure.common import _advance, _expect_status, _request, author_of


def _change_on_main(
    ctx: AppContext, actor: Authority, request: DashboardRequest, step: int, message: str,
    change: Callable[[DashboardSpec], DashboardSpec],
) -> str:
    snapshot = ctx.store.snapshot("main")
    spec = snapshot.specs.get(request.dashboard_id)
    if spec is None:
        raise NotFound("procedure.dashboard_missing", dashboard=request.dashboard_id)
    updated = change(spec)
    return ctx.store.commit_to_main(
        {f"specs/{updated.id}.yaml": spec_to_yaml(updated)},
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
    change: Callable[[DashboardSpec], DashboardSpec],
) -> str:
    """One of Pusdatin's steps 6-8: change the approved spec on main, then move the request on."""
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
        change=lambda spec: spec.model_copy(update={"published": True}),
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
        change=lambda spec: DashboardSpec.model_validate(
            {**spec.model_dump(), "defaults": [d.model_dump() for d in defaults]}
        ),
    )


def put_on_display(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 8: show the dashboard on the Operational Center display, to each by their authority."""
    return _step_on_main(
        ctx, actor, request_id, step=8, allowed=(RequestStatus.CLASSIFIED,),
        then=RequestStatus.DISPLAYED, action="dashboard.displayed", message="Tayangkan dasbor",
        change=lambda spec: spec.model_copy(update={"on_display": True}),
    )
