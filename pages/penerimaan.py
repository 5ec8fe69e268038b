"""Step 10: the requesting unit receives the evaluated dashboard and Pusdatin's letter."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import RequestStatus
from ocenter.procedure import worklists

ctx, viewer = ui.page("penerimaan")
mine = ui.request_list(ctx, viewer, "receipt", own_unit_only=True,
                       statuses=(RequestStatus.EVALUATED, RequestStatus.RECEIVED))
if not mine.total:
    st.info(ui.tr("receipt.nothing"))
letters = worklists.newest_letters(ctx, [r.id for r in mine.items])
for request in mine.items:
    evaluation = letters.get(request.id)
    if evaluation is None:
        continue
    with st.container(border=True):
        st.markdown(f"**{ui.literal(ui.label_of(viewer, request))}** — "
                    f"{ui.literal(evaluation.letter_number)}")
        if not ui.may_read(viewer, request):  # the letter names the request
            st.info(ui.tr("request.purpose_withheld"))
            continue
        ui.letter_download(ctx, viewer, request.id, key=f"letter-{request.id}")
        with st.expander(ui.tr("letter.text")):
            st.text(evaluation.letter_text)
        if evaluation.acknowledged_at:
            st.success(ui.tr("receipt.done", who=evaluation.acknowledged_by,
                             at=ui.when(evaluation.acknowledged_at)))
            continue
        note = st.text_input(ui.tr("receipt.note"), key=f"note-{request.id}")
        if st.button(ui.tr("receipt.confirm"), key=f"ack-{request.id}", type="primary"):
            with ui.guarded():
                procedure.acknowledge_letter(ctx, viewer, request.id, note)
                ui.flash(ui.tr("receipt.thanks"))
                st.rerun()
