"""Labels a viewer reads: field and value titles, reference names and numbers in the viewer's language."""

from __future__ import annotations

from functools import cache

import pandas as pd

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import VALUE_COLUMN, PanelData, _group_keys
from ocenter.display.filtering import _DATE_TYPES
from ocenter.display.spec import Aggregation, Panel
from ocenter.i18n import t
from ocenter.reference import reference_rows

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


def filter_values(contract: DataContract, name: str, values: list[str | float], lang: str) -> list[str]:
    """The values a filter on field ``name`` compares with, as a viewer reads them: reference
    codes become names, numbers are written the language's way, other text stays as it is."""
    field = contract.field(name)
    names = _reference_names(field.reference, lang) if field.reference else {}
    return [format_value(v, lang) if isinstance(v, float) else names.get(str(v), str(v)) for v in values]


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
