"""Work lists that stay fast with thousands of requests: which requests a page lists is filtered,
searched, counted and paged by the database in one query per page, never request by request.

What a viewer may see of a request is decided by ``accounts.visibility``; the clauses here say the
same in SQL, and every page of results is passed through the rule itself once more.
May import: accounts, models, procedure.common, procedure.step_clocks, procedure.workdays,
procedure.work_calendar, sqlmodel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, func, or_, true
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level
from ocenter.accounts.visibility import shown_requests, works_every_request
from ocenter.context import AppContext
from ocenter.models import (
    DashboardRequest,
    Evaluation,
    RequestStatus,
    StepInterval,
    Submission,
    SubmissionStatus,
)
from ocenter.procedure.common import STATUS_STEP
from ocenter.procedure.data_intake import submissions_seen_by
from ocenter.procedure.requests import worked_on_clause
from ocenter.procedure.step_clocks import interval_clock
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import local_time, step_clock

Item = TypeVar("Item")

#: The steps a request is still open at (not yet received by its unit).
OPEN_STATUSES = tuple(status for status in RequestStatus if status != RequestStatus.RECEIVED)
#: Rows per page of a work list unless the page asks for another size.
PAGE_SIZE = 25
#: The most rows one page may ask for: a longer list is paged.
MAX_PAGE_SIZE = 200


class RequestListQuery(BaseModel):
    """Which requests a work list shows: the filters a user set, and the page they are on."""

    statuses: tuple[RequestStatus, ...] = Field(
        default=(), description="Only requests at these steps; empty for every step.")
    own_unit_only: bool = Field(
        default=False, description="Only requests the viewer's own unit filed (steps 5 and 10).")
    search: str = Field(
        default="", max_length=200,
        description="A request number (with or without '#'), or words of the title. A title is "
                    "searched only where the viewer may read it, so a search reveals nothing.")
    page: int = Field(default=1, ge=1, description="Page number, from 1.")
    page_size: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a work list: its rows, newest first, and how many match in all."""

    items: list[Item]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the matching rows fill (at least one)."""
        return _pages(self.total, self.page_size)


def _page_number(asked: int, total: int, page_size: int) -> int:
    """The page shown for ``asked``: a page past the end shows the last page."""
    return min(asked, _pages(total, page_size))


def _pages(total: int, page_size: int) -> int:
    """How many pages ``total`` rows fill (at least one)."""
    return max(1, -(-total // page_size))


def _readable_levels(viewer: Authority) -> list[Level]:
    return [level for level in Level if viewer.may_see_level(level)]


def shown_clause(viewer: Authority) -> ColumnElement[bool]:
    """SQL for ``accounts.visibility.shown_requests``: the requests not hidden from ``viewer``
    (their level within the viewer's clearance, or theirs to know of by number)."""
    readable = col(DashboardRequest.level).in_(_readable_levels(viewer))
    if works_every_request(viewer):
        return true()
    if viewer.unit_code is None:
        return readable
    return or_(readable, col(DashboardRequest.requesting_unit) == viewer.unit_code)


def _search_clause(viewer: Authority, text: str) -> ColumnElement[bool]:
    text = text.strip()
    if not text:
        return true()
    number = text.removeprefix("#").strip()
    by_number = col(DashboardRequest.id) == int(number) if number.isdigit() and len(number) < 10 \
        else false()
    by_title = and_(col(DashboardRequest.level).in_(_readable_levels(viewer)),
                    col(DashboardRequest.title).icontains(text, autoescape=True))
    return or_(by_number, by_title)


def _where(viewer: Authority, query: RequestListQuery) -> list[ColumnElement[bool]]:
    where = [shown_clause(viewer), worked_on_clause(viewer), _search_clause(viewer, query.search)]
    if query.statuses:
        where.append(col(DashboardRequest.status).in_(query.statuses))
    if query.own_unit_only:
        where.append(col(DashboardRequest.requesting_unit) == (viewer.unit_code or ""))
    return where


def request_page(
    ctx: AppContext, viewer: Authority, query: RequestListQuery
) -> Page[DashboardRequest]:
    """The page ``query`` asks for of the requests ``viewer`` may see, newest first; a page past
    the end shows the last page."""
    where = _where(viewer, query)
    with Session(ctx.engine) as session:
        total = session.exec(select(func.count()).select_from(DashboardRequest).where(*where)).one()
        page = _page_number(query.page, total, query.page_size)
        rows = session.exec(
            select(DashboardRequest).where(*where).order_by(col(DashboardRequest.id).desc())
            .offset((page - 1) * query.page_size).limit(query.page_size)
        ).all()
    return Page(shown_requests(viewer, list(rows)), total, page, query.page_size)


def open_step_counts(ctx: AppContext, viewer: Authority, today: date) -> dict[tuple[int, bool], int]:
    """How many of the open requests ``viewer`` may see stand at each step, on time or late, as
    ``{(step, late): count}``: one query, and one clock per distinct clock. Late is read from the
    request's open clock (``step_clocks``; a paused one is not late), or for a request without
    one from its status and its current step's start."""
    where = [shown_clause(viewer), worked_on_clause(viewer),
             col(DashboardRequest.status) != RequestStatus.RECEIVED]
    opened = and_(col(StepInterval.request_id) == col(DashboardRequest.id),
                  col(StepInterval.ended_at).is_(None))
    columns = (DashboardRequest.status, DashboardRequest.step_started_at, StepInterval.step,
               StepInterval.waiting_on, StepInterval.started_at, StepInterval.carried_hk)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(*columns, func.count()).outerjoin(StepInterval, opened)
            .where(*where).group_by(*columns)
        ).all()
    calendar = calendar_of(ctx)
    late_by_clock: dict[tuple, bool] = {}
    counts: dict[tuple[int, bool], int] = {}
    for status, step_started_at, clock_step, waiting_on, started_at, carried, number in rows:
        step = STATUS_STEP[RequestStatus(status)]
        if clock_step is None:
            key: tuple = (step, local_time(step_started_at).date())
            if key not in late_by_clock:
                late_by_clock[key] = step_clock(step, step_started_at, today, calendar).overdue
        else:
            key = (clock_step, waiting_on, local_time(started_at).date(), carried)
            if key not in late_by_clock:
                late_by_clock[key] = interval_clock(StepInterval(
                    request_id=0, step=clock_step, waiting_on=waiting_on, started_at=started_at,
                    carried_hk=carried, started_by="", start_event=""), today, calendar).overdue
        late = late_by_clock[key]
        counts[(step, late)] = counts.get((step, late), 0) + number
    return counts


