"""Step 9: Pusdatin monitors and evaluates the dashboard and writes the letter to the unit."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.events import action_text
from ocenter.models import RequestStatus
from ocenter.procedure import worklists
from ocenter.ui.monitoring import show_monitoring

ctx, viewer = ui.page("evaluasi")
waiting = worklists.request_page(ctx, viewer, worklists.RequestListQuery(
    statuses=(RequestStatus.DISPLAYED,), page_size=worklists.MAX_PAGE_SIZE))
if not waiting.total:
    st.success(ui.tr("evaluate.nothing"))
else:
    if waiting.total > worklists.MAX_PAGE_SIZE:  # searched and paged, like every long list
        waiting = ui.request_list(ctx, viewer, "evaluate", statuses=(RequestStatus.DISPLAYED,),
                                  page_size=worklists.MAX_PAGE_SIZE)
    requests = {r.id: r for r in waiting.items}
    chosen = st.selectbox(ui.tr("evaluate.choose"), options=list(requests),  # plain text
                          format_func=lambda i: ui.label_of(viewer, requests[i]))
    if chosen is not None:
        request = requests[chosen]
        st.dataframe(
            [{ui.tr("col.time"): ui.when(e.at), ui.tr("col.actor"): e.actor,
              ui.tr("col.step"): e.step,
              ui.tr("col.action"): action_text(e.action, ui.lang())}
             for e in procedure.events(ctx, request.id)],
            hide_index=True, width="stretch",
        )
        notes_column, monitoring_column = st.columns(2)
        with notes_column, st.form("evaluation"):
            notes = st.text_area(ui.tr("evaluate.notes"), height=200)
            if st.form_submit_button(ui.tr("evaluate.send"), type="primary"):
                with ui.guarded():
                    evaluation = procedure.evaluate_dashboard(ctx, viewer, request.id, notes)
                    ui.flash(ui.tr("evaluate.done", number=evaluation.letter_number))
                    st.rerun()
        with monitoring_column:  # what step 9 monitors, beside the notes
            show_monitoring(ctx, viewer, request.id)

st.subheader(ui.tr("evaluate.letters"))
letters = ui.paged(lambda number: worklists.letter_page(ctx, viewer, page=number), "letters_page",
                   "worklist.letters_summary")
for evaluation, request in letters.items:
    with st.expander(ui.literal(f"{evaluation.letter_number} · {ui.label_of(viewer, request)}")):
        if not ui.may_read(viewer, request):  # the letter names the request
            st.info(ui.tr("request.purpose_withheld"))
            continue
        ui.letter_download(ctx, viewer, request.id, key=f"letter-{evaluation.id}")
        st.text(evaluation.letter_text)
