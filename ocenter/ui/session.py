"""Who is looking: the installation's context, the login form and its cookie, the session
checked on every run (fragments' own included), the language kept with the user, and logout."""

from __future__ import annotations

import secrets
from typing import NoReturn
from urllib.parse import urlsplit

import streamlit as st

from ocenter.accounts.authentication import authenticate, log_out
from ocenter.accounts.authority import Authority
from ocenter.accounts.preferences import preferred_language, remember_language
from ocenter.accounts.sessions import session_authority, session_id_of, session_lifetime, session_token
from ocenter.accounts.throttle import client_key
from ocenter.config import Settings, load_settings
from ocenter.context import AppContext
from ocenter.errors import UserError
from ocenter.navigation import PAGES
from ocenter.ui.text import _LANG_CHOSEN_KEY, _LANG_KEY, _LANG_OWNER_KEY, demo_banner, error_text, lang, tr


def language_switch(where=st.sidebar, remember=None) -> None:  # noqa: ANN001 - st or st.sidebar
    """A small ID/EN switch (in the sidebar; on the login page above the form). A choice is kept
    with the user (``remember``), or, on the login page, for the user who logs in next."""
    choice = where.segmented_control(
        tr("ui.language"), options=["id", "en"], format_func={"id": "Bahasa Indonesia",
                                                              "en": "English"}.get,
        default=lang(), key="ocenter_lang_switch",
    )
    if choice and choice != lang():
        st.session_state[_LANG_KEY] = choice
        if remember is not None:
            remember(choice)
        else:
            st.session_state[_LANG_CHOSEN_KEY] = True
        st.rerun()


def _language_of(ctx: AppContext, viewer: Authority, session_id: str) -> None:
    """Once per login in this browser session: the language the user keeps, or the one they just
    chose on the login page, kept as theirs."""
    if st.session_state.get(_LANG_OWNER_KEY) == session_id:
        return
    st.session_state[_LANG_OWNER_KEY] = session_id
    if st.session_state.pop(_LANG_CHOSEN_KEY, False):
        remember_language(ctx.engine, viewer.username, lang())
        return
    kept = preferred_language(ctx.engine, viewer.username)
    if kept is not None:
        st.session_state[_LANG_KEY] = kept


# --- context ----------------------------------------------------------------------------------


def _secret_values() -> dict[str, str]:
    try:
        return {key: str(st.secrets[key]) for key in ("OCENTER_COOKIE_KEY", "DATABASE_URL")
                if key in st.secrets}
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


@st.cache_resource(show_spinner=False)
def _context_for(home: str, database_url: str, mode: str) -> AppContext:
    """One context per installation and process (keyed by where it lives, not by user)."""
    from ocenter.bootstrap import initialise

    settings = load_settings(secret_values=_secret_values())
    return initialise(settings, progress=lambda _message: None)


def context() -> AppContext:
    """The running installation's context, created (with demo content in demo mode) on first use.
    A configuration error is shown as a message and the page stops."""
    try:
        settings: Settings = load_settings(secret_values=_secret_values())
    except UserError as error:
        st.error(error_text(error))
        st.stop()
    with st.spinner(tr("ui.starting")):
        return _context_for(str(settings.home), settings.database_url, settings.mode.value)


# --- login ------------------------------------------------------------------------------------
#
# The login form is our own (``accounts.authentication``); the browser keeps only a signed session
# id in a cookie, written and deleted by extra-streamlit-components' cookie component and read
# back from ``st.context.cookies`` (README, "Login"). Every run, fragments' own included,
# checks the session in the database.

_SESSION_KEY = "ocenter_session"  # the session id this browser session is logged in with
_SPENT_KEY = "ocenter_spent_session"  # a session id found ended here: its cookie is not asked again
_NOTICE_KEY = "ocenter_login_notice"  # (kind, catalogue key, values) the login form shows
_COOKIE_KEY = "ocenter_cookie_pending"  # ("set", token, expiry) or ("delete",): until done
_BROWSER_KEY = "ocenter_browser"  # a random name of this browser session, for throttling
_NAME_FIELD, _PASSWORD_FIELD = "ocenter_login_username", "ocenter_login_password"


def current_viewer(ctx: AppContext) -> Authority | None:
    """The viewer of this run, from the session this browser session holds or its login cookie,
    checked in the database; None when nobody is logged in (the reason, if the session was
    ended under them, is kept for the login form)."""
    session_id = st.session_state.get(_SESSION_KEY)
    if not session_id:
        token = st.context.cookies.get(ctx.settings.cookie_name)
        session_id = session_id_of(token, ctx.settings.cookie_key)
        if not session_id or session_id == st.session_state.get(_SPENT_KEY):
            return None
    try:
        viewer = session_authority(ctx, session_id)
    except UserError as refusal:
        st.session_state.pop(_SESSION_KEY, None)
        st.session_state[_SPENT_KEY] = session_id
        st.session_state[_NOTICE_KEY] = ("warning", refusal.key, refusal.params)
        st.session_state[_COOKIE_KEY] = ("delete",)
        return None
    st.session_state[_SESSION_KEY] = session_id
    _language_of(ctx, viewer, session_id)
    return viewer


