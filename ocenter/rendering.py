"""Server-side rendering of dashboards: who sees which dashboard, rows and fields, and the charts.

Security rule of this module: nothing leaves the server unfiltered or unaggregated. Rows are cut
to the viewer's region, fields above the viewer's clearance are dropped (never hidden: a hidden
column still reaches the browser), and every panel is aggregated here to at most
``MAX_PANEL_ROWS`` rows before a chart is built from inline values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa

from ocenter.authority import Authority, ScopeKind
from ocenter.contracts import ContractField, DataContract, FieldType
from ocenter.errors import PermissionDenied
from ocenter.i18n import t
from ocenter.reference import reference_rows
from ocenter.specs import Aggregation, DashboardSpec, DefaultView, Panel, PanelFilter, PanelKind

#: Most rows one panel's aggregate may have; the spec's own ``limit`` is capped at 500 too.
MAX_PANEL_ROWS = 500
#: Most colour series (or heatmap rows) a panel keeps; more are unreadable on a wall screen.
MAX_SERIES = 40
#: Column of an aggregated frame holding the value. It starts with "_", which no contract field
#: name can, so it never collides with a dimension or series column.
VALUE_COLUMN = "_value"

_DATE_TYPES = (FieldType.DATE, FieldType.DATETIME)
_NUMERIC_TYPES = (FieldType.INTEGER, FieldType.NUMBER)
_TRUE_TEXTS = {"true", "1", "ya", "yes", "y"}
_FALSE_TEXTS = {"false", "0", "tidak", "no", "n"}
_LOCAL_TIMEZONE = "Asia/Jakarta"
_CHART_HEIGHT = 320

# --- who sees which dashboard -------------------------------------------------------------------


def can_view(viewer: Authority, spec: DashboardSpec) -> bool:
    """Whether ``viewer`` may open the dashboard ``spec``.

    The rule: the dashboard's level must be within the viewer's clearance, and then one of
      - the dashboard is granted to the viewer by id (an authorised party, or anyone else);
      - the viewer's scope is all of BPOM;
      - the viewer's scope is a central unit, and the unit owns the dashboard or the dashboard's
        audience includes central units;
      - the viewer's scope is a UPT region, and the audience includes UPT.
    A viewer of scope ``grant`` sees only granted dashboards. Clearance always comes first: a grant
    never lifts a viewer above their level.
    """
    if not viewer.may_see_level(spec.level):
        return False
    if spec.id in viewer.grants or viewer.scope == ScopeKind.BPOM:
        return True
    if viewer.scope == ScopeKind.UNIT:
        return spec.owner_unit == viewer.unit_code or ScopeKind.UNIT in spec.audience
    if viewer.scope == ScopeKind.UPT:
        return ScopeKind.UPT in spec.audience
    return False


def visible_specs(
    specs: Iterable[DashboardSpec], viewer: Authority, *, on_display_only: bool = True
) -> list[DashboardSpec]:
    """The dashboards ``viewer`` may open, in the given order; by default only those on display."""
    return [
        spec
        for spec in specs
        if can_view(viewer, spec) and (spec.on_display or not on_display_only)
    ]


# --- which rows and fields a viewer receives ----------------------------------------------------


def viewer_rows(
    contract: DataContract,
    table: pa.Table | pd.DataFrame,
    viewer: Authority,
    default: DefaultView | None,
) -> pd.DataFrame:
    """The rows and columns of ``table`` that ``viewer`` may receive, typed by the contract.

    - Only the contract's fields are kept, each parsed as its contract type (text as sent becomes
      numbers and timestamps; the contract's missing-value texts become missing).
    - A viewer whose clearance is below the dataset's level receives nothing at all.
    - A UPT-scope viewer receives only rows whose ``scope_field`` equals their unit code; when the
      contract has no scope field (or the viewer no unit) they receive no rows: fail closed.
    - The step-7 ``default`` is applied: its filters, and its ``months`` window on the time field,
      counted back from the latest month in the whole dataset so every region sees the same period.
    - Every column whose level (the higher of the field's and the dataset's) is above the viewer's
      clearance is dropped, after the filters above have used it.
    """
    if not viewer.may_see_level(contract.level):
        return pd.DataFrame()
    frame = typed_frame(contract, table)
    if default is not None and default.months and contract.time_field in frame.columns:
        frame = _latest_months(frame, contract.time_field, default.months)
    if viewer.scope == ScopeKind.UPT:
        scope_field = contract.scope_field
        if not scope_field or scope_field not in frame.columns or not viewer.unit_code:
            frame = frame.iloc[0:0]
        else:
            frame = frame[frame[scope_field] == viewer.unit_code]
    if default is not None:
        known = set(frame.columns)
        frame = _apply_filters(frame, [f for f in default.filters if f.field in known], contract)
    allowed = [
        name
        for name in frame.columns
        if viewer.may_see_level(contract.highest_level([name]))
    ]
    return frame[allowed].reset_index(drop=True)


def typed_frame(contract: DataContract, table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """The contract's fields of ``table`` as a DataFrame, each column parsed as its contract type.

    Columns that are already typed (say a stored Parquet file) are kept as they are; text columns
    are parsed the way the verification engine reads them. Columns the contract does not name are
    left out, so they can never reach a viewer.
    """
    names = contract.field_names()
    if isinstance(table, pa.Table):
        present = [n for n in names if n in table.column_names]
        frame = table.select(present).to_pandas()
    else:
        present = [n for n in names if n in table.columns]
        frame = table[present].copy()
    for name in present:
        frame[name] = _typed_column(frame[name], contract.field(name), contract)
    return frame.reset_index(drop=True)


def _typed_column(column: pd.Series, field: ContractField, contract: DataContract) -> pd.Series:
    is_text = pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column)
    if field.type in _DATE_TYPES:
        if pd.api.types.is_datetime64_any_dtype(column):
            return column
        return _parse_times(_as_text(column, contract) if is_text else column, field.type)
    if not is_text:
        return column
    text = _as_text(column, contract)
    if field.type in _NUMERIC_TYPES:
        if contract.decimal_separator == ",":
            text = text.str.replace(",", ".", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        whole = numbers.dropna()
        if field.type == FieldType.INTEGER and bool((whole == whole.round()).all()):
            return numbers.astype("Int64")
        return numbers.astype("Float64")
    if field.type == FieldType.BOOLEAN:
        lowered = text.str.strip().str.lower()
        return lowered.map(
            lambda v: True if v in _TRUE_TEXTS else False if v in _FALSE_TEXTS else pd.NA
        ).astype("boolean")
    return text


def _as_text(column: pd.Series, contract: DataContract) -> pd.Series:
    text = column.astype("string")
    return text.mask(text.isin(contract.missing_values))


def _parse_times(column: pd.Series, kind: FieldType) -> pd.Series:
    if kind == FieldType.DATE:
        fmt = "%Y-%m-%d" if pd.api.types.is_string_dtype(column) else None
        return pd.to_datetime(column, format=fmt, errors="coerce")
    try:
        parsed = pd.to_datetime(column, format="ISO8601", errors="coerce")
    except ValueError:  # a mix of offsets (or of naive and aware times): compare in one zone
        parsed = pd.to_datetime(column, format="ISO8601", errors="coerce", utc=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # Wall clock in Jakarta, so a day or a month is the one the sender meant.
        parsed = parsed.dt.tz_convert(_LOCAL_TIMEZONE).dt.tz_localize(None)
    return parsed


def _latest_months(frame: pd.DataFrame, time_field: str, months: int) -> pd.DataFrame:
    times = frame[time_field]
    latest = times.max()
    if pd.isna(latest):
        return frame
    start = (latest.to_period("M") - (months - 1)).to_timestamp()
    return frame[times >= start]


def _apply_filters(
    frame: pd.DataFrame, filters: list[PanelFilter], contract: DataContract
) -> pd.DataFrame:
    for flt in filters:
        frame = frame[_filter_mask(frame[flt.field], flt, contract.field(flt.field))]
    return frame


def _filter_mask(column: pd.Series, flt: PanelFilter, field: ContractField) -> pd.Series:
    raw = flt.value if isinstance(flt.value, list) else [flt.value]
    values = [_filter_value(v, field) for v in raw]
    values = [v for v in values if v is not None]
    if not values:  # a value that cannot be compared matches nothing: fail closed
        return pd.Series(False, index=column.index)
    if flt.op in ("eq", "in"):
        mask = column.isin(values)
    elif flt.op == "ne":
        mask = ~column.isin(values)
    elif flt.op == "gte":
        mask = column >= values[0]
    else:
        mask = column <= values[0]
    # A missing cell passes no condition, as in SQL.
    return (mask & column.notna()).fillna(False).astype(bool)


def _filter_value(value: str | float, field: ContractField) -> Any:
    try:
        if field.type in _NUMERIC_TYPES:
            return float(str(value).replace(",", "."))
        if field.type in _DATE_TYPES:
            return pd.Timestamp(str(value))
        if field.type == FieldType.BOOLEAN:
            text = str(value).strip().lower()
            return True if text in _TRUE_TEXTS else False if text in _FALSE_TEXTS else None
    except ValueError:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- panel aggregates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelData:
    """What one panel may show: a small aggregate, or a reason it shows nothing.

    Attributes:
        frame: the aggregate, one row per category (and series), the value in ``VALUE_COLUMN``;
            dimension and series columns keep the field names, a date axis holds month starts.
        value: the single number of a KPI panel (None when there is nothing to aggregate).
        restricted: the panel needs a field or dataset above the viewer's clearance; no data.
        truncated: categories or series beyond ``MAX_PANEL_ROWS``/``MAX_SERIES`` were left out.
        missing_fields: fields the panel names that the contract or the data lack (a spec fault).
    """

    frame: pd.DataFrame
    value: float | None = None
    restricted: bool = False
    truncated: bool = False
    missing_fields: tuple[str, ...] = ()


def panel_data(
    panel: Panel, contract: DataContract, rows: pd.DataFrame, viewer: Authority
) -> PanelData:
    """Filter, group and aggregate ``rows`` (from ``viewer_rows``) for one panel.

    A date dimension or series is grouped by calendar month. The categories are ordered by value
    when the panel asks to sort, otherwise by their own order (always by time for a date axis);
    ``limit`` keeps the top N categories by value (the latest N months for a date axis).
    """
    empty = pd.DataFrame({VALUE_COLUMN: []})
    used = panel.fields_used()
    unknown = tuple(n for n in used if n not in contract.field_names())
    if unknown:
        return PanelData(frame=empty, missing_fields=unknown)
    # Checked on the contract as well as on the columns: a field above the viewer's level is
    # restricted even if a caller passed rows that still hold it.
    if not viewer.may_see_level(contract.highest_level(used)):
        return PanelData(frame=empty, restricted=True)
    absent = tuple(n for n in used if n not in rows.columns)
    if absent:
        return PanelData(frame=empty, missing_fields=absent)

    work = _apply_filters(rows[used], panel.filters, contract) if used else rows
    if panel.kind == PanelKind.KPI:
        value = _scalar(work, panel)
        return PanelData(frame=pd.DataFrame({VALUE_COLUMN: [value]}), value=value)

    keys = _group_keys(panel)
    if not keys:
        value = _scalar(work, panel)
        return PanelData(frame=pd.DataFrame({VALUE_COLUMN: [value]}), value=value)
    work = work[[*keys, *([panel.measure] if panel.measure else [])]].copy()
    for key in keys:
        work[key] = _group_values(work[key], contract.field(key))
    work = work.dropna(subset=keys)
    frame = _grouped(work, keys, panel)
    return _shape(frame, keys, panel, contract)


def _group_keys(panel: Panel) -> list[str]:
    """Grouping columns: a map or a pie draws one value per category, so it ignores the series."""
    if panel.kind in (PanelKind.MAP, PanelKind.PIE):
        keys = [panel.dimension]
    else:
        keys = [panel.dimension, panel.series]
    return list(dict.fromkeys(k for k in keys if k))


def _group_values(column: pd.Series, field: ContractField) -> pd.Series:
    if field.type in _DATE_TYPES:
        return column.dt.to_period("M").dt.to_timestamp()
    if pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column):
        # Missing text becomes its own category (shown as "(kosong)") rather than vanishing.
        return column.astype("string").fillna("")
    return column


def _scalar(rows: pd.DataFrame, panel: Panel) -> float | None:
    if panel.aggregate == Aggregation.COUNT:
        count = len(rows) if not panel.measure else int(rows[panel.measure].count())
        return float(count)
    values = rows[panel.measure]
    if panel.aggregate == Aggregation.COUNT_DISTINCT:
        return float(values.nunique())
    if values.dropna().empty:
        return 0.0 if panel.aggregate == Aggregation.SUM else None
    result = getattr(values, panel.aggregate.value)()
    return None if pd.isna(result) else float(result)


def _grouped(work: pd.DataFrame, keys: list[str], panel: Panel) -> pd.DataFrame:
    grouped = work.groupby(keys, sort=True, observed=True)
    if panel.aggregate == Aggregation.COUNT and not panel.measure:
        result = grouped.size()
    elif panel.aggregate == Aggregation.COUNT:
        result = grouped[panel.measure].count()
    elif panel.aggregate == Aggregation.COUNT_DISTINCT:
        result = grouped[panel.measure].nunique()
    else:
        result = grouped[panel.measure].agg(panel.aggregate.value)
    frame = result.rename(VALUE_COLUMN).reset_index()
    frame[VALUE_COLUMN] = pd.to_numeric(frame[VALUE_COLUMN]).astype("float64")
    return frame


def _shape(
    frame: pd.DataFrame, keys: list[str], panel: Panel, contract: DataContract
) -> PanelData:
    """Limit, cap and order the grouped frame."""
    category = keys[0]
    series = keys[1] if len(keys) > 1 else None
    is_time = contract.field(category).type in _DATE_TYPES
    truncated = False

    if series is not None:
        by_series = frame.groupby(series)[VALUE_COLUMN].sum().sort_values(ascending=False)
        if len(by_series) > MAX_SERIES:
            frame = frame[frame[series].isin(by_series.index[:MAX_SERIES])]
            truncated = True

    totals = frame.groupby(category)[VALUE_COLUMN].sum()
    # Which categories matter most: the largest values, or the latest months on a time axis.
    if is_time:
        ranked = list(totals.sort_index(ascending=False).index)
    else:
        ranked = list(totals.sort_values(ascending=False, kind="stable").index)
    if panel.limit is not None:
        ranked = ranked[: panel.limit]
    rows_per_category = frame.groupby(category).size()
    kept, budget = [], MAX_PANEL_ROWS
    for key in ranked:
        budget -= int(rows_per_category[key])
        if budget < 0:
            truncated = True
            break
        kept.append(key)
    frame = frame[frame[category].isin(kept)]

    if is_time or panel.sort == "none":
        order = sorted(kept)
    else:
        order = sorted(kept, key=lambda k: totals[k], reverse=panel.sort == "desc")
    position = {key: i for i, key in enumerate(order)}
    frame = (
        frame.assign(_order=frame[category].map(position))
        .sort_values(["_order", *([series] if series else [])], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return PanelData(frame=frame, truncated=truncated)


# --- labels -------------------------------------------------------------------------------------


def field_title(contract: DataContract, name: str, lang: str) -> str:
    """The field's label for axes and headings (its name when it has none); a date is by month."""
    field = contract.field(name)
    label = field.label or field.name
    if field.type in _DATE_TYPES:
        return t("render.per_month", lang, field=label)
    return label


