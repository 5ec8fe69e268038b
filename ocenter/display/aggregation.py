"""Panel aggregates: a panel's rows grouped and summed on the server, to at most MAX_PANEL_ROWS rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ocenter.accounts.authority import Authority
from ocenter.contracts.model import ContractField, DataContract
from ocenter.display import filtering
from ocenter.display.filtering import _DATE_TYPES, ViewerCut, viewer_cut
from ocenter.display.spec import Aggregation, Panel, PanelKind
from ocenter.reference import reference_rows

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
            dimension and series columns keep the field names, a date axis holds month starts,
            every month from the first to the last shown (an empty one counts 0, or has no
            value for an average, minimum or maximum); a map of UPTs holds their provinces.
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

    A date dimension or series is grouped by calendar month, and a date axis has every month
    between its first and last, empty ones included. The categories are ordered by value when
    the panel asks to sort, otherwise by their own order (always by time for a date axis);
    ``limit`` keeps the top N categories by value (the latest N months for a date axis). A map
    of a UPT field counts each row in the UPT's province.
    """
    # Checked on the contract as well as on the columns: a field above the viewer's level is
    # restricted even if a caller passed rows that still hold it.
    refused = panel_refusal(panel, contract, viewer_cut(contract, viewer, None), rows.columns)
    if refused is not None:
        return refused
    used = panel.fields_used()
    if used:
        table = pa.Table.from_pandas(rows[used], preserve_index=False)
    else:  # only the number of rows counts
        table = pa.table({"_rows": pa.nulls(len(rows))})
    return aggregate(panel, contract, table)


def panel_refusal(
    panel: Panel, contract: DataContract, cut: ViewerCut, columns: Iterable[str]
) -> PanelData | None:
    """Why a panel shows nothing to a viewer with ``cut`` whose rows hold ``columns``: a field the
    contract lacks, a field or dataset above the viewer's clearance, a field the data lacks; or
    None when it may be aggregated."""
    empty = pd.DataFrame({VALUE_COLUMN: []})
    used = panel.fields_used()
    unknown = tuple(n for n in used if n not in contract.field_names())
    if unknown:
        return PanelData(frame=empty, missing_fields=unknown)
    if not cut.allows(used):
        return PanelData(frame=empty, restricted=True)
    present = set(columns)
    absent = tuple(n for n in used if n not in present)
    if absent:
        return PanelData(frame=empty, missing_fields=absent)
    return None


def aggregate(panel: Panel, contract: DataContract, rows: pa.Table) -> PanelData:
    """One panel's aggregate of ``rows``: rows already cut for the viewer, typed
    (``filtering.cut_rows``), holding every field the panel uses (``panel_refusal`` says
    whether they may)."""
    return summarise(panel, contract, filtering.rows_filter(rows, panel.filters, contract))


def summarise(panel: Panel, contract: DataContract, work: pa.Table) -> PanelData:
    """``aggregate`` of rows that already passed the panel's filters."""
    keys = _group_keys(panel)
    if panel.kind == PanelKind.KPI or not keys:
        value = _scalar(work, panel)
        return PanelData(frame=pd.DataFrame({VALUE_COLUMN: [value]}), value=value)
    frame = _grouped(work, keys, panel, contract)
    return _shape(frame, keys, panel, contract)


def _group_keys(panel: Panel) -> list[str]:
    """Grouping columns: a map or a pie draws one value per category, so it ignores the series."""
    if panel.kind in (PanelKind.MAP, PanelKind.PIE):
        keys = [panel.dimension]
    else:
        keys = [panel.dimension, panel.series]
    return list(dict.fromkeys(k for k in keys if k))


def _group_values(column: pa.ChunkedArray, field: ContractField) -> pa.ChunkedArray:
    if field.type in _DATE_TYPES:
        return pc.floor_temporal(column, unit="month")
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        # Missing text becomes its own category (shown as "(kosong)") rather than vanishing.
        return pc.fill_null(column, "")
    return column


def _upt_provinces(codes: pa.ChunkedArray) -> pa.ChunkedArray:
    """The province code of each UPT code (missing for an unknown one): a map draws provinces,
    and grouping the rows by province keeps every aggregate exact (an average of all the
    province's rows, not of its UPTs' averages)."""
    rows = reference_rows("upt")
    upts = pa.array([row["code"] for row in rows], pa.string())
    provinces = pa.array([row["province_code"] for row in rows], pa.string())
    return pc.take(provinces, pc.index_in(pc.cast(codes, pa.string()), value_set=upts))


