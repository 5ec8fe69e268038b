"""Authority filtering: which dashboards a viewer sees, and which rows and fields reach them, typed."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

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
