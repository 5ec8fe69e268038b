"""Lists on a page: a work list's search, step filter and pages, a step's picker of requests, a
request named as the viewer may name it, the summary of a verification report, and a request's
letter to download."""

from __future__ import annotations

import streamlit as st

from ocenter.accounts.authority import Authority
from ocenter.accounts.visibility import RequestView, request_label, request_view
from ocenter.context import AppContext
from ocenter.errors import UserError
from ocenter.procedure.letters import letter_file
from ocenter.ui.text import lang, show_error, tr, tr_plain


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


def summary_rows(report) -> list[dict]:  # noqa: ANN001 - VerificationReport
    """The report's summary by column and check, with headers in the user's language."""
    return [
        {tr("col.column"): entry.column, tr("col.check"): tr(f"check.{entry.check}"),
         tr("col.count"): entry.count}
        for entry in report.summary
    ]


def this_month(ctx: AppContext) -> str:
    """The current month in Jakarta, YYYY-MM."""
    return ctx.clock.today().isoformat()[:7]


def show_clock(clock, target=st) -> None:  # noqa: ANN001 - workdays.StepClock, a container
    """One line for where a request's clock stands: its due day and the working days used (red
    when late), paused and on whom it waits, or that the step has no time standard."""
    if clock.waiting_on is not None:
        # Paused is no fault of the reader's: said plainly, not as a warning.
        target.info(tr(f"clock.waiting_{clock.waiting_on.value}", step=clock.step,
                       used=clock.used_hk, standard=clock.standard_hk or "-"), icon=":material/pause_circle:")
    elif clock.due is not None:
        text = tr("clock.due", step=clock.step, due=clock.due.isoformat(), used=clock.used_hk,
                  standard=clock.standard_hk)
        (target.error if clock.overdue else target.success)(text)
    else:
        target.caption(tr("beranda.no_standard"))


def letter_download(ctx: AppContext, viewer: Authority, request_id: int, key: str) -> None:
    """The button that downloads the request's letter as it was sent (its PDF), or the reason
    the viewer cannot have it; the rule is ``procedure.letters.letter_file``'s, on the server."""
    try:
        letter = letter_file(ctx, viewer, request_id)
    except UserError as error:
        show_error(error)
        return
    st.download_button(tr("letter.download", number=letter.number), letter.pdf,
                       file_name=letter.file_name, mime="application/pdf", key=key)
