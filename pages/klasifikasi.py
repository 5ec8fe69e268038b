"""Step 7: classify the default data each tier of stakeholders sees, by their authority."""

import hashlib

import streamlit as st

from ocenter import procedure, ui
from ocenter.accounts.levels import Tier
from ocenter.models import RequestStatus

ctx, viewer = ui.page("klasifikasi")
request = ui.choose_request(ctx, viewer, (RequestStatus.BUILT, RequestStatus.CLASSIFIED),
                            nothing_key="classify.nothing", choose_key="classify.choose")
main = ctx.store.snapshot("main")
spec = main.specs[request.dashboard_id]
lifecycle = main.lifecycle_of(spec.id)
saved = lifecycle.defaults_by_tier()
choices = procedure.filter_choices(spec, main.contracts, ui.lang())
# Widgets are keyed by what is saved: the form starts again from the record whenever it changes.
version = hashlib.sha256(lifecycle.model_dump_json().encode()).hexdigest()[:10]
prefix = f"step7-{request.id}-{version}"

st.write(ui.tr("classify.explain"))
tiers = st.multiselect(ui.tr("classify.tiers"), help=ui.tr("classify.tiers_help"),
                       options=list(Tier), key=f"{prefix}-tiers",
                       default=procedure.classification_tiers(request, spec, lifecycle),
                       format_func=lambda tier: ui.tr(f"tier.{tier.value}"))
with st.form(f"defaults-{prefix}"):
    defaults = []
    for tier in tiers:
        months, shown, kept = procedure.default_form(saved.get(tier), choices)
        with st.container(border=True):
            st.markdown(f"**{ui.tr(f'tier.{tier.value}')}**")
            st.caption(ui.tr("classify.ceiling", level=ui.tr(f"level.{tier.ceiling.value}")))
            months = st.number_input(ui.tr("classify.months"), min_value=0, max_value=120,
                                     value=months, key=f"{prefix}-months-{tier.value}")
            chosen = {}
            for choice in choices:
                if not tier.ceiling.allows(choice.level) and choice.field not in shown:
                    continue  # the form offers no filter step 7 would refuse
                options = [*choice.options, *(v for v in shown.get(choice.field, [])
                                              if v not in choice.options)]
                chosen[choice.field] = st.multiselect(
                    ui.tr("classify.filter_on", field=choice.label), options=options,
                    default=shown.get(choice.field, []), key=f"{prefix}-filter-{tier.value}-{choice.field}",
                    format_func=lambda value, names=choice.options: names.get(value, value))
            if kept:
                st.text(ui.tr("classify.kept_filters", filters="; ".join(
                    f"{flt.field} {flt.op} {flt.value}" for flt in kept)))
        view = procedure.default_from_form(tier, months, chosen, saved.get(tier), choices)
        if view is not None:
            defaults.append(view)
    if st.form_submit_button(ui.tr("classify.save"), type="primary"):
        with ui.guarded():
            commit = procedure.classify_defaults(ctx, viewer, request.id, defaults)
            ui.flash(ui.tr("classify.done", commit=commit[:8]))
            st.rerun()
if lifecycle.defaults:
    st.subheader(ui.tr("classify.current"))
    st.json([d.model_dump(mode="json", exclude_none=True) for d in lifecycle.defaults])
