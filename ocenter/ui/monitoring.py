"""Step 9's monitoring of one dashboard on the evaluation page: views per day stacked by tier,
who of its audience has never opened it, data freshness, failed tiles."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ocenter.accounts.authority import Authority
from ocenter.context import AppContext
from ocenter.procedure.monitoring import dashboard_monitoring
from ocenter.ui.text import guarded, tr, tr_plain, when


def show_monitoring(ctx: AppContext, viewer: Authority, request_id: int) -> None:
    """The monitoring of request ``request_id``'s dashboard, over the last 30 days."""
    with guarded():
        found = dashboard_monitoring(ctx, viewer, request_id)
        st.subheader(tr("monitoring.title"))
        st.caption(
            tr("monitoring.period", first=found.first_day.isoformat(), last=found.last_day.isoformat())
        )

        st.markdown(f"**{tr('monitoring.views')}**", help=tr_plain("monitoring.views_help"))
        if found.views:
            frame = pd.DataFrame(
                [
                    {"day": v.day.isoformat(), "tier": tr_plain(f"tier.{v.tier}"), "views": v.views}
                    for v in found.views
                ]
            )
            chart = (
                alt.Chart(frame)
                .mark_bar()
                .encode(
                    x=alt.X("day:T", title=tr_plain("monitoring.day")),
                    y=alt.Y("sum(views):Q", title=tr_plain("monitoring.count")),
                    color=alt.Color("tier:N", title=tr_plain("monitoring.tier")),
                    tooltip=[
                        alt.Tooltip("day:T", title=tr_plain("monitoring.day")),
                        alt.Tooltip("tier:N", title=tr_plain("monitoring.tier")),
                        alt.Tooltip("views:Q", title=tr_plain("monitoring.count")),
                    ],
                )
                .properties(height=220)
            )
            st.altair_chart(chart, width="stretch")
        else:
            st.info(tr("monitoring.no_views"))

        st.markdown(
            f"**{tr('monitoring.never_opened', missing=len(found.never_opened), audience=found.audience)}**"
        )
        if found.never_opened:
            st.dataframe(
                [
                    {
                        tr_plain("monitoring.name"): m.name,
                        tr_plain("monitoring.tier"): tr_plain(f"tier.{m.tier}"),
                    }
                    for m in found.never_opened
                ],
                hide_index=True,
                width="stretch",
            )
        elif found.audience:
            st.caption(tr("monitoring.everyone_opened"))

        st.markdown(f"**{tr('monitoring.freshness')}**")
        st.dataframe(
            [
                {
                    tr_plain("monitoring.dataset"): f.dataset_id,
                    tr_plain("monitoring.status"): tr_plain(f"monitoring.status.{f.status.value}"),
                    tr_plain("monitoring.cadence"): f.cadence_days,
                    tr_plain("monitoring.accepted"): when(f.accepted_at) if f.accepted_at else "-",
                    tr_plain("monitoring.age"): f.age_days,
                    tr_plain("monitoring.due"): f.due_on.isoformat() if f.due_on else "-",
                    tr_plain("monitoring.newest_period"): f.newest_period or "-",
                }
                for f in found.freshness
            ],
            hide_index=True,
            width="stretch",
        )

        st.markdown(f"**{tr('monitoring.failed_tiles')}**")
        if found.failed_tiles:
            st.dataframe(
                [
                    {
                        tr_plain("monitoring.day"): f.day.isoformat(),
                        tr_plain("monitoring.panel"): f.panel_id,
                        tr_plain("monitoring.dataset"): f.dataset_id,
                        tr_plain("monitoring.kind"): tr_plain(f"monitoring.kind.{f.kind.value}"),
                        tr_plain("monitoring.failures"): f.failures,
                    }
                    for f in found.failed_tiles
                ],
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption(tr("monitoring.no_failures"))