def login_gate(ctx: AppContext) -> Authority:
    """The logged-in viewer, their authority read fresh from the database; while nobody is logged
    in, the login page (and nothing of the app's pages) is shown and the run stops."""
    viewer = current_viewer(ctx)
    if viewer is None:
        _login_page(ctx)
    return viewer


def recheck_viewer(ctx: AppContext, viewer: Authority) -> Authority:
    """For a fragment that reruns on its own: the session checked again, and the whole app run
    again (showing the login form, or the viewer's new authority) when it ended or ``viewer``
    changed since the page's run."""
    now = current_viewer(ctx)
    if now != viewer:
        st.rerun(scope="app")
    return viewer


def _client(ctx: AppContext) -> str:
    """Who is trying to log in, for throttling: the address the trusted proxy passes, or the
    connection's (``st.context.ip_address``, None on this machine), else this browser session."""
    header = ctx.settings.client_address_header
    forwarded = st.context.headers.get(header) if header else None
    browser = st.session_state.setdefault(_BROWSER_KEY, secrets.token_urlsafe(16))
    return client_key(forwarded, st.context.ip_address, browser)


def _submit_login(ctx: AppContext, client: str) -> None:
    """The login form's button (run before the page's run, so a login's first run is the app)."""
    username = st.session_state.get(_NAME_FIELD, "")
    password = st.session_state.get(_PASSWORD_FIELD, "")
    st.session_state[_PASSWORD_FIELD] = ""
    try:
        session_id = authenticate(ctx, username, password, client)
    except UserError as refusal:
        st.session_state[_NOTICE_KEY] = ("error", refusal.key, refusal.params)
        return
    st.session_state[_SESSION_KEY] = session_id
    st.session_state.pop(_NOTICE_KEY, None)
    expires = ctx.clock.now() + session_lifetime(ctx)
    st.session_state[_COOKIE_KEY] = ("set", session_token(session_id, ctx.settings.cookie_key,
                                                          expires), expires)


def _login_pages(ctx: AppContext) -> list:
    """The pages before login: the login form at the root, and at the address of the app's page
    the browser asked for (hidden), so that after login the browser is on that page."""
    def login() -> None:
        _login_form(ctx)

    pages = [st.Page(login, title=tr("login.title"), url_path="masuk", default=True)]
    asked = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    if asked in {page.key for page in PAGES}:
        pages.append(st.Page(login, title=tr("login.title"), url_path=asked, visibility="hidden"))
    return pages


def _login_page(ctx: AppContext) -> NoReturn:
    # A navigation of the login page alone: without it Streamlit lists every file of pages/ in
    # the sidebar until some session has called st.navigation (its older multipage mode).
    st.navigation(_login_pages(ctx), position="hidden").run()
    st.stop()


def _login_form(ctx: AppContext) -> None:
    demo_banner(ctx)
    st.title(tr("app.title"))
    st.caption(tr("app.subtitle"))
    language_switch(st)
    notice = st.session_state.get(_NOTICE_KEY)
    if notice:
        kind, key, params = notice
        getattr(st, kind)(tr(key, **params))
    client = _client(ctx)
    with st.form("ocenter_login"):
        st.subheader(tr("login.title"))
        st.text_input(tr("login.username"), key=_NAME_FIELD, autocomplete="username")
        st.text_input(tr("login.password"), type="password", key=_PASSWORD_FIELD,
                      autocomplete="current-password")
        st.form_submit_button(tr("login.submit"), on_click=_submit_login, args=(ctx, client))
    if ctx.settings.is_demo:
        st.info(tr("login.demo_hint"))
    _write_cookie(ctx)


def _write_cookie(ctx: AppContext) -> None:
    """Set or delete the login cookie, as this browser session asked. The component acts in the
    browser once its run is delivered, and says so on the next run; until then it is drawn again
    (a run that is cut short, by a rerun, would otherwise lose it)."""
    pending = st.session_state.get(_COOKIE_KEY)
    if pending is None:
        return
    import extra_streamlit_components as stx

    manager = stx.CookieManager(key="ocenter_cookies")
    name = ctx.settings.cookie_name
    if pending[0] == "set":
        _, token, expires = pending
        done = manager.set(name, token, key="ocenter_cookie_set_" + token[-12:], expires_at=expires,
                           same_site="strict", secure=(st.context.url or "").startswith("https:"))
    else:
        try:
            done = manager.delete(name, key="ocenter_cookie_delete")
        except KeyError:  # the component's own copy of the cookies did not hold it yet
            done = False
    if done:
        st.session_state.pop(_COOKIE_KEY, None)


def logout_button(ctx: AppContext) -> None:
    """Logout in the sidebar: the session ends on the server, then the cookie is deleted."""
    st.sidebar.button(tr("login.logout"), key="ocenter_logout", on_click=_log_out, args=(ctx,))


def _log_out(ctx: AppContext) -> None:
    session_id = st.session_state.pop(_SESSION_KEY, None)
    if session_id:
        log_out(ctx, session_id)
        st.session_state[_SPENT_KEY] = session_id
    st.session_state[_COOKIE_KEY] = ("delete",)
    st.session_state[_NOTICE_KEY] = ("info", "login.logged_out", {})
