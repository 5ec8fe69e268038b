"""Altair charts of aggregated panels from inline values only: bars, lines, heatmaps, a province map."""

from __future__ import annotations

import json
import math

import altair as alt
import pandas as pd

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import VALUE_COLUMN, PanelData
from ocenter.display.filtering import _DATE_TYPES
from ocenter.display.labels import (
    WHOLE_FORMAT,
    chart_locale,
    display_values,
    field_title,
    format_value,
    reference_name,
    value_format,
    value_title,
)
from ocenter.display.spec import Panel, PanelKind
from ocenter.i18n import t
from ocenter.reference import province_boundaries

_CHART_HEIGHT = 320


# --- charts -------------------------------------------------------------------------------------


def panel_chart(
    panel: Panel, data: PanelData, contract: DataContract, lang: str
) -> alt.TopLevelMixin | None:
    """The Vega-Lite chart of one panel, or None for KPI, table, restricted and empty panels.

    The chart carries its data as inline values built from the aggregate only (never a URL, never
    a DataFrame that a global Altair data transformer could write out elsewhere); its columns are
    ``label`` (category text), ``series`` and ``value``; a map carries the province shapes, each
    with its ``properties``. Numbers and calendar words follow ``lang`` (``config.locale``); a
    time axis has one label per month, "Mei 2026" or "May 2026", every month in order.
    """
    if panel.kind in (PanelKind.KPI, PanelKind.TABLE) or data.restricted or data.frame.empty:
        return None
    if data.missing_fields or panel.dimension not in data.frame.columns:
        return None
    if panel.kind == PanelKind.MAP:
        chart = _map_chart(data.frame, panel, contract, lang)
    else:
        chart = _category_chart(data.frame, panel, contract, lang)
    return None if chart is None else chart.configure(locale=chart_locale(lang))


def _category_chart(
    frame: pd.DataFrame, panel: Panel, contract: DataContract, lang: str
) -> alt.TopLevelMixin:
    """Bars, lines, areas, points, a pie or a heatmap of the categories (or months) of ``frame``."""
    category = panel.dimension
    series = panel.series if panel.series in frame.columns else None
    is_time = contract.field(category).type in _DATE_TYPES
    chart_rows = pd.DataFrame(
        {
            "label": display_values(frame[category], contract, category, lang),
            "value": frame[VALUE_COLUMN].astype("float64"),
        }
    )
    if series:
        chart_rows["series"] = display_values(frame[series], contract, series, lang)

    # The aggregate's own order: by time on a time axis (every month once), else as sorted.
    order = list(dict.fromkeys(chart_rows["label"]))
    x_title = field_title(contract, category, lang)
    y_title = value_title(panel, contract, lang)
    number = value_format(panel, chart_rows["value"])
    stacked = bool(series) and panel.kind in (PanelKind.BAR, PanelKind.AREA)
    ticks = _tick_count(number, chart_rows, stacked)
    value_axis = alt.Axis(format=number, tickCount=ticks)
    value_legend = alt.Legend(format=number, tickCount=ticks)
    tooltip = [alt.Tooltip("label:N", title=x_title)]
    if series:
        tooltip.append(alt.Tooltip("series:N", title=field_title(contract, series, lang)))
    tooltip.append(alt.Tooltip("value:Q", title=y_title, format=number))
    color = (
        alt.Color("series:N", title=field_title(contract, series, lang))
        if series
        else alt.Undefined
    )
    base = alt.Chart(_inline(chart_rows))
    # Month labels are made here, in the viewer's language; an ordinal axis in time order shows
    # each once, and none is left out to avoid overlap.
    category_axis = alt.Axis(labelOverlap=False, labelAngle=-45) if is_time else alt.Axis()

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
            x=alt.X("label:O", sort=order, title=x_title, axis=category_axis),
            y=alt.Y("series:N", title=series_title),
            color=alt.Color("value:Q", title=y_title, scale=alt.Scale(scheme="orangered"),
                            legend=value_legend),
            tooltip=tooltip,
        )
    elif panel.kind == PanelKind.BAR and not is_time:
        # Horizontal bars: category names stay readable on a wall screen.
        chart = base.mark_bar().encode(
            y=alt.Y("label:N", sort=order, title=x_title),
            x=alt.X("value:Q", title=y_title, axis=value_axis),
            color=color,
            tooltip=tooltip,
        )
    else:
        x = alt.X("label:O" if is_time else "label:N", sort=order, title=x_title, axis=category_axis)
        # A month without a value (an average of no rows) breaks the line instead of being
        # bridged or drawn as 0.
        gaps = "break-paths-show-path-domains"
        marks = {
            PanelKind.BAR: base.mark_bar(),
            PanelKind.LINE: base.mark_line(point=True, invalid=gaps),
            PanelKind.AREA: base.mark_area(opacity=0.7, invalid=gaps),
            PanelKind.POINT: base.mark_circle(size=80),
        }
        chart = marks[panel.kind].encode(
            x=x, y=alt.Y("value:Q", title=y_title, axis=value_axis), color=color, tooltip=tooltip
        )
    return chart.properties(height=_CHART_HEIGHT)


