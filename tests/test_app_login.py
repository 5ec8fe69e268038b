"""The login page through AppTest: throttling and lockout as the form shows them, unlocking on
Pengguna, logout and deactivation ending the session on the server, the language switch."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from ocenter.accounts.admin import toggle_active
from ocenter.accounts.authentication import authenticate
from ocenter.accounts.throttle import USER_LOCK_AFTER, delay_after
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.clock import FixedClock
from ocenter.errors import UserError
from ocenter.i18n import t
from ocenter.models import Event
from tests.conftest import APPTEST_TIMEOUT, PROJECT_ROOT
from tests.test_app import _button, _login

WRONG = "bukan-kata-sandinya"


def _home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """A new browser session at the app (the ``app`` fixture's settings), not yet run."""
    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    return AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=APPTEST_TIMEOUT)


def _messages(at: AppTest) -> list[str]:
    return [e.value for e in (*at.error, *at.warning, *at.info) if e.value != t("app.demo_banner")
            and e.value != t("login.demo_hint")]


def _on_login_form(at: AppTest) -> bool:
    return [w.label for w in at.text_input] == [t("login.username"), t("login.password")]


def _titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


def _events(ctx, action: str) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)).all())


def test_wrong_passwords_slow_the_form_down_then_lock_the_account(app, demo_ctx):
    for failure in range(1, USER_LOCK_AFTER + 1):
        at = _login(app, "direktur", WRONG, settle=False)
        assert not at.exception, at.exception
        if failure < USER_LOCK_AFTER:
            assert _messages(at) == [t("login.failed")], failure
        time.sleep(delay_after(failure) + 0.2)  # each delay is waited out, as a person would
    assert _messages(at) == [t("login.locked", limit=USER_LOCK_AFTER)]
    # The right password opens nothing now; the form is still there, the app is not.
    at = _login(app, "direktur", DEMO_PASSWORD)
    assert _messages(at) == [t("login.locked", limit=USER_LOCK_AFTER)]
    assert _on_login_form(at) and t("page.beranda") not in _titles(at)
    assert len(_events(demo_ctx, "login.failed")) == USER_LOCK_AFTER
    assert [e.actor for e in _events(demo_ctx, "login.locked")] == ["direktur"]


def _fail(ctx, username: str, times: int, start: datetime) -> None:  # noqa: ANN001
    """``times`` wrong passwords for ``username`` through the login's use case, a minute apart
    from ``start`` on (from another client than the test's browser session)."""
    for failure in range(times):
        clock = FixedClock(start + timedelta(minutes=failure))
        with pytest.raises(UserError):
            authenticate(dataclasses.replace(ctx, clock=clock), username, WRONG, "client:192.0.2.1")


def _lock(ctx, username: str) -> None:  # noqa: ANN001
    """``username`` locked the way the form locks it, five wrong passwords an hour ago."""
    _fail(ctx, username, USER_LOCK_AFTER, datetime.now(UTC) - timedelta(hours=1))


def test_the_form_says_how_long_to_wait_before_the_next_try(app, demo_ctx):
    # Three failures whose delay ends ten minutes and two seconds from now.
    _fail(demo_ctx, "analis", 3, datetime.now(UTC) + timedelta(minutes=8))
    at = _login(app, "analis", DEMO_PASSWORD, settle=False)
    assert not at.exception, at.exception
    [message] = _messages(at)
    assert message in {t("login.wait", seconds=seconds) for seconds in range(570, 603)}
    assert _on_login_form(at) and t("page.beranda") not in _titles(at)


def test_the_administrator_unlocks_an_account_on_pengguna_and_it_logs_in(app, demo_ctx, demo_home,
                                                                          monkeypatch):
    _lock(demo_ctx, "kabalai")
    assert _messages(_login(app, "kabalai")) == [t("login.locked", limit=USER_LOCK_AFTER)]

    admin = _login(_home(demo_home, monkeypatch).run(), "admin")
    admin.switch_page("pages/pengguna.py").run()
    assert not admin.exception, admin.exception
    assert t("users.locked") in [h.value for h in admin.subheader]
    admin.selectbox(key="unlock_user").set_value("kabalai")
    admin.button(key="unlock_button").click()
    admin.run()
    assert not admin.exception, admin.exception
    assert t("users.unlocked", username="kabalai") in [s.value for s in admin.success]
    assert t("users.none_locked") in [s.value for s in admin.success]
    assert [(e.actor, e.detail) for e in _events(demo_ctx, "login.unlocked")] == [("admin", "kabalai")]

    at = _login(_home(demo_home, monkeypatch).run(), "kabalai")
    assert not at.exception, at.exception
    assert _titles(at) == [t("page.beranda")]


