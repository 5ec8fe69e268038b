"""Beranda: where every dashboard request stands in the procedure, against its time standard."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import SubmissionStatus
from ocenter.procedure import overview, worklists

ctx, viewer = ui.page("beranda")
st.write(ui.tr("beranda.intro"))
# Pusdatin counts the due days: a year without cuti bersama entered counts them too early.
missing = procedure.years_without_cuti_bersama(ctx, viewer)
if missing:
    st.warning(ui.tr("calendar.missing_cuti_bersama", years=", ".join(str(year) for year in missing)))

counts = overview.step_rows(worklists.open_step_counts(ctx, viewer, ctx.clock.today()), ui.lang())
if counts:
    st.subheader(ui.tr("overview.title"))
    st.altair_chart(overview.step_chart(counts, ui.lang()), width="stretch")
page = ui.request_list(ctx, viewer, "beranda", step_filter=True)
if not page.total:
    filtered = st.session_state.get("beranda_search") or st.session_state.get("beranda_steps")
    st.info(ui.tr("worklist.none_match" if filtered else "beranda.no_requests"))
clocks = procedure.request_clocks(ctx, page.items)
for request in page.items:
    clock = clocks[request.id]
    step = procedure.STATUS_STEP[request.status]
    done = request.status.value == "received"
    with st.container(border=True):
        left, right = st.columns([3, 2])
        # The title is what the unit typed, and withheld below the request's level.
        left.markdown(f"**{ui.literal(ui.label_of(viewer, request))}**  \n"
                      f"{ui.literal(request.requesting_unit)}")
        left.progress(1.0 if done else (step - 1) / 10,
                      text=ui.tr(f"status.{request.status.value}"))
        if done:
            right.caption(ui.tr("beranda.no_standard"))
        else:
            ui.show_clock(clock, right)

if viewer.role.value in ("unit", "upt", "mitra"):
    st.subheader(ui.tr("beranda.my_submissions"))
    # A returned submission whose fix was accepted is closed: only those still to fix count.
    returned = worklists.submission_page(ctx, viewer, SubmissionStatus.RETURNED, page_size=1,
                                         needs_fixing=True).total
    if returned:
        st.warning(ui.tr("beranda.returned_count", count=returned))
    st.page_link("pages/kirim_data.py", label=ui.tr("page.kirim_data"), icon=":material/upload:")
