"""Working days (hari kerja, HK) and the SOP's time standard for each step.

A working day is Monday to Friday, minus Indonesia's national holidays and the government's
collective leave (cuti bersama). The national holidays come from the ``holidays`` package (country
"ID", its public holidays), for any year. The cuti bersama, set each year by the joint decree of
three ministers (SKB 3 Menteri), and any correction of the package are entries each installation
keeps in its database (``procedure.work_calendar``), so that a new decree needs no new release.

A ``WorkCalendar`` is the two together. It works each year out once, as the sorted list of that
year's working days: whether a day is one, the due day of a standard and the working days a step
has used are then binary searches, whatever the span (Beranda counts thousands of clocks a run).

The functions below count on the calendar they are given. Without one they count on the calendar
a new installation starts with, the package's holidays and the seed of
``ocenter/reference/hari_libur.csv``; the use cases pass the installation's own
(``procedure.work_calendar.calendar_of(ctx)``), which its administrator keeps.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from typing import NamedTuple

from pydantic import BaseModel, Field

from ocenter.clock import WIB
from ocenter.i18n import DEFAULT_LANGUAGE
from ocenter.models import CalendarEntryKind, ClockWait

#: Time standard of each step of SOP POM-09.01/CFM.02/SOP.06, in working days (None: no standard).
STEP_STANDARD_HK: dict[int, int | None] = {
    1: None,
    2: 1,
    3: 5,
    4: 5,
    5: None,
    6: 15,
    7: 1,
    8: 1,
    9: 5,
    10: 1,
}

#: The holidays package's language for each of ours.
_PACKAGE_LANGUAGE = {"id": "id", "en": "en_US"}
#: What the entries of each kind do: take the day off, or give it back to work.
DAYS_OFF_KINDS = frozenset({CalendarEntryKind.CUTI_BERSAMA, CalendarEntryKind.EXTRA_HOLIDAY})


class NationalHoliday(NamedTuple):
    """A national holiday as the holidays package gives it."""

    day: date
    name: str


@cache
def national_holidays(year: int, lang: str = DEFAULT_LANGUAGE) -> tuple[NationalHoliday, ...]:
    """Indonesia's national holidays of ``year`` by date, named in ``lang`` ("id" or "en"); a date
    the package only estimates (an Islamic holiday before its decree) says so in its name."""
    import holidays  # its country data is read on first use, not at every process start

    package = holidays.country_holidays("ID", years=year, categories=holidays.PUBLIC,
                                        language=_PACKAGE_LANGUAGE[lang])
    return tuple(NationalHoliday(day, name) for day, name in sorted(package.items()))


class WorkCalendar:
    """Weekends and the package's national holidays off, plus the days ``days_off`` (cuti
    bersama, holidays the package lacks), minus the days ``working_days`` (package holidays that
    are working days after all). Safe to share between threads: a year worked out twice by two
    at once comes out the same."""

    def __init__(self, days_off: Iterable[date] = (), working_days: Iterable[date] = ()) -> None:
        self._days_off = frozenset(days_off)
        self._working_days = frozenset(working_days)
        self._years: dict[int, tuple[int, ...]] = {}

    def _working(self, year: int) -> tuple[int, ...]:
        """The ordinals of ``year``'s working days, in order."""
        ordinals = self._years.get(year)
        if ordinals is None:
            off = ({holiday.day for holiday in national_holidays(year)}
                   | {day for day in self._days_off if day.year == year}) - self._working_days
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            ordinals = tuple(
                ordinal for ordinal in range(first, last + 1)
                if (day := date.fromordinal(ordinal)).weekday() < 5 and day not in off
            )
            self._years[year] = ordinals
        return ordinals

    def is_working_day(self, day: date) -> bool:
        """True on a Monday-to-Friday that is not a holiday or cuti bersama."""
        ordinals = self._working(day.year)
        index = bisect_left(ordinals, day.toordinal())
        return index < len(ordinals) and ordinals[index] == day.toordinal()

    def working_days_in(self, year: int) -> int:
        """How many working days ``year`` has."""
        return len(self._working(year))

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (the start day itself does not count)."""
        if days <= 0:
            return start
        remaining, after, year = days, start.toordinal(), start.year
        while True:
            ordinals = self._working(year)
            index = bisect_right(ordinals, after)
            if remaining <= len(ordinals) - index:
                return date.fromordinal(ordinals[index + remaining - 1])
            remaining -= len(ordinals) - index
            year += 1

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        if end <= start:
            return 0
        return sum(
            bisect_right(ordinals, end.toordinal()) - bisect_right(ordinals, start.toordinal())
            for ordinals in (self._working(year) for year in range(start.year, end.year + 1))
        )


def calendar_of_entries(entries: Iterable[tuple[date, CalendarEntryKind]]) -> WorkCalendar:
    """The calendar of the package's holidays with the entries ``(day, kind)`` that count."""
    days_off, working_days = [], []
    for day, kind in entries:
        (days_off if kind in DAYS_OFF_KINDS else working_days).append(day)
    return WorkCalendar(days_off, working_days)


@cache
def seed_calendar() -> WorkCalendar:
    """The calendar a new installation starts with: the package's holidays and the seed's entries."""
    from ocenter.reference import calendar_seed_rows

    return calendar_of_entries((date.fromisoformat(row["date"]), CalendarEntryKind(row["kind"]))
                               for row in calendar_seed_rows())


def is_working_day(day: date, calendar: WorkCalendar | None = None) -> bool:
    """True on a Monday-to-Friday that is not a holiday or cuti bersama of ``calendar``."""
    return (seed_calendar() if calendar is None else calendar).is_working_day(day)


def add_working_days(start: date, days: int, calendar: WorkCalendar | None = None) -> date:
    """The date ``days`` working days after ``start`` (the start day itself does not count)."""
    return (seed_calendar() if calendar is None else calendar).add_working_days(start, days)


def working_days_between(start: date, end: date, calendar: WorkCalendar | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    return (seed_calendar() if calendar is None else calendar).working_days_between(start, end)


class StepClock(BaseModel):
    """How a step stands against its time standard."""

    step: int = Field(description="SOP step number, 1 to 10.")
    standard_hk: int | None = Field(description="Time standard in working days, None if none.")
    started: date = Field(description="Day the step's clock started.")
    due: date | None = Field(description="Last working day allowed, None if no standard.")
    used_hk: int = Field(description="Working days used so far.")
    overdue: bool = Field(description="True when past the due day.")
    waiting_on: ClockWait | None = Field(
        default=None, description="Whom the paused clock waits on (then no due day); None while "
                                  "it runs.")


def local_time(moment: datetime) -> datetime:
    """``moment`` in Jakarta time; a naive value is taken to be UTC, as the database stores it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB)


def step_clock(
    step: int, started_at: datetime, today: date, calendar: WorkCalendar | None = None
) -> StepClock:
    """Where step ``step``, started at ``started_at``, stands on ``today`` (on ``calendar``)."""
    calendar = seed_calendar() if calendar is None else calendar
    standard = STEP_STANDARD_HK.get(step)
    started = local_time(started_at).date()
    due = calendar.add_working_days(started, standard) if standard is not None else None
    return StepClock(
        step=step,
        standard_hk=standard,
        started=started,
        due=due,
        used_hk=calendar.working_days_between(started, today),
        overdue=due is not None and today > due,
    )

