"""The working-day calendar: the decreed holidays of 2025-2027, due days counted by hand across
them, and the calendar the administrator keeps (entries, refusals, the log, the seed, the cache,
Beranda's warning); the page and the command line are tested in ``test_app_calendar.py`` and
``test_cli.py``.

The decreed calendars below are written out by hand from the joint decrees of the Minister of
Religious Affairs, the Minister of Manpower and the Minister for Administrative Reform (SKB 3
Menteri), not read from the code or the holidays package:

- 2025: SKB No. 1017 Tahun 2024, No. 2 Tahun 2024, No. 2 Tahun 2024 (17 national holidays, 10 cuti
  bersama), amended by SKB No. 933 Tahun 2025, No. 1 Tahun 2025, No. 3 Tahun 2025 of 7 August
  2025, which added Monday 18 August 2025 as cuti bersama (11);
- 2026: SKB No. 1497 Tahun 2025, No. 2 Tahun 2025, No. 5 Tahun 2025 (17 and 8);
- 2027: SKB No. 1205 Tahun 2026, No. 3 Tahun 2026, No. 2 Tahun 2026 of 15 September 2026 (18 and 8:
  Isra Mikraj falls twice in 2027, on 5 January for 1448 H and on 26 December for 1449 H).

Each due day is counted as in ``tests/test_workdays.py``: the start day does not count, the first
working day after it is HK 1, and the due day is the last working day of the standard.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import initialise
from ocenter.clock import WIB, FixedClock
from ocenter.context import AppContext, open_context
from ocenter.errors import PermissionDenied, UserError
from ocenter.models import (
    CalendarEntryKind,
    DashboardRequest,
    Event,
    RequestStatus,
    StepInterval,
    Submission,
    SubmissionStatus,
    WorkCalendarEntry,
)
from ocenter.procedure import worklists
from ocenter.procedure.workdays import WorkCalendar, national_holidays, seed_calendar, step_clock
from ocenter.reference import calendar_seed_rows
from tests.conftest import settings_for

ROOT = Path(__file__).resolve().parent.parent
CUTI = CalendarEntryKind.CUTI_BERSAMA


def _days(*texts: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(text) for text in texts)


#: The national holidays (hari libur nasional) of each decree, weekends included.
NATIONAL = {
    2025: _days(
        "2025-01-01",  # Wed, Tahun Baru 2025 Masehi
        "2025-01-27",  # Mon, Isra Mikraj Nabi Muhammad SAW
        "2025-01-29",  # Wed, Tahun Baru Imlek 2576 Kongzili
        "2025-03-29",  # Sat, Hari Suci Nyepi (Tahun Baru Saka 1947)
        "2025-03-31", "2025-04-01",  # Mon-Tue, Idul Fitri 1446 H
        "2025-04-18",  # Fri, Wafat Yesus Kristus
        "2025-04-20",  # Sun, Kebangkitan Yesus Kristus (Paskah)
        "2025-05-01",  # Thu, Hari Buruh Internasional
        "2025-05-12",  # Mon, Hari Raya Waisak 2569 BE
        "2025-05-29",  # Thu, Kenaikan Yesus Kristus
        "2025-06-01",  # Sun, Hari Lahir Pancasila
        "2025-06-06",  # Fri, Idul Adha 1446 H
        "2025-06-27",  # Fri, 1 Muharam Tahun Baru Islam 1447 H
        "2025-08-17",  # Sun, Proklamasi Kemerdekaan
        "2025-09-05",  # Fri, Maulid Nabi Muhammad SAW
        "2025-12-25",  # Thu, Kelahiran Yesus Kristus
    ),
    2026: _days(
        "2026-01-01",  # Thu, Tahun Baru 2026 Masehi
        "2026-01-16",  # Fri, Isra Mikraj
        "2026-02-17",  # Tue, Tahun Baru Imlek 2577 Kongzili
        "2026-03-19",  # Thu, Hari Suci Nyepi (Tahun Baru Saka 1948)
        "2026-03-21", "2026-03-22",  # Sat-Sun, Idul Fitri 1447 H
        "2026-04-03",  # Fri, Wafat Yesus Kristus
        "2026-04-05",  # Sun, Paskah
        "2026-05-01",  # Fri, Hari Buruh Internasional
        "2026-05-14",  # Thu, Kenaikan Yesus Kristus
        "2026-05-27",  # Wed, Idul Adha 1447 H
        "2026-05-31",  # Sun, Hari Raya Waisak 2570 BE
        "2026-06-01",  # Mon, Hari Lahir Pancasila
        "2026-06-16",  # Tue, 1 Muharam 1448 H
        "2026-08-17",  # Mon, Proklamasi Kemerdekaan
        "2026-08-25",  # Tue, Maulid Nabi Muhammad SAW
        "2026-12-25",  # Fri, Kelahiran Yesus Kristus
    ),
    2027: _days(
        "2027-01-01",  # Fri, Tahun Baru 2027 Masehi
        "2027-01-05",  # Tue, Isra Mikraj 1448 H
        "2027-02-06",  # Sat, Tahun Baru Imlek 2578 Kongzili
        "2027-03-08",  # Mon, Hari Suci Nyepi (Tahun Baru Saka 1949)
        "2027-03-10", "2027-03-11",  # Wed-Thu, Idul Fitri 1448 H
        "2027-03-26",  # Fri, Wafat Yesus Kristus
        "2027-03-28",  # Sun, Paskah
        "2027-05-01",  # Sat, Hari Buruh Internasional
        "2027-05-06",  # Thu, Kenaikan Yesus Kristus
        "2027-05-17",  # Mon, Idul Adha 1448 H
        "2027-05-20",  # Thu, Hari Raya Waisak 2571 BE
        "2027-06-01",  # Tue, Hari Lahir Pancasila
        "2027-06-06",  # Sun, 1 Muharam 1449 H
        "2027-08-15",  # Sun, Maulid Nabi Muhammad SAW
        "2027-08-17",  # Tue, Proklamasi Kemerdekaan
        "2027-12-25",  # Sat, Kelahiran Yesus Kristus
        "2027-12-26",  # Sun, Isra Mikraj 1449 H
    ),
}
#: The cuti bersama of each decree (all on weekdays).
CUTI_BERSAMA = {
    2025: _days(
        "2025-01-28",  # Tue, Imlek
        "2025-03-28",  # Fri, Nyepi
        "2025-04-02", "2025-04-03", "2025-04-04", "2025-04-07",  # Wed-Fri, Mon: Idul Fitri
        "2025-05-13",  # Tue, Waisak
        "2025-05-30",  # Fri, Kenaikan Yesus Kristus
        "2025-06-09",  # Mon, Idul Adha
        "2025-08-18",  # Mon, Proklamasi Kemerdekaan (the amendment of 7 August 2025)
        "2025-12-26",  # Fri, Natal
    ),
    2026: _days(
        "2026-02-16",  # Mon, Imlek
        "2026-03-18",  # Wed, Nyepi
        "2026-03-20", "2026-03-23", "2026-03-24",  # Fri, Mon, Tue: Idul Fitri
        "2026-05-15",  # Fri, Kenaikan Yesus Kristus
        "2026-05-28",  # Thu, Idul Adha
        "2026-12-24",  # Thu, Natal
    ),
    2027: _days(
        "2027-02-05",  # Fri, Imlek
        "2027-03-09", "2027-03-12", "2027-03-15",  # Tue, Fri, Mon: Idul Fitri
        "2027-03-25",  # Thu, Wafat Yesus Kristus
        "2027-05-18",  # Tue, Idul Adha
        "2027-05-19",  # Wed, Waisak
        "2027-12-24",  # Fri, Natal
    ),
}
#: The number each decree gives, as its reference in the seed names it.
DECREE_NUMBER = {2025: "No. 1017 Tahun 2024", 2026: "No. 1497 Tahun 2025", 2027: "No. 1205 Tahun 2026"}
#: Working days of each year, counted by hand: 2025, 2026 and 2027 each have 261 weekdays (52
#: weeks and one Wednesday, Thursday, Friday); less the national holidays on weekdays (13, 13, 11)
#: and the cuti bersama (11, 8, 8).
WORKING_DAYS = {2025: 261 - 13 - 11, 2026: 261 - 13 - 8, 2027: 261 - 11 - 8}
YEARS = sorted(NATIONAL)


@pytest.fixture(scope="module")
def installation(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One demo installation that the tests of this module only read."""
    home = tmp_path_factory.mktemp("calendar") / "home"
    shutil.copytree(demo_template, home)
    ctx = open_context(settings_for(home))
    yield ctx
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def calendar(installation: AppContext) -> WorkCalendar:
    """The calendar a new installation counts on, read from its database."""
    return procedure.calendar_of(installation)