def value_title(panel: Panel, contract: DataContract, lang: str) -> str:
    """What the panel's value is, e.g. "Total Jumlah sampel" or "Jumlah data"."""
    if panel.aggregate == Aggregation.COUNT and not panel.measure:
        return t("render.agg.rows", lang)
    label = contract.field(panel.measure).label or panel.measure
    return t(f"render.agg.{panel.aggregate.value}", lang, field=label)


@cache
def _reference_names(list_id: str, lang: str) -> dict[str, str]:
    rows = reference_rows(list_id)
    if not rows:
        return {}
    column = next((c for c in (f"name_{lang}", "name", "name_id") if c in rows[0]), "code")
    return {row["code"]: row[column] for row in rows}


def display_values(column: pd.Series, contract: DataContract, name: str, lang: str) -> list[str]:
    """Readable text for the category values of field ``name``: reference codes become names,
    months become ``YYYY-MM``, missing text becomes "(kosong)"."""
    field = contract.field(name)
    if field.type in _DATE_TYPES:
        return [v.strftime("%Y-%m") for v in column]
    names = _reference_names(field.reference, lang) if field.reference else {}
    missing = t("render.missing_value", lang)
    return [missing if str(v) == "" else names.get(str(v), str(v)) for v in column]


def format_value(value: float | None, lang: str) -> str:
    """A KPI number as people write it: 12.345 in Indonesian, 12,345 in English."""
    if value is None:
        return "–"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if lang == "id":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def table_frame(panel: Panel, data: PanelData, contract: DataContract, lang: str) -> pd.DataFrame:
    """The aggregate of a table panel ready to show: labelled columns, names instead of codes."""
    keys = [k for k in _group_keys(panel) if k in data.frame.columns]
    shown = {
        field_title(contract, key, lang): display_values(data.frame[key], contract, key, lang)
        for key in keys
    }
    values = data.frame[VALUE_COLUMN]
    # Counts and sums of whole numbers read better without a decimal part.
    if panel.aggregate != Aggregation.MEAN and bool((values == values.round()).all()):
        values = values.astype("int64")
    shown[value_title(panel, contract, lang)] = values.tolist()
    return pd.DataFrame(shown)


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


