"""Altair charts of Pusdatin's performance (``performance``), from aggregates only.

Each chart carries a few inline rows (one per step, or per month and step), never the completed
steps themselves, so what reaches the browser is what the chart shows.
"""

from __future__ import annotations

from statistics import median

import altair as alt

from ocenter.display.labels import chart_locale
from ocenter.i18n import t
from ocenter.procedure.performance import CompletedStep, GroupFigures

#: The SOP asks every step to keep to its standard: the on-time target is all of them.
ON_TIME_TARGET = 1.0
_ON_TIME_COLOUR, _TARGET_COLOUR = "#0b5394", "#cc0000"


def on_time_chart(per_step: list[GroupFigures], lang: str) -> alt.LayerChart:
    """Bars of the on-time rate of each step, with the target as a rule."""
    step_word = t("performance.col_step", lang)
    rows = [{"step": f"{step_word} {g.group}", "order": int(g.group), "rate": g.on_time_rate,
             "completed": g.completed, "target": ON_TIME_TARGET} for g in per_step]
    base = alt.Chart(alt.InlineData(values=rows))
    bars = base.mark_bar(color=_ON_TIME_COLOUR).encode(
        x=alt.X("step:N", sort=alt.EncodingSortField("order"), title=None),
        y=alt.Y("rate:Q", title=t("performance.col_rate", lang),
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("step:N", title=step_word),
                 alt.Tooltip("rate:Q", format=".0%", title=t("performance.col_rate", lang)),
                 alt.Tooltip("completed:Q", title=t("performance.col_completed", lang))],
    )
    target = base.mark_rule(color=_TARGET_COLOUR, strokeDash=[6, 3]).encode(
        y="target:Q", tooltip=[alt.Tooltip("target:Q", format=".0%",
                                           title=t("performance.col_target", lang))])
    return (bars + target).properties(height=300).configure(locale=chart_locale(lang))


def month_rows(steps: list[CompletedStep], lang: str) -> list[dict]:
    """One row per month and step: the median working days of the steps that ended then."""
    groups: dict[tuple[str, int], list[int]] = {}
    for step in steps:
        groups.setdefault((step.month, step.step), []).append(step.working_days)
    step_word = t("performance.col_step", lang)
    return [{"month": f"{month}-01", "step": f"{step_word} {number}", "order": number,
             "median": float(median(days)), "completed": len(days)}
            for (month, number), days in sorted(groups.items())]


def month_chart(steps: list[CompletedStep], lang: str) -> alt.Chart:
    """A line per step of its median working days per month (of the steps' end)."""
    month_word = t("performance.col_month", lang)
    return (
        alt.Chart(alt.InlineData(values=month_rows(steps, lang)))
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", timeUnit="yearmonth", title=month_word,
                    axis=alt.Axis(format="%b %Y", tickCount="month")),
            y=alt.Y("median:Q", title=t("performance.col_median", lang)),
            color=alt.Color("step:N", title=t("performance.col_step", lang),
                            sort=alt.EncodingSortField("order")),
            tooltip=[alt.Tooltip("month:T", timeUnit="yearmonth", format="%B %Y",
                                 title=month_word),
                     alt.Tooltip("step:N", title=t("performance.col_step", lang)),
                     alt.Tooltip("median:Q", title=t("performance.col_median", lang)),
                     alt.Tooltip("completed:Q", title=t("performance.col_completed", lang))],
        )
        .properties(height=300)
        .configure(locale=chart_locale(lang))
    )
