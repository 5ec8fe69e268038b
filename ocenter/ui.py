"""The one Streamlit adapter: context, login, language, page guard, messages and common widgets.

Everything else in ``ocenter`` is free of Streamlit; pages import this module and the use cases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import streamlit as st

from ocenter.accounts.authority import Authority
from ocenter.accounts.login import authority_of, display_name, login_credentials
from ocenter.config import Settings, load_settings
from ocenter.context import AppContext
from ocenter.errors import IntegrityError, UserError
from ocenter.i18n import DEFAULT_LANGUAGE, t
from ocenter.navigation import PAGES, default_page_key, may_open, pages_for
from ocenter.procedure.main_record import reconcile_main
from ocenter.verification.datasets import open_dataset

_LANG_KEY = "ocenter_lang"
_VIEWER_KEY = "ocenter_viewer"


# --- language ---------------------------------------------------------------------------------


def lang() -> str:
    """The language this session reads: Bahasa Indonesia unless the user switched to English."""
    return st.session_state.get(_LANG_KEY, DEFAULT_LANGUAGE)


def tr(key: str, **params: object) -> str:
    """The catalogue text of ``key`` in this session's language."""
    return t(key, lang(), **params)


def language_switch() -> None:
    """A small ID/EN switch in the sidebar."""
    choice = st.sidebar.segmented_control(
        tr("ui.language"), options=["id", "en"], format_func={"id": "Bahasa Indonesia",
                                                              "en": "English"}.get,
        default=lang(), key="ocenter_lang_switch",
    )
    if choice and choice != lang():
        st.session_state[_LANG_KEY] = choice
        st.rerun()


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
        st.error(error.text(lang()))
        st.stop()
    with st.spinner(tr("ui.starting")):
        return _context_for(str(settings.home), settings.database_url, settings.mode.value)


# --- login ------------------------------------------------------------------------------------


def _authenticator(ctx: AppContext):  # noqa: ANN202 - the library's own type
    import streamlit_authenticator as stauth

    return stauth.Authenticate(
        login_credentials(ctx.engine, production=not ctx.settings.is_demo),
        cookie_name=ctx.settings.cookie_name,
        cookie_key=ctx.settings.cookie_key,
        cookie_expiry_days=ctx.settings.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0,  # the library's sleep races with its cookie rerun (its issue #179)
    )


def login_gate(ctx: AppContext) -> Authority:
    """Log the user in (form or cookie) and return their authority, freshly read from the
    database; shows the login form and stops the run while nobody is logged in."""
    authenticator = _authenticator(ctx)
    authenticator.login(location="unrendered")
    if not st.session_state.get("authentication_status"):
        demo_banner(ctx)
        st.title(tr("app.title"))
        st.caption(tr("app.subtitle"))
        authenticator.login(
            location="main", max_login_attempts=5, key="ocenter_login",
            fields={"Form name": tr("login.title"), "Username": tr("login.username"),
                    "Password": tr("login.password"), "Login": tr("login.submit")},
        )
        if st.session_state.get("authentication_status") is False:
            st.error(tr("login.failed"))
        if ctx.settings.is_demo:
            st.info(tr("login.demo_hint"))
        if not st.session_state.get("authentication_status"):
            st.stop()
    viewer = authority_of(ctx.engine, st.session_state.get("username"),
                                   production=not ctx.settings.is_demo)
    if viewer is None:
        _shut_out(authenticator)
    st.session_state[_VIEWER_KEY] = viewer
    st.session_state["ocenter_authenticator"] = authenticator
    return viewer


def _shut_out(authenticator) -> NoReturn:  # noqa: ANN001 - the library's own type, or None
    """Refuse a logged-in session whose account may not log in (any more): deactivated since
    the cookie was made, or a demo account on a production server."""
    if authenticator is not None:
        authenticator.logout(location="unrendered")
    st.session_state.pop(_VIEWER_KEY, None)
    st.error(tr("login.not_allowed"))
    st.stop()


def logout_button() -> None:
    """Logout in the sidebar; the cookie is deleted and the session forgets the user."""
    authenticator = st.session_state.get("ocenter_authenticator")
    if authenticator is not None and st.sidebar.button(tr("login.logout"), key="ocenter_logout"):
        authenticator.logout(location="unrendered")
        st.session_state.pop(_VIEWER_KEY, None)
        st.rerun()


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
    st.sidebar.markdown(f"**{name}**")
    st.sidebar.caption(
        tr("ui.authority_line", role=tr(f"role.{viewer.role.value}"),
           level=tr(f"level.{viewer.clearance.value}"), scope=scope_text(viewer))
    )
    language_switch()
    logout_button()


def scope_text(viewer: Authority) -> str:
    """The viewer's scope in words."""
    if viewer.scope.value in ("unit", "upt") and viewer.unit_code:
        return f"{tr('scope.' + viewer.scope.value)} {viewer.unit_code}"
    return tr("scope." + viewer.scope.value)


