"""Authority filtering: which dashboards a viewer sees, and which rows and fields reach them, typed.

What a viewer may receive from one dataset is worked out once, in ``viewer_cut``, as a plain value
(``ViewerCut``): the same value both cuts the rows (``cut_rows``) and keys whatever the display
keeps of them, so a cache can never serve rows cut for one authority to another.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, ScopeKind, Tier, highest
from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.display.spec import DashboardSpec, DefaultView, PanelFilter

_DATE_TYPES = (FieldType.DATE, FieldType.DATETIME)
_NUMERIC_TYPES = (FieldType.INTEGER, FieldType.NUMBER)
_TRUE_TEXTS = {"true", "1", "ya", "yes", "y"}
_FALSE_TEXTS = {"false", "0", "tidak", "no", "n"}
_LOCAL_TIMEZONE = "Asia/Jakarta"


# --- who sees which dashboard -------------------------------------------------------------------


def can_view(viewer: Authority, spec: DashboardSpec) -> bool:
    """Whether ``viewer`` may open the dashboard ``spec``.

    The rule: the dashboard's level must be within the viewer's clearance, and then one of
      - the dashboard is granted to the viewer by id (an authorised party, or anyone else);
      - the viewer's scope is all of BPOM;
      - the viewer's scope is a central unit, and the unit owns the dashboard or the dashboard's
        audience names the viewer's tier (Eselon II, unit staff);
      - the viewer's scope is a UPT region, and the audience names Kepala UPT (the regions are
        meant) and the viewer's own tier (a UPT's staff too, when unit staff are named).
    A viewer of scope ``grant`` sees only granted dashboards. Clearance always comes first: a grant
    never lifts a viewer above their level.
    """
    if not viewer.may_see_level(spec.level):
        return False
    if spec.id in viewer.grants or viewer.scope == ScopeKind.BPOM:
        return True
    if viewer.scope == ScopeKind.UNIT:
        return spec.owner_unit == viewer.unit_code or viewer.tier in spec.audience
    if viewer.scope == ScopeKind.UPT:
        return Tier.KEPALA_UPT in spec.audience and viewer.tier in spec.audience
    return False


def data_level(spec: DashboardSpec, contracts: dict[str, DataContract]) -> Level:
    """How confidential the data ``spec``'s panels show is: the highest level of the fields they
    use (each the higher of its own and its dataset's level), not of every field of the
    datasets (filters count: their values are written in the spec). A panel without a contract,
    or a field its contract lacks, shows nothing, so adds nothing."""
    levels: list[Level] = []
    for panel in spec.panels:
        contract = contracts.get(panel.dataset)
        if contract is None:
            continue
        known = set(contract.field_names())
        levels.append(contract.highest_level([n for n in panel.fields_used() if n in known]))
    return highest(levels)


def visible_specs(
    specs: Iterable[DashboardSpec], viewer: Authority, *, on_display: Collection[str] | None
) -> list[DashboardSpec]:
    """The dashboards ``viewer`` may open, in the given order, among those whose ids are in
    ``on_display`` (step 8 put them there; ``StoreSnapshot.displayed_specs``). ``None`` is a
    preview for Pusdatin of every approved dashboard: callers must say which they mean."""
    return [
        spec
        for spec in specs
        if can_view(viewer, spec) and (on_display is None or spec.id in on_display)
    ]


# --- which rows and fields a viewer receives ----------------------------------------------------


@dataclass(frozen=True)
class ViewerCut:
    """Everything that decides which rows and fields of one dataset a viewer receives, and
    nothing else: two viewers with equal cuts receive exactly the same rows and fields, so they
    may share what is computed from them, and two with different cuts never do.

    Attributes:
        receives: the dataset's level is within the viewer's clearance; without it, nothing.
        region: ``(scope field, unit code)`` every row must match: a UPT-scope viewer's region.
        closed: no rows at all (a UPT-scope viewer without a unit, or a contract without a
            scope field): fail closed.
        window: ``(time field, months)``, the step-7 default's latest months.
        filters: the step-7 default's filters.
        fields: the contract fields within the viewer's clearance, in contract order.
    """

    receives: bool
    region: tuple[str, str] | None = None
    closed: bool = False
    window: tuple[str, int] | None = None
    filters: tuple[PanelFilter, ...] = ()
    fields: tuple[str, ...] = ()

    @cached_property
    def key(self) -> str:
        """The cut as canonical text, the part of a cache key that stands for the viewer."""
        return json.dumps(
            [self.receives, self.region, self.closed, self.window,
             [f.model_dump(mode="json") for f in self.filters], self.fields],
            sort_keys=True, ensure_ascii=False,
        )

    def allows(self, names: Iterable[str]) -> bool:
        """Whether the viewer may receive the dataset and every one of the fields ``names``."""
        return self.receives and all(name in self.fields for name in names)

    def reads(self) -> set[str]:
        """The fields the cut reads to choose rows: a table given to ``cut_rows`` must hold each
        of them that the dataset has."""
        names = {flt.field for flt in self.filters}
        names.update(part[0] for part in (self.window, self.region) if part is not None)
        return names


def viewer_cut(contract: DataContract, viewer: Authority, default: DefaultView | None) -> ViewerCut:
    """What ``viewer`` may receive of the dataset of ``contract`` with the step-7 ``default``:
    the one place where a viewer's authority decides rows and fields (``viewer_rows`` and the
    display's caches both go through it)."""
    if not viewer.may_see_level(contract.level):
        return ViewerCut(receives=False)
    region, closed = None, False
    if viewer.scope == ScopeKind.UPT:
        if contract.scope_field and viewer.unit_code:
            region = (contract.scope_field, viewer.unit_code)
        else:
            closed = True
    window, filters = None, ()
    if default is not None:
        if default.months and contract.time_field:
            window = (contract.time_field, default.months)
        filters = tuple(default.filters)
    fields = tuple(
        name for name in contract.field_names()
        if viewer.may_see_level(contract.highest_level([name]))
    )
    return ViewerCut(receives=True, region=region, closed=closed, window=window, filters=filters,
                     fields=fields)


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
    cut = viewer_cut(contract, viewer, default)
    if not cut.receives:
        return pd.DataFrame()
    return rows_frame(cut_rows(contract, display_table(contract, table), cut))


def cut_rows(
    contract: DataContract, typed: pa.Table, cut: ViewerCut, columns: Collection[str] | None = None
) -> pa.Table:
    """The rows and fields of ``typed`` (from ``display_table``) that ``cut`` lets through, and of
    those fields only ``columns`` when given. The filters may read fields the cut then drops;
    ``typed`` may leave out fields of the dataset, but none that the cut reads (``reads``)."""
    if not cut.receives:
        return pa.table({})
    names = [n for n in typed.column_names
             if n in cut.fields and (columns is None or n in columns)]
    rows = typed.select(names)
    mask = _cut_mask(contract, typed, cut)
    if mask is None:
        return rows
    if pc.sum(mask).as_py() == typed.num_rows:
        return rows  # nothing to cut: no copy
    return rows.filter(mask)


def _cut_mask(contract: DataContract, typed: pa.Table, cut: ViewerCut) -> pa.ChunkedArray | None:
    """True for each row the cut keeps (never null); None when it keeps every row."""
    present = set(typed.column_names)
    masks = []
    if cut.window is not None and cut.window[0] in present:
        window = _latest_months(typed.column(cut.window[0]), cut.window[1])
        if window is not None:
            masks.append(window)
    if cut.region is not None:
        field, code = cut.region
        column = typed.column(field) if field in present else None
        if column is None or not _is_text(column.type):
            masks.append(_none(typed.num_rows))
        else:
            masks.append(pc.fill_null(pc.equal(column, code), False))
    if cut.closed:
        masks.append(_none(typed.num_rows))
    for flt in cut.filters:
        if flt.field in present:
            masks.append(filter_mask(typed.column(flt.field), flt, contract.field(flt.field)))
    mask = None
    for each in masks:
        mask = each if mask is None else pc.and_(mask, each)
    return mask


def rows_filter(rows: pa.Table, filters: Sequence[PanelFilter], contract: DataContract) -> pa.Table:
    """The rows of ``rows`` that pass every one of ``filters`` (a missing cell passes none)."""
    mask = None
    for flt in filters:
        each = filter_mask(rows.column(flt.field), flt, contract.field(flt.field))
        mask = each if mask is None else pc.and_(mask, each)
    return rows if mask is None else rows.filter(mask)


# --- typed for display --------------------------------------------------------------------------


def display_table(contract: DataContract, table: pa.Table | pd.DataFrame) -> pa.Table:
    """The contract's fields of ``table``, each typed as its contract type, as Arrow.

    Columns that are already typed (say a stored Parquet file) are kept as they are (a date
    becomes a timestamp at midnight, NaN a missing number), text fields get their missing-value
    texts as missing, and other text columns are parsed the way the verification engine reads
    them. Columns the contract does not name are left out, so they can never reach a viewer.
    """
    names = contract.field_names()
    if isinstance(table, pd.DataFrame):
        present = [n for n in names if n in table.columns]
        columns = [_from_pandas(_typed_column(table[n], contract.field(n), contract))
                   for n in present]
    else:
        present = [n for n in names if n in table.column_names]
        columns = [display_column(table.column(n), contract.field(n), contract) for n in present]
    if not present:  # no field: no column, but every row (a panel may count them)
        rows = len(table) if isinstance(table, pd.DataFrame) else table.num_rows
        return pa.table({"_rows": pa.nulls(rows)}).select([])
    return pa.Table.from_arrays(columns, names=present)


#: Nullable pandas types for the Arrow types of typed rows, as the contract's types read there.
_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def rows_frame(rows: pa.Table) -> pd.DataFrame:
    """Typed rows as a DataFrame: nullable integers, numbers, booleans and text, timestamps."""
    return rows.to_pandas(types_mapper=_PANDAS_TYPES.get)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def display_column(column: pa.ChunkedArray, field: ContractField, contract: DataContract) -> Any:
    """One column of ``display_table``: ``column`` typed as ``field``."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    kind = column.type
    if field.type in _DATE_TYPES:
        if pa.types.is_timestamp(kind):
            return column
        if pa.types.is_date(kind):
            return pc.cast(column, pa.timestamp("us"))
        return _via_pandas(column, field, contract)
    if _is_text(kind):
        if field.type == FieldType.STRING:
            return _missing_as_null(column, contract.missing_values)
        return _via_pandas(column, field, contract)
    if pa.types.is_floating(kind):
        nan = pc.is_nan(column)
        if pc.any(nan).as_py():
            return pc.if_else(nan, pa.scalar(None, kind), column)
    return column


def _missing_as_null(column: pa.ChunkedArray, missing: list[str]) -> pa.ChunkedArray:
    if not missing:
        return column
    found = _equals_any(column, pa.array(missing, column.type))
    if not pc.any(found).as_py():
        return column  # a stored file has its missing cells null already: no copy
    return pc.if_else(found, pa.scalar(None, column.type), column)


def _via_pandas(column: pa.ChunkedArray, field: ContractField, contract: DataContract) -> Any:
    """Text (or an untyped column) parsed by the rules of ``_typed_column``."""
    return _from_pandas(_typed_column(column.to_pandas(), field, contract))


def _from_pandas(column: pd.Series) -> pa.ChunkedArray:
    array = pa.Array.from_pandas(column)
    if pa.types.is_dictionary(array.type):  # a categorical column: its values, not its codes
        array = array.cast(array.type.value_type)
    return pa.chunked_array([array])


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


# --- conditions on typed columns ----------------------------------------------------------------


def _none(rows: int) -> pa.ChunkedArray:
    return pa.chunked_array([pa.repeat(pa.scalar(False), rows)], pa.bool_())


def _latest_months(times: pa.ChunkedArray, months: int) -> pa.ChunkedArray | None:
    """Rows within the ``months`` calendar months up to the latest one in ``times`` (None: every
    row, when no row has a time)."""
    if not pa.types.is_timestamp(times.type):
        return _none(len(times))  # a window that cannot be measured keeps nothing: fail closed
    latest = pc.max(times).as_py()
    if latest is None:
        return None  # no time at all: no window
    index = max(latest.year * 12 + latest.month - 1 - (months - 1), 12)
    start = datetime(index // 12, index % 12 + 1, 1, tzinfo=latest.tzinfo)
    return pc.fill_null(pc.greater_equal(times, pa.scalar(start, times.type)), False)


def filter_mask(column: pa.ChunkedArray, flt: PanelFilter, field: ContractField) -> pa.ChunkedArray:
    """True for each cell of a typed ``column`` that meets ``flt`` (never null): a missing cell
    meets no condition, as in SQL, and a value that cannot be compared matches nothing."""
    raw = flt.value if isinstance(flt.value, list) else [flt.value]
    values = [_filter_value(v, field) for v in raw]
    values = [v for v in values if v is not None]
    scalars = [_comparable(v, column.type) for v in values]
    if not values:  # a value that cannot be compared matches nothing: fail closed
        return _none(len(column))
    if any(s is None for s in scalars):
        # A value of another kind than the column's (a contract changed since the data was
        # stored) equals no cell, and is neither more nor less than any.
        return pc.is_valid(column) if flt.op == "ne" else _none(len(column))
    target = pa.float64() if pa.types.is_integer(column.type) else column.type
    cells = pc.cast(column, target) if target != column.type else column
    if flt.op in ("eq", "in", "ne"):
        mask = _equals_any(cells, pa.array([s.as_py() for s in scalars], target))
        if flt.op == "ne":
            mask = pc.invert(mask)
    elif flt.op == "gte":
        mask = pc.greater_equal(cells, scalars[0].cast(target))
    else:
        mask = pc.less_equal(cells, scalars[0].cast(target))
    return pc.fill_null(pc.and_kleene(mask, pc.is_valid(column)), False)


def _equals_any(column: pa.ChunkedArray, values: pa.Array) -> pa.ChunkedArray:
    """True where a cell equals one of ``values`` (null where the cell is missing): a few
    comparisons are several times faster than a hash lookup (``is_in``) on a large column."""
    if len(values) > 8:
        return pc.is_in(column, value_set=values)
    mask = None
    for value in values:
        each = pc.equal(column, value)
        mask = each if mask is None else pc.or_kleene(mask, each)
    return mask if mask is not None else _none(len(column))


def _comparable(value: Any, kind: pa.DataType) -> pa.Scalar | None:
    """``value`` as a scalar comparable with a column of type ``kind``; None when it is not."""
    if isinstance(value, bool):
        return pa.scalar(value) if pa.types.is_boolean(kind) else None
    if isinstance(value, float):
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        return pa.scalar(value, pa.float64()) if numeric else None
    if isinstance(value, pd.Timestamp):
        if not pa.types.is_timestamp(kind):
            return None
        if value.tzinfo is not None and kind.tz is None:
            value = value.tz_convert(_LOCAL_TIMEZONE).tz_localize(None)
        elif value.tzinfo is None and kind.tz is not None:
            value = value.tz_localize(_LOCAL_TIMEZONE)
        return pa.scalar(value.to_pydatetime(), pa.timestamp("us", kind.tz)).cast(kind)
    return pa.scalar(value, kind) if _is_text(kind) else None


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
