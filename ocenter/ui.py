"""The one Streamlit adapter: context, login, language, page guard, messages and common widgets.

Everything else in ``ocenter`` is free of Streamlit; pages import this module and the use cases.
"""

from __future__ import annotations

import contextlib
import html
import secrets
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit

import streamlit as st
from pyarrow import ArrowException

from ocenter.accounts.authentication import authenticate, log_out
from ocenter.accounts.authority import Authority
from ocenter.accounts.login import display_name
from ocenter.accounts.preferences import preferred_language, remember_language
from ocenter.accounts.sessions import session_authority, session_id_of, session_lifetime, session_token
from ocenter.accounts.throttle import client_key
from ocenter.accounts.visibility import RequestView, request_label, request_view
from ocenter.config import Settings, load_settings
from ocenter.context import AppContext
from ocenter.display.wall_theme import dark_chart
from ocenter.errors import IntegrityError, NotFound, UserError
from ocenter.i18n import DEFAULT_LANGUAGE, markdown_literal, said_in, t, t_markdown
from ocenter.navigation import PAGES, default_page_key, may_open, pages_for
from ocenter.procedure.main_record import reconcile_main
from ocenter.verification.datasets import open_dataset

_LANG_KEY = "ocenter_lang"
_LANG_OWNER_KEY = "ocenter_lang_session"  # the login whose kept language this session has read
_LANG_CHOSEN_KEY = "ocenter_lang_chosen"  # the language was chosen on the login page


# --- language ---------------------------------------------------------------------------------


def lang() -> str:
    """The language this session reads: Bahasa Indonesia unless the user switched to English."""
    return st.session_state.get(_LANG_KEY, DEFAULT_LANGUAGE)


def tr(key: str, **params: object) -> str:
    """The catalogue text of ``key`` in this session's language, for anything Streamlit reads as
    Markdown (titles, captions, messages, labels): every text value filled in is escaped, so what
    someone typed shows as typed and never as a link or an image."""
    return t_markdown(key, lang(), **params)


def tr_plain(key: str, **params: object) -> str:
    """The catalogue text of ``key`` with its values as they are, for what Streamlit shows as
    plain text only: ``st.text``, ``st.code``, table cells, the options of a select box."""
    return t(key, lang(), **params)


def literal(text: object) -> str:
    """``text`` written by someone (a title, a file name, a note, a path) made safe for a Markdown
    sink: headers, captions, messages, expander, tab, metric and widget labels. Multi-line text
    reads better through ``st.text``. A message of the catalogue (a spec's problem) is said in
    this session's language."""
    return markdown_literal(said_in(text, lang()))


def error_text(error: UserError) -> str:
    """A refusal in this session's language, its quoted values escaped for ``st.error``."""
    return t_markdown(error.key, lang(), **error.params)


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


# --- navigation and page frame ----------------------------------------------------------------


def navigation(viewer: Authority):  # noqa: ANN201 - StreamlitPage navigation
    """``st.navigation`` over only the pages this viewer's role may open, grouped by section."""
    sections: dict[str, list] = {}
    default = default_page_key(viewer.role)
    for page in pages_for(viewer.role):
        title = tr(page.title_key)
        if page.step:
            title = tr("ui.step_prefix", step=page.step) + " " + title
        sections.setdefault(tr(page.section_key), []).append(
            st.Page(page.path, title=title, icon=page.icon, url_path=page.key,
                    default=page.key == default)
        )
    return st.navigation(sections)


def demo_banner(ctx: AppContext) -> None:
    """The demo label every page carries in demo mode: the login form and ``page`` draw it."""
    if ctx.settings.is_demo:
        st.warning(tr("app.demo_banner"), icon=":material/science:")


def sidebar(ctx: AppContext, viewer: Authority) -> None:
    """Who is logged in, with what authority, the language switch and logout."""
    name = display_name(ctx.engine, viewer.username)
    st.sidebar.markdown(f"**{literal(name)}**")
    st.sidebar.caption(
        tr("ui.authority_line", role=tr(f"role.{viewer.role.value}"),
           level=tr(f"level.{viewer.clearance.value}"), scope=scope_text(viewer))
    )
    language_switch(remember=lambda choice: remember_language(ctx.engine, viewer.username, choice))
    logout_button(ctx)
    with st.sidebar:
        _write_cookie(ctx)


