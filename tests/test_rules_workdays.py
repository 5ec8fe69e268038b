"""The SOP's clock: working days (HK) skip weekends, holidays and cuti bersama, are counted in
Jakarta time, and each step's due day follows from its time standard. Dates are worked out by
hand from the 2026 calendar (national holidays and cuti bersama of the SKB 3 Menteri for 2026)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ocenter.clock import FixedClock
from ocenter.models import DashboardRequest, RequestStatus
from ocenter.procedure.common import request_clock
from ocenter.procedure.workdays import (
    add_working_days,
    is_working_day,
    local_time,
    step_clock,
    working_days_between,
)

FRIDAY = date(2026, 11, 27)
MONDAY = date(2026, 11, 30)
# Idul Fitri 2026: Wednesday 18 March (cuti bersama) to Tuesday 24 March are all days off.
BEFORE_LEBARAN = date(2026, 3, 17)
AFTER_LEBARAN = date(2026, 3, 25)


@pytest.mark.parametrize(("day", "working"), [
    (FRIDAY, True),
    (date(2026, 11, 28), False),  # Saturday
    (date(2026, 11, 29), False),  # Sunday
    (MONDAY, True),
    (date(2026, 8, 17), False),  # Monday, Hari Kemerdekaan
    (date(2026, 3, 23), False),  # Monday, cuti bersama Idul Fitri
])
def test_a_working_day_is_a_weekday_that_is_not_a_holiday_or_cuti_bersama(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize(("start", "days", "due"), [
    (MONDAY, 0, MONDAY),
    (FRIDAY, 1, MONDAY),  # the weekend does not count
    (MONDAY, 5, date(2026, 12, 7)),
    (BEFORE_LEBARAN, 1, AFTER_LEBARAN),  # a week of holidays and cuti bersama does not count
    (MONDAY, 15, date(2026, 12, 21)),  # step 6: three weeks
    (date(2026, 12, 21), 5, date(2026, 12, 30)),  # 24 and 25 December are off
])
def test_the_due_day_is_n_working_days_after_the_start(start, days, due):
    assert add_working_days(start, days) == due


@pytest.mark.parametrize(("start", "end", "count"), [
    (MONDAY, MONDAY, 0),
    (date(2026, 12, 7), MONDAY, 0),  # an end before the start counts nothing
    (FRIDAY, MONDAY, 1),
    (MONDAY, date(2026, 12, 7), 5),
    (BEFORE_LEBARAN, AFTER_LEBARAN, 1),
    (date(2026, 12, 21), date(2026, 12, 31), 6),
])
def test_working_days_used_count_the_days_after_the_start_up_to_the_end(start, end, count):
    assert working_days_between(start, end) == count


def test_the_database_time_is_utc_and_the_day_is_jakartas():
    # 20:00 UTC on Monday is 03:00 on Tuesday in Jakarta: the step started on Tuesday.
    assert local_time(datetime(2026, 11, 30, 20, 0)).hour == 3
    assert local_time(datetime(2026, 11, 30, 20, 0)).date() == date(2026, 12, 1)
    assert local_time(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)).date() == date(2026, 12, 1)
    # An aware time elsewhere keeps its instant.
    in_wib = datetime(2026, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    assert local_time(in_wib).hour == 8 and local_time(in_wib).utcoffset() == timedelta(hours=7)


def test_the_servers_own_time_zone_does_not_move_the_day(monkeypatch):
    # A server set to New York must still read the database's naive times as UTC.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert local_time(datetime(2026, 11, 30, 20, 0)).date() == date(2026, 12, 1)
        assert local_time(datetime(2026, 11, 30, 20, 0)).hour == 3
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_steps_clock_shows_its_standard_due_day_and_overdue_only_after_it():
    started = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
    on_due = step_clock(3, started, date(2026, 12, 7))
    assert (on_due.step, on_due.standard_hk, on_due.started) == (3, 5, MONDAY)
    assert (on_due.due, on_due.used_hk, on_due.overdue) == (date(2026, 12, 7), 5, False)
    late = step_clock(3, started, date(2026, 12, 8))
    assert (late.used_hk, late.overdue) == (6, True)
    build = step_clock(6, started, MONDAY)
    assert (build.standard_hk, build.due, build.used_hk, build.overdue) == (15, date(2026, 12, 21), 0, False)


def test_a_step_without_a_time_standard_is_never_overdue():
    clock = step_clock(5, datetime(2025, 1, 6, 2, 0, tzinfo=UTC), date(2026, 11, 30))
    assert (clock.standard_hk, clock.due, clock.overdue) == (None, None, False)
    assert clock.used_hk > 400


def test_a_requests_clock_is_the_clock_of_its_current_step(demo_ctx):
    request = DashboardRequest(status=RequestStatus.APPROVED,
                               step_started_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    # 06:30 WIB on 23 December is still the 22nd in UTC: the installation's clock says which
    # day it is in Jakarta.
    clock = request_clock(replace(demo_ctx, clock=FixedClock.wib(2026, 12, 23, 6, 30)), request)
    assert (clock.step, clock.standard_hk, clock.due) == (6, 15, date(2026, 12, 21))
    assert (clock.used_hk, clock.overdue) == (17, True)
    request.status = RequestStatus.CHANGES_REQUESTED  # step 4 starts again
    first_of_december = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 1))
    assert request_clock(first_of_december, request).step == 4
    assert request_clock(first_of_december, request).due == date(2026, 12, 7)