def _viewer(ctx: AppContext, username: str) -> Authority:
    authority = authority_of(ctx.engine, username, production=False)
    assert authority is not None, username
    return authority


def _on(ctx: AppContext, day: date) -> AppContext:
    return replace(ctx, clock=FixedClock.wib(day.year, day.month, day.day))


def _at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=WIB)


def _entries(ctx: AppContext) -> list[tuple]:
    with ctx.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            WorkCalendarEntry.__table__.select().order_by(WorkCalendarEntry.__table__.c.id))]


def _events(ctx: AppContext, action: str) -> list[Event]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action).order_by(col(Event.id))))


# --- the decreed calendars ---------------------------------------------------------------------


@pytest.mark.parametrize("year", YEARS)
def test_the_packages_national_holidays_are_the_decreed_ones(year):
    assert {holiday.day for holiday in national_holidays(year)} == NATIONAL[year]
    assert len(NATIONAL[year]) == {2025: 17, 2026: 17, 2027: 18}[year]


@pytest.mark.parametrize("year", YEARS)
def test_a_new_installation_holds_each_years_cuti_bersama_with_its_decree(installation, year):
    days = procedure.calendar_year(installation, None, year)
    entries = [d for d in days if d.kind is not None]
    assert {d.day for d in entries} == CUTI_BERSAMA[year]
    assert {d.kind for d in entries} == {CUTI}
    assert all(DECREE_NUMBER[year] in d.decree and d.entered_by == "system" for d in entries)
    # National holidays are the package's, named in the reader's language.
    assert {d.day for d in days if d.kind is None} == NATIONAL[year]
    assert any("Idul Fitri" in d.name for d in days if d.kind is None)
    english = procedure.calendar_year(installation, None, year, lang="en")
    assert any("Eid al-Fitr" in d.name for d in english if d.kind is None)