#: Most ticks on a value axis or legend.
_MAX_TICKS = 8


def _tick_count(number: str, rows: pd.DataFrame, stacked: bool) -> int | alt.UndefinedType:
    """How many ticks an axis or legend of whole numbers asks for: no more than the largest
    value (or stack), so that ticks fall on whole numbers; a count has no half, and a tick at
    0.5 written without decimals would read as a second "0" or "1". Vega picks the ticks of
    values with decimals itself."""
    if number != WHOLE_FORMAT:
        return alt.Undefined
    values = rows["value"].abs()
    top = values.groupby(rows["label"]).sum().max() if stacked else values.max()
    return max(1, min(_MAX_TICKS, math.ceil(top))) if pd.notna(top) else 1


#: Fill of a province without data on a map.
NO_DATA_FILL = "#e3e3e3"


def _map_chart(
    frame: pd.DataFrame, panel: Panel, contract: DataContract, lang: str
) -> alt.TopLevelMixin | None:
    """Indonesia's provinces, each filled by its value; a province without data light grey.

    The dimension holds province codes (a UPT field's rows were counted at their province by the
    aggregation). Each shape carries ``properties``: ``code`` (BPS), ``name``, ``value`` and
    ``value_text`` (the value written the viewer's way, "–" without data) for the tooltip.
    None when no value belongs to a province of the map.
    """
    values = {str(code): float(value) for code, value in zip(frame[panel.dimension],
                                                              frame[VALUE_COLUMN], strict=True)}
    shapes = []
    for feature in province_boundaries():
        code = feature["properties"]["code"]
        value = values.get(code)
        shapes.append({
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {"code": code, "name": reference_name("provinsi", code, lang),
                           "value": value, "value_text": format_value(value, lang)},
        })
    if not any(shape["properties"]["value"] is not None for shape in shapes):
        return None
    value_title_text = value_title(panel, contract, lang)
    number = value_format(panel, values.values())
    ticks = _tick_count(number, pd.DataFrame({"value": list(values.values())}), stacked=False)
    fill = (
        alt.when("isValid(datum.properties.value)")
        .then(alt.Color("properties.value:Q", title=value_title_text,
                        scale=alt.Scale(scheme="orangered"),
                        legend=alt.Legend(format=number, tickCount=ticks)))
        .otherwise(alt.value(NO_DATA_FILL))
    )
    return (
        alt.Chart(alt.InlineData(values=shapes))
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .encode(
            color=fill,
            tooltip=[
                alt.Tooltip("properties.name:N", title=t("render.province", lang)),
                alt.Tooltip("properties.value_text:N", title=value_title_text),
            ],
        )
        # Mercator, fitted by Vega-Lite to the shapes: Indonesia fills the tile.
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