def page(key: str) -> tuple[AppContext, Authority]:
    """Start a page: the context and the viewer, refusing a role that may not open ``key``
    (navigation already hides it; this is the second lock)."""
    ctx = context()
    viewer = st.session_state.get(_VIEWER_KEY)
    if viewer is None:
        viewer = login_gate(ctx)
    viewer = authority_of(ctx.engine, viewer.username,
                                   production=not ctx.settings.is_demo)
    # Decisions on main that an interrupted use case did not bring into the database yet are
    # taken in before the page reads any status (one rev-parse when main has not moved).
    reconcile_main(ctx)
    if viewer is None:
        _shut_out(st.session_state.get("ocenter_authenticator"))
    if not may_open(viewer.role, key):
        st.error(tr("auth.forbidden"))
        st.stop()
    entry = next(p for p in PAGES if p.key == key)
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


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Show a ``UserError`` as a message in the user's language instead of a traceback."""
    try:
        yield
    except UserError as error:
        st.error(error.text(lang()))


def show_error(error: UserError) -> None:
    """Show one user error."""
    st.error(error.text(lang()))


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


def dashboard_tables(ctx: AppContext, dataset_ids: list[str], viewer: Authority) -> tuple[dict, dict]:
    """The newest integrated table of each dataset the dashboard reads (missing ones left out),
    each with its content's version (``display.cache.VersionedTable``), and the datasets whose
    file no longer matches its recorded digest (logged, never read)."""
    from ocenter.display.cache import VersionedTable, stored_version
    from ocenter.procedure.data_intake import latest_versions
    from ocenter.procedure.data_integration import report_altered_file

    versions = latest_versions(ctx)
    tables: dict = {}
    altered: dict[str, IntegrityError] = {}
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
    return tables, altered


def show_dashboard(  # noqa: ANN001 - a spec, and a lifecycle record of display.lifecycle
    ctx: AppContext, spec, contracts: dict, viewer: Authority, lifecycle=None
) -> None:
    """Render ``spec`` for ``viewer``: data filtered and aggregated on the server, then drawn,
    with the step-7 defaults of its ``lifecycle`` (None for a mock-up); each tile says how
    complete and how recent its data is. A tile whose data file was altered says so instead, and
    shows nothing of it."""
    from ocenter.display.render import render_dashboard
    from ocenter.procedure.data_integration import data_status

    tables, altered = dashboard_tables(ctx, spec.datasets, viewer)
    missing = [d for d in spec.datasets if d not in tables and d not in altered]
    if missing:
        st.info(tr("display.no_data", datasets=", ".join(missing)))
    rendered = render_dashboard(spec, contracts, tables, viewer, lang(), lifecycle)
    status = {d: data_note(s) for d, s in data_status(ctx, list(tables)).items()}
    for row in _rows_of_three(rendered):
        for column, item in zip(st.columns([item.panel.width for item in row]), row, strict=True):
            with column:
                if item.panel.dataset in altered:
                    _show_altered(item)
                else:
                    _show_panel(item, status.get(item.panel.dataset))


def _show_altered(item) -> None:  # noqa: ANN001 - render.RenderedPanel
    with st.container(border=True):
        st.markdown(f"**{item.panel.title}**")
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


def _show_panel(item, note: str | None = None) -> None:  # noqa: ANN001 - render.RenderedPanel
    with st.container(border=True):
        st.markdown(f"**{item.panel.title}**")
        if note:
            st.caption(note)
        if item.data.restricted:
            st.caption(tr("render.restricted"))
            return
        if item.panel.kind.value == "kpi":
            value = item.data.value
            st.metric(item.panel.title, "-" if value is None else f"{value:,.0f}".replace(",", "."),
                      label_visibility="collapsed")
        elif item.chart is not None:
            st.altair_chart(item.chart, width="stretch")
        else:
            st.dataframe(item.data.frame, hide_index=True, width="stretch")


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


def choose_request(
    ctx: AppContext,
    viewer: Authority,
    statuses: tuple,
    *,
    nothing_key: str,
    choose_key: str,
    own_unit_only: bool = False,
):  # noqa: ANN201 - models.DashboardRequest
    """The request a step's page works on: a picker over the requests waiting at that step;
    says so and stops the page when none is waiting."""
    from ocenter.procedure.requests import list_requests

    waiting = {
        r.id: r for r in list_requests(ctx, viewer)
        if r.status in statuses and (not own_unit_only or r.requesting_unit == viewer.unit_code)
    }
    if not waiting:
        st.success(tr(nothing_key))
        st.stop()
    several_statuses = len(statuses) > 1
    chosen = st.selectbox(
        tr(choose_key), options=list(waiting),
        format_func=lambda i: f"#{i} · {waiting[i].title}"
        + (f" · {tr('status.' + waiting[i].status.value)}" if several_statuses else ""),
    )
    return waiting[chosen]
