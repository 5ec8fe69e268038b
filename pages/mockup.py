"""Step 4: Pusdatin makes the dashboard mock-up on its own branch, with a live preview."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.display.spec import content_problems
from ocenter.errors import Conflict, UserError
from ocenter.models import RequestStatus

ctx, viewer = ui.page("mockup")
request = ui.choose_request(
    ctx, viewer, (RequestStatus.REQUESTED, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED),
    nothing_key="mockup.nothing", choose_key="mockup.choose",
)
if not ui.may_read(viewer, request):
    # The mock-up carries the request's title and purpose: made by an analyst cleared for it.
    st.warning(ui.tr("mockup.withheld", level=ui.tr(f"level.{request.level.value}")))
    st.stop()
ui.show_clock(procedure.request_clock(ctx, request))

if request.status == RequestStatus.REQUESTED:
    st.text(request.purpose)  # what the unit typed: plain text, never Markdown
    if request.no_new_data_reason:
        st.info(ui.tr("mockup.no_new_data_stated", user=request.no_new_data_by,
                      reason=request.no_new_data_reason))
    else:
        # The mock-up waits for the request's data, unless Pusdatin states none is needed.
        with st.expander(ui.tr("mockup.no_new_data")):
            st.caption(ui.tr("mockup.no_new_data_help"))
            reason = st.text_area(ui.tr("mockup.no_new_data_reason"), max_chars=2000,
                                  key=f"no-new-data-{request.id}")
            if st.button(ui.tr("mockup.no_new_data_button"), key=f"no-new-data-go-{request.id}"):
                with ui.guarded():
                    procedure.state_no_new_data(ctx, viewer, request.id, reason)
                    ui.flash(ui.tr("mockup.no_new_data_done", request=request.id))
                    st.rerun()
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
newest = ctx.store.head(branch)
# The page works on the revision the analyst loaded, not on whatever the branch holds now: a
# save names it as the expected head, so a colleague's newer save is never overwritten and the
# text being typed is never swapped for theirs behind the analyst's back.
loaded_key, unsaved_key = f"loaded-{request.id}", f"unsaved-{request.id}"
head = st.session_state.setdefault(loaded_key, newest)
path = f"specs/{request.dashboard_id}.yaml"
saved_text = ctx.store.read_file(head, path) or ""


def reload_newest(keep_text: str | None = None) -> None:
    """Load the branch's newest revision, keeping the analyst's unsaved text aside if any."""
    if keep_text is not None and keep_text != saved_text:
        st.session_state[unsaved_key] = keep_text
    st.session_state.pop(loaded_key, None)
    st.rerun()


if head != newest:
    st.warning(ui.tr("mockup.moved", head=newest[:8]))

# Commits pushed without an identity the store trusts: nobody may approve them until an analyst
# who has read them takes them over (and so cannot approve them).
unattributed = procedure.unattributed_commits(ctx, request.id)
if unattributed and head == newest:
    st.warning(ui.tr("mockup.unattributed", commits=", ".join(c[:8] for c in unattributed)))
    if st.button(ui.tr("mockup.take_over"), key=f"take-over-{request.id}-{head}"):
        with ui.guarded():
            new_head = procedure.take_over_pushed_commits(ctx, viewer, request.id, head)
            ui.flash(ui.tr("mockup.taken_over", head=new_head[:8]))
            reload_newest()

# When main moved since the branch began, its changes come in by a merge the analyst makes here;
# a conflict is shown side by side and resolved by hand, never silently.
try:
    merge = procedure.mockup_merge_preview(ctx, request.id)
except UserError as error:
    ui.show_error(error)
    merge = None
conflicting = merge is not None and not merge.clean
if merge is not None and not merge.up_to_date and merge.clean:
    st.info(ui.tr("history.main_moved_clean", main=merge.main[:8]))
    if st.button(ui.tr("history.update"), key=f"update-{request.id}-{head}"):
        with ui.guarded():
            new_head = procedure.update_mockup_from_main(ctx, viewer, request.id, {}, head, merge.main)
            ui.flash(ui.tr("history.updated", head=new_head[:8]))
            reload_newest()
elif merge is not None and conflicting:
    st.warning(ui.tr("history.conflict_warning", files=", ".join(merge.conflict_paths) or "?"))
    resolved: dict[str, str | None] = {}
    labels = (ui.tr("history.version_base"), ui.tr("history.version_main"),
              ui.tr("history.version_mockup"))
    for conflict in merge.conflicts:
        with st.container(border=True):
            st.markdown(ui.tr("history.conflict_file", path=conflict.path))
            versions = (conflict.base, conflict.main, conflict.mockup)
            for column, label, version in zip(st.columns(3), labels, versions, strict=True):
                with column:
                    st.caption(label)
                    st.code(ui.tr("history.absent") if version is None else version, language="yaml",
                            wrap_lines=True)
            resolution = st.text_area(
                ui.tr("history.resolution", path=conflict.path), value=conflict.mockup or "",
                height=360, help=ui.tr("history.resolution_help"),
                key=f"resolve-{request.id}-{head}-{merge.main}-{conflict.path}",
            )
            # An empty field deletes the file only where one side deleted it already.
            deletable = conflict.main is None or conflict.mockup is None
            resolved[conflict.path] = None if deletable and not resolution.strip() else resolution
    if st.button(ui.tr("history.save_resolution"), type="primary",
                 key=f"resolve-{request.id}-{head}-{merge.main}"):
        with ui.guarded():
            new_head = procedure.update_mockup_from_main(ctx, viewer, request.id, resolved, head,
                                                         merge.main)
            ui.flash(ui.tr("history.resolved", head=new_head[:8]))
            reload_newest()

unsaved_key = f"unsaved-{request.id}"
if st.session_state.get(unsaved_key):
    # Someone else saved first: their revision is now loaded, and the text this analyst typed
    # is kept here to copy back in, never silently dropped and never silently saved over theirs.
    with st.expander(ui.tr("mockup.unsaved"), expanded=True):
        st.warning(ui.tr("mockup.unsaved_help"))
        st.code(st.session_state[unsaved_key], language="yaml")
        if st.button(ui.tr("mockup.unsaved_discard")):
            del st.session_state[unsaved_key]
            st.rerun()

editor, preview = st.columns(2)
with editor:
    st.markdown(ui.tr("mockup.editor", branch=branch, head=head[:8]))
    # The widget key carries the loaded revision, so the text is reloaded only when it changes.
    text = st.text_area("YAML", value=saved_text, height=560, key=f"spec-{request.id}-{head}",
                        label_visibility="collapsed")
    message = st.text_input(ui.tr("mockup.message"), key=f"msg-{request.id}-{head}")
    save, send = st.columns(2)
    if save.button(ui.tr("mockup.save"), type="primary", disabled=text == saved_text):
        try:
            spec = procedure.parse_spec(text)
            procedure.save_mockup(ctx, viewer, request.id, spec, head, message)
        except Conflict as error:
            ui.flash(ui.error_text(error), "error")
            reload_newest(keep_text=text)
        except UserError as error:
            ui.show_error(error)
        else:
            st.session_state.pop(unsaved_key, None)
            ui.flash(ui.tr("mockup.saved"))
            reload_newest()
    if head != newest and st.button(ui.tr("mockup.load_newest")):
        reload_newest(keep_text=text)
    if send.button(ui.tr("mockup.send"), disabled=text != saved_text or conflicting or head != newest):
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
        contracts = procedure.preview_contracts(ctx, head)
        for problem in content_problems(spec, contracts):
            st.error(ui.literal(problem))
        ui.show_dashboard(ctx, spec, contracts, viewer)

with st.expander(ui.tr("history.expander")):
    history = procedure.spec_history(ctx, request.id)
    if not history:
        st.info(ui.tr("history.empty"))
    else:
        st.dataframe(
            [{ui.tr("history.col_commit"): entry.sha[:8], ui.tr("history.col_author"): entry.author_name,
              ui.tr("history.col_time"): ui.when(entry.date), ui.tr("history.col_subject"): entry.subject}
             for entry in history],
            hide_index=True, width="stretch",
        )
        by_sha = {entry.sha: entry for entry in history}
        picked = st.selectbox(
            ui.tr("history.choose"), options=list(by_sha), key=f"history-{request.id}-{head}",
            format_func=lambda sha: f"{sha[:8]} · {by_sha[sha].author_name} · "
            f"{ui.when(by_sha[sha].date)} · {by_sha[sha].subject}",
        )
        # Read as "what restoring would do": from the current head to the picked version.
        changes = ctx.store.diff(head, picked, path)
        if changes:
            st.caption(ui.tr("history.diff_caption", head=head[:8], commit=picked[:8]))
            st.code(changes, language="diff")
        else:
            st.caption(ui.tr("history.current"))
        if st.button(ui.tr("history.restore"), disabled=not changes,
                     key=f"restore-{request.id}-{head}"):
            with ui.guarded():
                new_head = procedure.restore_mockup_version(ctx, viewer, request.id, picked, head)
                ui.flash(ui.tr("history.restored", commit=picked[:8], head=new_head[:8]))
                reload_newest()
