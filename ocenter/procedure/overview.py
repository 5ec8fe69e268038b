"""The picture on Beranda: how many requests stand at each SOP step, on time or late."""

from __future__ import annotations

from datetime import date

import altair as alt

from ocenter.i18n import t
from ocenter.models import DashboardRequest, RequestStatus
from ocenter.procedure.common import STATUS_STEP
from ocenter.procedure.workdays import WorkCalendar, step_clock


def step_counts(
    requests: list[DashboardRequest], today: date, lang: str, calendar: WorkCalendar | None = None
) -> list[dict]:
    """One row per (step, on time / late) with the number of open requests there, counted on
    ``calendar`` (``workdays`` says which one None is) from each request's status and current
    step's start: the count for requests without a kept clock. Beranda reads the kept clocks
    (``worklists.open_step_counts``, which falls back to this reckoning)."""
    counts: dict[tuple[int, bool], int] = {}
    for request in requests:
        if request.status == RequestStatus.RECEIVED:
            continue
        step = STATUS_STEP[request.status]
        late = step_clock(step, request.step_started_at, today, calendar).overdue
        counts[(step, late)] = counts.get((step, late), 0) + 1
    return step_rows(counts, lang)


def step_rows(counts: dict[tuple[int, bool], int], lang: str) -> list[dict]:
    """The chart's rows of ``{(step, late): count}`` (``worklists.open_step_counts``)."""
    return [
        {
            "tahap": t("ui.step_prefix", lang, step=step).rstrip(":"),
            "urutan": step,
            "keadaan": t("overview.late" if late else "overview.on_time", lang),
            "jumlah": number,
        }
        for (step, late), number in sorted(counts.items())
    ]


def step_chart(rows: list[dict], lang: str) -> alt.Chart:
    """Horizontal bars of requests per step, late ones in red; at most ten rows of data."""
    on_time, late = t("overview.on_time", lang), t("overview.late", lang)
    return (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("tahap:N", sort=alt.EncodingSortField("urutan"), title=None),
            x=alt.X("jumlah:Q", title=t("overview.requests", lang), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("keadaan:N", title=None,
                            scale=alt.Scale(domain=[on_time, late], range=["#0b5394", "#cc0000"])),
            tooltip=[alt.Tooltip("tahap:N"), alt.Tooltip("keadaan:N"), alt.Tooltip("jumlah:Q")],
        )
        .properties(height=60 + 44 * len({r["urutan"] for r in rows}))
    )