def _scalar(rows: pa.Table, panel: Panel) -> float | None:
    if panel.aggregate == Aggregation.COUNT:
        if not panel.measure:
            return float(rows.num_rows)
        return float(pc.count(rows.column(panel.measure)).as_py())
    values = rows.column(panel.measure)
    if panel.aggregate == Aggregation.COUNT_DISTINCT:
        return float(pc.count_distinct(values).as_py())
    if values.null_count == len(values):
        return 0.0 if panel.aggregate == Aggregation.SUM else None
    result = _SCALAR_FUNCTIONS[panel.aggregate](values).as_py()
    return None if result is None else float(result)


_SCALAR_FUNCTIONS = {
    Aggregation.SUM: pc.sum,
    Aggregation.MEAN: pc.mean,
    Aggregation.MIN: pc.min,
    Aggregation.MAX: pc.max,
}
#: Column a grouped measure is read from; "_" keeps it apart from every field name.
_MEASURE = "_measure"


def _grouped(
    work: pa.Table, keys: list[str], panel: Panel, contract: DataContract
) -> pd.DataFrame:
    """One row per combination of ``keys`` present, in the keys' order, the value in
    ``VALUE_COLUMN``; rows whose key is missing (not missing text) are left out."""
    columns = {key: _group_values(work.column(key), contract.field(key)) for key in keys}
    if panel.kind == PanelKind.MAP and contract.field(keys[0]).reference == "upt":
        columns[keys[0]] = _upt_provinces(columns[keys[0]])
    if panel.measure:
        columns[_MEASURE] = work.column(panel.measure)
    table = pa.table(columns) if columns else work
    present = None
    for key in keys:
        valid = pc.is_valid(table.column(key))
        if pa.types.is_floating(table.column(key).type):
            valid = pc.and_(valid, pc.invert(pc.fill_null(pc.is_nan(table.column(key)), True)))
        present = valid if present is None else pc.and_(present, valid)
    if present is not None and table.num_rows and pc.sum(present).as_py() != table.num_rows:
        table = table.filter(present)
    if panel.aggregate == Aggregation.COUNT and not panel.measure:
        spec, name = ([], "count_all"), "count_all"
    else:
        function = {
            Aggregation.COUNT: "count",
            Aggregation.COUNT_DISTINCT: "count_distinct",
            Aggregation.SUM: "sum",
            Aggregation.MEAN: "mean",
            Aggregation.MIN: "min",
            Aggregation.MAX: "max",
        }[panel.aggregate]
        # A group whose values are all missing sums to 0, as pandas sums it.
        options = pc.ScalarAggregateOptions(min_count=0) if function == "sum" else None
        spec, name = (_MEASURE, function, options), f"{_MEASURE}_{function}"
    result = table.group_by(keys, use_threads=False).aggregate([spec])
    result = result.sort_by([(key, "ascending") for key in keys])
    frame = pd.DataFrame({key: result.column(key).to_pandas() for key in keys})
    frame[VALUE_COLUMN] = pc.cast(result.column(name), pa.float64()).to_pandas()
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

    if is_time:
        frame = _every_month(frame, category, series, panel)
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


#: Aggregations for which a month without rows has the value 0 (an average has none).
_ZERO_WHEN_EMPTY = (Aggregation.COUNT, Aggregation.COUNT_DISTINCT, Aggregation.SUM)


def _every_month(
    frame: pd.DataFrame, category: str, series: str | None, panel: Panel
) -> pd.DataFrame:
    """``frame`` with a row for every month from its first to its last (and every series in
    each): a time axis that skips an empty month tells a false story. An empty month counts 0;
    for an average, minimum or maximum it has no value (a gap, not a zero)."""
    if frame.empty:
        return frame
    months = frame[category]
    every = pd.date_range(months.min(), months.max(), freq="MS").astype(months.dtype)
    keys = [category, *([series] if series else [])]
    if series:
        grid = pd.MultiIndex.from_product([every, pd.unique(frame[series])], names=keys)
    else:
        grid = pd.Index(every, name=category)
    if len(grid) == len(frame):
        return frame
    empty = 0.0 if panel.aggregate in _ZERO_WHEN_EMPTY else float("nan")
    values = frame.set_index(keys)[VALUE_COLUMN].reindex(grid, fill_value=empty)
    return values.reset_index()
