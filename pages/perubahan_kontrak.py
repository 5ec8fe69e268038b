"""Data contract changes: Pusdatin proposes; the dataset's owner unit and Pusdatin each approve."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.contracts.changes import WHOLE_FIELD
from ocenter.contracts.model import contract_to_yaml
from ocenter.models import ContractChangeStatus

ctx, viewer = ui.page("perubahan-kontrak")
st.caption(ui.tr("contract_page.explain"))

if viewer.role in procedure.PUSDATIN_ROLES:
    contracts = ctx.store.snapshot("main").contracts
    with st.expander(ui.tr("contract_page.propose"), expanded=False):
        dataset = st.selectbox(ui.tr("contract_page.dataset"), options=list(contracts),
                               key="propose-dataset")
        if dataset is not None:
            with st.form("propose"):
                text = st.text_area(ui.tr("contract_page.yaml"), height=420, key=f"yaml-{dataset}",
                                    value=contract_to_yaml(contracts[dataset]))
                reason = st.text_area(ui.tr("contract_page.reason"), key="propose-reason")
                if st.form_submit_button(ui.tr("contract_page.submit"), type="primary"):
                    with ui.guarded():
                        change = procedure.propose_contract_change(ctx, viewer, dataset, text, reason)
                        ui.flash(ui.tr("contract_page.proposed", change=change.id, dataset=dataset))
                        st.rerun()

changes = {c.id: c for c in procedure.list_contract_changes(ctx, viewer)}
if not changes:
    st.info(ui.tr("contract_page.none"))
    st.stop()
chosen = st.selectbox(
    ui.tr("contract_page.choose"), options=list(changes), key="change",
    format_func=lambda i: f"#{i} · {changes[i].dataset_id} · "
    + ui.tr(f"contract_page.status.{changes[i].status.value}"),
)
review = procedure.review_contract_change(ctx, viewer, chosen)
change = review.change

st.text(ui.tr_plain("contract_page.proposed_by", who=change.proposed_by, at=ui.when(change.proposed_at),
              branch=review.branch))
st.text(change.reason)  # the proposer's own words: plain text, never Markdown
st.dataframe(
    [{ui.tr("contract_page.col_side"): ui.tr(f"contract_page.side.{side}"),
      ui.tr("contract_page.col_approver"): who or "-",
      ui.tr("contract_page.col_time"): ui.when(at) if at else "-"}
     for side, who, at in (("owner", change.owner_approved_by, change.owner_approved_at),
                           ("pusdatin", change.pusdatin_approved_by, change.pusdatin_approved_at))],
    hide_index=True, width="stretch",
)
if change.lowers_level:
    st.warning(ui.tr("contract_page.lowers"))


def _value(attribute: str, text: str | None) -> str:
    if text is None:
        return "-"
    return ui.tr(f"level.{text}") if attribute == "level" else text


st.subheader(ui.tr("contract_page.differences"))
st.dataframe(
    [{ui.tr("contract_page.col_subject"): d.subject or ui.tr("contract_page.whole_dataset"),
      ui.tr("contract_page.col_attribute"): ui.tr("contract_page.whole_field")
      if d.attribute == WHOLE_FIELD else d.attribute,
      ui.tr("contract_page.col_before"): _value(d.attribute, d.before),
      ui.tr("contract_page.col_after"): _value(d.attribute, d.after),
      ui.tr("contract_page.col_lowers"): ui.tr("contract_page.lowered") if d.lowers_level else ""}
     for d in review.differences],
    hide_index=True, width="stretch",
)
with st.expander(ui.tr("contract_page.yaml_diff")):
    st.code(review.diff or ui.tr_plain("review.no_diff"), language="diff")

if change.status == ContractChangeStatus.MERGED:
    st.success(ui.tr("contract_page.merged", commit=(change.merge_commit or "")[:8]))
    st.stop()
st.caption(ui.tr("contract_page.pinned", commit=change.head_commit[:8]))
if st.button(ui.tr("contract_page.approve"), type="primary", key="approve"):
    with ui.guarded():
        done = procedure.approve_contract_change(ctx, viewer, change.id, change.head_commit)
        merged = done.status == ContractChangeStatus.MERGED
        ui.flash(ui.tr("contract_page.merged" if merged else "contract_page.approved",
                       commit=(done.merge_commit or "")[:8]))
        st.rerun()
