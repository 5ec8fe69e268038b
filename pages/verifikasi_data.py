"""Step 3: verify the data against its contract; accept it, or return it to the sender with reasons."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import SubmissionStatus
from ocenter.procedure import worklists

ctx, viewer = ui.page("verifikasi-data")
waiting = ui.paged(lambda number: worklists.submission_page(
    ctx, viewer, SubmissionStatus.RECEIVED, page=number, page_size=worklists.MAX_PAGE_SIZE),
    "verify_page", "worklist.submissions_summary")
received = {s.id: s for s in waiting.items}
if not received:
    st.success(ui.tr("verif.nothing"))
    st.stop()

chosen = st.selectbox(ui.tr("verif.choose"), options=list(received),  # options are plain text
                      format_func=lambda i: f"#{i} · {received[i].dataset_id} · "
                      f"{received[i].unit_code} · {received[i].original_name}")
submission = received[chosen]
if submission.resubmits_id is not None:
    st.info(ui.tr("verif.fixes", submission=submission.resubmits_id))
clock = procedure.submission_clock(ctx, submission)
if clock is not None:
    (st.error if clock.overdue else st.caption)(
        ui.tr("beranda.due", due=clock.due.isoformat(), used=clock.used_hk,
              standard=clock.standard_hk)
    )

if submission.checks_passed is None:
    if st.button(ui.tr("verif.run"), type="primary"):
        bar = st.progress(0.0, text=ui.tr("verif.running"))
        total = max(submission.rows or 1, 1)

        def _progress(done_rows: int) -> None:
            bar.progress(min(done_rows / total, 1.0), text=ui.tr("verif.running"))

        with ui.guarded():
            procedure.check_submission(ctx, viewer, submission.id, progress=_progress)
            st.rerun()
    st.stop()

# Every value quoted from the file above the verifier's clearance reads ***, by the higher of
# its field's and the dataset's level.
masked = procedure.report_for(ctx, viewer, submission)
if masked.valid:
    st.success(ui.tr("verif.valid", rows=masked.rows))
    for issue in masked.dataset_issues:  # warnings only: stale data, rules not checked
        st.warning(ui.literal(issue.message(ui.lang())))
else:
    st.error(ui.tr("verif.invalid", rows=masked.rows, cells=len(masked.errors)))
    for issue in masked.dataset_issues:
        st.warning(ui.literal(issue.message(ui.lang())))
    st.dataframe(ui.summary_rows(masked), hide_index=True, width="stretch")
    st.markdown(ui.tr("verif.first_errors"))
    st.dataframe(
        [{ui.tr("col.row"): e.row, ui.tr("col.column"): e.column,
          ui.tr("col.check"): ui.tr(f"check.{e.check}"), ui.tr("col.value"): e.value,
          ui.tr("col.message"): e.message(ui.lang())} for e in masked.errors[:500]],
        hide_index=True, width="stretch",
    )

with st.form("decision"):
    note = st.text_area(ui.tr("verif.note"))
    accept_col, return_col = st.columns(2)
    accept = accept_col.form_submit_button(ui.tr("verif.accept"), type="primary",
                                           disabled=not masked.valid)
    give_back = return_col.form_submit_button(ui.tr("verif.return"))
    if accept or give_back:
        with ui.guarded():
            procedure.decide_submission(ctx, viewer, submission.id, accept=accept, note=note)
            ui.flash(ui.tr("verif.accepted" if accept else "verif.returned"))
            st.rerun()
