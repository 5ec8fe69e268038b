"""Beranda: where every dashboard request stands in the procedure, against its time standard."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import SubmissionStatus
from ocenter.procedure import overview

ctx, viewer = ui.page("beranda")
st.write(ui.tr("beranda.intro"))

requests = procedure.list_requests(ctx, viewer)
if not requests:
    st.info(ui.tr("beranda.no_requests"))
counts = overview.step_counts(requests, ctx.clock.today(), ui.lang())
if counts:
    st.subheader(ui.tr("overview.title"))
    st.altair_chart(overview.step_chart(counts, ui.lang()), width="stretch")
for request in requests:
    clock = procedure.request_clock(ctx, request)
    step = procedure.STATUS_STEP[request.status]
    done = request.status.value == "received"
    with st.container(border=True):
        left, right = st.columns([3, 2])
        # The title is what the unit typed, and withheld below the request's level.
        left.markdown(f"**{ui.literal(ui.label_of(viewer, request))}**  \n"
                      f"{ui.literal(request.requesting_unit)}")
        left.progress(1.0 if done else (step - 1) / 10,
                      text=ui.tr(f"status.{request.status.value}"))
        if clock.due is not None and not done:
            text = ui.tr("beranda.due", due=clock.due.isoformat(), used=clock.used_hk,
                         standard=clock.standard_hk)
            (right.error if clock.overdue else right.success)(text)
        else:
            right.caption(ui.tr("beranda.no_standard"))

if viewer.role.value in ("unit", "upt", "mitra"):
    st.subheader(ui.tr("beranda.my_submissions"))
    returned = procedure.list_submissions(ctx, viewer, SubmissionStatus.RETURNED)
    if returned:
        st.warning(ui.tr("beranda.returned_count", count=len(returned)))
    st.page_link("pages/kirim_data.py", label=ui.tr("page.kirim_data"), icon=":material/upload:")
