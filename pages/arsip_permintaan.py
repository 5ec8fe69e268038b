"""The record of a request (the SOP's records): its history as the viewer may read it, and its
archive to download, for Pusdatin and the requesting unit."""

import streamlit as st

from ocenter import records, ui
from ocenter.events import action_text, outcome_text

ctx, viewer = ui.page("arsip-permintaan")
st.caption(ui.tr("record.intro"))
listed = ui.request_list(ctx, viewer, "record", step_filter=True)
if not listed.items:
    st.info(ui.tr("record.nothing"))
    st.stop()
by_id = {r.id: r for r in listed.items}
chosen = st.selectbox(  # a select box's options are plain text: the label is not escaped
    ui.tr("record.choose"), options=list(by_id), key="record_request",
    format_func=lambda i: f"{ui.label_of(viewer, by_id[i])} · "
    f"{ui.tr_plain('status.' + by_id[i].status.value)}",
)
with ui.guarded():
    history = records.request_history(ctx, viewer, chosen)
    st.subheader(ui.tr("record.history"))
    withheld = ui.tr_plain("log.withheld")
    if not history:
        st.info(ui.tr("record.history_empty"))
    else:
        st.dataframe([
            {ui.tr("col.time"): ui.when(e.at), ui.tr("col.step"): e.step,
             ui.tr("col.action"): action_text(e.action, ui.lang()),
             ui.tr("col.outcome"): outcome_text(e.outcome, ui.lang()), ui.tr("col.actor"): e.actor,
             ui.tr("col.detail"): e.detail if readable else withheld}
            for e, readable in history
        ], hide_index=True, width="stretch")
    # One prepared record per session, made on a click (it reads every file and checks the whole
    # log) and kept for the download button, only while the request and the viewer's authority
    # (re-read every run) are those it was made for.
    if st.button(ui.tr("record.prepare"), key=f"record_prepare_{chosen}"):
        st.session_state["record_zip"] = (chosen, viewer, records.export_request_record(ctx, viewer, chosen))
    prepared_for, made_as, data = st.session_state.get("record_zip", (None, None, b""))
    if (prepared_for, made_as) == (chosen, viewer):
        manifest = records.read_manifest(data)
        verified = manifest["event_chain"]["verified"]
        (st.success if verified else st.warning)(ui.tr(
            "record.ready", request=chosen, size=len(data), files=len(manifest["files"]) + 2,
            chain=ui.tr_plain("record.chain_verified" if verified else "record.chain_not_verified")))
        st.download_button(ui.tr("record.download"), data=data, type="primary", on_click="ignore",
                           file_name=f"arsip-permintaan-{chosen}.zip", mime="application/zip",
                           key=f"record_download_{chosen}")
