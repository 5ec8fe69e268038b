"""The frame of every page: navigation by role, the sidebar, the demo label, the page guard and
title, and the wall's full-screen frame."""

from __future__ import annotations

import html

import streamlit as st

from ocenter.accounts.authority import Authority
from ocenter.accounts.login import display_name
from ocenter.accounts.preferences import remember_language
from ocenter.context import AppContext
from ocenter.navigation import PAGES, default_page_key, may_open, pages_for
from ocenter.procedure.main_record import reconcile_main
from ocenter.ui.session import _write_cookie, context, language_switch, login_gate, logout_button
from ocenter.ui.text import demo_banner, literal, show_flash, tr, tr_plain

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
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {color: #94a3b8;}
.block-container, [data-testid="stMainBlockContainer"] {padding: 0.5rem 1.2rem 0 1.2rem; max-width: 100%;}
[data-testid="stVerticalBlockBorderWrapper"] {border-color: #1e293b; background: #0f172a;}
[data-testid="stMarkdownContainer"] p {font-size: 1.2rem; margin-bottom: 0;}
[data-testid="stCaptionContainer"] p {margin: 0;}
[data-testid="stMain"] [data-testid="stCaptionContainer"] {padding-bottom: 0.45rem; line-height: 1.4;}
[data-testid="stMain"] [data-testid="stVerticalBlock"] {gap: 0.35rem;}
[data-testid="stMain"] [data-testid="stHorizontalBlock"] {gap: 0.6rem;}
[data-testid="stMain"] h3 {padding: 0.2rem 0 0 0; font-size: 2rem;}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {font-size: 3.2rem !important; color: #f1f5f9;}
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
    banner (the wall still says it shows demo data), in one element."""
    label = f'<div class="ocenter-demo">{html.escape(tr_plain("wall.demo"))}</div>' \
        if ctx.settings.is_demo else ""
    st.html(_WALL_CSS + label)
