"""Beranda: what waits on the viewer (the inbox), and where every dashboard request stands in the
procedure, against its time standard."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import SubmissionStatus
from ocenter.navigation import PAGES, may_open
from ocenter.procedure import inbox, overview, worklists
from ocenter.procedure import reminders as procedure_reminders

ctx, viewer = ui.page("beranda")
st.write(ui.tr("beranda.intro"))

# The inbox first: what waits on this person now, overdue first.
st.subheader(ui.tr("todo.title"))
paths = {page.key: page.path for page in PAGES}
items = inbox.inbox_of(ctx, viewer, ui.lang())
if not items:
    st.caption(ui.tr("todo.empty"))
for number, item in enumerate(items):
    with st.container(border=True, key=f"inbox_item_{number}"):
        left, right = st.columns([3, 1])
        left.markdown(ui.literal(item.text))  # holds a title the unit typed
        due = item.due.isoformat() if item.due else ""
        if item.days_left is None:
            left.caption(ui.tr("todo.no_due"))
        elif item.days_left < 0:
            left.error(ui.tr("todo.overdue", days=-item.days_left, due=due))
        elif item.days_left == 0:
            left.warning(ui.tr("todo.due_today", due=due))
        else:
            left.caption(ui.tr("todo.due_in", days=item.days_left, due=due))
        if may_open(viewer.role, item.page):
            right.page_link(paths[item.page], label=ui.tr("todo.open_page"))
notes = inbox.notifications_of(ctx, viewer, limit=10)
if notes:
    with st.expander(ui.tr("todo.notifications"), expanded=False):
        for note in notes:
            st.markdown(ui.literal(procedure_reminders.notification_text(note, ui.lang())[0]))
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