def test_logout_ends_the_session_and_the_same_session_id_later_shows_the_login_form(
        app, demo_home, demo_ctx, monkeypatch):
    # The run of the login itself goes through the router, which draws the sidebar (AppTest runs
    # later page runs straight from pages/, see test_app.py).
    at = _login(app, "kepala", settle=False)
    assert _titles(at) == [t("page.beranda")]
    session_id = at.session_state["ocenter_session"]
    at.sidebar.button(key="ocenter_logout").click()
    at.run()
    assert not at.exception, at.exception
    assert _on_login_form(at) and t("page.beranda") not in _titles(at)
    assert [i.value for i in at.info if i.value != t("login.demo_hint")] == [t("login.logged_out")]
    at.run()  # and stays out
    assert _on_login_form(at)
    # A reload, or anyone holding a copy of the cookie, comes back with the same session id.
    again = _home(demo_home, monkeypatch)
    again.session_state["ocenter_session"] = session_id
    again.run()
    assert not again.exception, again.exception
    assert _on_login_form(again) and t("page.beranda") not in _titles(again)
    assert _messages(again) == [t("login.session_ended")]
    assert [e.actor for e in _events(demo_ctx, "login.logged_out")] == ["kepala"]


def test_a_deactivated_user_is_shown_the_login_form_with_the_reason(app, demo_ctx, as_user):
    at = _login(app, "kabalai")
    at.switch_page("pages/tampilan.py").run()
    assert not at.exception, at.exception
    toggle_active(demo_ctx, as_user("admin"), "kabalai")
    at.run()
    assert not at.exception, at.exception
    assert _on_login_form(at)
    assert t("page.tampilan") not in _titles(at) and not at.sidebar.button
    assert _messages(at) == [t("login.account_deactivated")]
    # And trying to log in again says why it cannot, once the password is right.
    at = _login(at, "kabalai")
    assert _messages(at) == [t("login.inactive")]


def test_the_login_page_switches_to_english_and_lists_no_pages(app):
    assert not app.exception, app.exception
    # Before login the sidebar holds nothing: no pages, no name, no logout.
    assert not app.sidebar.markdown and not app.sidebar.button and not app.sidebar.button_group
    switch = app.button_group(key="ocenter_lang_switch")
    switch.set_value("en").run()
    assert not app.exception, app.exception
    assert [w.label for w in app.text_input] == [t("login.username", "en"), t("login.password", "en")]
    at = _login(app, "kepala", WRONG, settle=False)
    assert t("login.failed", "en") in [e.value for e in at.error]


def _fresh_session() -> AppTest:
    """Another browser session of the same installation (a reload, or another device)."""
    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=APPTEST_TIMEOUT)
    return at.run()


def test_a_language_chosen_on_the_login_page_is_kept_for_the_user_who_logs_in(app, demo_ctx):
    from ocenter.accounts.preferences import preferred_language

    app.button_group(key="ocenter_lang_switch").set_value("en").run()
    at = _login(app, "direktur")
    assert at.title[0].value == t("page.beranda", "en")
    assert preferred_language(demo_ctx.engine, "direktur") == "en"
    # A new browser session (a reload, another device) starts in Indonesian, and the login
    # brings the user's English back.
    again = _fresh_session()
    assert again.text_input[0].label == t("login.username", "id")
    again = _login(again, "direktur")
    assert again.title[0].value == t("page.beranda", "en")
    assert t("beranda.intro", "en") in [m.value for m in again.markdown]
    # Another user is not affected; nor is the same user chosen back to Indonesian elsewhere.
    assert _login(_fresh_session(), "deputi").title[0].value == t("page.beranda", "id")
    assert preferred_language(demo_ctx.engine, "deputi") is None


def test_a_kept_language_is_what_the_catalogue_has(demo_ctx):
    from ocenter.accounts.preferences import preferred_language, remember_language

    remember_language(demo_ctx.engine, "kepala", "en")
    remember_language(demo_ctx.engine, "kepala", "fr")  # not a language of the catalogue
    remember_language(demo_ctx.engine, "nobody", "en")  # not a user
    assert preferred_language(demo_ctx.engine, "kepala") == "en"
    assert preferred_language(demo_ctx.engine, "nobody") is None


def test_the_administrator_changes_a_role_on_pengguna_but_no_clearance_above_their_own(app, demo_ctx):
    from ocenter.accounts.levels import Level, Role
    from ocenter.accounts.login import authority_of

    at = _login(app, "admin")
    at.switch_page("pages/pengguna.py").run()
    at.selectbox(key="change_target").set_value("upt").run()
    at.selectbox(key="change_level_upt").set_value(Level.RAHASIA)
    _button(at, t("users.change_button")).click()
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("users.above_own_clearance")]
    assert authority_of(demo_ctx.engine, "upt", production=False).clearance == Level.TERBATAS

    at.selectbox(key="change_level_upt").set_value(Level.TERBATAS)
    at.selectbox(key="change_role_upt").set_value(Role.MITRA)
    _button(at, t("users.change_button")).click()
    at.run()
    assert not at.exception, at.exception
    assert t("users.changed", username="upt") in [s.value for s in at.success]
    assert authority_of(demo_ctx.engine, "upt", production=False).role == Role.MITRA
