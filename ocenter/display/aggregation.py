"""Panel aggregates: a panel's rows grouped and summed on the server, to at most MAX_PANEL_ROWS rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ocenter.accounts.authority import Authority
from ocenter.contracts.model import ContractField, DataContract
from ocenter.display.filtering import _DATE_TYPES, _apply_filters
from ocenter.display.spec import Aggregation, Panel, PanelKind

#: Most rows one panel's aggregate may have; the spec's own ``limit`` is capped at 500 too.
MAX_PANEL_ROWS = 500
#: Most colour series (or heatmap rows) a panel keeps; more are unreadable on a wall screen.
MAX_SERIES = 40
#: Column of an aggregated frame holding the value. It starts with "_", which no contract field
#: name can, so it never collides with a dimension or series column.
VALUE_COLUMN = "_value"


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
