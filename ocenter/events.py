"""The event log: each use case appends one event, in the caller's transaction."""

from __future__ import annotations

from sqlmodel import Session

from ocenter.models import Event


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    step: int | None = None,
    request_id: int | None = None,
    submission_id: int | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Append one event to the log (committed with the caller's transaction)."""
    session.add(
        Event(
            actor=actor,
            action=action,
            step=step,
            request_id=request_id,
            submission_id=submission_id,
            outcome=outcome,
            detail=detail,
        )
    )
