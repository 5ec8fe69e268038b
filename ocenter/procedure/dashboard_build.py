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
from ocenter.models import (
    RequestStatus,
)
from ocenter.procedure.common import _expect_status, author_of, checkpoint
from ocenter.procedure.decisions import decided_conflict, lock_request, request_decision
from ocenter.procedure.main_record import Decision, latest_decision, stamp, take_in
from ocenter.store.names import lifecycle_path


def _step_on_main(
    ctx: AppContext,
    actor: Authority,
    request_id: int,
    *,
    step: int,
    allowed: tuple[RequestStatus, ...],
    then: RequestStatus,
    message: str,
    change: Callable[[DashboardLifecycle], DashboardLifecycle],
) -> str:
    """One of Pusdatin's steps 6-8: record it in the dashboard's lifecycle on main, then move the request on.

    All or nothing: the commit on main, with its ``Request``, ``Step`` and ``Decided-at``
    trailers, is the step; the database takes it in (``main_record``) in the same transaction
    that moves the request, or on the next run when this one was interrupted after the commit.
    Two analysts at once: the second is told who did it; the same analyst retrying gets the
    commit back, as already done."""
    require_role(actor, Role.ANALIS)
    author = author_of(ctx, actor)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        if request.status not in allowed:
            decided = request_decision(session, request_id, step)
            if decided is None:
                _expect_status(request, *allowed)
            if request.status == then and decided.username == actor.username and decided.commit:
                return decided.commit
            raise decided_conflict(session, decided, request=request_id)
        snapshot = ctx.store.snapshot("main")
        if request.dashboard_id not in snapshot.specs:
            raise NotFound("procedure.dashboard_missing", dashboard=request.dashboard_id)
        lifecycle = snapshot.lifecycle_of(request.dashboard_id)
        updated = change(lifecycle)
        if request.status == then and updated == lifecycle:
            # Set again as it is (a retry of a step that went through): nothing to record.
            done = latest_decision(session, request_id, step)
            if done is not None:
                return done.commit
        decided_at = ctx.clock.now()
        checkpoint(f"step{step}.checked")
        # An empty commit too: when the lifecycle record already said what the step sets, the
        # step still happened, and its commit is its record.
        commit = ctx.store.commit_to_main(
            {lifecycle_path(updated.id): lifecycle_to_yaml(updated)},
            author,
            snapshot.commit,
            f"{message} {request.dashboard_id}",
            {"Request": str(request.id), "Step": str(step), **stamp(decided_at)},
            allow_empty=True,
        )
        checkpoint(f"step{step}.committed")
        take_in(ctx, session, request, Decision(
            commit=commit, request_id=request_id, step=step, decided_by=actor.username,
            decided_at=decided_at,
        ))
        checkpoint(f"step{step}.recorded")
        session.commit()
        return commit


def build_dashboard(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 6: Pusdatin builds the approved dashboard for the Operational Center display."""
    return _step_on_main(
        ctx, actor, request_id, step=6, allowed=(RequestStatus.APPROVED,),
        then=RequestStatus.BUILT, message="Bangun dasbor",
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
        message="Klasifikasi data bawaan",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "classified": True,
             "defaults": [d.model_dump() for d in defaults]}
        ),
    )


def put_on_display(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 8: show the dashboard on the Operational Center display, to each by their authority."""
    return _step_on_main(
        ctx, actor, request_id, step=8, allowed=(RequestStatus.CLASSIFIED,),
        then=RequestStatus.DISPLAYED, message="Tayangkan dasbor",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "on_display": True}
        ),
    )
