"""Step 7: classify the default data each kind of stakeholder sees, by their authority."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import ScopeKind
from ocenter.display.spec import DefaultView, PanelFilter
from ocenter.models import RequestStatus

ctx, viewer = ui.page("klasifikasi")
request = ui.choose_request(ctx, viewer, (RequestStatus.BUILT, RequestStatus.CLASSIFIED),
                            nothing_key="classify.nothing", choose_key="classify.choose")
main = ctx.store.snapshot("main")
spec = main.specs[request.dashboard_id]
lifecycle = main.lifecycle_of(spec.id)
contracts = [main.contracts[d] for d in spec.datasets if d in main.contracts]
choice_fields = {f.name: f for c in contracts for f in c.fields if f.allowed_values}

st.write(ui.tr("classify.explain"))
with st.form("defaults"):
    defaults: list[DefaultView] = []
    for scope in ScopeKind:
        current = lifecycle.default_for(scope)
        st.markdown(f"**{ui.tr('scope.' + scope.value)}**")
        left, right, third = st.columns(3)
        months = left.number_input(ui.tr("classify.months"), min_value=0, max_value=120,
                                   value=(current.months or 0) if current else 0,
                                   key=f"months-{scope.value}")
        field = right.selectbox(ui.tr("classify.field"), options=[None, *choice_fields],
                                key=f"field-{scope.value}",
                                format_func=lambda f: "-" if f is None else f)
        values = third.multiselect(
            ui.tr("classify.values"), key=f"values-{scope.value}",
            options=sorted({v for f in choice_fields.values() for v in f.allowed_values or []}),
        )
        filters = [PanelFilter(field=field, op="in", value=values)] if field and values else []
        if months or filters:
            defaults.append(DefaultView(scope=scope, months=months or None, filters=filters))
    if st.form_submit_button(ui.tr("classify.save"), type="primary"):
        with ui.guarded():
            commit = procedure.classify_defaults(ctx, viewer, request.id, defaults)
            ui.flash(ui.tr("classify.done", commit=commit[:8]))
            st.rerun()
if lifecycle.defaults:
    st.subheader(ui.tr("classify.current"))
    st.json([d.model_dump(mode="json") for d in lifecycle.defaults])
