"""What a viewer reads: field and value titles, reference names, months and numbers in their language."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cache

import pandas as pd

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import VALUE_COLUMN, PanelData, _group_keys
from ocenter.display.filtering import _DATE_TYPES
from ocenter.display.spec import Aggregation, Panel
from ocenter.i18n import t
from ocenter.reference import reference_rows

#: How each language writes numbers, in d3-format's locale terms: the one definition both the
#: Python formatting (KPIs, tables) and the charts' Vega-Lite ``config.locale`` use.
NUMBER_LOCALES = {
    "id": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["Rp", ""]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["Rp", ""]},
}
#: Date and time patterns of d3-time-format's id-ID and en-US locales (used only if a chart
#: formats a date itself; month axes carry labels made here).
_TIME_PATTERNS = {
    "id": {"dateTime": "%A, %e %B %Y pukul %H.%M.%S", "date": "%d/%m/%Y", "time": "%H.%M.%S",
           "periods": ["AM", "PM"]},
    "en": {"dateTime": "%x, %X", "date": "%-m/%-d/%Y", "time": "%-I:%M:%S %p",
           "periods": ["AM", "PM"]},
}
#: d3 formats of chart values: whole numbers without decimals, others with at most two.
WHOLE_FORMAT = ",.0f"
DECIMAL_FORMAT = ",.2~f"

# --- labels -------------------------------------------------------------------------------------


def field_title(contract: DataContract, name: str, lang: str) -> str:
    """The field's label for axes and headings in ``lang``; a date is by month."""
    field = contract.field(name)
    label = field.label_in(lang)
    if field.type in _DATE_TYPES:
        return t("render.per_month", lang, field=label)
    return label


def value_title(panel: Panel, contract: DataContract, lang: str) -> str:
    """What the panel's value is, e.g. "Total Jumlah sampel" or "Jumlah data"."""
    if panel.aggregate == Aggregation.COUNT and not panel.measure:
        return t("render.agg.rows", lang)
    label = contract.field(panel.measure).label_in(lang)
    return t(f"render.agg.{panel.aggregate.value}", lang, field=label)


@cache
def _reference_names(list_id: str, lang: str) -> dict[str, str]:
    rows = reference_rows(list_id)
    if not rows:
        return {}
    column = next((c for c in (f"name_{lang}", "name", "name_id") if c in rows[0]), "code")
    return {row["code"]: row[column] for row in rows}


def reference_name(list_id: str, code: str, lang: str) -> str:
    """The name of ``code`` in the reference list ``list_id`` (the code itself when unknown)."""
    return _reference_names(list_id, lang).get(code, code)


def display_values(column: pd.Series, contract: DataContract, name: str, lang: str) -> list[str]:
    """Readable text for the category values of field ``name``: reference codes become names,
    months become "Mei 2026" / "May 2026", missing text becomes "(kosong)"."""
    field = contract.field(name)
    if field.type in _DATE_TYPES:
        return [month_label(v, lang) for v in column]
    names = _reference_names(field.reference, lang) if field.reference else {}
    missing = t("render.missing_value", lang)
    return [missing if str(v) == "" else names.get(str(v), str(v)) for v in column]


def filter_values(contract: DataContract, name: str, values: list[str | float], lang: str) -> list[str]:
    """The values a filter on field ``name`` compares with, as a viewer reads them: reference
    codes become names, numbers are written the language's way, other text stays as it is."""
    field = contract.field(name)
    names = _reference_names(field.reference, lang) if field.reference else {}
    return [format_value(v, lang) if isinstance(v, float) else names.get(str(v), str(v)) for v in values]


# --- calendar words -----------------------------------------------------------------------------


def calendar_words(key: str, lang: str) -> list[str]:
    """A list of the catalogue's calendar words (``render.months``, ``render.months_short``,
    ``render.days``, ``render.days_short``) in ``lang``."""
    return [word.strip() for word in t(key, lang).split(",")]


def month_label(month: pd.Timestamp, lang: str) -> str:
    """A month as a viewer reads it on an axis: "Mei 2026" in Indonesian, "May 2026" in English."""
    short = calendar_words("render.months_short", lang)[month.month - 1]
    return t("render.month_label", lang, month=short, year=month.year)


# --- numbers ------------------------------------------------------------------------------------


def format_value(value: float | None, lang: str) -> str:
    """A number as people write it: 12.345 and 1.234,5 in Indonesian, 12,345 and 1,234.5 in
    English; a whole number without decimals, others with at most two; nothing is "–"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = float(value)
    text = f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}".rstrip("0").rstrip(".")
    if text in ("-0", "-0.0"):
        text = "0"
    marks = NUMBER_LOCALES.get(lang, NUMBER_LOCALES["id"])
    return "".join(marks["thousands"] if c == "," else marks["decimal"] if c == "." else c
                   for c in text)


def all_whole(values: Iterable[float]) -> bool:
    """True when every present value is a whole number (a count, a sum of whole numbers)."""
    return all(float(v).is_integer() for v in values if v is not None and not math.isnan(float(v)))


def value_format(panel: Panel, values: Iterable[float]) -> str:
    """The d3 format of a panel's values: no decimals for counts and other whole numbers, at
    most two (trailing zeros dropped) for an average or fractional values."""
    if panel.aggregate != Aggregation.MEAN and all_whole(values):
        return WHOLE_FORMAT
    return DECIMAL_FORMAT


def chart_locale(lang: str) -> dict:
    """Vega-Lite's ``config.locale`` for a viewer reading ``lang``: its number marks (axis
    labels, tooltips, legends) and calendar words."""
    return {
        "number": dict(NUMBER_LOCALES.get(lang, NUMBER_LOCALES["id"])),
        "time": {
            **_TIME_PATTERNS.get(lang, _TIME_PATTERNS["id"]),
            "days": calendar_words("render.days", lang),
            "shortDays": calendar_words("render.days_short", lang),
            "months": calendar_words("render.months", lang),
            "shortMonths": calendar_words("render.months_short", lang),
        },
    }


# --- tables -------------------------------------------------------------------------------------


def table_frame(panel: Panel, data: PanelData, contract: DataContract, lang: str) -> pd.DataFrame:
    """The aggregate of a table panel as the viewer reads it: headers from the contract's labels
    and the aggregation in ``lang`` (never a column name), names instead of codes, months as
    "Mei 2026", numbers as text written the language's way."""
    keys = [k for k in _group_keys(panel) if k in data.frame.columns]
    shown = {
        field_title(contract, key, lang): display_values(data.frame[key], contract, key, lang)
        for key in keys
    }
    shown[value_title(panel, contract, lang)] = [format_value(v, lang) for v in data.frame[VALUE_COLUMN]]
    return pd.DataFrame(shown)
