"""Words on a page: this session's language, catalogue texts, text people typed made safe for
Markdown, times, refusals and the message carried to the next run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from ocenter.context import AppContext
from ocenter.errors import UserError
from ocenter.i18n import DEFAULT_LANGUAGE, markdown_literal, said_in, t, t_markdown

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


def demo_banner(ctx: AppContext) -> None:
    """The demo label every page carries in demo mode: the login form and ``page`` draw it."""
    if ctx.settings.is_demo:
        st.warning(tr("app.demo_banner"), icon=":material/science:")
