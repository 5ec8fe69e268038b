"""The one adapter between Streamlit and OCenter: everything else in ``ocenter`` is free of
Streamlit. Pages import this package (``from ocenter import ui``) and the use cases.

- ``text``: this session's language, catalogue texts, safe Markdown, times, messages;
- ``session``: the context, login and its cookie, the session checked each run, logout;
- ``frame``: navigation by role, the sidebar, the page guard and title, the wall's frame;
- ``lists``: work lists (search, steps, pages), a step's picker, requests as a viewer names them;
- ``dashboards``: datasets read once per process and every tile drawn for its viewer.

May import: streamlit and every ``ocenter`` package; nothing in ``ocenter`` imports it.
"""

from ocenter.ui.dashboards import (
    _dataset_table,
    dashboard_tables,
    data_note,
    show_dashboard,
)
from ocenter.ui.frame import (
    in_wall_mode,
    navigation,
    page,
    scope_text,
    set_wall_mode,
    sidebar,
    wall_frame,
)
from ocenter.ui.lists import (
    choose_request,
    label_of,
    letter_download,
    may_read,
    paged,
    request_list,
    show_clock,
    summary_rows,
    this_month,
)
from ocenter.ui.session import (
    context,
    current_viewer,
    language_switch,
    login_gate,
    logout_button,
    recheck_viewer,
)
from ocenter.ui.text import (
    demo_banner,
    error_text,
    flash,
    guarded,
    lang,
    literal,
    show_error,
    show_flash,
    tr,
    tr_plain,
    when,
)

__all__ = [
    "show_clock",
    "_dataset_table", "choose_request", "context", "current_viewer", "dashboard_tables",
    "data_note", "demo_banner", "error_text", "flash", "guarded", "in_wall_mode", "label_of",
    "letter_download",
    "lang", "language_switch", "literal", "login_gate", "logout_button", "may_read", "navigation",
    "page", "paged", "recheck_viewer", "request_list", "scope_text", "set_wall_mode", "show_dashboard",
    "show_error", "show_flash", "sidebar", "summary_rows", "this_month", "tr", "tr_plain",
    "wall_frame", "when",
]
