"""What waits on each person now: the inbox, read from the open step clocks (``step_clocks``)
and the returned data still to fix, with the reminders and escalations made for them.

Who a clock waits on: Pusdatin's verifiers at steps 2-3, its analysts at steps 4 and 6-9, the
requesting unit's people while the mock-up is out for review (step 5) and when the letter is
sent (step 10), and a sender whose data was returned. A request's title is named only where the
person may read it (``accounts.visibility``).
May import: accounts, models, procedure.step_clocks, procedure.work_calendar, procedure.workdays,
procedure.worklists, sqlmodel.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.accounts.visibility import RequestView, request_label, request_view
from ocenter.context import AppContext
from ocenter.i18n import t
from ocenter.models import (
    ClockWait,
    DashboardRequest,
    Notification,
    RequestStatus,
    StepInterval,
    SubmissionStatus,
)
from ocenter.procedure.step_clocks import interval_clock
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import StepClock, WorkCalendar
from ocenter.procedure.worklists import submission_page

#: The people of the requesting unit who review its mock-up and receive its letter.
UNIT_SIDE = (Role.DIREKTUR, Role.KABALAI, Role.UNIT, Role.UPT)
#: The requesting unit's Eselon II: its director (central unit) or head of the UPT.
ESELON_2 = (Role.DIREKTUR, Role.KABALAI)
#: The Pusdatin role each running step waits on.
PUSDATIN_STEP_ROLE = {2: Role.VERIFIKATOR, 3: Role.VERIFIKATOR, 4: Role.ANALIS, 6: Role.ANALIS,
                      7: Role.ANALIS, 8: Role.ANALIS, 9: Role.ANALIS}
#: The page each task is done on (``navigation.PAGES`` keys), by task code.
TASK_PAGE = {"receive": "terima-data", "verify": "verifikasi-data", "mockup": "mockup",
             "revise": "mockup", "review": "tinjau-mockup", "build": "bangun",
             "classify": "klasifikasi", "display": "tayangkan", "evaluate": "evaluasi",
             "acknowledge": "penerimaan", "fix": "kirim-data"}
_STEP_TASK = {2: "receive", 3: "verify", 4: "mockup", 6: "build", 7: "classify", 8: "display",
              9: "evaluate", 10: "acknowledge"}
#: How many returned submissions an inbox lists at most (the sending page lists them all).
MAX_FIXES = 50


class InboxItem(BaseModel):
    """One thing that waits on a person."""

    task: str = Field(description="What to do, as a code of ``TASK_PAGE`` (e.g. 'review').")
    text: str = Field(description="What to do and on what, in the person's language (plain text).")
    request_id: int | None = Field(default=None, description="The request it is about, if any.")
    submission_id: int | None = Field(default=None, description="The returned submission to fix.")
    step: int | None = Field(default=None, description="The SOP step whose clock it stands on.")
    due: date | None = Field(default=None, description="The step's due day; None while paused.")
    days_left: int | None = Field(
        default=None, description="Working days until the due day (0: due today); negative: "
                                  "working days overdue. None without a due day.")
    page: str = Field(description="Key of the page it is done on.")


def task_of(interval: StepInterval, request: DashboardRequest) -> str | None:
    """The task an open clock gives: None for a clock paused on the sender (the fix is listed
    from the returned submission itself)."""
    if interval.waiting_on == ClockWait.UNIT:
        return "review"
    if interval.waiting_on == ClockWait.SENDER:
        return None
    if interval.step == 4 and request.status == RequestStatus.CHANGES_REQUESTED:
        return "revise"
    return _STEP_TASK.get(interval.step)


def waits_on_role(interval: StepInterval) -> tuple[Role, ...]:
    """The roles an open clock waits on: Pusdatin's for its own steps, the unit's otherwise."""
    if interval.waiting_on == ClockWait.SENDER:
        return ()
    if interval.waiting_on == ClockWait.UNIT or interval.step == 10:
        return UNIT_SIDE
    role = PUSDATIN_STEP_ROLE.get(interval.step)
    return (role,) if role else ()


def waits_on(interval: StepInterval, request: DashboardRequest, person: Authority) -> bool:
    """Whether the open clock of ``request`` waits on ``person``."""
    roles = waits_on_role(interval)
    if person.role not in roles:
        return False
    return person.role in PUSDATIN_STEP_ROLE.values() or person.unit_code == request.requesting_unit


def days_left(clock: StepClock, today: date, calendar: WorkCalendar) -> int | None:
    """Working days from ``today`` to the clock's due day; negative when past it."""
    if clock.due is None:
        return None
    if clock.overdue:
        return -calendar.working_days_between(clock.due, today)
    return calendar.working_days_between(today, clock.due)


def inbox_of(ctx: AppContext, actor: Authority, lang: str = "id") -> list[InboxItem]:
    """What waits on ``actor`` today: overdue first, then by due day (paused, without one, last)."""
    today, calendar = ctx.clock.today(), calendar_of(ctx)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(StepInterval, DashboardRequest)
            .where(col(StepInterval.ended_at).is_(None),
                   col(StepInterval.request_id) == col(DashboardRequest.id))
            .order_by(col(DashboardRequest.id))
        ).all()
    items: list[InboxItem] = []
    for interval, request in rows:
        task = task_of(interval, request)
        if task is None or not waits_on(interval, request, actor):
            continue
        if request_view(actor, request) == RequestView.HIDDEN:
            continue
        clock = interval_clock(interval, today, calendar)
        items.append(InboxItem(
            task=task, request_id=request.id, step=interval.step, due=clock.due,
            days_left=days_left(clock, today, calendar), page=TASK_PAGE[task],
            text=t(f"todo.task.{task}", lang, request=request_label(actor, request, lang))))
    if actor.role in (Role.UNIT, Role.UPT, Role.MITRA):
        returned = submission_page(ctx, actor, SubmissionStatus.RETURNED, needs_fixing=True,
                                   page_size=MAX_FIXES).items
        items.extend(InboxItem(
            task="fix", submission_id=s.id, request_id=s.request_id, step=3, page=TASK_PAGE["fix"],
            text=t("todo.task.fix", lang, submission=s.id, dataset=s.dataset_id))
            for s in returned)
    return sorted(items, key=_urgency)


def _urgency(item: InboxItem) -> tuple:
    return (item.days_left is None, item.days_left if item.days_left is not None else 0,
            item.request_id or 0, item.submission_id or 0)


def notifications_of(ctx: AppContext, actor: Authority, limit: int = 20) -> list[Notification]:
    """The newest reminders and escalations made for ``actor``."""
    with Session(ctx.engine) as session:
        return list(session.exec(
            select(Notification).where(Notification.recipient == actor.username)
            .order_by(col(Notification.id).desc()).limit(limit)
        ).all())