@pytest.mark.parametrize("year", YEARS)
def test_every_day_of_the_year_works_exactly_as_the_decrees_say(calendar, year):
    off = NATIONAL[year] | CUTI_BERSAMA[year]
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(365)]  # none of them a leap year
    wrong = [day for day in days if calendar.is_working_day(day) != (day.weekday() < 5 and day not in off)]
    assert wrong == []
    assert calendar.working_days_in(year) == WORKING_DAYS[year] == {2025: 237, 2026: 240, 2027: 242}[year]
    # Without an installation, the functions count on the same calendar: the package and the seed.
    assert seed_calendar().working_days_in(year) == WORKING_DAYS[year]


@pytest.mark.parametrize("year", YEARS)
def test_the_seed_agrees_with_the_cuti_bersama_the_package_also_carries(year):
    """A second source: the holidays package lists the cuti bersama of ASN in its "government"
    category. The app does not read it (the administrator enters each decree, with its number,
    and a change such as 18 August 2025 needs no new release), but they agree for these years."""
    import holidays

    government = holidays.country_holidays("ID", years=year, categories=holidays.GOVERNMENT)
    assert set(government) == CUTI_BERSAMA[year]


def test_every_seed_row_is_an_entry_the_administrator_could_make():
    rows = calendar_seed_rows()
    days = [date.fromisoformat(row["date"]) for row in rows]
    assert len(days) == len(set(days)) == sum(len(d) for d in CUTI_BERSAMA.values())
    for day, row in zip(days, rows, strict=True):
        assert day.weekday() < 5, row
        assert day not in NATIONAL[day.year], row
        assert row["kind"] == "cuti_bersama" and row["name"].startswith("Cuti Bersama"), row
        assert DECREE_NUMBER[day.year] in row["decree"], row


# --- due days counted by hand ------------------------------------------------------------------

