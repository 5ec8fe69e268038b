"""Working days (hari kerja, HK) and the SOP's time standard for each step.

A working day is Monday to Friday, minus national holidays and the government's collective leave
(cuti bersama) listed in ``ocenter/reference/hari_libur.csv``; the list is set each year by joint
ministerial decree, so Pusdatin updates that file when the decree is published.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from ocenter.clock import WIB

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

_HOLIDAY_FILE = Path(__file__).parent.parent / "reference" / "hari_libur.csv"


@cache
def holidays() -> frozenset[date]:
    """National holidays and cuti bersama days."""
    with _HOLIDAY_FILE.open(encoding="utf-8", newline="") as handle:
        return frozenset(date.fromisoformat(row["date"]) for row in csv.DictReader(handle))


def is_working_day(day: date) -> bool:
    """True on a Monday-to-Friday that is not a holiday or cuti bersama."""
    return day.weekday() < 5 and day not in holidays()


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (the start day itself does not count)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


class StepClock(BaseModel):
    """How a step stands against its time standard."""

    step: int = Field(description="SOP step number, 1 to 10.")
    standard_hk: int | None = Field(description="Time standard in working days, None if none.")
    started: date = Field(description="Day the step's clock started.")
    due: date | None = Field(description="Last working day allowed, None if no standard.")
    used_hk: int = Field(description="Working days used so far.")
    overdue: bool = Field(description="True when past the due day.")


def local_time(moment: datetime) -> datetime:
    """``moment`` in Jakarta time; a naive value is taken to be UTC, as the database stores it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB)


def step_clock(step: int, started_at: datetime, today: date) -> StepClock:
    """Where step ``step``, started at ``started_at``, stands on ``today``."""
    standard = STEP_STANDARD_HK.get(step)
    started = local_time(started_at).date()
    due = add_working_days(started, standard) if standard is not None else None
    return StepClock(
        step=step,
        standard_hk=standard,
        started=started,
        due=due,
        used_hk=working_days_between(started, today),
        overdue=due is not None and today > due,
    )
