"""Pusdatin's performance as it is judged: each step done against the SOP's time standard.

Measured from the step clocks (``step_clocks``, the ``StepInterval`` rows) and the decided data
submissions, over a period of days in Jakarta time:

- a **completed step** is one run of a step's clock: from the interval that started it from zero
  (``restarts``) through the intervals that resumed it after a pause, to the interval whose end
  moved the request on to a later step (or finished it). Its **working days** are those of its
  running intervals only: a pause (waiting on the sender or the unit) is not counted. A run that
  the request left for an earlier step and then started from zero again (step 6 after the unit
  adjusted the mock-up) is not completed: as the SOP says, the step counts from the restart.
  It is **on time** when its working days are at most the step's standard (``STEP_STANDARD_HK``),
  and belongs to the period and **month** of the day it ended, in Jakarta time. A run whose clock
  was opened for a request already in flight when clocks were added (``clock.opened``) is left
  out: its real start was not kept;
- the **analyst** of a completed step is the last Pusdatin user (an analyst or a verifier, by
  their role today) who made an event of its intervals, the ends before the starts: for step 4,
  the analyst who sent the mock-up, not the unit that approved it; for step 10, the analyst who
  sent the letter, not the unit that received it. None when only the system or other parties
  acted (a clock opened for an older record);
- the **return rate** of a sending unit is its submissions returned over those decided (returned
  or accepted), by the day of the decision;
- **overdue work** is every clock running now (open, not paused) past its due day, with the
  working days it is over.

Only Pusdatin (``PERFORMANCE_ROLES``) sees this; a request above the viewer's clearance is named
by its number alone (``accounts.visibility``).

May import: accounts, models, procedure.step_clocks, procedure.workdays, procedure.work_calendar,
sqlmodel; never Streamlit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from pydantic import BaseModel, Field
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.visibility import request_label
from ocenter.clock import WIB
from ocenter.context import AppContext
from ocenter.errors import PermissionDenied, UserError
from ocenter.i18n import t
from ocenter.models import (
    DashboardRequest,
    StepInterval,
    Submission,
    SubmissionStatus,
    User,
)
from ocenter.procedure.common import PUSDATIN_ROLES
from ocenter.procedure.step_clocks import OPENED_FOR_OLDER_RECORD, interval_clock
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import STEP_STANDARD_HK, local_time
from ocenter.verification.failing_rows import FORMULA_STARTS

#: Who may see Pusdatin's performance: Pusdatin's own people, analysts and verifiers.
PERFORMANCE_ROLES = PUSDATIN_ROLES
#: The longest period measured at once (days), so one page run reads a bounded set of rows.
MAX_PERIOD_DAYS = 3 * 366


class CompletedStep(BaseModel):
    """One run of one step's clock, completed within the period."""

    request_id: int = Field(description="Request the step was done for.")
    unit: str = Field(description="Code of the requesting unit.", examples=["DIT-PKON"])
    step: int = Field(description="SOP step, 2 to 10 (those with a time standard).")
    started: datetime = Field(description="When the run started from zero (Jakarta time).")
    ended: datetime = Field(description="When the step ended (Jakarta time).")
    working_days: int = Field(description="Working days the clock ran, pauses excluded.")
    standard_hk: int = Field(description="The step's time standard in working days.")
    on_time: bool = Field(description="True when working_days is at most standard_hk.")
    analyst: str | None = Field(description="Pusdatin user who did the step (see the module).")
    month: str = Field(description="Month the step ended, 'YYYY-MM' in Jakarta time.")


class GroupFigures(BaseModel):
    """On-time figures of the completed steps of one group (a step, a unit, an analyst, a month)."""

    group: str = Field(description="The group's name: step number, unit code, username or month.")
    completed: int = Field(description="Completed steps in the group.")
    on_time: int = Field(description="Of those, how many were on time.")
    on_time_rate: float = Field(description="on_time / completed, from 0 to 1.")
    median_hk: float = Field(description="Median working days of the group's steps.")


class SenderReturns(BaseModel):
    """How often one sending unit's data was returned."""

    unit: str = Field(description="Code of the sending unit.")
    decided: int = Field(description="Submissions decided in the period (accepted or returned).")
    returned: int = Field(description="Of those, returned to the sender for fixing.")
    return_rate: float = Field(description="returned / decided, from 0 to 1.")


class OverdueStep(BaseModel):
    """A step whose clock runs now past its due day."""

    request_id: int = Field(description="Request waiting on the step.")
    request: str = Field(description="The request as the viewer may name it (withheld above "
                                     "their clearance).")
    unit: str = Field(description="Code of the requesting unit.")
    step: int = Field(description="SOP step whose clock runs.")
    due: date = Field(description="Last working day the standard allowed.")
    over_hk: int = Field(description="Working days past the due day, up to today.")


