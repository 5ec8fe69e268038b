"""Step 1: a unit, UPT or agency sends strategic data, classified by confidentiality level."""

from functools import partial

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import Level
from ocenter.models import SubmissionStatus
from ocenter.procedure import worklists

ctx, viewer = ui.page("kirim-data")
contracts = ctx.store.snapshot("main").contracts
# A submission may answer one of the unit's open requests (the newest of them, should there be many).
requests = {r.id: r for r in worklists.request_page(ctx, viewer, worklists.RequestListQuery(
    statuses=worklists.OPEN_STATUSES, own_unit_only=True, page_size=worklists.MAX_PAGE_SIZE)).items}

if not contracts:
    st.info(ui.tr("submit.no_contracts"))
else:
    with st.form("submit_form", clear_on_submit=True):
        dataset_id = st.selectbox(ui.tr("submit.dataset"), options=sorted(contracts),
                                  format_func=lambda d: f"{contracts[d].title} ({d})")
        level = st.selectbox(ui.tr("submit.level"), options=list(Level),
                             format_func=lambda lv: ui.tr(f"level.{lv.value}"), index=1,
                             help=ui.tr("submit.level_help"))
        request_id = st.selectbox(ui.tr("submit.request"), options=[None, *requests],
                                  format_func=lambda r: ui.tr("submit.no_request") if r is None
                                  else ui.label_of(viewer, requests[r]))
        # A fix names the returned submission it corrects; accepted, it closes that one.
        to_fix = {s.id: s for s in worklists.submission_page(
            ctx, viewer, SubmissionStatus.RETURNED, needs_fixing=True,
            page_size=worklists.MAX_PAGE_SIZE).items}
        resubmits = st.selectbox(ui.tr("submit.fixes"), options=[None, *to_fix],
                                 format_func=lambda s: ui.tr_plain("submit.fixes_none") if s is None
                                 else f"#{s} · {to_fix[s].dataset_id} · {to_fix[s].original_name}")
        upload = st.file_uploader(ui.tr("submit.file"),
                                  type=[suffix[1:] for suffix in procedure.UPLOAD_SUFFIXES])
        nothing = st.checkbox(ui.tr("submit.nothing"), help=ui.tr("submit.nothing_help"))
        month = st.text_input(ui.tr("submit.nothing_month"), value=ui.this_month(ctx), max_chars=7)
        if st.form_submit_button(ui.tr("submit.send"), type="primary"):
            if upload is None:
                st.error(ui.tr("submit.no_file"))
            else:
                with ui.guarded(), st.spinner(ui.tr("submit.reading")):
                    sent = procedure.submit_data(ctx, viewer, dataset_id=dataset_id, level=level,
                                                 filename=upload.name, content=upload.getvalue(),
                                                 request_id=request_id,
                                                 nothing_to_report=month.strip() if nothing else None,
                                                 resubmits=resubmits)
                    st.success(ui.tr("submit.sent", submission=sent.id, rows=sent.rows))

st.subheader(ui.tr("submit.mine"))
mine = ui.paged(lambda number: worklists.submission_page(ctx, viewer, page=number), "mine_page",
                "worklist.submissions_summary")
fixes = procedure.fixes_of(ctx, [s.id for s in mine.items
                                 if s.status == SubmissionStatus.RETURNED])
for submission in mine.items:
    status = ui.tr(f"submission.{submission.status.value}")
    fix = fixes.get(submission.id)
    fixed = fix is not None and fix.status == SubmissionStatus.VERIFIED
    with st.expander(ui.literal(f"#{submission.id} · {submission.original_name} · {status}"),
                     expanded=submission.status == SubmissionStatus.RETURNED and not fixed):
        st.caption(ui.tr("submit.meta", dataset=submission.dataset_id, rows=submission.rows,
                         at=ui.when(submission.submitted_at)))
        if fix is not None:
            st.info(ui.tr("submit.fixed_by", submission=fix.id,
                          status=ui.tr_plain(f"submission.{fix.status.value}")))
        if submission.status == SubmissionStatus.RETURNED and not fixed:
            st.error(ui.tr("submit.returned_reason", note=submission.decision_note))
            report = procedure.report_for(ctx, viewer, submission)
            if report is not None:
                for issue in report.dataset_issues:  # header, row count, quality rules
                    st.warning(ui.literal(issue.message(ui.lang())))
                st.dataframe(ui.summary_rows(report), hide_index=True, width="stretch")
                for fmt in ("csv", "xlsx"):
                    # Made when the button is pressed, not on every run of this page.
                    st.download_button(ui.tr(f"submit.download_{fmt}"),
                                       data=partial(procedure.failing_rows_file, ctx, viewer,
                                                    submission.id, fmt, ui.lang()),
                                       file_name=f"baris-gagal-{submission.id}.{fmt}",
                                       key=f"dl-{submission.id}-{fmt}")