#: (step, standard in HK, start, due day, HK used on the day after the due day).
DUE_CASES = [
    # --- 1 HK -----------------------------------------------------------------------------------
    # Mon 4 Jan 2027; Tue 5 Isra Mikraj: Wed 6 = 1. Thu 7 the 2nd.
    pytest.param(2, 1, date(2027, 1, 4), date(2027, 1, 6), 2, id="1hk-isra-mikraj-2027"),
    # Thu 4 Feb 2027; Fri 5 cuti Imlek, Sat 6 Imlek, Sun: Mon 8 = 1. Tue 9 the 2nd.
    pytest.param(7, 1, date(2027, 2, 4), date(2027, 2, 8), 2, id="1hk-imlek-2027"),
    # Fri 5 Mar 2027; weekend, Mon 8 Nyepi, Tue 9 cuti, Wed 10 and Thu 11 Idul Fitri, Fri 12 cuti,
    # weekend, Mon 15 cuti: Tue 16 = 1. Wed 17 the 2nd.
    pytest.param(8, 1, date(2027, 3, 5), date(2027, 3, 16), 2, id="1hk-nyepi-lebaran-2027"),
    # Wed 24 Mar 2027; Thu 25 cuti Wafat Yesus Kristus, Fri 26 Wafat, weekend: Mon 29 = 1.
    pytest.param(10, 1, date(2027, 3, 24), date(2027, 3, 29), 2, id="1hk-paskah-2027"),
    # Wed 5 May 2027; Thu 6 Kenaikan, and no cuti bersama after it in 2027: Fri 7 = 1. Sat 8 none.
    pytest.param(2, 1, date(2027, 5, 5), date(2027, 5, 7), 1, id="1hk-kenaikan-2027"),
    # Fri 15 Aug 2025; Sat, Sun 17 Kemerdekaan, Mon 18 cuti (amendment of 7 Aug): Tue 19 = 1.
    pytest.param(7, 1, date(2025, 8, 15), date(2025, 8, 19), 2, id="1hk-hut-ri-80"),
    # Tue 26 May 2026; Wed 27 Idul Adha, Thu 28 cuti: Fri 29 = 1. Sat 30 none.
    pytest.param(8, 1, date(2026, 5, 26), date(2026, 5, 29), 1, id="1hk-idul-adha-2026"),
    # --- 5 HK -----------------------------------------------------------------------------------
    # Thu 10 Dec 2026; Fri 11 = 1, Mon 14 = 2, Tue 15 = 3, Wed 16 = 4, Thu 17 = 5. Fri 18 the 6th.
    pytest.param(3, 5, date(2026, 12, 10), date(2026, 12, 17), 6, id="5hk-10-dec-2026"),
    # Wed 30 Dec 2026; Thu 31 = 1, Fri 1 Jan Tahun Baru, weekend, Mon 4 = 2, Tue 5 Isra Mikraj,
    # Wed 6 = 3, Thu 7 = 4, Fri 8 Jan 2027 = 5. Sat 9 none.
    pytest.param(4, 5, date(2026, 12, 30), date(2027, 1, 8), 5, id="5hk-year-end-2026"),
    # Thu 4 Mar 2027; Fri 5 = 1, weekend, Mon 8 to Mon 15 off (as above), Tue 16 = 2,
    # Wed 17 = 3, Thu 18 = 4, Fri 19 = 5. Sat 20 none.
    pytest.param(9, 5, date(2027, 3, 4), date(2027, 3, 19), 5, id="5hk-nyepi-lebaran-2027"),
    # Fri 14 May 2027; weekend, Mon 17 Idul Adha, Tue 18 cuti, Wed 19 cuti Waisak, Thu 20 Waisak,
    # Fri 21 = 1, Mon 24 = 2, Tue 25 = 3, Wed 26 = 4, Thu 27 = 5. Fri 28 the 6th.
    pytest.param(3, 5, date(2027, 5, 14), date(2027, 5, 27), 6, id="5hk-idul-adha-waisak-2027"),
    # Thu 23 Dec 2027; Fri 24 cuti Natal, Sat 25 Natal, Sun 26 Isra Mikraj 1449 H, Mon 27 = 1 ...
    # Fri 31 Dec 2027 = 5. Sat 1 Jan 2028 none.
    pytest.param(4, 5, date(2027, 12, 23), date(2027, 12, 31), 5, id="5hk-natal-2027"),
    # Thu 5 Jun 2025; Fri 6 Idul Adha, weekend, Mon 9 cuti, Tue 10 = 1 ... Fri 13 = 4, Mon 16 = 5.
    # Tue 17 the 6th.
    pytest.param(9, 5, date(2025, 6, 5), date(2025, 6, 16), 6, id="5hk-idul-adha-2025"),
    # --- 15 HK ----------------------------------------------------------------------------------
    # Thu 10 Dec 2026; Fri 11 = 1, Mon 14 to Fri 18 = 2..6, Mon 21 to Wed 23 = 7..9, Thu 24 cuti,
    # Fri 25 Natal, Mon 28 to Thu 31 = 10..13, Fri 1 Jan off, Mon 4 = 14, Tue 5 Isra Mikraj,
    # Wed 6 Jan 2027 = 15. Thu 7 the 16th. (The old hari_libur.csv lacked Tue 5: Tue 5.)
    pytest.param(6, 15, date(2026, 12, 10), date(2027, 1, 6), 16, id="15hk-10-dec-2026"),
    # Wed 9 Dec 2026, a day earlier; Thu 10 = 1, Fri 11 = 2, Mon 14 to Fri 18 = 3..7, Mon 21 to
    # Wed 23 = 8..10, Mon 28 to Thu 31 = 11..14, Mon 4 Jan 2027 = 15. Tue 5 Isra Mikraj: late, and
    # still 15 used.
    pytest.param(6, 15, date(2026, 12, 9), date(2027, 1, 4), 15, id="15hk-9-dec-2026"),
    # Fri 26 Feb 2027; Mon 1 to Fri 5 Mar = 1..5, Mon 8 to Mon 15 off, Tue 16 to Fri 19 = 6..9,
    # Mon 22 to Wed 24 = 10..12, Thu 25 cuti, Fri 26 Wafat, Mon 29 = 13, Tue 30 = 14,
    # Wed 31 Mar = 15. Thu 1 Apr the 16th.
    pytest.param(6, 15, date(2027, 2, 26), date(2027, 3, 31), 16, id="15hk-lebaran-paskah-2027"),
    # Mon 3 May 2027; Tue 4 = 1, Wed 5 = 2, Thu 6 Kenaikan, Fri 7 = 3, Mon 10 to Fri 14 = 4..8,
    # Mon 17 to Thu 20 off (Idul Adha, two cuti, Waisak), Fri 21 = 9, Mon 24 to Fri 28 = 10..14,
    # Mon 31 May = 15. Tue 1 Jun Pancasila: late, still 15.
    pytest.param(6, 15, date(2027, 5, 3), date(2027, 5, 31), 15, id="15hk-mei-2027"),
    # Wed 10 Dec 2025; Thu 11 = 1, Fri 12 = 2, Mon 15 to Fri 19 = 3..7, Mon 22 to Wed 24 = 8..10,
    # Thu 25 Natal, Fri 26 cuti, Mon 29 to Wed 31 = 11..13, Thu 1 Jan 2026 off, Fri 2 = 14,
    # Mon 5 Jan = 15. Tue 6 the 16th.
    pytest.param(6, 15, date(2025, 12, 10), date(2026, 1, 5), 16, id="15hk-year-end-2025"),
    # Fri 8 Aug 2025; Mon 11 to Fri 15 = 1..5, Mon 18 cuti, Tue 19 to Fri 22 = 6..9, Mon 25 to
    # Fri 29 = 10..14, Mon 1 Sep = 15. Tue 2 the 16th.
    pytest.param(6, 15, date(2025, 8, 8), date(2025, 9, 1), 16, id="15hk-agustus-2025"),
]