def letter_page(
    ctx: AppContext, viewer: Authority, *, own_unit_only: bool = False, page: int = 1,
    page_size: int = PAGE_SIZE, statuses: tuple[RequestStatus, ...] = (),
) -> Page[tuple[Evaluation, DashboardRequest]]:
    """The evaluation letters of the requests ``viewer`` may see, newest first, one page of them
    with their requests in one query."""
    which = RequestListQuery(own_unit_only=own_unit_only, statuses=statuses)  # paged below
    where = [*_where(viewer, which), col(Evaluation.request_id) == col(DashboardRequest.id)]
    with Session(ctx.engine) as session:
        total = session.exec(
            select(func.count()).select_from(Evaluation).join(DashboardRequest).where(*where)
        ).one()
        page = _page_number(page, total, page_size)
        rows = session.exec(
            select(Evaluation, DashboardRequest).join(DashboardRequest).where(*where)
            .order_by(col(Evaluation.id).desc()).offset((page - 1) * page_size).limit(page_size)
        ).all()
    shown = {r.id for r in shown_requests(viewer, [request for _, request in rows])}
    return Page([(e, r) for e, r in rows if r.id in shown], total, page, page_size)


def newest_letters(ctx: AppContext, request_ids: list[int]) -> dict[int, Evaluation]:
    """The newest letter of each of ``request_ids`` (those that have one), in one query."""
    if not request_ids:
        return {}
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(Evaluation).where(col(Evaluation.request_id).in_(request_ids))
            .order_by(col(Evaluation.id).desc())
        ).all()
    newest: dict[int, Evaluation] = {}
    for evaluation in rows:
        newest.setdefault(evaluation.request_id, evaluation)
    return newest


def submission_page(
    ctx: AppContext, viewer: Authority, status: SubmissionStatus | None = None, *, page: int = 1,
    page_size: int = PAGE_SIZE, needs_fixing: bool = False,
) -> Page[Submission]:
    """A page of the submissions ``viewer`` may see (Pusdatin all, a sender its own unit's),
    newest first, with ``status`` if given: ``data_intake.list_submissions`` paged in the
    database. ``needs_fixing``: only those returned whose fix is not accepted yet."""
    where = submissions_seen_by(viewer, status, needs_fixing=needs_fixing)
    with Session(ctx.engine) as session:
        total = session.exec(select(func.count()).select_from(Submission).where(*where)).one()
        page = _page_number(page, total, page_size)
        rows = session.exec(
            select(Submission).where(*where).order_by(col(Submission.id).desc())
            .offset((page - 1) * page_size).limit(page_size)
        ).all()
    return Page(list(rows), total, page, page_size)
