"""Step 4: Pusdatin makes the dashboard mock-up on its own branch, with a live preview."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.errors import UserError
from ocenter.models import RequestStatus
from ocenter.specs import content_problems

ctx, viewer = ui.page("mockup")
open_statuses = (RequestStatus.REQUESTED, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
requests = {r.id: r for r in procedure.list_requests(ctx, viewer) if r.status in open_statuses}
if not requests:
    st.success(ui.tr("mockup.nothing"))
    st.stop()

chosen = st.selectbox(ui.tr("mockup.choose"), options=list(requests),
                      format_func=lambda i: f"#{i} · {requests[i].title} · "
                      f"{ui.tr('status.' + requests[i].status.value)}")
request = requests[chosen]
clock = procedure.request_clock(request)
st.caption(ui.tr("beranda.due", due=clock.due.isoformat() if clock.due else "-",
                 used=clock.used_hk, standard=clock.standard_hk or "-"))

if request.status == RequestStatus.REQUESTED:
    st.write(request.purpose)
    if st.button(ui.tr("mockup.start"), type="primary"):
        with ui.guarded():
            procedure.start_mockup(ctx, viewer, request.id)
            ui.flash(ui.tr("mockup.started", request=request.id))
            st.rerun()
    st.stop()

for comment in procedure.review_comments(ctx, request.id):
    st.warning(ui.tr("mockup.comment", author=comment.author, commit=comment.commit[:8],
                     text=comment.text))

branch = ctx.store.mockup_branch(request.id)
head = ctx.store.head(branch)
path = f"specs/{request.dashboard_id}.yaml"
saved_text = ctx.store.read_file(head, path) or ""
editor, preview = st.columns(2)
with editor:
    st.markdown(ui.tr("mockup.editor", branch=branch, head=head[:8]))
    # The widget key carries the head, so the text is reloaded whenever the branch moves.
    text = st.text_area("YAML", value=saved_text, height=560, key=f"spec-{request.id}-{head}",
                        label_visibility="collapsed")
    message = st.text_input(ui.tr("mockup.message"), key=f"msg-{request.id}-{head}")
    save, send = st.columns(2)
    if save.button(ui.tr("mockup.save"), type="primary", disabled=text == saved_text):
        with ui.guarded():
            spec = procedure.parse_spec(text)
            procedure.save_mockup(ctx, viewer, request.id, spec, head, message)
            ui.flash(ui.tr("mockup.saved"))
            st.rerun()
    if send.button(ui.tr("mockup.send"), disabled=text != saved_text):
        with ui.guarded():
            procedure.send_mockup(ctx, viewer, request.id)
            ui.flash(ui.tr("mockup.sent", request=request.id))
            st.rerun()
with preview:
    st.markdown(ui.tr("mockup.preview"))
    try:
        spec = procedure.parse_spec(text)
    except UserError as error:
        ui.show_error(error)
    else:
        contracts = ctx.store.snapshot(head).contracts
        for problem in content_problems(spec, contracts):
            st.error(problem)
        ui.show_dashboard(ctx, spec, contracts, viewer)