@pytest.mark.parametrize(("step", "hk", "started", "due", "used_after"), DUE_CASES)
def test_the_due_day_of_each_standard_on_the_installations_calendar(
    calendar, step, hk, started, due, used_after
):
    assert calendar.add_working_days(started, hk) == due
    on_due = step_clock(step, _at_nine(started), due, calendar)
    assert (on_due.standard_hk, on_due.due, on_due.used_hk, on_due.overdue) == (hk, due, hk, False)
    after = step_clock(step, _at_nine(started), due + timedelta(days=1), calendar)
    assert (after.used_hk, after.overdue) == (used_after, True)


@pytest.mark.parametrize(("start", "end", "count"), [
    # Thu 10 Dec 2026 to Fri 8 Jan 2027: Fri 11, Mon 14 to Fri 18 (5), Mon 21 to Wed 23 (3),
    # Mon 28 to Thu 31 (4), Mon 4, Wed 6, Thu 7, Fri 8 (4).
    pytest.param(date(2026, 12, 10), date(2027, 1, 8), 17, id="into-2027"),
    # Fri 5 to Mon 15 Mar 2027: weekends, Nyepi, Idul Fitri and its cuti bersama only.
    pytest.param(date(2027, 3, 5), date(2027, 3, 15), 0, id="lebaran-2027-off"),
    # All of 2027, from 31 Dec 2026.
    pytest.param(date(2026, 12, 31), date(2027, 12, 31), 242, id="the-whole-of-2027"),
])
def test_working_days_between_across_the_decreed_days(calendar, start, end, count):
    assert calendar.working_days_between(start, end) == count


# --- the calendar the administrator keeps ------------------------------------------------------


def _approved_on_31_may_2027(ctx: AppContext) -> DashboardRequest:
    """The demo's request 1, moved to step 6 (15 HK) on Mon 31 May 2027 at 09:00 WIB: Tue 1 Jun
    Pancasila, Wed 2 = 1, Thu 3 = 2, Fri 4 = 3, Mon 7 to Fri 18 = 4..13, Mon 21 = 14, Tue 22 = 15."""
    with Session(ctx.engine) as session:
        session.exec(update(DashboardRequest).where(col(DashboardRequest.id) == 1).values(
            status=RequestStatus.APPROVED, step_started_at=_at_nine(date(2027, 5, 31))))
        # Its clock (``step_clocks``) stands on step 6 from then, as an approval leaves it.
        session.exec(update(StepInterval).where(col(StepInterval.request_id) == 1,
                                                col(StepInterval.ended_at).is_(None)).values(
            step=6, waiting_on=None, carried_hk=0, started_at=_at_nine(date(2027, 5, 31))))
        session.commit()
    return procedure.get_request(ctx, 1)


def test_a_cuti_bersama_entered_moves_every_clock_at_once_and_its_removal_moves_it_back(demo_ctx):
    admin, analyst = _viewer(demo_ctx, "admin"), _viewer(demo_ctx, "analis")
    on_23_june = _on(demo_ctx, date(2027, 6, 23))
    request = _approved_on_31_may_2027(demo_ctx)
    # Step 3 (5 HK) of data received on Tue 1 Jun (Pancasila): Wed 2 = 1 ... Tue 8 = 5.
    received = Submission(status=SubmissionStatus.RECEIVED, received_at=_at_nine(date(2027, 6, 1)))

    assert procedure.request_clock(on_23_june, request).due == date(2027, 6, 22)
    assert procedure.request_clock(on_23_june, request).overdue
    assert procedure.submission_clock(on_23_june, received).due == date(2027, 6, 8)
    assert worklists.open_step_counts(demo_ctx, analyst, date(2027, 6, 23))[(6, True)] == 1

    procedure.add_calendar_entry(demo_ctx, admin, "2027-06-03", "Cuti Bersama Uji Coba",
                                 "SKB 3 Menteri No. 9 Tahun 2027 (uji)")
    # Thu 3 Jun is off: every clock counting over it ends a working day later.
    assert procedure.request_clock(on_23_june, request).due == date(2027, 6, 23)
    assert not procedure.request_clock(on_23_june, request).overdue
    assert procedure.submission_clock(on_23_june, received).due == date(2027, 6, 9)
    counts = worklists.open_step_counts(demo_ctx, analyst, date(2027, 6, 23))
    assert (counts.get((6, True), 0), counts[(6, False)]) == (0, 1)

    procedure.remove_calendar_entry(demo_ctx, admin, "2027-06-03", "Salah masuk, bukan keputusan resmi.")
    assert procedure.request_clock(on_23_june, request).due == date(2027, 6, 22)
    assert procedure.submission_clock(on_23_june, received).due == date(2027, 6, 8)