def scope_text(viewer: Authority) -> str:
    """The viewer's scope in words."""
    if viewer.scope.value in ("unit", "upt") and viewer.unit_code:
        return f"{tr('scope.' + viewer.scope.value)} {viewer.unit_code}"
    return tr("scope." + viewer.scope.value)


def page(key: str, *, wall: bool = False) -> tuple[AppContext, Authority]:
    """Start a page: the context and the viewer, refusing a role that may not open ``key``
    (navigation already hides it; this is the second lock). A page that can be shown on a wall
    screen (``wall``) is, for the wall screen role or a viewer who asked for it: full screen,
    dark, without the menu, title or step caption (see ``in_wall_mode``)."""
    ctx = context()
    viewer = login_gate(ctx)
    # Decisions on main that an interrupted use case did not bring into the database yet are
    # taken in before the page reads any status (one rev-parse when main has not moved).
    reconcile_main(ctx)
    if not may_open(viewer.role, key):
        st.error(tr("auth.forbidden"))
        st.stop()
    entry = next(p for p in PAGES if p.key == key)
    if wall and in_wall_mode(viewer):
        wall_frame(ctx)
        return ctx, viewer
    # The label belongs to the page, not to the router: on the first run after a server start
    # Streamlit may run a page file straight from pages/ (its older multipage mode, until
    # st.navigation has been called once), and the router's own elements are then missing.
    demo_banner(ctx)
    title = tr(entry.title_key)
    st.title(title)
    if entry.step:
        st.caption(tr(f"step.{entry.step}.caption"))
    show_flash()
    return ctx, viewer


_WALL_PARAM = "layar"  # ?layar=1 puts the display in wall mode for any viewer

