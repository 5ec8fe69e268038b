"""Work lists that stay fast with thousands of requests: which requests a page lists is filtered,
searched, counted and paged by the database in one query per page, never request by request.

What a viewer may see of a request is decided by ``accounts.visibility``; the clauses here say the
same in SQL, and every page of results is passed through the rule itself once more.
May import: accounts, models, procedure.common, procedure.workdays, procedure.work_calendar, sqlmodel.
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
from ocenter.models import DashboardRequest, Evaluation, RequestStatus, Submission, SubmissionStatus
from ocenter.procedure.common import STATUS_STEP
from ocenter.procedure.data_intake import submissions_seen_by
from ocenter.procedure.requests import worked_on_clause
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
    ``{(step, late): count}``: one query, and one clock per step and starting day."""
    where = [shown_clause(viewer), worked_on_clause(viewer),
             col(DashboardRequest.status) != RequestStatus.RECEIVED]
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(DashboardRequest.status, DashboardRequest.step_started_at, func.count())
            .where(*where).group_by(DashboardRequest.status, DashboardRequest.step_started_at)
        ).all()
    calendar = calendar_of(ctx)
    late_by_start: dict[tuple[int, date], bool] = {}
    counts: dict[tuple[int, bool], int] = {}
    for status, started_at, number in rows:
        step = STATUS_STEP[RequestStatus(status)]
        key = (step, local_time(started_at).date())
        if key not in late_by_start:
            late_by_start[key] = step_clock(step, started_at, today, calendar).overdue
        late = late_by_start[key]
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
    page_size: int = PAGE_SIZE,
) -> Page[Submission]:
    """A page of the submissions ``viewer`` may see (Pusdatin all, a sender its own unit's),
    newest first, with ``status`` if given: ``data_intake.list_submissions`` paged in the
    database."""
    where = submissions_seen_by(viewer, status)
    with Session(ctx.engine) as session:
        total = session.exec(select(func.count()).select_from(Submission).where(*where)).one()
        page = _page_number(page, total, page_size)
        rows = session.exec(
            select(Submission).where(*where).order_by(col(Submission.id).desc())
            .offset((page - 1) * page_size).limit(page_size)
        ).all()
    return Page(list(rows), total, page, page_size)
