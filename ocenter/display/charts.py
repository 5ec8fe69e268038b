"""Altair charts of aggregated panels, built from inline values only (bars, lines, heatmaps, the map)."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import VALUE_COLUMN, PanelData
from ocenter.display.filtering import _DATE_TYPES
from ocenter.display.labels import display_values, field_title, value_title
from ocenter.display.spec import Aggregation, Panel, PanelKind
from ocenter.reference import reference_rows

_CHART_HEIGHT = 320


# --- charts -------------------------------------------------------------------------------------


def panel_chart(
    panel: Panel, data: PanelData, contract: DataContract, lang: str
) -> alt.TopLevelMixin | None:
    """The Vega-Lite chart of one panel, or None for KPI, table, restricted and empty panels.

    The chart carries its data as inline values built from the aggregate only (never a URL, never
    a DataFrame that a global Altair data transformer could write out elsewhere); its columns are
    ``label`` (category text), ``series``, ``value`` and, for a map, ``lat``/``lon``.
    """
    if panel.kind in (PanelKind.KPI, PanelKind.TABLE) or data.restricted or data.frame.empty:
        return None
    if data.missing_fields or panel.dimension not in data.frame.columns:
        return None
    frame = data.frame
    category = panel.dimension
    series = panel.series if panel.series in frame.columns else None
    is_time = contract.field(category).type in _DATE_TYPES
    chart_rows = pd.DataFrame(
        {
            "label": display_values(frame[category], contract, category, lang),
            "value": frame[VALUE_COLUMN].astype("float64"),
        }
    )
    if is_time:
        chart_rows["month"] = [v.strftime("%Y-%m-%d") for v in frame[category]]
    if series:
        chart_rows["series"] = display_values(frame[series], contract, series, lang)
    if panel.kind == PanelKind.MAP:
        return _map_chart(frame[category], chart_rows, panel, contract, lang)

    order = list(dict.fromkeys(chart_rows["label"]))
    x_title = field_title(contract, category, lang)
    y_title = value_title(panel, contract, lang)
    value_format = ",.2f" if panel.aggregate == Aggregation.MEAN else ",.0f"
    tooltip = [alt.Tooltip("label:N", title=x_title)]
    if series:
        tooltip.append(alt.Tooltip("series:N", title=field_title(contract, series, lang)))
    tooltip.append(alt.Tooltip("value:Q", title=y_title, format=value_format))
    color = (
        alt.Color("series:N", title=field_title(contract, series, lang))
        if series
        else alt.Undefined
    )
    base = alt.Chart(_inline(chart_rows))

    if panel.kind == PanelKind.PIE:
        chart = base.mark_arc().encode(
            theta=alt.Theta("value:Q", stack=True, title=y_title),
            color=alt.Color("label:N", sort=order, title=x_title),
            order=alt.Order("value:Q", sort="descending"),
            tooltip=tooltip,
        )
    elif panel.kind == PanelKind.HEATMAP:
        series_title = field_title(contract, panel.series, lang) if panel.series else ""
        chart = base.mark_rect().encode(
            x=alt.X("label:O", sort=order, title=x_title),
            y=alt.Y("series:N", title=series_title),
            color=alt.Color("value:Q", title=y_title, scale=alt.Scale(scheme="orangered")),
            tooltip=tooltip,
        )
    elif panel.kind == PanelKind.BAR and not is_time:
        # Horizontal bars: category names stay readable on a wall screen.
        chart = base.mark_bar().encode(
            y=alt.Y("label:N", sort=order, title=x_title),
            x=alt.X("value:Q", title=y_title),
            color=color,
            tooltip=tooltip,
        )
    else:
        if is_time and panel.kind != PanelKind.BAR:
            # Month starts are UTC dates; a UTC scale keeps them in their month in any timezone.
            x = alt.X(
                "month:T",
                title=x_title,
                axis=alt.Axis(format="%Y-%m"),
                scale=alt.Scale(type="utc"),
            )
        else:
            x = alt.X("label:O" if is_time else "label:N", sort=order, title=x_title)
        marks = {
            PanelKind.BAR: base.mark_bar(),
            PanelKind.LINE: base.mark_line(point=True),
            PanelKind.AREA: base.mark_area(opacity=0.7),
            PanelKind.POINT: base.mark_circle(size=80),
        }
        chart = marks[panel.kind].encode(
            x=x, y=alt.Y("value:Q", title=y_title), color=color, tooltip=tooltip
        )
    return chart.properties(height=_CHART_HEIGHT)


def _map_chart(
    codes: pd.Series, chart_rows: pd.DataFrame, panel: Panel, contract: DataContract, lang: str
) -> alt.TopLevelMixin | None:
    """Bubbles at province centroids (a UPT is drawn at its province), over grey dots marking
    every province so the shape of Indonesia shows without any external map file."""
    provinces = {row["code"]: row for row in reference_rows("provinsi")}
    field = contract.field(panel.dimension)
    if field.reference == "upt":
        upt_province = {row["code"]: row["province_code"] for row in reference_rows("upt")}
        province_codes = [upt_province.get(str(c), "") for c in codes]
    else:
        province_codes = [str(c) for c in codes]
    chart_rows = chart_rows.assign(
        lat=[float(provinces[c]["lat"]) if c in provinces else None for c in province_codes],
        lon=[float(provinces[c]["lon"]) if c in provinces else None for c in province_codes],
    ).dropna(subset=["lat", "lon"])
    if chart_rows.empty:
        return None
    outline = pd.DataFrame(
        {
            "lat": [float(p["lat"]) for p in provinces.values()],
            "lon": [float(p["lon"]) for p in provinces.values()],
        }
    )
    x_title = field_title(contract, panel.dimension, lang)
    y_title = value_title(panel, contract, lang)
    value_format = ",.2f" if panel.aggregate == Aggregation.MEAN else ",.0f"
    dots = (
        alt.Chart(_inline(outline))
        .mark_circle(size=25, color="#c8c8c8")
        .encode(longitude="lon:Q", latitude="lat:Q")
    )
    bubbles = (
        alt.Chart(_inline(chart_rows))
        .mark_circle(opacity=0.75, stroke="white", strokeWidth=1)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            size=alt.Size("value:Q", title=y_title, scale=alt.Scale(range=[40, 2500])),
            color=alt.Color("value:Q", title=y_title, scale=alt.Scale(scheme="orangered")),
            tooltip=[
                alt.Tooltip("label:N", title=x_title),
                alt.Tooltip("value:Q", title=y_title, format=value_format),
            ],
        )
    )
    return (
        alt.layer(dots, bubbles)
        .project(type="mercator")
        .properties(height=_CHART_HEIGHT + 60)
    )


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    """Plain JSON values (numbers, text, null) of a small frame, embedded in the chart itself."""
    return alt.InlineData(values=json.loads(frame.to_json(orient="records", force_ascii=False)))


def completeness_chart(cells: list[dict], labels: dict[str, str]) -> alt.TopLevelMixin:
    """Senders by month, each cell coloured by whether the sender has sent, declared nothing to
    report, or not sent (``cells`` from the completeness grid; ``labels`` names the statuses and
    axes in the viewer's language)."""
    rows = pd.DataFrame(cells, columns=["sender", "period", "rows", "status"])
    rows["state"] = rows["status"].map(lambda s: labels[f"status.{s}"])
    order = [labels["status.sent"], labels["status.empty"], labels["status.missing"]]
    return (
        alt.Chart(_inline(rows))
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("period:O", title=labels["period"]),
            y=alt.Y("sender:N", title=labels["sender"], sort="ascending"),
            color=alt.Color("state:N", title=labels["status"],
                            scale=alt.Scale(domain=order, range=["#2e7d32", "#90a4ae", "#c62828"])),
            tooltip=[alt.Tooltip("sender:N", title=labels["sender"]),
                     alt.Tooltip("period:O", title=labels["period"]),
                     alt.Tooltip("rows:Q", title=labels["rows"]),
                     alt.Tooltip("state:N", title=labels["status"])],
        )
        .properties(height=max(240, 11 * rows["sender"].nunique()))
    )