# --- a whole dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedPanel:
    """One panel ready for the display page.

    Attributes:
        panel: the panel's spec (title, kind, width).
        data: its aggregate (None when its dataset has no data yet).
        chart: the Altair chart, for chart kinds with data.
        table: the labelled frame of a table panel.
        value_text: the formatted number of a KPI panel.
        message: why the panel shows nothing (restricted, no data, empty), in the viewer's language.
    """

    panel: Panel
    data: PanelData | None = None
    chart: alt.TopLevelMixin | None = None
    table: pd.DataFrame | None = None
    value_text: str | None = None
    message: str | None = None


def render_dashboard(
    spec: DashboardSpec,
    contracts: dict[str, DataContract],
    tables: dict[str, pa.Table | pd.DataFrame],
    viewer: Authority,
    lang: str,
) -> list[RenderedPanel]:
    """Every panel of ``spec`` as ``viewer`` may see it, with the step-7 default of their scope.

    Raises ``PermissionDenied`` when the viewer may not open the dashboard at all.
    """
    if not can_view(viewer, spec):
        raise PermissionDenied("render.denied")
    default = spec.default_for(viewer.scope)
    rows_by_dataset: dict[str, pd.DataFrame] = {}
    rendered: list[RenderedPanel] = []
    for panel in spec.panels:
        contract = contracts.get(panel.dataset)
        if contract is None or panel.dataset not in tables:
            rendered.append(RenderedPanel(panel=panel, message=t("render.no_data", lang)))
            continue
        if panel.dataset not in rows_by_dataset:
            rows_by_dataset[panel.dataset] = viewer_rows(
                contract, tables[panel.dataset], viewer, default
            )
        data = panel_data(panel, contract, rows_by_dataset[panel.dataset], viewer)
        rendered.append(_rendered(panel, data, contract, lang))
    return rendered


def _rendered(panel: Panel, data: PanelData, contract: DataContract, lang: str) -> RenderedPanel:
    if data.restricted:
        return RenderedPanel(panel=panel, data=data, message=t("render.restricted", lang))
    if data.missing_fields:
        message = t("render.field_missing", lang, fields=", ".join(data.missing_fields))
        return RenderedPanel(panel=panel, data=data, message=message)
    if panel.kind == PanelKind.KPI:
        return RenderedPanel(panel=panel, data=data, value_text=format_value(data.value, lang))
    if data.frame.empty:
        return RenderedPanel(panel=panel, data=data, message=t("render.empty", lang))
    note = t("render.truncated", lang) if data.truncated else None
    if panel.kind == PanelKind.TABLE:
        table = table_frame(panel, data, contract, lang)
        return RenderedPanel(panel=panel, data=data, table=table, message=note)
    chart = panel_chart(panel, data, contract, lang)
    if chart is None:
        return RenderedPanel(panel=panel, data=data, message=t("render.empty", lang))
    return RenderedPanel(panel=panel, data=data, chart=chart, message=note)