class Performance(BaseModel):
    """Everything the performance page shows for one period."""

    first_day: date = Field(description="First day of the period (Jakarta time).")
    last_day: date = Field(description="Last day of the period (Jakarta time).")
    steps: list[CompletedStep] = Field(description="Completed steps, in order of their end.")
    per_step: list[GroupFigures] = Field(description="Figures per SOP step.")
    per_unit: list[GroupFigures] = Field(description="Figures per requesting unit.")
    per_analyst: list[GroupFigures] = Field(description="Figures per Pusdatin user.")
    per_month: list[GroupFigures] = Field(description="Figures per month of the step's end.")
    overall: GroupFigures | None = Field(description="Figures of every completed step; None "
                                                     "when none was completed.")
    senders: list[SenderReturns] = Field(description="Return rate per sending unit.")
    overdue: list[OverdueStep] = Field(description="Steps overdue today, most overdue first.")


def require_performance_viewer(viewer: Authority) -> None:
    """Refuse anyone but Pusdatin's analysts and verifiers."""
    if viewer.role not in PERFORMANCE_ROLES:
        raise PermissionDenied("performance.forbidden")


def default_period(today: date) -> tuple[date, date]:
    """This year up to ``today``."""
    return date(today.year, 1, 1), today


def _utc_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The period's days in Jakarta time as UTC instants, the end exclusive."""
    start = datetime.combine(first_day, time(), WIB).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), WIB).astimezone(UTC)
    return start, end


def _pusdatin_people(session: Session) -> set[str]:
    return set(session.exec(select(User.username)
                            .where(col(User.role).in_(PUSDATIN_ROLES))).all())


def completed_steps(
    intervals: Iterable[StepInterval], units: dict[int, str], pusdatin: set[str]
) -> list[CompletedStep]:
    """The completed runs of steps with a standard among ``intervals`` (every interval of each
    request involved, any order), their requesting units in ``units`` (request id -> unit code),
    their analysts among the usernames ``pusdatin``; see the module for the rules."""
    by_request: dict[int, list[StepInterval]] = {}
    for interval in intervals:
        by_request.setdefault(interval.request_id, []).append(interval)
    done: list[CompletedStep] = []
    for request_id, kept in by_request.items():
        kept.sort(key=lambda i: i.id)
        runs: dict[int, list[StepInterval]] = {}  # the run of each step, to its latest interval
        for position, interval in enumerate(kept):
            if interval.restarts or interval.step not in runs:
                runs[interval.step] = []
            run = runs[interval.step]
            run.append(interval)
            following = kept[position + 1] if position + 1 < len(kept) else None
            standard = STEP_STANDARD_HK.get(interval.step)
            if interval.ended_at is None or standard is None:
                continue
            if following is not None and following.step <= interval.step:
                continue  # paused, restarted or sent back: the run is not over
            del runs[interval.step]
            if run[0].start_event == OPENED_FOR_OLDER_RECORD:
                continue  # its real start was never kept: its days would be too few
            used = sum(i.used_hk or 0 for i in run if i.waiting_on is None)
            ended = local_time(interval.ended_at)
            done.append(CompletedStep(
                request_id=request_id, unit=units.get(request_id, ""), step=interval.step,
                started=local_time(run[0].started_at), ended=ended, working_days=used,
                standard_hk=standard, on_time=used <= standard, analyst=_analyst_of(run, pusdatin),
                month=ended.strftime("%Y-%m"),
            ))
    return sorted(done, key=lambda s: (s.ended, s.request_id, s.step))


def _analyst_of(run: list[StepInterval], pusdatin: set[str]) -> str | None:
    for interval in reversed(run):
        for actor in (interval.ended_by, interval.started_by):
            if actor in pusdatin:
                return actor
    return None


def figures_by(steps: list[CompletedStep], key: Callable[[CompletedStep], str | None],
               missing: str = "-") -> list[GroupFigures]:
    """The on-time figures of ``steps`` grouped by ``key`` (None goes to ``missing``), by group."""
    groups: dict[str, list[CompletedStep]] = {}
    for step in steps:
        name = key(step)
        groups.setdefault(missing if name is None else name, []).append(step)
    return [_figures(name, members) for name, members in sorted(groups.items())]


def _figures(name: str, members: list[CompletedStep]) -> GroupFigures:
    on_time = sum(s.on_time for s in members)
    return GroupFigures(group=name, completed=len(members), on_time=on_time,
                        on_time_rate=on_time / len(members),
                        median_hk=float(median(s.working_days for s in members)))


