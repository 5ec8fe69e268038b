"""Approvals and steps 6-8 are decided on main: Git is the truth, and the database takes them in.

Their record is a commit on main: the approval merge (``Approved-by``, ``Request``,
``Reviewed-commit``) and each commit of steps 6-8 (``Request``, ``Step``, by its author), each
with ``Decided-at``, the time the use case read from ``ctx.clock``. Moving a ref and committing a
row cannot be one transaction, so the use case moves main while it holds the request's row and
then takes its own commit in (``take_in``) in the transaction that commits the request's new
status. If the process dies between the two (killed, a full disk, a held database), main holds a
decision the database lacks; it is taken in from the trailers, by the same ``take_in``, when the
next use case locks that request, on the next page run (``reconcile_main``) and at every start.
A retry then finds the request already moved and is told so, or recognised as already done.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from ocenter.context import AppContext
from ocenter.errors import Unavailable
from ocenter.events import record
from ocenter.models import DashboardRequest, MainDecision, RequestStatus
from ocenter.procedure.common import _advance, _hold_request
from ocenter.store.git import GitError
from ocenter.store.models import CommitInfo

S = RequestStatus
#: Per step decided on main: the statuses it applies to, the status it leads to, the log entry.
TRANSITIONS: dict[int, tuple[tuple[RequestStatus, ...], RequestStatus, str]] = {
    5: ((S.IN_REVIEW,), S.APPROVED, "mockup.approved"),
    6: ((S.APPROVED,), S.BUILT, "dashboard.built"),
    # Default data may be classified again while the dashboard waits for display.
    7: ((S.BUILT, S.CLASSIFIED), S.CLASSIFIED, "dashboard.classified"),
    8: ((S.CLASSIFIED,), S.DISPLAYED, "dashboard.displayed"),
}
#: Statuses in which main may hold a decision that the database has not taken in yet.
WAITING_ON_MAIN = frozenset({S.IN_REVIEW, S.APPROVED, S.BUILT, S.CLASSIFIED})


@dataclass(frozen=True)
class Decision:
    """One decision as its commit on main records it."""

    commit: str
    request_id: int
    step: int
    decided_by: str
    decided_at: datetime
    reviewed_commit: str | None = None
    #: Written with ``Decided-at``, so by a version that also logs it when it changes nothing
    #: but the log (a classification made again); older commits repair the status only.
    stamped: bool = True


def stamp(decided_at: datetime) -> dict[str, str]:
    """The trailer a decision's commit carries besides those the store writes: its time, as the
    use case read it from ``ctx.clock`` (the commit's own date is the machine's)."""
    return {"Decided-at": decided_at.astimezone(UTC).isoformat()}


def decision_of(info: CommitInfo) -> Decision | None:
    """The decision a commit of main's first-parent line records, if it records one."""
    trailers = info.trailers
    request = trailers.get("Request", "")
    if not (request.isdigit() and 0 < len(request) <= 18):
        return None
    kind, step_text = trailers.get("Change-kind"), trailers.get("Step", "")
    if kind == "approval":
        step, decided_by = 5, trailers.get("Approved-by", "")
    elif kind == "main" and step_text in ("6", "7", "8"):
        step, decided_by = int(step_text), info.author_username
    else:
        return None
    if not decided_by:
        return None
    stamp = trailers.get("Decided-at")
    decided_at = info.date
    if stamp:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            decided_at = parsed.astimezone(UTC)
    return Decision(
        commit=info.sha,
        request_id=int(request),
        step=step,
        decided_by=decided_by,
        decided_at=decided_at,
        reviewed_commit=trailers.get("Reviewed-commit") if step == 5 else None,
        stamped=bool(stamp),
    )


# The decisions on main, oldest first, per store and by main's commit: main only moves forward,
# so after a change only the new commits are read. And per store and database, the main commit
# up to which every decision was seen taken in, so that a page run costs one rev-parse.
_trails: dict[Path, tuple[str, tuple[Decision, ...]]] = {}
_reconciled: dict[tuple[Path, str], str] = {}
_cache_lock = threading.Lock()