def test_entering_and_removing_are_logged_and_a_removed_entry_is_kept(demo_ctx):
    admin = _viewer(demo_ctx, "admin")
    entry = procedure.add_calendar_entry(demo_ctx, admin, " 2027-06-03 ", "  Cuti Bersama  Uji ",
                                         "SKB 3 Menteri No. 9 Tahun 2027")
    assert (entry.day, entry.name, entry.kind, entry.entered_by) == (
        date(2027, 6, 3), "Cuti Bersama Uji", CUTI, "admin")
    [added] = _events(demo_ctx, "calendar.entry_added")
    assert added.actor == "admin"
    assert added.detail == (f"entry {entry.id}: 2027-06-03 cuti_bersama 'Cuti Bersama Uji'; "
                            "decree: SKB 3 Menteri No. 9 Tahun 2027")

    procedure.remove_calendar_entry(demo_ctx, admin, "2027-06-03", "Keputusan dibatalkan.")
    [removed] = _events(demo_ctx, "calendar.entry_removed")
    assert removed.detail.endswith("reason: Keputusan dibatalkan.")
    assert not any(d.day == date(2027, 6, 3) for d in procedure.calendar_year(demo_ctx, admin, 2027))
    [kept] = [d for d in procedure.calendar_year(demo_ctx, admin, 2027, include_removed=True)
              if d.day == date(2027, 6, 3)]
    assert (kept.in_effect, kept.removed_by, kept.remove_reason) == (False, "admin", "Keputusan dibatalkan.")
    # The date may be entered again, as a new entry.
    again = procedure.add_calendar_entry(demo_ctx, admin, date(2027, 6, 3), "Cuti Bersama Uji",
                                         "SKB 3 Menteri No. 10 Tahun 2027")
    assert again.id != entry.id
    assert not procedure.calendar_of(demo_ctx).is_working_day(date(2027, 6, 3))


def test_a_holiday_the_government_moved_is_corrected_with_two_entries(demo_ctx):
    """Say the Minister of Religious Affairs sets Idul Adha 1448 H on Friday 21 May 2027 instead
    of the package's estimate, Monday 17 May."""
    admin = _viewer(demo_ctx, "admin")
    procedure.add_calendar_entry(demo_ctx, admin, "2027-05-17", "Idul Adha bergeser ke 21 Mei",
                                 "Keputusan Menteri Agama No. 1 Tahun 2027", CalendarEntryKind.WORKING_DAY)
    procedure.add_calendar_entry(demo_ctx, admin, "2027-05-21", "Idul Adha 1448 Hijriah",
                                 "Keputusan Menteri Agama No. 1 Tahun 2027", CalendarEntryKind.EXTRA_HOLIDAY)
    calendar = procedure.calendar_of(demo_ctx)
    assert calendar.is_working_day(date(2027, 5, 17)) and not calendar.is_working_day(date(2027, 5, 21))
    # Fri 14 May; Mon 17 = 1, Tue 18 and Wed 19 cuti, Thu 20 Waisak, Fri 21 Idul Adha, Mon 24 = 2.
    assert calendar.add_working_days(date(2027, 5, 14), 2) == date(2027, 5, 24)
    listed = {(d.day, d.kind): d for d in procedure.calendar_year(demo_ctx, admin, 2027)}
    assert not listed[(date(2027, 5, 17), None)].in_effect  # the package's date, cancelled
    assert listed[(date(2027, 5, 17), CalendarEntryKind.WORKING_DAY)].in_effect