def sender_returns(session: Session, start: datetime, end: datetime) -> list[SenderReturns]:
    """Per sending unit, the submissions decided in [start, end) and how many were returned:
    counted by the database."""
    returned = func.sum(case((Submission.status == SubmissionStatus.RETURNED, 1), else_=0))
    rows = session.exec(
        select(Submission.unit_code, func.count(), returned)
        .where(col(Submission.status).in_((SubmissionStatus.RETURNED, SubmissionStatus.VERIFIED)),
               col(Submission.verified_at) >= start, col(Submission.verified_at) < end)
        .group_by(Submission.unit_code).order_by(Submission.unit_code)
    ).all()
    return [SenderReturns(unit=unit, decided=decided, returned=int(back or 0),
                          return_rate=int(back or 0) / decided)
            for unit, decided, back in rows]


def overdue_now(ctx: AppContext, viewer: Authority, lang: str) -> list[OverdueStep]:
    """Every step whose clock runs today past its due day, most working days over first."""
    require_performance_viewer(viewer)
    calendar, today = calendar_of(ctx), ctx.clock.today()
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(StepInterval, DashboardRequest)
            .join(DashboardRequest, DashboardRequest.id == StepInterval.request_id)
            .where(col(StepInterval.ended_at).is_(None), col(StepInterval.waiting_on).is_(None))
        ).all()
    late: list[OverdueStep] = []
    for interval, request in rows:
        clock = interval_clock(interval, today, calendar)
        if clock.overdue and clock.due is not None:
            late.append(OverdueStep(
                request_id=request.id, request=request_label(viewer, request, lang),
                unit=request.requesting_unit, step=interval.step, due=clock.due,
                over_hk=calendar.working_days_between(clock.due, today)))
    return sorted(late, key=lambda o: (-o.over_hk, o.request_id))


def performance(
    ctx: AppContext, viewer: Authority, first_day: date, last_day: date, lang: str = "id"
) -> Performance:
    """Pusdatin's performance over the days ``first_day`` to ``last_day`` (Jakarta time), and
    the work overdue today. Refuses anyone outside Pusdatin, and a period that ends before it
    starts or spans more than ``MAX_PERIOD_DAYS``."""
    require_performance_viewer(viewer)
    if last_day < first_day or (last_day - first_day).days > MAX_PERIOD_DAYS:
        raise UserError("performance.bad_period", days=MAX_PERIOD_DAYS)
    start, end = _utc_bounds(first_day, last_day)
    with Session(ctx.engine) as session:
        ended_in_period = (
            select(StepInterval.request_id)
            .where(col(StepInterval.ended_at) >= start, col(StepInterval.ended_at) < end)
            .distinct()
        )
        rows = session.exec(
            select(StepInterval, DashboardRequest.requesting_unit)
            .join(DashboardRequest, DashboardRequest.id == StepInterval.request_id)
            .where(col(StepInterval.request_id).in_(ended_in_period))
        ).all()
        pusdatin = _pusdatin_people(session)
        senders = sender_returns(session, start, end)
    units = {interval.request_id: unit for interval, unit in rows}
    steps = [s for s in completed_steps((i for i, _ in rows), units, pusdatin)
             if first_day <= s.ended.date() <= last_day]
    return Performance(
        first_day=first_day, last_day=last_day, steps=steps,
        per_step=sorted(figures_by(steps, lambda s: str(s.step)), key=lambda g: int(g.group)),
        per_unit=figures_by(steps, lambda s: s.unit),
        per_analyst=figures_by(steps, lambda s: s.analyst),
        per_month=figures_by(steps, lambda s: s.month),
        overall=_figures("", steps) if steps else None,
        senders=senders,
        overdue=overdue_now(ctx, viewer, lang),
    )


def _neutral(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


#: The detailed table's columns, by the catalogue key of their header.
CSV_COLUMNS = ("performance.col_request", "performance.col_unit", "performance.col_step",
               "performance.col_started", "performance.col_ended", "performance.col_working_days",
               "performance.col_standard", "performance.col_on_time", "performance.col_analyst")


def steps_csv(steps: list[CompletedStep], lang: str = "id") -> bytes:
    """The completed steps as CSV (UTF-8 with a byte-order mark, for spreadsheets), one row a
    step in ``CSV_COLUMNS`` order, headers in ``lang``, times in Jakarta time; no cell can run
    as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_neutral(t(key, lang)) for key in CSV_COLUMNS)
    yes, no = t("performance.yes", lang), t("performance.no", lang)
    for s in steps:
        writer.writerow(_neutral(cell) for cell in (
            s.request_id, s.unit, s.step, s.started.strftime("%Y-%m-%d %H:%M"),
            s.ended.strftime("%Y-%m-%d %H:%M"), s.working_days, s.standard_hk,
            yes if s.on_time else no, s.analyst))
    return out.getvalue().encode("utf-8-sig")
