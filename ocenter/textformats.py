"""How senders write values: number, date and datetime patterns, and Arrow's compute kernels.

Shared by intake, contracts and verification, so none of them imports another for these; imports
nothing of ocenter.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow._compute as _arrow_compute


class _Kernels:
    """The Arrow compute functions used here, called by name through ``pyarrow._compute``, the
    engine that ``pyarrow.compute`` re-exports. Importing ``pyarrow.compute`` itself generates
    some 400 wrapper functions with their docstrings: about 60 ms, a sixth of what a whole
    ``verify`` command is allowed. Arguments are Arrow arrays and scalars, never Python values
    (converting those may import pandas)."""

    @staticmethod
    def _call(name: str, *args: Any, options: Any = None) -> Any:
        return _arrow_compute.call_function(name, list(args), options)

    def ascii_is_decimal(self, values: Any) -> Any:
        return self._call("ascii_is_decimal", values)

    def ascii_lower(self, values: Any) -> Any:
        return self._call("ascii_lower", values)

    def and_(self, left: Any, right: Any) -> Any:
        return self._call("and", left, right)

    def and_kleene(self, left: Any, right: Any) -> Any:
        return self._call("and_kleene", left, right)

    def or_(self, left: Any, right: Any) -> Any:
        return self._call("or", left, right)

    def invert(self, values: Any) -> Any:
        return self._call("invert", values)

    def equal(self, left: Any, right: Any) -> Any:
        return self._call("equal", left, right)

    def less(self, left: Any, right: Any) -> Any:
        return self._call("less", left, right)

    def less_equal(self, left: Any, right: Any) -> Any:
        return self._call("less_equal", left, right)

    def greater(self, left: Any, right: Any) -> Any:
        return self._call("greater", left, right)

    def if_else(self, condition: Any, yes: Any, no: Any) -> Any:
        return self._call("if_else", condition, yes, no)

    def is_valid(self, values: Any) -> Any:
        return self._call("is_valid", values)

    def indices_nonzero(self, values: Any) -> Any:
        return self._call("indices_nonzero", values)

    def utf8_length(self, values: Any) -> Any:
        return self._call("utf8_length", values)

    def take(self, values: Any, indices: Any) -> Any:
        return self._call("take", values, indices)

    def filter(self, values: Any, mask: Any) -> Any:
        return self._call("filter", values, mask)

    def unique(self, values: Any) -> Any:
        return self._call("unique", values)

    def dictionary_encode(self, values: Any) -> Any:
        return self._call("dictionary_encode", values)

    def max(self, values: Any) -> Any:
        return self._call("max", values)

    def fill_null(self, values: Any, fill: Any) -> Any:
        return self._call("coalesce", values, fill)

    def cast(self, values: Any, target: pa.DataType) -> Any:
        return self._call("cast", values, options=_arrow_compute.CastOptions.safe(target))

    def is_in(self, values: Any, value_set: Any) -> Any:
        return self._call("is_in", values, options=_arrow_compute.SetLookupOptions(value_set))

    def match_substring_regex(self, values: Any, pattern: str) -> Any:
        options = _arrow_compute.MatchSubstringOptions(pattern)
        return self._call("match_substring_regex", values, options=options)

    def starts_with(self, values: Any, pattern: str) -> Any:
        return self._call("starts_with", values, options=_arrow_compute.MatchSubstringOptions(pattern))

    def utf8_ltrim(self, values: Any, characters: str) -> Any:
        return self._call("utf8_ltrim", values, options=_arrow_compute.TrimOptions(characters))

    def utf8_slice_codeunits(self, values: Any, start: int, stop: int) -> Any:
        options = _arrow_compute.SliceOptions(start, stop)
        return self._call("utf8_slice_codeunits", values, options=options)

    def replace_substring(
        self, values: Any, pattern: str, replacement: str, max_replacements: int | None = None
    ) -> Any:
        options = _arrow_compute.ReplaceSubstringOptions(
            pattern, replacement, max_replacements=max_replacements
        )
        return self._call("replace_substring", values, options=options)

    def sort_indices(self, values: Any, sort_keys: Any = None) -> Any:
        options = None if sort_keys is None else _arrow_compute.SortOptions(sort_keys)
        return self._call("sort_indices", values, options=options)


pc = _Kernels()


# ISO 8601 texts as RE2 patterns, exact to the calendar: month lengths and leap years are in the
# pattern itself (Arrow's strptime would roll 2024-02-30 over to March instead of refusing it).
_YEAR = r"(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
)
_LEAP_DAY = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)"
DATE_RE = rf"^{_DATE}$"
DATETIME_RE = rf"^{_DATE}[T ]{_TIME}{_OFFSET}?$"
_OFFSET_RE = rf"{_OFFSET}$"
INTEGER_RE = r"^[+-]?\d+$"
_INT64_MAX_DIGITS = "9223372036854775807"
_INT64_MIN_DIGITS = "9223372036854775808"
_INT64_MAX = 2**63 - 1


def number_re(decimal: str) -> str:
    """RE2 pattern of a number written with ``decimal`` as its decimal mark (no thousands mark)."""
    mark = r"\." if decimal == "." else ","
    return rf"^[+-]?(?:\d+(?:{mark}\d*)?|{mark}\d+)(?:[eE][+-]?\d{{1,4}})?$"


def anchored(pattern: str) -> str:
    """``pattern`` made to match the whole text, as the contract means it."""
    return f"^(?:{pattern})$"
