"""Working days (HK) counted by hand on the calendar, for every time standard of the SOP.

Each expected date below was worked out on a 2025-2027 calendar with the national holidays and
cuti bersama of the joint decrees (SKB 3 Menteri) of those years, not by running the code; the comment of
each case shows the count. The rule counted by: the day a step starts is not counted, the first
working day after it is HK 1, and the due day is the last working day of the standard (on time
on that day, late from the next day on).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ocenter.clock import WIB
from ocenter.procedure.workdays import (
    STEP_STANDARD_HK,
    add_working_days,
    is_working_day,
    step_clock,
    working_days_between,
)


def _at_nine(day: date) -> datetime:
    """A step started at 09:00 in Jakarta on ``day``."""
    return datetime(day.year, day.month, day.day, 9, tzinfo=WIB)


def test_the_time_standards_are_those_of_the_sop():
    # Diagram A of SOP POM-09.01/CFM.02/SOP.06: steps 1 and 5 have none (N/A).
    assert STEP_STANDARD_HK == {1: None, 2: 1, 3: 5, 4: 5, 5: None, 6: 15, 7: 1, 8: 1, 9: 5, 10: 1}


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # An ordinary Friday, then its weekend.
        pytest.param(date(2026, 3, 13), True, id="fri-13-mar-2026"),
        pytest.param(date(2026, 3, 14), False, id="sat-14-mar-2026"),
        pytest.param(date(2026, 3, 15), False, id="sun-15-mar-2026"),
        # Nyepi and Idul Fitri 2026 run together: cuti bersama Wed 18, Nyepi Thu 19, Idul Fitri
        # Fri 20, cuti bersama Mon 23 and Tue 24; Wed 25 is back at work.
        pytest.param(date(2026, 3, 18), False, id="cuti-nyepi-wed-18-mar-2026"),
        pytest.param(date(2026, 3, 19), False, id="nyepi-thu-19-mar-2026"),
        pytest.param(date(2026, 3, 20), False, id="idul-fitri-fri-20-mar-2026"),
        pytest.param(date(2026, 3, 23), False, id="cuti-idul-fitri-mon-23-mar-2026"),
        pytest.param(date(2026, 3, 25), True, id="wed-25-mar-2026"),
        # Christmas 2025: 24 Dec is a working Wednesday (no cuti bersama that year before it),
        # Natal Thu 25, cuti bersama Fri 26.
        pytest.param(date(2025, 12, 24), True, id="wed-24-dec-2025"),
        pytest.param(date(2025, 12, 25), False, id="natal-thu-25-dec-2025"),
        pytest.param(date(2025, 12, 26), False, id="cuti-natal-fri-26-dec-2025"),
        # Christmas 2026 has its cuti bersama before it: Thu 24 Dec.
        pytest.param(date(2026, 12, 24), False, id="cuti-natal-thu-24-dec-2026"),
        pytest.param(date(2026, 12, 31), True, id="thu-31-dec-2026"),
        # New Year: Thu 1 Jan 2026 off, Fri 2 Jan 2026 at work.
        pytest.param(date(2026, 1, 1), False, id="tahun-baru-thu-1-jan-2026"),
        pytest.param(date(2026, 1, 2), True, id="fri-2-jan-2026"),
        pytest.param(date(2026, 1, 16), False, id="isra-mikraj-fri-16-jan-2026"),
        pytest.param(date(2026, 2, 16), False, id="cuti-imlek-mon-16-feb-2026"),
        # Independence Day 2025 fell on a Sunday; the Monday after was cuti bersama.
        pytest.param(date(2025, 8, 17), False, id="kemerdekaan-sun-17-aug-2025"),
        pytest.param(date(2025, 8, 18), False, id="cuti-kemerdekaan-mon-18-aug-2025"),
        pytest.param(date(2026, 8, 17), False, id="kemerdekaan-mon-17-aug-2026"),
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


#: (step, standard in HK, the day the step started, its due day, HK used on the day after due).
STEP_CASES = [
    # --- 1 HK: steps 2, 7, 8, 10 --------------------------------------------------------------
    # Fri 13 Mar 2026; Sat 14 and Sun 15 are the weekend: Mon 16 = 1. Tue 17 would be the 2nd.
    pytest.param(2, 1, date(2026, 3, 13), date(2026, 3, 16), 2, id="s2-weekend"),
    # Tue 17 Mar 2026; Wed 18 cuti Nyepi, Thu 19 Nyepi, Fri 20 Idul Fitri, weekend, Mon 23 and
    # Tue 24 cuti Idul Fitri: Wed 25 = 1. Thu 26 would be the 2nd.
    pytest.param(7, 1, date(2026, 3, 17), date(2026, 3, 25), 2, id="s7-nyepi-idul-fitri"),
    # Wed 24 Dec 2025; Thu 25 Natal, Fri 26 cuti Natal, weekend: Mon 29 = 1. Tue 30 the 2nd.
    pytest.param(8, 1, date(2025, 12, 24), date(2025, 12, 29), 2, id="s8-natal-2025"),
    # Wed 31 Dec 2025; Thu 1 Jan 2026 Tahun Baru: Fri 2 Jan = 1. Sat 3 Jan is no working day.
    pytest.param(10, 1, date(2025, 12, 31), date(2026, 1, 2), 1, id="s10-year-end-2025"),
    # Wed 23 Dec 2026; Thu 24 cuti Natal, Fri 25 Natal, weekend: Mon 28 = 1. Tue 29 the 2nd.
    pytest.param(2, 1, date(2026, 12, 23), date(2026, 12, 28), 2, id="s2-natal-2026"),
    # Thu 31 Dec 2026; Fri 1 Jan 2027 Tahun Baru, weekend: Mon 4 Jan 2027 = 1. Tue 5 is Isra
    # Mikraj (SKB 2027; the old hari_libur.csv lacked it and counted it as the 2nd): still 1.
    pytest.param(10, 1, date(2026, 12, 31), date(2027, 1, 4), 1, id="s10-year-end-2026"),
    # Tue 10 Feb 2026, nothing in the way: Wed 11 = 1. Thu 12 the 2nd.
    pytest.param(8, 1, date(2026, 2, 10), date(2026, 2, 11), 2, id="s8-plain"),
    # --- 5 HK: steps 3, 4, 9 ------------------------------------------------------------------
    # Fri 13 Feb 2026; weekend, Mon 16 cuti Imlek, Tue 17 Imlek; Wed 18 = 1, Thu 19 = 2,
    # Fri 20 = 3, Mon 23 = 4, Tue 24 = 5. Wed 25 the 6th.
    pytest.param(3, 5, date(2026, 2, 13), date(2026, 2, 24), 6, id="s3-imlek"),
    # Fri 13 Mar 2026; weekend; Mon 16 = 1, Tue 17 = 2; Wed 18 to Tue 24 off (see above);
    # Wed 25 = 3, Thu 26 = 4, Fri 27 = 5. Sat 28 is no working day.
    pytest.param(3, 5, date(2026, 3, 13), date(2026, 3, 27), 5, id="s3-nyepi-idul-fitri"),
    # Thu 27 Mar 2025; Fri 28 cuti Nyepi, weekend, Mon 31 and Tue 1 Apr Idul Fitri, Wed 2 to
    # Fri 4 cuti, weekend, Mon 7 cuti; Tue 8 = 1, Wed 9 = 2, Thu 10 = 3, Fri 11 = 4, Mon 14 = 5.
    # Tue 15 the 6th.
    pytest.param(4, 5, date(2025, 3, 27), date(2025, 4, 14), 6, id="s4-lebaran-2025"),
    # Tue 23 Dec 2025; Wed 24 = 1, Thu 25 Natal, Fri 26 cuti, weekend, Mon 29 = 2, Tue 30 = 3,
    # Wed 31 = 4, Thu 1 Jan Tahun Baru, Fri 2 Jan 2026 = 5. Sat 3 Jan is no working day.
    pytest.param(9, 5, date(2025, 12, 23), date(2026, 1, 2), 5, id="s9-natal-tahun-baru"),
    # Wed 13 May 2026; Thu 14 Kenaikan, Fri 15 cuti, weekend; Mon 18 = 1 ... Fri 22 = 5.
    # Sat 23 is no working day.
    pytest.param(9, 5, date(2026, 5, 13), date(2026, 5, 22), 5, id="s9-kenaikan"),
    # Mon 2 Feb 2026, nothing in the way: Tue 3 = 1, Wed 4, Thu 5, Fri 6 = 4, weekend, Mon 9 = 5.
    # Tue 10 the 6th.
    pytest.param(4, 5, date(2026, 2, 2), date(2026, 2, 9), 6, id="s4-plain"),
    # --- 15 HK: step 6 ------------------------------------------------------------------------
    # Tue 23 Dec 2025; Wed 24 = 1, Thu 25 Natal, Fri 26 cuti, Mon 29 = 2, Tue 30 = 3, Wed 31 = 4,
    # Thu 1 Jan off, Fri 2 = 5, Mon 5 to Fri 9 = 6..10, Mon 12 to Thu 15 = 11..14, Fri 16 Isra
    # Mikraj, weekend, Mon 19 Jan 2026 = 15. Tue 20 the 16th.
    pytest.param(6, 15, date(2025, 12, 23), date(2026, 1, 19), 16, id="s6-year-end-isra-mikraj"),
    # Wed 11 Mar 2026; Thu 12 = 1, Fri 13 = 2, Mon 16 = 3, Tue 17 = 4, Wed 18 to Tue 24 off,
    # Wed 25 to Fri 27 = 5..7, Mon 30 = 8, Tue 31 = 9, Wed 1 Apr = 10, Thu 2 = 11, Fri 3 Wafat
    # Yesus Kristus, Mon 6 = 12, Tue 7 = 13, Wed 8 = 14, Thu 9 Apr = 15. Fri 10 the 16th.
    pytest.param(6, 15, date(2026, 3, 11), date(2026, 4, 9), 16, id="s6-lebaran-paskah-2026"),
    # Mon 4 May 2026; Tue 5 to Fri 8 = 1..4, Mon 11 to Wed 13 = 5..7, Thu 14 Kenaikan, Fri 15
    # cuti, Mon 18 to Fri 22 = 8..12, Mon 25 = 13, Tue 26 = 14, Wed 27 Idul Adha, Thu 28 cuti,
    # Fri 29 May = 15. Sat 30 is no working day.
    pytest.param(6, 15, date(2026, 5, 4), date(2026, 5, 29), 15, id="s6-kenaikan-idul-adha"),
    # Mon 2 Nov 2026, no holiday that month: Tue 3 to Fri 6 = 1..4, then two full weeks = 5..14,
    # Mon 23 Nov = 15. Tue 24 the 16th.
    pytest.param(6, 15, date(2026, 11, 2), date(2026, 11, 23), 16, id="s6-plain"),
    # Fri 11 Dec 2026; Mon 14 to Fri 18 = 1..5, Mon 21 to Wed 23 = 6..8, Thu 24 cuti, Fri 25
    # Natal, Mon 28 to Thu 31 = 9..12, Fri 1 Jan 2027 off, Mon 4 = 13, Tue 5 Isra Mikraj,
    # Wed 6 = 14, Thu 7 Jan = 15. Fri 8 the 16th. (The old hari_libur.csv lacked Tue 5 and
    # gave Wed 6.)
    pytest.param(6, 15, date(2026, 12, 11), date(2027, 1, 7), 16, id="s6-year-end-2026"),
]


@pytest.mark.parametrize(("step", "hk", "started", "due", "used_after"), STEP_CASES)
def test_add_working_days_gives_the_due_day(step, hk, started, due, used_after):
    assert add_working_days(started, hk) == due


@pytest.mark.parametrize(("step", "hk", "started", "due", "used_after"), STEP_CASES)
def test_step_clock_is_on_time_on_the_due_day_and_late_the_day_after(
    step, hk, started, due, used_after
):
    on_start = step_clock(step, _at_nine(started), started)
    assert (on_start.standard_hk, on_start.due, on_start.used_hk, on_start.overdue) == (
        hk, due, 0, False
    )
    on_due = step_clock(step, _at_nine(started), due)
    assert (on_due.started, on_due.due, on_due.used_hk, on_due.overdue) == (started, due, hk, False)
    after = step_clock(step, _at_nine(started), due + timedelta(days=1))
    assert (after.used_hk, after.overdue) == (used_after, True)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        # The start day itself is never counted.
        pytest.param(date(2026, 3, 13), date(2026, 3, 13), 0, id="same-day"),
        # Fri 13 to Sun 15 Mar 2026: only the weekend lies after the start.
        pytest.param(date(2026, 3, 13), date(2026, 3, 15), 0, id="weekend-only"),
        # Fri 13 to Mon 16 Mar 2026: Mon 16.
        pytest.param(date(2026, 3, 13), date(2026, 3, 16), 1, id="over-a-weekend"),
        # Tue 17 to Tue 24 Mar 2026: cuti, Nyepi, Idul Fitri, weekend, cuti, cuti.
        pytest.param(date(2026, 3, 17), date(2026, 3, 24), 0, id="nyepi-idul-fitri-off"),
        # Tue 17 to Wed 25 Mar 2026: Wed 25.
        pytest.param(date(2026, 3, 17), date(2026, 3, 25), 1, id="back-after-lebaran"),
        # Wed 24 Dec 2025 to Fri 2 Jan 2026: Mon 29, Tue 30, Wed 31, Fri 2.
        pytest.param(date(2025, 12, 24), date(2026, 1, 2), 4, id="across-year-end-2025"),
        # Tue 23 Dec 2025 to Mon 19 Jan 2026: the fifteen of case s6-year-end-isra-mikraj.
        pytest.param(date(2025, 12, 23), date(2026, 1, 19), 15, id="fifteen-over-the-holidays"),
        # Thu 31 Dec 2026 to Mon 4 Jan 2027: Fri 1 Jan off, weekend, Mon 4.
        pytest.param(date(2026, 12, 31), date(2027, 1, 4), 1, id="across-year-end-2026"),
        # Mon 2 to Mon 30 Nov 2026: Tue 3 to Fri 6 (4), three full weeks (15), Mon 30 (1).
        pytest.param(date(2026, 11, 2), date(2026, 11, 30), 20, id="a-month-without-holidays"),
        # An end before the start counts nothing.
        pytest.param(date(2026, 3, 16), date(2026, 3, 13), 0, id="end-before-start"),
    ],
)
def test_working_days_between(start, end, count):
    assert working_days_between(start, end) == count


@pytest.mark.parametrize("step", [1, 5])
def test_steps_without_a_standard_are_never_late(step):
    clock = step_clock(step, _at_nine(date(2025, 1, 2)), date(2026, 11, 30))
    assert (clock.standard_hk, clock.due, clock.overdue) == (None, None, False)


def test_the_start_day_is_the_day_in_jakarta():
    # 23:30 UTC on Thu 12 Mar 2026 is 06:30 WIB on Fri 13 Mar: step 3 starts on the Friday, and
    # its 5 HK end on Fri 27 Mar (case s3-nyepi-idul-fitri). Counted from the UTC date, the
    # Thursday, they would end a working day earlier, on Thu 26.
    clock = step_clock(3, datetime(2026, 3, 12, 23, 30, tzinfo=UTC), date(2026, 3, 27))
    assert (clock.started, clock.due, clock.used_hk, clock.overdue) == (
        date(2026, 3, 13), date(2026, 3, 27), 5, False
    )