REFUSALS = [
    # (date as typed, name, decree, kind, catalogue key)
    pytest.param("09-03-2027", "Cuti", "SKB", CUTI, "calendar.bad_date_format", id="day-first"),
    pytest.param("2027-3-9", "Cuti", "SKB", CUTI, "calendar.bad_date_format", id="no-zeros"),
    pytest.param("besok", "Cuti", "SKB", CUTI, "calendar.bad_date_format", id="a-word"),
    pytest.param("", "Cuti", "SKB", CUTI, "calendar.bad_date_format", id="empty-date"),
    pytest.param("2027-02-29", "Cuti", "SKB", CUTI, "calendar.not_a_date", id="29-feb-2027"),
    pytest.param("2027-13-01", "Cuti", "SKB", CUTI, "calendar.not_a_date", id="month-13"),
    pytest.param("1999-12-31", "Cuti", "SKB", CUTI, "calendar.year_out_of_range", id="1999"),
    pytest.param("2027-03-09", "Cuti", "SKB", CUTI, "calendar.duplicate", id="seeded-date"),
    pytest.param("2027-03-13", "Cuti", "SKB", CUTI, "calendar.weekend", id="saturday"),
    pytest.param("2027-03-14", "Libur", "SKB", CalendarEntryKind.EXTRA_HOLIDAY, "calendar.weekend",
                 id="sunday-extra-holiday"),
    pytest.param("2027-03-10", "Cuti", "SKB", CUTI, "calendar.already_national", id="idul-fitri"),
    pytest.param("2027-06-03", "   ", "SKB", CUTI, "calendar.name_required", id="blank-name"),
    pytest.param("2027-06-03", "x" * 201, "SKB", CUTI, "calendar.name_too_long", id="long-name"),
    pytest.param("2027-06-03", "Cuti", "", CUTI, "calendar.decree_required", id="no-decree"),
    pytest.param("2027-06-03", "Cuti", "y" * 301, CUTI, "calendar.decree_too_long", id="long-decree"),
    pytest.param("2027-06-03", "Kerja", "SKB", CalendarEntryKind.WORKING_DAY,
                 "calendar.nothing_to_correct", id="working-day-not-a-holiday"),
    pytest.param("2027-02-06", "Kerja", "SKB", CalendarEntryKind.WORKING_DAY,
                 "calendar.weekend_never_working", id="working-saturday"),
]


@pytest.mark.parametrize(("typed", "name", "decree", "kind", "key"), REFUSALS)
def test_an_entry_typed_wrong_is_refused_with_nothing_stored(installation, typed, name, decree, kind, key):
    admin = _viewer(installation, "admin")
    before = (_entries(installation), len(_events(installation, "calendar.entry_added")))
    with pytest.raises(UserError) as refusal:
        procedure.add_calendar_entry(installation, admin, typed, name, decree, kind)
    assert refusal.value.key == key
    assert (_entries(installation), len(_events(installation, "calendar.entry_added"))) == before


def test_the_refusals_read_in_each_language(installation):
    admin = _viewer(installation, "admin")
    with pytest.raises(UserError) as bad:
        procedure.add_calendar_entry(installation, admin, "09/03/2027", "Cuti", "SKB")
    assert bad.value.text("id") == ("Format tanggal tidak dikenal: '09/03/2027'. Tulis tanggal "
                                    "sebagai TTTT-BB-HH, misalnya 2027-03-09.")
    assert bad.value.text("en").startswith("Unrecognised date format: '09/03/2027'.")
    with pytest.raises(UserError) as weekend:
        procedure.add_calendar_entry(installation, admin, "2027-03-13", "Cuti", "SKB")
    assert weekend.value.text("id").startswith("2027-03-13 jatuh pada hari Sabtu")
    assert weekend.value.text("en").startswith("2027-03-13 is a Saturday")
    with pytest.raises(UserError) as duplicate:
        procedure.add_calendar_entry(installation, admin, "2027-03-09", "Cuti", "SKB")
    assert duplicate.value.text("id") == (
        "2027-03-09 sudah memiliki entri: Cuti bersama \"Cuti Bersama Idul Fitri 1448 Hijriah\". "
        "Hapus entri itu lebih dahulu bila perlu diganti.")
    # A refusal names what the administrator must change: the limit, the day.
    with pytest.raises(UserError) as long_name:
        procedure.add_calendar_entry(installation, admin, "2027-06-03", "x" * 201, "SKB")
    assert long_name.value.params == {"limit": 200} and "200" in long_name.value.text("id")
    with pytest.raises(UserError) as nothing:
        procedure.add_calendar_entry(installation, admin, "2027-06-03", "Kerja", "SKB",
                                     CalendarEntryKind.WORKING_DAY)
    assert nothing.value.params == {"day": "2027-06-03"} and "2027-06-03" in nothing.value.text("en")


@pytest.mark.parametrize(("typed", "reason", "key"), [
    pytest.param("2027-06-03", "Salah.", "calendar.no_entry", id="no-entry"),
    pytest.param("2027-03-10", "Salah.", "calendar.national_not_removable", id="a-national-holiday"),
    pytest.param("2027-03-09", "  ", "calendar.reason_required", id="no-reason"),
    pytest.param("2027/03/09", "Salah.", "calendar.bad_date_format", id="bad-date"),
])
def test_a_removal_without_an_entry_or_reason_is_refused(installation, typed, reason, key):
    before = _entries(installation)
    with pytest.raises(UserError) as refusal:
        procedure.remove_calendar_entry(installation, _viewer(installation, "admin"), typed, reason)
    assert refusal.value.key == key
    assert _entries(installation) == before


@pytest.mark.parametrize("username", ["analis", "verifikator", "direktur", "kepala"])
def test_only_the_administrator_changes_the_calendar(installation, username):
    actor = _viewer(installation, username)
    with pytest.raises(PermissionDenied):
        procedure.add_calendar_entry(installation, actor, "2027-06-03", "Cuti", "SKB")
    with pytest.raises(PermissionDenied):
        procedure.remove_calendar_entry(installation, actor, "2027-03-09", "Salah.")
    if username == "analis":  # Pusdatin's analysts plan with the due days: they may look
        assert procedure.calendar_year(installation, actor, 2027)
    else:
        with pytest.raises(PermissionDenied):
            procedure.calendar_year(installation, actor, 2027)


