"""Step 2: Pusdatin receives the strategic data sent by units, UPT and other agencies."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import SubmissionStatus
from ocenter.procedure import worklists

ctx, viewer = ui.page("terima-data")
waiting = ui.paged(lambda number: worklists.submission_page(
    ctx, viewer, SubmissionStatus.SENT, page=number), "inbox_page", "worklist.submissions_summary")
if not waiting.total:
    st.success(ui.tr("inbox.empty"))
for submission in waiting.items:
    clock = procedure.submission_clock(ctx, submission)
    with st.container(border=True):
        info, action = st.columns([4, 1])
        info.markdown(f"**{ui.literal(f'#{submission.id} · {submission.dataset_id}')}** — "
                      f"{ui.literal(submission.unit_code)}")
        info.caption(ui.tr("inbox.meta", name=submission.original_name, rows=submission.rows,
                           level=ui.tr(f"level.{submission.level.value}"),
                           due=clock.due.isoformat() if clock.due else "-"))
        if clock.overdue:
            info.error(ui.tr("inbox.overdue"))
        if action.button(ui.tr("inbox.receive"), key=f"receive-{submission.id}", type="primary"):
            with ui.guarded():
                procedure.receive_submission(ctx, viewer, submission.id)
                ui.flash(ui.tr("inbox.received", submission=submission.id))
                st.rerun()

received = worklists.submission_page(ctx, viewer, SubmissionStatus.RECEIVED,
                                    page_size=worklists.MAX_PAGE_SIZE)
if received.total:
    st.subheader(ui.tr("inbox.to_verify"))
    if received.pages > 1:
        st.caption(ui.tr("worklist.submissions_summary", page=1, pages=received.pages,
                         total=received.total))
    st.dataframe(
        [{ui.tr("col.number"): s.id, ui.tr("col.dataset"): s.dataset_id,
          ui.tr("col.unit"): s.unit_code, ui.tr("col.rows"): s.rows} for s in received.items],
        hide_index=True, width="stretch",
    )