def decisions_on_main(ctx: AppContext) -> tuple[str | None, tuple[Decision, ...]]:
    """main's commit and every decision recorded on its first-parent line, oldest first."""
    store = ctx.store
    head = store.head()
    if head is None:
        return None, ()
    with _cache_lock:
        cached = _trails.get(store.path)
    if cached is not None and cached[0] == head:
        return cached
    earlier: tuple[Decision, ...] = ()
    commits: list[CommitInfo] | None = None
    if cached is not None:
        try:
            commits = store.trail(head, since=cached[0])
        except GitError:
            commits = None  # the cached commit is not in this repository (it was replaced)
        if commits and commits[-1].parents[:1] == [cached[0]]:
            earlier = cached[1]
        else:
            commits = None
    if commits is None:
        commits = store.trail(head)
    found = tuple(d for c in reversed(commits) if (d := decision_of(c)) is not None)
    result = (head, earlier + found)
    with _cache_lock:
        _trails[store.path] = result
    return result


def take_in(ctx: AppContext, session: Session, request: DashboardRequest, decision: Decision) -> None:
    """Bring ``request``, whose row this transaction holds, to where ``decision`` took it, log
    the decision, and note its commit as taken in. The use case that made the commit calls it
    before committing; the repair calls it for each commit the database lacks, oldest first, so
    the two end in the same rows."""
    allowed, then, action = TRANSITIONS[decision.step]
    if request.status in allowed:
        moves = request.status != then
        if moves:
            _advance(ctx, session, request, then, decision.decided_at, decision.decided_by,
                     action)
        if moves or decision.stamped:
            detail = decision.commit
            if decision.step == 5:
                detail = f"reviewed {decision.reviewed_commit}, merge {decision.commit}"
            record(session, decision.decided_by, action, step=decision.step,
                   request_id=request.id, outcome="approved" if decision.step == 5 else "ok",
                   detail=detail)
    # A decision the status has moved past is older than what the database knows (history from
    # before this record was kept): nothing to change, but it is noted so it is not read again.
    session.add(MainDecision(
        commit=decision.commit, request_id=request.id, step=decision.step,
        decided_by=decision.decided_by, decided_at=decision.decided_at,
        reviewed_commit=decision.reviewed_commit,
    ))
    session.flush()


def take_in_pending(ctx: AppContext, session: Session, request: DashboardRequest) -> int:
    """Take in every decision on main about ``request`` (whose row this transaction holds) that
    the database lacks, oldest first; how many there were."""
    if request.status not in WAITING_ON_MAIN:
        return 0
    _, decisions = decisions_on_main(ctx)
    about = [d for d in decisions if d.request_id == request.id]
    if not about:
        return 0
    known = set(session.exec(
        select(MainDecision.commit).where(MainDecision.request_id == request.id)
    ).all())
    pending = [d for d in about if d.commit not in known]
    for decision in pending:
        take_in(ctx, session, request, decision)
    return len(pending)


def latest_decision(session: Session, request_id: int, step: int) -> MainDecision | None:
    """The newest decision of ``step`` about the request that the database has taken in."""
    return session.exec(
        select(MainDecision)
        .where(MainDecision.request_id == request_id, MainDecision.step == step)
        .order_by(col(MainDecision.id).desc())
    ).first()


def reconcile_main(ctx: AppContext) -> int:
    """Take in every decision on main that the database lacks; how many were taken in.

    Run at every start and on every page run: when main has not moved since the last run in this
    process it costs one ``git rev-parse``. A database busy or a disk full now is left for the
    next run (and the use case the user starts says so); nothing is taken in halfway.
    """
    head, decisions = decisions_on_main(ctx)
    key = (ctx.store.path, ctx.settings.database_url)
    with _cache_lock:
        if head is None or _reconciled.get(key) == head:
            return 0
    taken = 0
    try:
        with Session(ctx.engine) as session:
            known = set(session.exec(select(MainDecision.commit)).all())
            requests = set(session.exec(select(DashboardRequest.id)).all())
        waiting = sorted({d.request_id for d in decisions if d.commit not in known} & requests)
        for request_id in waiting:
            with Session(ctx.engine) as session:
                taken += take_in_pending(ctx, session, _hold_request(session, request_id))
                session.commit()
    except Unavailable as error:
        logging.getLogger(__name__).warning("decisions on main not taken in yet: %s", error)
        return taken
    with _cache_lock:
        _reconciled[key] = head
    if taken:
        logging.getLogger(__name__).warning("took in %d decision(s) found on main", taken)
    return taken