def test_the_seed_is_taken_in_once_and_a_removed_seed_entry_stays_removed(tmp_path):
    ctx = initialise(settings_for(tmp_path / "home"), demo=False, progress=lambda _m: None)
    try:
        assert len(_entries(ctx)) == len(calendar_seed_rows()) == 27
        [seeded] = _events(ctx, "calendar.seeded")
        assert seeded.actor == "system" and seeded.detail.startswith("27 entries from hari_libur.csv")
        procedure.remove_calendar_entry(ctx, None, "2027-12-24", "Uji: dibatalkan.")
        assert procedure.seed_work_calendar(ctx) == 0
        ctx.engine.dispose()
        ctx = initialise(settings_for(tmp_path / "home"), demo=False, progress=lambda _m: None)
        assert len(_entries(ctx)) == 27 and len(_events(ctx, "calendar.seeded")) == 1
        assert procedure.calendar_of(ctx).is_working_day(date(2027, 12, 24))
    finally:
        ctx.engine.dispose()


def test_each_process_computes_the_calendar_once_per_change_and_sees_anothers_change(demo_ctx):
    first = procedure.calendar_of(demo_ctx)
    assert procedure.calendar_of(demo_ctx) is first  # kept: nothing changed
    other = open_context(demo_ctx.settings)  # another replica of the app, on the same database
    try:
        procedure.add_calendar_entry(other, None, "2027-06-03", "Cuti Bersama Uji", "SKB uji")
    finally:
        other.engine.dispose()
    changed = procedure.calendar_of(demo_ctx)
    assert changed is not first and not changed.is_working_day(date(2027, 6, 3))
    assert first.is_working_day(date(2027, 6, 3))


@pytest.mark.parametrize(("username", "day", "years"), [
    pytest.param("analis", date(2026, 11, 30), [], id="november-2026"),
    pytest.param("analis", date(2026, 12, 1), [2027], id="from-1-december"),
    pytest.param("verifikator", date(2026, 12, 31), [2027], id="verifikator-too"),
    pytest.param("direktur", date(2026, 12, 1), [], id="not-who-counts-due-days"),
    pytest.param("analis", date(2027, 6, 1), [2027], id="in-2027-itself"),
])
def test_pusdatin_is_warned_when_the_coming_year_has_no_cuti_bersama(demo_ctx, username, day, years):
    admin = _viewer(demo_ctx, "admin")
    for cuti in sorted(CUTI_BERSAMA[2027])[:-1]:  # 24 Dec 2027 is left
        procedure.remove_calendar_entry(demo_ctx, admin, cuti, "Uji peringatan.")
    viewer = _viewer(demo_ctx, username)
    assert procedure.years_without_cuti_bersama(_on(demo_ctx, day), viewer) == []
    procedure.remove_calendar_entry(demo_ctx, admin, date(2027, 12, 24), "Uji peringatan.")
    assert procedure.years_without_cuti_bersama(_on(demo_ctx, day), viewer) == years


@pytest.mark.parametrize(("day", "years"), [
    pytest.param(date(2028, 3, 1), [2028], id="this-year-has-none"),
    pytest.param(date(2028, 12, 1), [2028, 2029], id="neither-has-any"),
])
def test_a_year_that_has_begun_without_cuti_bersama_is_warned_about_too(installation, day, years):
    analyst = _viewer(installation, "analis")
    assert procedure.years_without_cuti_bersama(_on(installation, day), analyst) == years


@pytest.mark.postgres
def test_the_calendar_on_postgresql(postgres_url, tmp_path):
    """The production database: the seed at first start, an entry, two replicas, a removal."""
    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=False, progress=lambda _m: None)
    other = open_context(settings_for(tmp_path / "home", postgres_url))
    try:
        assert len(_entries(ctx)) == 27
        kept = procedure.calendar_of(ctx)
        assert procedure.calendar_of(ctx) is kept
        assert [d for d in range(2025, 2028) if kept.working_days_in(d) != WORKING_DAYS[d]] == []
        procedure.add_calendar_entry(other, None, "2027-06-03", "Cuti Bersama Uji", "SKB uji")
        with pytest.raises(UserError) as duplicate:
            procedure.add_calendar_entry(ctx, None, "2027-06-03", "Cuti Bersama Uji", "SKB uji")
        assert duplicate.value.key == "calendar.duplicate"
        assert not procedure.calendar_of(ctx).is_working_day(date(2027, 6, 3))
        procedure.remove_calendar_entry(ctx, None, "2027-06-03", "Uji selesai.")
        assert procedure.calendar_of(other).is_working_day(date(2027, 6, 3))
        assert [e.actor for e in _events(ctx, "calendar.entry_removed")] == ["cli"]
    finally:
        other.engine.dispose()
        ctx.engine.dispose()