#: The wall's page style: no menu, header or toolbar, a dark background, large type, tight margins
#: (our own constant; nothing a user typed goes into it).
_WALL_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], footer {display: none !important;}
.stApp, [data-testid="stAppViewContainer"] {background: #0b1220; color: #f1f5f9;}
.stApp p, .stApp span, .stApp label, .stApp h1, .stApp h2, .stApp h3 {color: #f1f5f9;}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {color: #94a3b8; font-size: 1rem;}
.block-container, [data-testid="stMainBlockContainer"] {padding: 0.5rem 1.2rem 0 1.2rem; max-width: 100%;}
[data-testid="stVerticalBlockBorderWrapper"] {border-color: #1e293b; background: #0f172a;}
[data-testid="stMarkdownContainer"] p {font-size: 1.25rem;}
[data-testid="stMetricValue"] {font-size: 3.2rem; color: #f1f5f9;}
.ocenter-demo {position: fixed; top: 6px; right: 12px; z-index: 1000; padding: 1px 8px;
  border: 1px solid #f59e0b; color: #f59e0b; border-radius: 4px; font-size: 0.8rem;}
</style>"""


def in_wall_mode(viewer: Authority) -> bool:
    """Whether this run shows the wall: always for the wall screen role, and for any viewer who
    asked for it (``?layar=1``, the display page's switch)."""
    return viewer.role.value == "layar" or st.query_params.get(_WALL_PARAM) == "1"


def set_wall_mode(on: bool) -> None:
    """Ask for the wall (or leave it) from the next run on."""
    if on:
        st.query_params[_WALL_PARAM] = "1"
    else:
        st.query_params.pop(_WALL_PARAM, None)


def wall_frame(ctx: AppContext) -> None:
    """The wall's page: our style, and in demo mode a small label in the corner instead of the
    banner (the wall still says it shows demo data)."""
    st.html(_WALL_CSS)
    if ctx.settings.is_demo:
        st.html(f'<div class="ocenter-demo">{html.escape(tr_plain("wall.demo"))}</div>')


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Show a ``UserError`` as a message in the user's language instead of a traceback."""
    try:
        yield
    except UserError as error:
        st.error(error_text(error))


def show_error(error: UserError) -> None:
    """Show one user error."""
    st.error(error_text(error))


# --- dashboards -------------------------------------------------------------------------------


@st.cache_resource(max_entries=32, show_spinner=False)
def _dataset_table(home: str, dataset_id: str, sha256: str, file_sha256: str | None,
                   stamp: tuple[int, ...]):  # noqa: ANN202 - verification.datasets.StoredFile
    """A stored dataset file, read once per process and shared by every user, its columns
    parsed when a dashboard first needs them (filtering by authority happens after this, per
    viewer cut: ``ocenter.display.cache``).

    Only a file whose bytes matched ``file_sha256`` is cached (a mismatch raises, and Streamlit
    caches no exception), under the digest it was verified against. ``stamp`` (the file's
    inode, size, modification and change times) makes an edit on disk a cache miss, so the file
    is checked again at once rather than at the next restart; an unchanged stamp serves the
    verified copy in memory, never the bytes now on disk.
    """
    from pathlib import Path

    return open_dataset(Path(home), dataset_id, sha256, file_sha256=file_sha256)


def _stamp(ctx: AppContext, dataset_id: str, sha256: str) -> tuple[int, ...]:
    from ocenter.verification.datasets import dataset_dir

    try:
        status = (dataset_dir(ctx.home, dataset_id) / f"{sha256}.parquet").stat()
    except FileNotFoundError:
        return ()
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def dashboard_tables(
    ctx: AppContext, dataset_ids: list[str], viewer: Authority
) -> tuple[dict, dict, dict]:
    """The newest integrated table of each dataset the dashboard reads (missing ones left out),
    each with its content's version (``display.cache.VersionedTable``); the datasets whose file
    no longer matches its recorded digest (logged, never read); and those that cannot be read
    now (a file gone or unreadable), with since when."""
    from ocenter.display.cache import VersionedTable, stored_version
    from ocenter.display.stale import LAST_GOOD
    from ocenter.procedure.data_intake import latest_versions
    from ocenter.procedure.data_integration import report_altered_file

    versions = latest_versions(ctx)
    tables: dict = {}
    altered: dict[str, IntegrityError] = {}
    unreadable: dict = {}
    for dataset_id in dataset_ids:
        build = versions.get(dataset_id)
        if build is None:
            continue
        stamp = _stamp(ctx, dataset_id, build.sha256)
        try:
            stored = _dataset_table(str(ctx.home), dataset_id, build.sha256, build.file_sha256, stamp)
            tables[dataset_id] = VersionedTable(stored, stored_version(
                str(ctx.home), dataset_id, build.sha256, build.file_sha256, stamp))
        except IntegrityError as error:
            altered[dataset_id] = error
            report_altered_file(ctx, viewer.username, error)
        except (NotFound, OSError, ArrowException):
            unreadable[dataset_id] = LAST_GOOD.failing(dataset_id, ctx.clock.now())
        else:
            LAST_GOOD.readable(dataset_id)
    return tables, altered, unreadable


def show_dashboard(  # noqa: ANN001 - a spec, and a lifecycle record of display.lifecycle
    ctx: AppContext, spec, contracts: dict, viewer: Authority, lifecycle=None, *,
    wall: bool = False,
) -> None:
    """Render ``spec`` for ``viewer``: data filtered and aggregated on the server, then drawn,
    with the step-7 default of the viewer's tier from its ``lifecycle`` (None for a mock-up),
    saying so above the tiles when it narrows what they see; each tile says its data's level and
    how complete and how recent its data is. A tile whose data file was altered says so instead,
    and shows nothing of it; one whose data cannot be read now keeps its last good picture,
    marked stale. A viewer who may not open ``spec`` is told so, and nothing of it is read or
    drawn. On a wall screen (``wall``) the tiles are sized to fit 1920x1080 without scrolling."""
    from ocenter.display.filtering import can_view
    from ocenter.display.render import default_notice, render_dashboard, viewer_default
    from ocenter.procedure.data_integration import data_status
    from ocenter.procedure.wall import chart_height

    if not can_view(viewer, spec):
        st.info(tr("render.denied"))
        return
    tables, altered, unreadable = dashboard_tables(ctx, spec.datasets, viewer)
    missing = [d for d in spec.datasets if d not in tables and d not in altered and d not in unreadable]
    if missing:
        st.info(tr("display.no_data", datasets=", ".join(missing)))
    rendered = render_dashboard(spec, contracts, tables, viewer, lang(), lifecycle, unreadable)
    # Told when the step-7 default narrows what this viewer sees (plain text: values are data).
    notice = default_notice(spec, contracts, viewer, viewer_default(lifecycle, viewer), lang())
    if notice:
        st.text(notice)
    status = data_status(ctx, list(tables))
    rows = _rows_of_three(rendered)
    height = chart_height(len(rows)) if wall else None
    for row in rows:
        for column, item in zip(st.columns([item.panel.width for item in row]), row, strict=True):
            with column:
                if item.panel.dataset in altered:
                    _show_altered(item)
                else:
                    contract = contracts.get(item.panel.dataset)
                    _show_panel(item, _tile_note(item, contract, status.get(item.panel.dataset)),
                                height=height, dark=wall)


def _tile_note(item, contract, status) -> str:  # noqa: ANN001 - RenderedPanel, DataContract, Completeness
    """A tile's caption: the level of the data it shows, and how complete and recent it is."""
    parts = []
    if contract is not None:
        known = set(contract.field_names())
        level = contract.highest_level([n for n in item.panel.fields_used() if n in known])
        parts.append(tr(f"level.{level.value}"))
    if status is not None:
        parts.append(data_note(status))
    return " · ".join(parts)


def _show_altered(item) -> None:  # noqa: ANN001 - render.RenderedPanel
    with st.container(border=True):
        st.markdown(f"**{literal(item.panel.title_in(lang()))}**")
        st.error(tr("dataset.integrity_tile", dataset_id=item.panel.dataset),
                 icon=":material/error:")


def data_note(status) -> str:  # noqa: ANN001 - integration.completeness.Completeness
    """How complete and how recent a dataset is, in one line for a dashboard tile."""
    at = when(status.newest_at) if status.newest_at else "-"
    if status.period is None:
        return tr("completeness.tile_plain", at=at)
    return tr("completeness.tile", period=status.period, reported=status.reported,
              expected=status.expected, at=at)


def this_month(ctx: AppContext) -> str:
    """The current month in Jakarta, YYYY-MM."""
    return ctx.clock.today().isoformat()[:7]


def _rows_of_three(items: list) -> list[list]:
    """Panels in reading order, packed into rows of at most three grid columns."""
    rows: list[list] = []
    used = 3
    for item in items:
        if used + item.panel.width > 3:
            rows.append([])
            used = 0
        rows[-1].append(item)
        used += item.panel.width
    return rows


def _show_panel(  # noqa: ANN001 - render.RenderedPanel
    item, note: str | None = None, *, height: int | None = None, dark: bool = False
) -> None:
    title = item.panel.title_in(lang())
    with st.container(border=True):
        st.markdown(f"**{literal(title)}**")
        if note:
            st.caption(note)
        if item.stale_since is not None:
            st.warning(tr("render.stale_since", since=when(item.stale_since)), icon=":material/history:")
        if item.data is None or item.data.restricted:
            st.caption(literal(item.message or tr_plain("render.restricted")))
            return
        if item.value_text is not None:
            # Written the viewer's way by the renderer (12.345 or 12,345).
            st.metric(literal(title), item.value_text, label_visibility="collapsed")
        elif item.chart is not None:
            chart = item.chart if height is None else item.chart.properties(height=height)
            if dark:
                st.altair_chart(dark_chart(chart), width="stretch", theme=None)
            else:
                st.altair_chart(chart, width="stretch")
        elif item.table is not None:
            # Headers are labels in the viewer's language, cells names and written numbers.
            st.dataframe(item.table, hide_index=True, width="stretch", height=height or "auto")
        if item.message:
            st.caption(literal(item.message))


def summary_rows(report) -> list[dict]:  # noqa: ANN001 - VerificationReport
    """The report's summary by column and check, with headers in the user's language."""
    return [
        {tr("col.column"): entry.column, tr("col.check"): tr(f"check.{entry.check}"),
         tr("col.count"): entry.count}
        for entry in report.summary
    ]


def flash(text: str, kind: str = "success") -> None:
    """Keep a message to show after the next rerun (a rerun would otherwise wipe it)."""
    st.session_state["ocenter_flash"] = (kind, text)


def show_flash() -> None:
    """Show and forget the kept message, if any."""
    kept = st.session_state.pop("ocenter_flash", None)
    if kept:
        kind, text = kept
        getattr(st, kind)(text)


def when(moment) -> str:  # noqa: ANN001 - datetime from the database
    """A stored time as people in the office read it: Jakarta time, to the minute."""
    from ocenter.procedure.workdays import local_time

    return local_time(moment).strftime("%Y-%m-%d %H:%M WIB")


def paged(fetch, key: str, summary_key: str):  # noqa: ANN001, ANN201 - worklists.Page
    """The page ``fetch(number)`` returns for the page number this session chose, with a page
    number input when there is more than one page and a caption saying which page of how many
    (``summary_key`` takes page, pages and total)."""
    page = fetch(int(st.session_state.get(key) or 1))
    if page.pages > 1:
        st.number_input(tr("worklist.page"), min_value=1, step=1, key=key)
    if page.total:
        st.caption(tr(summary_key, page=page.page, pages=page.pages, total=page.total))
    return page


def request_list(
    ctx: AppContext, viewer: Authority, key: str, *, statuses: tuple = (),
    own_unit_only: bool = False, step_filter: bool = False, page_size: int | None = None,
):  # noqa: ANN201 - procedure.worklists.Page
    """A work list's search box, step filter (``step_filter``) and page number, and the page of
    requests they select (one query)."""
    from ocenter.models import RequestStatus
    from ocenter.procedure.worklists import PAGE_SIZE, RequestListQuery, request_page

    columns = st.columns(2) if step_filter else [st]
    search = columns[0].text_input(tr("worklist.search"), key=f"{key}_search", max_chars=200,
                                   help=tr_plain("worklist.search_help"))
    if step_filter:
        statuses = tuple(columns[1].multiselect(
            tr("worklist.steps"), options=list(RequestStatus), key=f"{key}_steps",
            format_func=lambda status: tr_plain(f"status.{status.value}")))
    return paged(lambda number: request_page(ctx, viewer, RequestListQuery(
        statuses=statuses, own_unit_only=own_unit_only, search=search, page=number,
        page_size=page_size or PAGE_SIZE)), f"{key}_page", "worklist.summary")


def choose_request(
    ctx: AppContext,
    viewer: Authority,
    statuses: tuple,
    *,
    nothing_key: str,
    choose_key: str,
    own_unit_only: bool = False,
):  # noqa: ANN201 - models.DashboardRequest
    """The request a step's page works on: a picker over the requests waiting at that step
    (searched and paged when more than a page of them wait); says so and stops the page when none
    is waiting."""
    from ocenter.procedure.worklists import MAX_PAGE_SIZE, RequestListQuery, request_page

    waiting = request_page(ctx, viewer, RequestListQuery(
        statuses=statuses, own_unit_only=own_unit_only, page_size=MAX_PAGE_SIZE))
    if not waiting.total:
        st.success(tr(nothing_key))
        st.stop()
    if waiting.total > MAX_PAGE_SIZE:
        waiting = request_list(ctx, viewer, "choose", statuses=statuses,
                               own_unit_only=own_unit_only, page_size=MAX_PAGE_SIZE)
        if not waiting.items:
            st.info(tr("worklist.none_match"))
            st.stop()
    by_id = {r.id: r for r in waiting.items}
    several_statuses = len(statuses) > 1
    chosen = st.selectbox(  # a select box's options are plain text: the label is not escaped
        tr(choose_key), options=list(by_id),
        format_func=lambda i: label_of(viewer, by_id[i])
        + (f" · {tr('status.' + by_id[i].status.value)}" if several_statuses else ""),
    )
    return by_id[chosen]


def label_of(viewer: Authority, request) -> str:  # noqa: ANN001 - models.DashboardRequest
    """The request as ``viewer`` may name it (its title withheld below its level), plain text:
    pass it through ``literal`` for a Markdown sink."""
    return request_label(viewer, request, lang())


def may_read(viewer: Authority, request) -> bool:  # noqa: ANN001 - models.DashboardRequest
    """Whether ``viewer`` may read the request's words (title, purpose, its letter): see
    ``accounts.visibility``."""
    return request_view(viewer, request) == RequestView.FULL
