"""The Kalender Kerja page and Beranda's warning through the app (AppTest): the administrator
enters a cuti bersama, a date typed wrong is a message in the user's language, Pusdatin's analyst
only looks, and Pusdatin (no one else) is warned of a year without cuti bersama."""

from __future__ import annotations

from datetime import date

from ocenter import procedure
from ocenter.clock import SYSTEM_CLOCK
from ocenter.i18n import t, t_markdown
from ocenter.models import CalendarEntryKind
from tests.test_app import _login


def _button(at, label: str):  # noqa: ANN001, ANN202 - AppTest
    return next(b for b in at.button if b.label == label)


def test_the_administrator_enters_a_cuti_bersama_on_the_page(app, demo_ctx):
    at = _login(app, "admin")
    at.switch_page("pages/kalender_kerja.py").run()
    at.selectbox(key="calendar_year").set_value(2027).run()
    assert len(at.dataframe[0].value) == 18 + 8
    at.text_input(key="calendar_day").set_value("2027/06/03")
    at.text_input(key="calendar_name").set_value("Cuti Bersama Uji")
    at.text_input(key="calendar_decree").set_value("SKB 3 Menteri No. 9 Tahun 2027")
    _button(at, "Catat").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t_markdown("calendar.bad_date_format", "id", text="2027/06/03")]
    at.text_input(key="calendar_day").set_value("2027-06-03")
    _button(at, "Catat").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Cuti Bersama Uji" in s.value for s in at.success)
    assert "Cuti Bersama Uji" in list(at.dataframe[0].value["Nama"])
    assert not procedure.calendar_of(demo_ctx).is_working_day(date(2027, 6, 3))


def test_the_analyst_sees_the_calendar_but_no_form(app):
    at = _login(app, "analis")
    at.switch_page("pages/kalender_kerja.py").run()
    assert not at.exception and not at.error
    assert len(at.dataframe) == 1
    assert not {"calendar_day", "calendar_remove_reason"} & {w.key for w in at.text_input}


def _without_this_years_cuti_bersama(ctx) -> int:  # noqa: ANN001 - AppContext
    """The app runs on the machine's clock: this year's cuti bersama are taken out, whatever
    year it is."""
    this_year = SYSTEM_CLOCK.today().year
    for day in procedure.calendar_year(ctx, None, this_year):
        if day.kind == CalendarEntryKind.CUTI_BERSAMA:
            procedure.remove_calendar_entry(ctx, None, day.day, "Uji peringatan Beranda.")
    return this_year


def test_beranda_warns_pusdatin_of_a_year_without_cuti_bersama(app, demo_ctx):
    this_year = _without_this_years_cuti_bersama(demo_ctx)
    analyst = _login(app, "analis")
    warning = t("calendar.missing_cuti_bersama", "id", years=str(this_year))
    assert warning in [w.value for w in analyst.warning]


def test_beranda_gives_no_such_warning_to_a_unit(app, demo_ctx):
    _without_this_years_cuti_bersama(demo_ctx)
    unit = _login(app, "unit")
    assert not any("cuti bersama" in w.value for w in unit.warning)
