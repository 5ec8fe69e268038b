"""Step 5: the requesting unit reviews the mock-up and approves it with a merge, or asks for changes."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.errors import UserError
from ocenter.models import RequestStatus

ctx, viewer = ui.page("tinjau-mockup")


def ask_adjustment() -> None:
    """Step 6: while Pusdatin builds one of the unit's approved dashboards, ask to adjust its
    mock-up (it returns to the mock-up; the build's 15 HK start again after the new approval)."""
    from ocenter.procedure.worklists import MAX_PAGE_SIZE, RequestListQuery, request_page

    building = request_page(ctx, viewer, RequestListQuery(
        statuses=(RequestStatus.APPROVED,), own_unit_only=True, page_size=MAX_PAGE_SIZE)).items
    if not building:
        return
    with st.expander(ui.tr("adjust.title")):
        st.caption(ui.tr("adjust.help"))
        by_id = {r.id: r for r in building}
        chosen = st.selectbox(ui.tr("adjust.choose"), options=list(by_id),
                              format_func=lambda i: ui.label_of(viewer, by_id[i]), key="adjust-request")
        comment = st.text_area(ui.tr("adjust.comment"), max_chars=2000, key=f"adjust-{chosen}")
        if st.button(ui.tr("adjust.button"), key=f"adjust-go-{chosen}"):
            with ui.guarded():
                procedure.ask_mockup_adjustment(ctx, viewer, chosen, comment)
                ui.flash(ui.tr("adjust.done", request=chosen))
                st.rerun()


ask_adjustment()
request = ui.choose_request(ctx, viewer, (RequestStatus.IN_REVIEW,), nothing_key="review.nothing",
                            choose_key="review.choose", own_unit_only=True)
branch = ctx.store.mockup_branch(request.id)
# What the reviewer sees is pinned at the commit they opened; the approval names that commit.
pin_key = f"reviewed-{request.id}"
head = ctx.store.head(branch)
reviewed = st.session_state.setdefault(pin_key, head)
if reviewed != head:
    st.warning(ui.tr("review.moved"))
    if st.button(ui.tr("review.reload")):
        st.session_state[pin_key] = head
        st.rerun()
    st.stop()

# A reviewer below the mock-up's level sees none of it, and is told who in their unit may
# review it; the picker above still leads to the unit's other requests.
access = procedure.review_access(ctx, viewer, request.id, reviewed)
if not access.allowed:
    level = ui.tr(f"level.{access.level.value}")
    if access.reviewers:
        st.warning(ui.tr("review.above_clearance", level=level, names=", ".join(access.reviewers)))
    else:
        st.warning(ui.tr("review.above_clearance_nobody", level=level))
    st.stop()

mockup_snapshot = ctx.store.snapshot(reviewed)
spec = mockup_snapshot.specs.get(request.dashboard_id)
problems, other_problems = procedure.review_problems(ctx, request.id)
for problem in problems:
    st.error(ui.literal(problem))
if other_problems:
    st.error(ui.tr("review.other_problems", count=other_problems))
# Approved changes that arrived on main since the mock-up began and clash with it: the analyst
# must resolve them first, so approving now would only fail.
try:
    preview = procedure.mockup_merge_preview(ctx, request.id)
except UserError as error:
    ui.show_error(error)
    preview = None
conflicting = preview is not None and not preview.clean
if conflicting:
    st.warning(ui.tr("history.review_conflict", files=", ".join(preview.conflict_paths) or "?"))
# An approval merges only this request's own spec: anything else the branch changes blocks it.
outside = procedure.mockup_scope(ctx, request.id, reviewed)
if outside:
    st.error(ui.tr("review.outside_scope", allowed=f"specs/{request.dashboard_id}.yaml"))
    # A table, not Markdown: a pushed file may be named anything.
    st.dataframe(
        [{ui.tr("review.col_file"): change.path, ui.tr("review.col_change"): ui.tr(f"change.{change.change}")}
         for change in outside],
        hide_index=True, width="stretch", key="outside-scope",
    )

tab_side, tab_new, tab_main, tab_diff, tab_history = st.tabs(
    [ui.tr("review.tab_side"), ui.tr("review.tab_mockup"), ui.tr("review.tab_main"),
     ui.tr("review.tab_diff"), ui.tr("history.review_tab")]
)
main = ctx.store.snapshot("main")
current = main.specs.get(request.dashboard_id)


def _show_current() -> None:
    if current is None:
        st.info(ui.tr("review.new_dashboard"))
    else:
        ui.show_dashboard(ctx, current, main.contracts, viewer, main.lifecycle_of(current.id))


def _show_mockup() -> None:
    if spec is not None:
        ui.show_dashboard(ctx, spec, procedure.preview_contracts(ctx, mockup_snapshot.commit), viewer)


with tab_side:
    left, right = st.columns(2, border=True)
    with left:
        st.subheader(ui.tr("review.tab_mockup"))
        _show_mockup()
    with right:
        st.subheader(ui.tr("review.tab_main"))
        _show_current()
with tab_new:
    _show_mockup()
with tab_main:
    _show_current()
with tab_diff:
    st.caption(ui.tr("review.diff_caption"))
    with ui.guarded():  # an unreadable spec's raw text may be above the reviewer
        st.code(procedure.mockup_review_diff(ctx, viewer, request.id, reviewed)
                or ui.tr_plain("review.no_diff"), language="diff")
with tab_history:
    st.caption(ui.tr("history.review_caption"))
    st.dataframe(
        [{ui.tr("history.col_commit"): entry.sha[:8], ui.tr("history.col_author"): entry.author_name,
          ui.tr("history.col_time"): ui.when(entry.date), ui.tr("history.col_subject"): entry.subject}
         for entry in procedure.spec_history(ctx, request.id)],
        hide_index=True, width="stretch",
    )

st.caption(ui.tr("review.pinned", commit=reviewed[:8]))
approve_col, changes_col = st.columns(2)
with approve_col:
    blocked = bool(problems) or bool(other_problems) or conflicting or bool(outside)
    if st.button(ui.tr("review.approve"), type="primary", disabled=blocked, key="approve"):
        with ui.guarded():
            merge = procedure.approve_mockup(ctx, viewer, request.id, reviewed)
            st.session_state.pop(pin_key, None)
            ui.flash(ui.tr("review.approved", commit=merge[:8]))
            st.rerun()
with changes_col, st.form("changes"):
    comment = st.text_area(ui.tr("review.comment"))
    if st.form_submit_button(ui.tr("review.ask_changes")):
        with ui.guarded():
            procedure.request_changes(ctx, viewer, request.id, reviewed, comment)
            st.session_state.pop(pin_key, None)
            ui.flash(ui.tr("review.changes_sent"), "info")
            st.rerun()
