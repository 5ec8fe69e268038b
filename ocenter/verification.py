"""The verification engine (SOP step 3): a table of text checked against its contract."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import math
import os
import re
import string
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow._compute as _arrow_compute
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ocenter import reference
from ocenter.contracts import ContractField, DataContract, FieldType
from ocenter.csvfile import ReadAhead, lean_memory
from ocenter.errors import UserError
from ocenter.i18n import t
from ocenter.levels import Level


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


#: Cell checks, in the order they are tried: a cell reports only the first one it fails, so the
#: sender sees the most basic problem (empty, wrong type) before finer ones.
CELL_CHECKS = (
    "required",
    "type",
    "allowed_values",
    "minimum",
    "maximum",
    "pattern",
    "min_length",
    "max_length",
    "reference",
    "unique",
)
DATASET_CHECKS = ("header", "min_rows", "max_rows", "primary_key", "freshness")
MASK = "***"
#: Cell errors kept in detail; the summary still counts every one. Bounds the report's memory
#: when a whole file is wrong (10 million rows of a wrong type would be 10 million entries).
DEFAULT_MAX_ERRORS = 100_000
#: Longest cell text quoted back in an error; longer values are cut with an ellipsis.
VALUE_MAX_CHARS = 200
BOOLEAN_TEXTS = ("true", "false", "1", "0", "ya", "tidak")
TRUE_TEXTS = ("true", "1", "ya")
#: Rows judged together by one worker: large enough that per-call overhead vanishes, small
#: enough that the parts in flight are a small share of memory.
_PART_ROWS = 1 << 16
_PK_EXAMPLES = 10
_PRINTED_ERRORS = 5  # failing cells the command prints; the JSON report has them all
_MAX_WORKERS = 4
#: Keys set aside as out of order before sorting them all instead (see _repeats).
_STRAY_MIN = 64
_STRAY_SHARE = 64
_STRAY_ROUNDS = 8

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


# --- the report ----------------------------------------------------------------------------------


class CellError(BaseModel):
    """One cell that fails one check: what the sender must correct."""

    model_config = ConfigDict(extra="forbid")

    row: int = Field(description="Spreadsheet row: the header is row 1, the first record row 2.")
    column: str = Field(description="Column (contract field) name.")
    check: str = Field(description="Stable check name, one of CELL_CHECKS.", examples=["type"])
    value: str | None = Field(description="The cell's text (cut if very long), or *** if masked.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Values the message needs (bounds, allowed values)."
    )
    level: Level = Field(
        default=Level.TERBUKA, description="Confidentiality level of the field, for masking."
    )

    def message(self, lang: str = "id") -> str:
        """The error in the sender's words, in ``lang``."""
        key = _message_key(self.check, self.params)
        return t(key, lang, row=self.row, column=self.column, value=self.value, **self.params)


def _message_key(check: str, params: dict[str, Any]) -> str:
    return f"verify.type.{params['type']}" if check == "type" else f"verify.{check}"


_Failing = tuple[int, str, str, str | None, dict[str, Any]]  # (row, column, check, value, params)


def _with_messages(errors: Iterable[_Failing], lang: str) -> Iterator[tuple[int, str, str, str | None, str]]:
    """Failing cells with their message in ``lang`` (the same text as :meth:`CellError.message`),
    each message's template looked up once, not per cell."""
    templates: dict[str, str] = {}
    for row, column, check, value, params in errors:
        key = _message_key(check, params)
        template = templates.get(key)
        if template is None:
            template = templates[key] = t(key, lang)
        yield row, column, check, value, template.format(row=row, column=column, value=value, **params)


def _json_errors(errors: Iterable[_Failing], lang: str) -> list[dict]:
    """Failing cells as the JSON report lists them, each with its message in ``lang``."""
    return [
        {"row": row, "column": column, "check": check, "value": value, "message": message}
        for row, column, check, value, message in _with_messages(errors, lang)
    ]


def _json_error_texts(errors: Iterable[_Failing], lang: str) -> Iterator[str]:
    """:func:`_json_errors` as JSON text, entry by entry, for the thousands of failing cells of a
    large file: the entries of one column, check and message share a pattern made once (see
    :func:`_entry_pattern`) that takes each cell's row and escaped value."""
    escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # json.dumps' escaping
    templates: dict[str, str] = {}
    patterns: dict[tuple[Any, ...], str | None] = {}
    for row, column, check, value, params in errors:
        key = _message_key(check, params)
        shape = (key, column, *params.items())
        pattern = patterns.get(shape, "")
        if pattern == "":
            template = templates.get(key)
            if template is None:
                template = templates[key] = t(key, lang)
            pattern = patterns[shape] = _entry_pattern(template, column, check, params)
        if pattern is not None and value is not None:
            yield pattern.format(row, escape(value)[1:-1])
            continue
        message = templates[key].format(row=row, column=column, value=value, **params)
        shown = "null" if value is None else escape(value)
        yield (
            f'{{"row": {row}, "column": {escape(column)}, "check": {escape(check)}, '
            f'"value": {shown}, "message": {escape(message)}}}'
        )


def _entry_pattern(template: str, column: str, check: str, params: dict[str, Any]) -> str | None:
    """A failing cell's JSON entry as a ``str.format`` pattern taking the row (``{0}``) and the
    value already escaped for JSON (``{1}``): every other text filled in from ``template``,
    escaped and with its braces doubled. None for a template with a format spec or conversion
    (then each message is formatted whole)."""
    escape = json.encoder.encode_basestring  # type: ignore[attr-defined]

    def literal(text: str) -> str:
        return escape(text)[1:-1].replace("{", "{{").replace("}", "}}")

    fields = {"column": column, **params}
    message = []
    for text, name, spec, conversion in string.Formatter().parse(template):
        message.append(literal(text))
        if name is None:
            continue
        if spec or conversion or name not in ("row", "value", *fields):
            return None
        slot = {"row": "{0}", "value": "{1}"}.get(name)
        message.append(slot if slot is not None else literal(format(fields[name], "")))
    return (
        f'{{{{"row": {{0}}, "column": "{literal(column)}", "check": "{literal(check)}", '
        f'"value": "{{1}}", "message": "{"".join(message)}"}}}}'
    )


_CELL_ERRORS = TypeAdapter(list[CellError])


class DatasetIssue(BaseModel):
    """A problem of the file as a whole: header, row count, repeated keys, stale data."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="Stable check name, one of DATASET_CHECKS.")
    params: dict[str, Any] = Field(default_factory=dict, description="Values the message needs.")
    severity: Literal["error", "warning"] = Field(
        default="error", description="An error makes the data invalid; a warning does not."
    )
    level: Level = Field(
        default=Level.TERBUKA, description="Level of the data quoted in params, for masking."
    )

    def message(self, lang: str = "id") -> str:
        """The issue in the sender's words, in ``lang``."""
        key = f"verify.{self.check}"
        if self.check == "header":
            key = f"verify.header.{self.params['kind']}"
        return t(key, lang, **self.params)


class SummaryEntry(BaseModel):
    """How many cells of one column fail one check."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="Column (contract field) name.")
    check: str = Field(description="Stable check name.")
    count: int = Field(ge=1, description="Number of failing cells, all of them, never capped.")


class VerificationReport(BaseModel):
    """Result of verifying one file against its contract."""

    model_config = ConfigDict(extra="forbid")

    valid: bool = Field(description="True when no cell error and no dataset error was found.")
    rows: int = Field(ge=0, description="Number of data rows checked.")
    errors: list[CellError] = Field(
        default_factory=list,
        description="Failing cells by row then column order, at most one per cell (capped).",
    )
    dataset_issues: list[DatasetIssue] = Field(
        default_factory=list, description="Problems of the file as a whole."
    )
    summary: list[SummaryEntry] = Field(
        default_factory=list, description="Failing-cell counts per column and check."
    )

    @property
    def error_count(self) -> int:
        """All failing cells, including those beyond the detail cap."""
        return sum(entry.count for entry in self.summary)

    @property
    def truncated(self) -> bool:
        """True when ``errors`` holds fewer entries than there are failing cells."""
        return self.error_count > len(self.errors)

    def masked_for(self, clearance: Level) -> VerificationReport:
        """A copy whose quoted values of fields above ``clearance`` read ``***``."""
        errors = [
            e if clearance.allows(e.level) else e.model_copy(update={"value": MASK}) for e in self.errors
        ]
        issues = []
        for issue in self.dataset_issues:
            if not clearance.allows(issue.level) and "newest" in issue.params:
                issue = issue.model_copy(update={"params": {**issue.params, "newest": MASK}})
            issues.append(issue)
        return self.model_copy(update={"errors": errors, "dataset_issues": issues})

    def to_json_dict(self, lang: str = "id") -> dict[str, Any]:
        """The report as plain JSON data with every message in ``lang``."""
        return {
            "valid": self.valid,
            "rows": self.rows,
            "errors": _json_errors(
                ((e.row, e.column, e.check, e.value, e.params) for e in self.errors), lang
            ),
            "summary": [s.model_dump(mode="json") for s in self.summary],
            "dataset_issues": [
                {
                    "check": i.check,
                    "severity": i.severity,
                    "params": i.params,
                    "message": i.message(lang),
                }
                for i in self.dataset_issues
            ],
        }

    def headline(self, lang: str = "id") -> str:
        """One sentence saying whether the data conforms."""
        if self.valid:
            return t("verify.summary.valid", lang, rows=_count(self.rows, lang))
        issues = sum(i.severity == "error" for i in self.dataset_issues)
        return t(
            "verify.summary.invalid",
            lang,
            errors=_count(self.error_count, lang),
            issues=issues,
            rows=_count(self.rows, lang),
        )


def _count(number: int, lang: str) -> str:
    """Thousands grouped as the reader writes them: 1.000.000 in Indonesian, 1,000,000 in English."""
    text = f"{number:,}"
    return text.replace(",", ".") if lang == "id" else text


# --- the engine ----------------------------------------------------------------------------------


def verify_table(
    contract: DataContract,
    table_or_batches: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    *,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
) -> VerificationReport:
    """Every failure of the table (or stream of batches) against ``contract``, in one pass.

    Cells are text as :mod:`ocenter.ingest` reads them. Each cell reports at most one error, the
    first check it fails in :data:`CELL_CHECKS` order; missing cells (empty or a
    ``missing_values`` marker) fail only ``required``. ``max_errors`` caps the detailed entries
    (the summary counts all); ``progress`` is called with the number of rows done so far.

    Parts of the input are judged on worker threads while the next part is read (Arrow and
    numpy release the GIL); their results are recorded in order on the calling thread, which
    alone waits for the workers (a worker never waits for anything), so nothing can deadlock.
    """
    return _verified(contract, table_or_batches, today, progress, max_errors).finish()


def _verified(
    contract: DataContract,
    table_or_batches: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    reading: bool | Callable[[], bool] | None = None,
) -> _Engine:
    """The engine once every part is judged and recorded, ready to finish. ``reading``: whether
    this thread reads the batches as it takes them (by default, when they are not a table), or
    when a thread of its own reads them, whether it still is (see :class:`_Pool`)."""
    engine = _Engine(contract, today or dt.date.today(), max_errors)
    if reading is None:
        reading = not isinstance(table_or_batches, pa.Table | pa.RecordBatch)
    pool = _Pool(reading=reading)
    try:
        pending: deque[Future[_Judged]] = deque()
        for part in _parts(table_or_batches):
            if not engine.started:
                engine.start(part)
            pending.append(pool.submit(engine.judge, part, engine.cut_row is None))
            part = None  # the worker holds it now; the next part may be read meanwhile
            while len(pending) > pool.window():
                engine.record(pending.popleft().result())
                if progress is not None:
                    progress(engine.rows)
        while pending:
            engine.record(pending.popleft().result())
            if progress is not None:
                progress(engine.rows)
    finally:
        pool.close()
    return engine


def _parts(source: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """The input as tables of a good size: big enough that per-call overhead vanishes, small
    enough that a few of them in flight stay a small share of memory."""
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        if source.num_rows == 0:
            yield source
        for start in range(0, source.num_rows, _PART_ROWS):
            yield source.slice(start, _PART_ROWS)
        return
    group: list[pa.RecordBatch] = []
    rows = 0
    schema = None
    for batch in source:
        if schema is None:
            schema = batch.schema
        group.append(batch)
        rows += batch.num_rows
        if rows >= _PART_ROWS // 2:  # a streamed piece of a few MB is a part of its own
            yield pa.Table.from_batches(group, schema=schema)
            group, rows = [], 0
    if group or schema is None:
        yield pa.Table.from_batches(group, schema=schema or pa.schema([]))


class _Pool:
    """Worker threads judging parts, or none on a single processor (then work runs inline).

    ``reading``: True when the calling thread reads and parses the stream as it goes (a
    processor is left to it); a callable when a thread of its own does, saying whether it still
    is: until then one part is judged at a time, so that the reading, the slower of the two,
    keeps a processor to itself; then every processor judges what it left.
    """

    def __init__(self, reading: bool | Callable[[], bool] = False) -> None:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        workers = min(usable or 1, _MAX_WORKERS)
        self._still_reading = reading if callable(reading) else None
        self._window = 2 * workers  # a part waits for each worker: none idles between two parts
        if reading is True and workers > 1:
            # The calling thread reads on a core of its own, and the next part comes only as
            # fast as it reads: one waiting part is enough.
            workers -= 1
            self._window = workers
        threaded = (usable or 1) > 1
        self.executor = ThreadPoolExecutor(workers, "ocenter-verify") if threaded else None

    def window(self) -> int:
        """Parts that may stay submitted but not yet recorded once the next one is submitted:
        bounds the memory of work in flight, and how many are judged at once."""
        if self._still_reading is not None and self._still_reading():
            return 0
        return self._window

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Future[Any]:
        if self.executor is not None:
            return self.executor.submit(function, *arguments)
        done: Future[Any] = Future()
        try:
            done.set_result(function(*arguments))
        except BaseException as exc:  # re-raised by result(), as from a worker
            done.set_exception(exc)
        return done

    def close(self) -> None:
        if self.executor is not None:
            # Tasks never wait on one another, so waiting here always ends.
            self.executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Plan:
    """How one contract field is checked, prepared once."""

    field: ContractField
    index: int  # position in the contract
    position: int | None  # position in the file, None when the column is missing
    markers: list[str]
    allowed: list[str] | None
    codes: list[str] | None
    pattern: str | None
    params: dict[str, dict[str, Any]]  # message values of each check
    distinct: bool = False  # judged once per distinct value (values repeat a lot)
    fixed: list[list[tuple[int, int]]] | None = None  # a fixed-width pattern's byte ranges


@dataclass
class _Group:
    """Failing cells of one field and check, found in one part."""

    index: int
    check: str
    rows: np.ndarray
    values: pa.Array | pa.ChunkedArray
    params: dict[str, Any]
    per_row: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class _Failures:
    """Failing cells of one field and check in one part, as a worker found them."""

    index: int
    check: str
    at: np.ndarray  # positions within the part
    values: Any  # their text, or None when the detail is no longer kept
    lengths: np.ndarray | None = None


@dataclass
class _KeyPart:
    """The cells of one part that take part in a uniqueness check."""

    values: list[Any]
    at: np.ndarray | None  # positions within the part, None for every row
    eligible: np.ndarray | None


@dataclass
class _Judged:
    """What a worker found in one part."""

    rows: int
    failures: list[_Failures]
    keys: dict[tuple[str, ...], _KeyPart]
    newest: str | None


@dataclass
class _Keys:
    """Values that must not repeat (a unique field or the primary key), gathered part by part.

    Only rows where every key cell is present take part. ``eligible`` (unique fields only) says
    which of those cells passed every other check and may therefore report ``unique``.
    """

    names: tuple[str, ...]
    columns: list[list[pa.Array]] = field(default_factory=list)
    parts: list[tuple[int, int, np.ndarray | None]] = field(default_factory=list)
    eligible: list[np.ndarray] = field(default_factory=list)
    types: list[pa.DataType] = field(default_factory=list)
    result: tuple[np.ndarray, np.ndarray] | None = None

    def column(self, i: int) -> pa.ChunkedArray:
        return pa.chunked_array(self.columns[i], self.types[i] if self.types else pa.string())

    def add(self, part: _KeyPart, offset: int) -> None:
        if not self.columns:
            self.columns = [[] for _ in part.values]
            self.types = [col.type for col in part.values]
        for store, col in zip(self.columns, part.values, strict=True):
            store.extend(col.chunks if isinstance(col, pa.ChunkedArray) else [col])
        self.parts.append((offset, len(part.values[0]), part.at))
        if part.eligible is not None:
            self.eligible.append(part.eligible)

    def positions(self) -> np.ndarray:
        """Row (0-based record) of each gathered cell, increasing."""
        pieces = [
            np.arange(offset, offset + count, dtype=np.int64) if at is None else at + offset
            for offset, count, at in self.parts
        ]
        return np.concatenate(pieces) if pieces else np.empty(0, np.int64)

    def duplicates(self) -> tuple[np.ndarray, np.ndarray]:
        """(position of each repeat, position of the first row with the same key)."""
        if self.result is None:
            count = sum(count for _, count, _ in self.parts)
            repeat, first = _repeats([self.column(i) for i in range(len(self.columns))], count)
            if len(repeat):
                positions = self.positions()
                repeat, first = positions[repeat], positions[first]
            self.result = repeat, first
        return self.result


def _check_params(f: ContractField, contract: DataContract) -> dict[str, dict[str, Any]]:
    type_params: dict[str, Any] = {"type": f.type.value}
    if f.type == FieldType.NUMBER:
        type_params["decimal"] = contract.decimal_separator
    allowed = f.allowed_values or []
    shown = ", ".join(allowed[:20]) + (", …" if len(allowed) > 20 else "")
    return {
        "required": {},
        "type": type_params,
        "allowed_values": {"allowed": shown},
        "minimum": {"minimum": _num(f.minimum) if f.minimum is not None else ""},
        "maximum": {"maximum": _num(f.maximum) if f.maximum is not None else ""},
        "pattern": {"pattern": f.pattern or ""},
        "min_length": {"min_length": f.min_length},
        "max_length": {"max_length": f.max_length},
        "reference": {"list": f.reference or ""},
        "unique": {},
    }


class _Engine:
    """State of one verification: parts judged (on any thread), recorded in order, finished."""

    def __init__(self, contract: DataContract, today: dt.date, max_errors: int | None) -> None:
        self.contract = contract
        self.today = today
        self.max_errors = max_errors
        self.rows = 0
        self.started = False
        self.plans: list[_Plan] = []
        self.issues: list[DatasetIssue] = []
        self.counts: dict[tuple[int, str], int] = {}
        self.groups: list[_Group] = []
        self.stored = 0
        self.cut_row: int | None = None  # detail is complete up to this row only
        self.keys: dict[tuple[str, ...], _Keys] = {}
        self.newest: str | None = None
        self._error_rows: list[tuple[int, str, str, str | None, dict[str, Any], Level]] | None = None
        self._error_rows_of = 0  # how many groups the rows above were laid out from

    # header -------------------------------------------------------------------------------------

    def start(self, first_part: pa.Table | None) -> None:
        """Check the header; prepare every field's checks, judging from ``first_part`` which
        fields are worth judging once per distinct value."""
        self.started = True
        names = first_part.column_names if first_part is not None else []
        contract = self.contract
        first: dict[str, int] = {}
        for position, name in enumerate(names):
            first.setdefault(name, position)
        expected = contract.field_names()
        known = set(expected)
        missing = [n for n in expected if n not in first]
        unexpected = [n for n in first if n not in known]
        duplicate = sorted({n for n in names if names.count(n) > 1})
        present = [n for n in first if n in known]  # dicts keep the file's order
        in_contract_order = [n for n in expected if n in first]
        for kind, columns in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("duplicate", duplicate),
        ):
            if columns:
                self.issues.append(
                    DatasetIssue(
                        check="header",
                        params={"kind": kind, "columns": ", ".join(f'"{c}"' for c in columns)},
                    )
                )
        if present != in_contract_order:
            self.issues.append(
                DatasetIssue(check="header", params={"kind": "reordered", "expected": ", ".join(expected)})
            )
        for index, f in enumerate(contract.fields):
            plan = _Plan(
                field=f,
                index=index,
                position=first.get(f.name),
                markers=[m for m in contract.missing_values if m != ""],
                allowed=f.allowed_values,
                codes=sorted(reference.reference_codes(f.reference)) if f.reference else None,
                pattern=anchored(f.pattern) if f.pattern is not None else None,
                params=_check_params(f, contract),
                fixed=_fixed_ranges(f.pattern) if f.pattern is not None else None,
            )
            if plan.position is not None and first_part is not None:
                plan.distinct = _worth_distinct(plan, first_part.column(plan.position))
            self.plans.append(plan)
            if f.unique and first.get(f.name) is not None:
                self.keys[(f.name,)] = _Keys(names=(f.name,))
        key = tuple(contract.primary_key)
        if key and all(n in first for n in key) and key not in self.keys:
            self.keys[key] = _Keys(names=key)

    # cells: judged on a worker thread, reading only what start() prepared -----------------------

    def judge(self, part: pa.Table, detail: bool) -> _Judged:
        """Every check of every field on one part; ``detail`` keeps failing values."""
        decimal = self.contract.decimal_separator
        failures: list[_Failures] = []
        codes: dict[str, np.ndarray] = {}
        columns: dict[str, pa.ChunkedArray] = {}
        newest = None
        for plan in self.plans:
            if plan.position is None:
                continue
            col = _text_column(part.column(plan.position))
            outcome, values, distinct = _judge(plan, col, decimal)
            name = plan.field.name
            columns[name] = col
            codes[name] = outcome
            failures.extend(_failures(plan, col, outcome, detail))
            if self.contract.time_field == name:
                newest = _newest(plan, values, None if distinct else outcome, decimal)
        keys = {names: self._key_part(names, codes, columns) for names in self.keys}
        return _Judged(rows=part.num_rows, failures=failures, keys=keys, newest=newest)

    def _key_part(
        self, names: tuple[str, ...], codes: dict[str, np.ndarray], columns: dict[str, pa.ChunkedArray]
    ) -> _KeyPart:
        present = None
        for name in names:
            outcome = codes[name]
            here = (outcome == _OK) | (outcome > _REQUIRED)
            present = here if present is None else present & here
        assert present is not None
        eligible = None
        if len(names) == 1 and self.contract.field(names[0]).unique:
            eligible = codes[names[0]][present] == _OK
        if present.all():  # nothing missing: no copy
            return _KeyPart(values=[columns[n] for n in names], at=None, eligible=eligible)
        at = np.flatnonzero(present)
        return _KeyPart(values=[_take(columns[n], at) for n in names], at=at, eligible=eligible)

    # recording: on the calling thread, part after part in order -------------------------------

    def record(self, judged: _Judged) -> None:
        offset = self.rows
        for found in judged.failures:
            plan = self.plans[found.index]
            key = (found.index, found.check)
            self.counts[key] = self.counts.get(key, 0) + len(found.at)
            if self.cut_row is not None or found.values is None:
                continue
            per_row = {} if found.lengths is None else {"length": found.lengths}
            self.groups.append(
                _Group(
                    index=found.index,
                    check=found.check,
                    rows=found.at.astype(np.int64) + offset + 2,
                    values=found.values,
                    params=plan.params[found.check],
                    per_row=per_row,
                )
            )
            self.stored += len(found.at)
        for names, part in judged.keys.items():
            self.keys[names].add(part, offset)
        if judged.newest is not None and (self.newest is None or judged.newest > self.newest):
            self.newest = judged.newest
        self.rows += judged.rows
        if self.cut_row is None and self.max_errors is not None and self.stored >= self.max_errors:
            self.cut_row = self.rows + 1  # spreadsheet row of the last record seen

    # end ----------------------------------------------------------------------------------------

    def finish(self, detail: int | None = None) -> VerificationReport:
        """The report; ``detail`` keeps only that many failing cells in ``errors`` (the command
        writes the rest from :meth:`error_rows` without making a ``CellError`` of each)."""
        if not self.started:
            self.start(None)
        contract = self.contract
        for plan in self.plans:
            keys = self.keys.get((plan.field.name,))
            if plan.field.unique and keys is not None:
                self._finish_unique(plan, keys)
        issues = list(self.issues)
        key_issue = self._finish_primary_key()
        if key_issue is not None:
            issues.append(key_issue)
        if contract.min_rows is not None and self.rows < contract.min_rows:
            params = {"rows": self.rows, "min_rows": contract.min_rows}
            issues.append(DatasetIssue(check="min_rows", params=params))
        if contract.max_rows is not None and self.rows > contract.max_rows:
            params = {"rows": self.rows, "max_rows": contract.max_rows}
            issues.append(DatasetIssue(check="max_rows", params=params))
        stale = self._freshness()
        if stale is not None:
            issues.append(stale)
        ordered = sorted(self.counts.items(), key=lambda kv: (kv[0][0], CELL_CHECKS.index(kv[0][1])))
        summary = [
            SummaryEntry(column=self.plans[index].field.name, check=check, count=count)
            for (index, check), count in ordered
        ]
        valid = not self.counts and not any(i.severity == "error" for i in issues)
        rows = self.error_rows()
        entries = [
            {"row": r, "column": c, "check": k, "value": v, "params": p, "level": lv}
            for r, c, k, v, p, lv in (rows if detail is None else rows[:detail])
        ]
        return VerificationReport(
            valid=valid,
            rows=self.rows,
            errors=_CELL_ERRORS.validate_python(entries),  # one validation for all (copies params)
            dataset_issues=issues,
            summary=summary,
        )

    def _finish_unique(self, plan: _Plan, keys: _Keys) -> None:
        repeat, first = keys.duplicates()
        if not len(repeat):
            return
        positions = keys.positions()
        eligible = np.concatenate(keys.eligible)
        # Positions are increasing, so a repeat's index among the gathered cells is a search.
        at = np.searchsorted(positions, repeat)
        chosen = eligible[at]
        at, repeat, first = at[chosen], repeat[chosen], first[chosen]
        if not len(at):
            return
        key = (plan.index, "unique")
        self.counts[key] = self.counts.get(key, 0) + len(at)
        order = np.argsort(at, kind="stable")
        at, repeat, first = at[order], repeat[order], first[order]
        rows = repeat + 2
        if self.cut_row is not None:
            keep = rows <= self.cut_row
            at, rows, first = at[keep], rows[keep], first[keep]
        if len(at):
            self.groups.append(
                _Group(
                    index=plan.index,
                    check="unique",
                    rows=rows,
                    values=_take(keys.column(0), at),
                    params={},
                    per_row={"first_row": first + 2},
                )
            )

    def _finish_primary_key(self) -> DatasetIssue | None:
        names = tuple(self.contract.primary_key)
        keys = self.keys.get(names)
        if not names or keys is None:
            return None
        repeat, _ = keys.duplicates()
        if not len(repeat):
            return None
        rows = np.sort(repeat + 2)
        shown = ", ".join(str(r) for r in rows[:_PK_EXAMPLES].tolist())
        return DatasetIssue(
            check="primary_key",
            params={
                "columns": ", ".join(names),
                "count": len(rows),
                "rows": shown + (", …" if len(rows) > _PK_EXAMPLES else ""),
            },
        )

    def _freshness(self) -> DatasetIssue | None:
        contract = self.contract
        if not contract.time_field or not contract.cadence_days or self.newest is None:
            return None
        newest = dt.date.fromisoformat(self.newest)
        days_old = (self.today - newest).days
        if days_old <= contract.cadence_days:
            return None
        # A warning: old data may be a deliberate back-fill; the sender and Pusdatin decide.
        return DatasetIssue(
            check="freshness",
            severity="warning",
            level=contract.field(contract.time_field).level,
            params={
                "column": contract.time_field,
                "newest": self.newest,
                "days_old": days_old,
                "cadence_days": contract.cadence_days,
            },
        )

    def find_repeats(self) -> None:
        """Find the repeated keys of unique fields and of the primary key (kept for :meth:`finish`):
        Arrow's sorts and lookups, which leave the interpreter free for other work meanwhile."""
        for keys in self.keys.values():
            keys.duplicates()

    def error_rows(self) -> list[tuple[int, str, str, str | None, dict[str, Any], Level]]:
        """The detailed failing cells, by row then contract column, capped: (row, column, check,
        value, params, level) each. Computed once for the groups found so far: :meth:`finish` adds
        the repeats of unique fields, after which they are laid out again if there are any."""
        if self._error_rows is not None and self._error_rows_of == len(self.groups):
            return self._error_rows
        self._error_rows_of = len(self.groups)
        if not self.groups:
            self._error_rows = []
            return self._error_rows
        rows = np.concatenate([g.rows for g in self.groups])
        fields = np.concatenate([np.full(len(g.rows), g.index) for g in self.groups])
        group_of = np.concatenate([np.full(len(g.rows), n) for n, g in enumerate(self.groups)])
        within = np.concatenate([np.arange(len(g.rows)) for g in self.groups])
        order = np.lexsort((fields, rows))
        if self.cut_row is not None:
            order = order[rows[order] <= self.cut_row]
        if self.max_errors is not None:
            order = order[: self.max_errors]
        chosen = group_of[order].tolist()
        texts: dict[int, list[str | None]] = {}
        extras: dict[int, list[dict[str, Any]]] = {}
        for n in set(chosen):
            group = self.groups[n]
            texts[n] = [_cut(text) for text in group.values.to_pylist()]
            if group.per_row:
                columns = {name: values.tolist() for name, values in group.per_row.items()}
                extras[n] = [
                    {**group.params, **dict(zip(columns, numbers, strict=True))}
                    for numbers in zip(*columns.values(), strict=True)
                ]
        names = [plan.field.name for plan in self.plans]
        levels = [plan.field.level for plan in self.plans]
        groups = self.groups
        # Cells of one group share its params dict: read them, never change them.
        self._error_rows = [
            (
                row,
                names[groups[n].index],
                groups[n].check,
                texts[n][i],
                extras[n][i] if n in extras else groups[n].params,
                levels[groups[n].index],
            )
            for row, n, i in zip(rows[order].tolist(), chosen, within[order].tolist(), strict=True)
        ]
        return self._error_rows


# --- vectorised helpers --------------------------------------------------------------------------
# Arrow arrays and scalars are built from buffers, and read back into numpy through buffers:
# pa.array(), pa.scalar() and to_numpy() would import pandas (0.3 s) merely to check for it.


def _texts(values: list[str] | tuple[str, ...], kind: pa.DataType | None = None) -> pa.Array:
    """Texts as an Arrow array; the same few (allowed values, codes, markers), asked for part
    after part, are built once and shared (Arrow arrays never change)."""
    return _text_array(tuple(values), kind or pa.string())


@lru_cache(maxsize=256)
def _text_array(values: tuple[str, ...], kind: pa.DataType) -> pa.Array:
    encoded = [v.encode("utf-8") for v in values]
    wide = pa.types.is_large_string(kind)
    offsets = np.zeros(len(encoded) + 1, np.int64 if wide else np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(offsets), data])


def _ints(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


@lru_cache(maxsize=256)
def _text_scalar(value: str, kind: pa.DataType | None = None) -> pa.Scalar:
    return _texts([value], kind)[0]


def _int_scalar(value: int, kind: pa.DataType | None = None) -> pa.Scalar:
    scalar = _ints(np.array([value]))[0]
    return scalar.cast(kind) if kind is not None and kind != pa.int64() else scalar


def _take(col: Any, at: np.ndarray) -> Any:
    """``col`` at the increasing positions ``at``, chunk by chunk.

    Arrow's take on a chunked array first concatenates every chunk: a copy of the whole column
    to pick a handful of failing cells.
    """
    if not isinstance(col, pa.ChunkedArray) or col.num_chunks <= 1:
        return pc.take(col, _ints(at))
    lengths = np.array([len(chunk) for chunk in col.chunks], np.int64)
    starts = np.cumsum(lengths) - lengths
    stops = np.searchsorted(at, starts + lengths).tolist()  # at[stops[k-1]:stops[k]] in chunk k
    parts = []
    begin = 0
    for index, stop in enumerate(stops):
        if stop > begin:
            parts.append(pc.take(col.chunk(index), _ints(at[begin:stop] - starts[index])))
        begin = stop
    return pa.chunked_array(parts, col.type)


def _bools(mask: np.ndarray) -> pa.Array:
    bits = np.packbits(np.ascontiguousarray(mask, bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def _np(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A null-free numeric or boolean Arrow array as numpy (booleans unpacked from their bits)."""
    if isinstance(values, pa.ChunkedArray):
        parts = [_np(chunk) for chunk in values.chunks]
        if not parts:
            return np.empty(0, bool if values.type == pa.bool_() else np.dtype(str(values.type)))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    if pa.types.is_boolean(values.type):
        if not len(values):
            return np.empty(0, bool)
        bits = np.frombuffer(values.buffers()[1], np.uint8)
        unpacked = np.unpackbits(bits, count=values.offset + len(values), bitorder="little")
        return unpacked[values.offset :].view(bool)
    dtype = np.dtype(str(values.type))
    return np.frombuffer(
        values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize
    )


def _text_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from the first text's start, the texts' bytes) of a string array, no copy."""
    kind = np.int64 if pa.types.is_large_string(values.type) else np.int32
    width = np.dtype(kind).itemsize
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=kind, count=len(values) + 1, offset=values.offset * width)
    start, size = int(offsets[0]), int(offsets[-1] - offsets[0])
    data = np.frombuffer(buffers[2], np.uint8, count=size, offset=start) if size else np.empty(0, np.uint8)
    return offsets - offsets[0], data


def _per_text(values: Any, function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``function(offsets, bytes)`` of each chunk of a string array, joined."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [function(*_text_bytes(chunk)) for chunk in chunks if len(chunk)]
    if not parts:
        return function(np.zeros(1, np.int64), np.empty(0, np.uint8))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _byte_lengths(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Length in bytes of each text, from the array's offsets (no kernel, no copy of text)."""
    return _per_text(values, lambda offsets, _: np.diff(offsets))


def _char_lengths(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Length in characters of each text: its length in bytes when every byte is ASCII."""

    def lengths(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        if not len(data) or data.max() < 0x80:
            return np.diff(offsets)
        # A UTF-8 character is one byte that is not a continuation byte (10xxxxxx).
        return _segment_sums((data & 0xC0) != 0x80, offsets)

    return _per_text(values, lengths)


def _segment_sums(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Number of true ``flags`` within each text (``offsets`` from the first text's start)."""
    sums = np.zeros(len(flags) + 1, np.int64 if len(flags) >= 2**30 else np.int32)
    np.cumsum(flags, dtype=sums.dtype, out=sums[1:])
    return sums[offsets[1:]] - sums[offsets[:-1]]


def _decimal_shape(values: Any, mark: int) -> np.ndarray:
    """Texts of one or more ASCII digits with at most one ``mark`` byte among them: the
    common numbers, recognised byte by byte without building new texts."""

    def shape(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        digit = (data - 48) < 10  # unsigned: bytes below "0" wrap round to large values
        marks = data == mark
        # Each mark weighs 1, any other non-digit 2: a text passes with a total of 0 or 1.
        weight = marks.view(np.uint8) + ((~(digit | marks)).view(np.uint8) << 1)
        total = _segment_sums(weight, offsets)
        return (total <= 1) & (np.diff(offsets) > total)

    return _per_text(values, shape)


def _rows_of_width(offsets: np.ndarray, data: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The bytes of the texts ``at`` (each ``width`` bytes long) as a matrix, one row a text."""
    if len(at) == len(offsets) - 1:  # every text has the width: the bytes already form one
        return data.reshape(len(at), width)
    return sliding_window_view(data, width)[offsets[at]]


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0], np.int32)


def _iso_dates(values: Any) -> np.ndarray:
    """Which texts are ISO dates ``YYYY-MM-DD`` of the calendar (years 0001 to 9999): the
    answer of DATE_RE, computed on the bytes, digit by digit."""

    def dates(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        ok = np.diff(offsets) == 10
        at = np.flatnonzero(ok)
        if not len(at):
            return ok
        rows = _rows_of_width(offsets, data, at, 10)
        digits = [(rows[:, k] - 48).astype(np.int32) for k in range(10)]  # "0" is 48
        good = (rows[:, 4] == 45) & (rows[:, 7] == 45)  # "-" is 45
        for k in (0, 1, 2, 3, 5, 6, 8, 9):
            good &= (digits[k] >= 0) & (digits[k] <= 9)
        year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
        month = np.clip(digits[5] * 10 + digits[6], 0, 13)
        day = digits[8] * 10 + digits[9]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        last = _MONTH_DAYS[month] + (leap & (month == 2))
        ok[at] = good & (year >= 1) & (day >= 1) & (day <= last)
        return ok

    return _per_text(values, dates)


#: Bytes a character class of a fixed-width pattern may match, by escape.
_DIGIT_BYTES = frozenset(range(ord("0"), ord("9") + 1))
_REGEX_META = frozenset(".^$*+?()[]{}|\\")
_FIXED_REPEAT = re.compile(r"\{(\d{1,3})\}")
_FIXED_MAX = 256


def fixed_width_classes(pattern: str) -> np.ndarray | None:
    """For a pattern that is a fixed sequence of ASCII characters and classes, e.g.
    ``^S\\d{8}$`` or ``[A-Z]{2}-\\d{4}``, a table: row *k* says which bytes the *k*-th
    character may be. None for any other pattern (alternatives, open repeats, ``.``, other
    escapes, non-ASCII), which RE2 then runs. A text matches the whole pattern exactly when it
    has as many bytes as the table has rows and each byte is allowed by its row: the same
    answer as RE2's, found with a few array operations instead of a regex per text.
    """
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$"):
        backslashes = len(body) - 1 - len(body[:-1].rstrip("\\"))
        if backslashes % 2 == 0:  # an anchor, not an escaped "$"
            body = body[:-1]
    classes: list[frozenset[int]] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body):
                return None
            allowed = _escaped(body[i + 1])
            i += 2
        elif char == "[":
            found = _bracket(body, i)
            if found is None:
                return None
            allowed, i = found
        elif char in _REGEX_META or not " " <= char <= "~":
            return None
        else:
            allowed = frozenset({ord(char)})
            i += 1
        if allowed is None:
            return None
        count = 1
        if i < len(body) and body[i] in "{*+?":
            repeat = _FIXED_REPEAT.match(body, i)
            if repeat is None:
                return None
            count = int(repeat.group(1))
            i = repeat.end()
        classes.extend([allowed] * count)
        if len(classes) > _FIXED_MAX:
            return None
    if not classes:
        return None
    table = np.zeros((len(classes), 256), bool)
    for row, allowed in enumerate(classes):
        table[row, sorted(allowed)] = True
    return table


def _fixed_ranges(pattern: str) -> list[list[tuple[int, int]]] | None:
    table = fixed_width_classes(pattern)
    return None if table is None else [_byte_ranges(row) for row in table]


def _byte_ranges(allowed: np.ndarray) -> list[tuple[int, int]]:
    """The allowed bytes (a row of a fixed-width table) as inclusive ranges."""
    edges = np.diff(np.concatenate([[0], allowed.view(np.int8), [0]]))
    lows, highs = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(lows.tolist(), highs.tolist(), strict=True))


def _escaped(char: str) -> frozenset[int] | None:
    if char == "d":
        return _DIGIT_BYTES
    if " " <= char <= "~" and not char.isalnum():  # an escaped punctuation mark is itself
        return frozenset({ord(char)})
    return None


def _bracket(body: str, start: int) -> tuple[frozenset[int], int] | None:
    """The bytes of the class ``[...]`` opening at ``start``, and the index after it."""
    i = start + 1
    if i >= len(body) or body[i] in "^]":
        return None  # negated (would match non-ASCII) or a literal "]": left to RE2
    allowed: set[int] = set()
    while i < len(body) and body[i] != "]":
        char = body[i]
        if char == "\\":
            escaped = _escaped(body[i + 1]) if i + 1 < len(body) else None
            if escaped is None or body[i + 2 : i + 3] == "-":
                return None
            allowed |= escaped
            i += 2
        elif char == "[" or not " " <= char <= "~":
            return None
        elif body[i + 1 : i + 2] == "-" and body[i + 2 : i + 3] not in ("", "]"):
            high = body[i + 2]
            if high in "\\[" or not " " <= high <= "~" or ord(high) < ord(char):
                return None
            allowed |= set(range(ord(char), ord(high) + 1))
            i += 3
        else:
            allowed.add(ord(char))
            i += 1
    if i >= len(body):
        return None
    return frozenset(allowed), i + 1


def _fixed_match(values: Any, ranges: list[list[tuple[int, int]]]) -> np.ndarray:
    """Which texts match a fixed-width pattern, given for each position the ranges of bytes
    allowed there (see fixed_width_classes and _byte_ranges).

    The texts of the right length form a matrix of bytes, checked position by position.
    """
    width = len(ranges)

    def match(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        ok = np.diff(offsets) == width
        at = np.flatnonzero(ok)
        if not len(at):
            return ok
        rows = _rows_of_width(offsets, data, at, width)
        good = np.ones(len(at), bool)
        for position, spans in enumerate(ranges):
            column = rows[:, position]
            inside = None
            for low, high in spans:
                here = (column - low) <= (high - low)  # unsigned: below ``low`` wraps round
                inside = here if inside is None else inside | here
            good &= inside
        ok[at] = good
        return ok

    return _per_text(values, match)


# Outcome of one cell, one byte each: passed, missing (not required), or the first check failed.
_OK = 0
_MISSING = 1
_FIRST_CHECK = 2
_REQUIRED = _FIRST_CHECK + CELL_CHECKS.index("required")
_TYPE = _FIRST_CHECK + CELL_CHECKS.index("type")
_DISTINCT_SAMPLE = 1 << 15
_SMALL_SET = 3
_DISTINCT_SHARE = 4  # judged by distinct value when at most a quarter are distinct


def _judge(plan: _Plan, col: pa.ChunkedArray, decimal: str) -> tuple[np.ndarray, Any, bool]:
    """Each row's outcome code for one field, with the values judged and whether distinct.

    A column with few distinct values (codes, dates, categories: most columns) is judged once
    per distinct value, then the outcome is spread back to the rows.
    """
    if plan.distinct and len(col):
        values, indices = _distinct(col)
        return _evaluate(plan, values, decimal)[indices], values, True
    return _evaluate(plan, col, decimal), col, False


def _worth_distinct(plan: _Plan, col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether to judge a field once per distinct value, from the first rows of the file.

    Worth it only when values repeat a lot and a check costs more than a hash lookup (a type,
    a pattern RE2 must run); set lookups, lengths and fixed-width patterns cost per row less
    than the encoding. An identifier column, whose first rows do not repeat, is judged as it is.
    """
    f = plan.field
    costly = f.type in (FieldType.NUMBER, FieldType.DATE, FieldType.DATETIME)
    costly = costly or (plan.pattern is not None and plan.fixed is None)
    if not costly or len(col) < _DISTINCT_SAMPLE:
        return False
    distinct = len(pc.unique(col.slice(0, _DISTINCT_SAMPLE)))
    return distinct * _DISTINCT_SHARE <= _DISTINCT_SAMPLE


def _distinct(col: pa.ChunkedArray) -> tuple[Any, np.ndarray]:
    """(distinct values, each row's index into them)."""
    encoded = pc.dictionary_encode(col)
    if isinstance(encoded, pa.Array):
        return encoded.dictionary, _np(encoded.indices)
    # Chunks share one dictionary, complete in the last chunk.
    indices = [_np(chunk.indices) for chunk in encoded.chunks]
    return encoded.chunk(encoded.num_chunks - 1).dictionary, np.concatenate(indices)


def _failures(plan: _Plan, col: pa.ChunkedArray, outcome: np.ndarray, detail: bool) -> list[_Failures]:
    """The failing cells of one field in one part, by check; their text only with ``detail``."""
    failed = np.flatnonzero(outcome >= _FIRST_CHECK)  # usually few: look only at those
    if not len(failed):
        return []
    codes = outcome[failed]
    counts = np.bincount(codes, minlength=_FIRST_CHECK + len(CELL_CHECKS))
    found = []
    present = (np.flatnonzero(counts[_FIRST_CHECK:]) + _FIRST_CHECK).tolist()
    for code in present:
        check = CELL_CHECKS[code - _FIRST_CHECK]
        at = failed if len(present) == 1 else failed[codes == code]
        values = lengths = None
        if detail:
            values = _take(col, at)
            if check in ("min_length", "max_length"):
                lengths = _np(pc.utf8_length(values))
        found.append(_Failures(index=plan.index, check=check, at=at, values=values, lengths=lengths))
    return found


def _newest(plan: _Plan, values: Any, outcome: np.ndarray | None, decimal: str) -> str | None:
    """The newest date of the time field among ``values``: first 10 characters of cells that
    passed (are present and of the right type). ``outcome`` None: ``values`` are distinct."""
    if outcome is None:  # the distinct values all occur: evaluate them again
        outcome = _evaluate(plan, values, decimal)
    passed = (outcome == _OK) | (outcome > _TYPE)
    if not passed.any():
        return None
    if not passed.all():
        values = _take(values, np.flatnonzero(passed))
    if plan.field.type in (FieldType.DATE, FieldType.DATETIME):
        dated = values  # their type check passed: each starts with a valid date
        if plan.field.type == FieldType.DATETIME:
            dated = pc.utf8_slice_codeunits(values, 0, 10)
    else:
        head = pc.utf8_slice_codeunits(values, 0, 10)
        dated = pc.filter(head, pc.match_substring_regex(head, pattern=DATE_RE))
    if not len(dated):
        return None
    return pc.max(dated).as_py()


def _evaluate(plan: _Plan, values: Any, decimal: str) -> np.ndarray:
    """Outcome code of each value: the first check it fails, in CELL_CHECKS order."""
    f = plan.field
    outcome = np.zeros(len(values), np.int8)
    missing = _missing_mask(values, plan.markers)
    outcome[missing] = _REQUIRED if f.required else _MISSING
    open_ = ~missing

    def fail(check: str, bad: Any) -> None:
        nonlocal open_
        failing = open_ & (bad if isinstance(bad, np.ndarray) else _np(bad).astype(bool))
        if failing.any():
            outcome[failing] = _FIRST_CHECK + CELL_CHECKS.index(check)
            open_ = open_ & ~failing

    numbers = None
    if f.type != FieldType.STRING:
        valid, numbers = _type_valid(values, f.type, decimal, open_)
        fail("type", ~valid)
        if f.type == FieldType.INTEGER and (f.minimum is not None or f.maximum is not None):
            numbers = _number_array(values, f.type, decimal, valid)
    if plan.allowed is not None:
        fail("allowed_values", ~_member(values, plan.allowed))
    if numbers is not None:
        if f.minimum is not None:
            fail("minimum", _beyond(numbers, f.minimum, below=True))
        if f.maximum is not None:
            fail("maximum", _beyond(numbers, f.maximum, below=False))
    if plan.fixed is not None:
        fail("pattern", ~_fixed_match(values, plan.fixed))
    elif plan.pattern is not None:
        fail("pattern", pc.invert(pc.match_substring_regex(values, pattern=plan.pattern)))
    if f.min_length is not None or f.max_length is not None:
        lengths = _char_lengths(values)
        if f.min_length is not None:
            fail("min_length", lengths < f.min_length)
        if f.max_length is not None:
            fail("max_length", lengths > f.max_length)
    if plan.codes is not None:
        fail("reference", ~_member(values, plan.codes))
    return outcome


def _member(values: Any, texts: list[str]) -> np.ndarray:
    """Which values are one of ``texts``: a comparison per text for two or three (cheaper than
    a hash lookup), else Arrow's set lookup."""
    if len(texts) <= _SMALL_SET:
        found = np.zeros(len(values), bool)
        for text in texts:
            found |= _np(pc.equal(values, _text_scalar(text, values.type)))
        return found
    return _np(pc.is_in(values, value_set=_texts(texts, values.type)))


def _type_valid(values: Any, ftype: FieldType, decimal: str, open_: np.ndarray) -> tuple[np.ndarray, Any]:
    """Which values parse as ``ftype`` (only ``open_`` ones matter), and numbers if parsed.

    A cheap kernel accepts the common forms (plain digits); the exact RE2 pattern then decides
    the rest, so the result is exactly the pattern's.
    """
    if ftype == FieldType.BOOLEAN:
        lowered = pc.ascii_lower(values)
        known = pc.is_in(lowered, value_set=_texts(list(BOOLEAN_TEXTS), values.type))
        return _np(known).astype(bool), None
    if ftype == FieldType.NUMBER:
        plain = _plain_numbers(values, decimal)
        if plain is not None:
            return _other_numbers(values, decimal, open_, *plain)
    if ftype == FieldType.INTEGER:
        quick, pattern = pc.ascii_is_decimal(values), INTEGER_RE
    elif ftype == FieldType.NUMBER:
        quick, pattern = _decimal_shape(values, ord(decimal)), number_re(decimal)
    elif ftype == FieldType.DATE:
        return _iso_dates(values), None  # exactly DATE_RE's answer
    else:
        quick, pattern = None, DATETIME_RE
    if quick is None:
        valid = np.zeros(len(values), bool)
    else:
        valid = quick if isinstance(quick, np.ndarray) else _np(quick).astype(bool)
    rest = np.flatnonzero(open_ & ~valid)
    if len(rest):
        subset = values if len(rest) == len(values) else _take(values, rest)
        valid[rest] = _np(pc.match_substring_regex(subset, pattern=pattern)).astype(bool)
    numbers = None
    if ftype == FieldType.INTEGER:
        long = np.flatnonzero(valid & (_byte_lengths(values) > 18))  # valid ones are ASCII
        if len(long):
            valid[long] = _np(_fits_int64(_take(values, long))).astype(bool)
    if ftype == FieldType.NUMBER:
        numbers = _number_array(values, ftype, decimal, valid)
        valid &= np.isfinite(numbers)  # 1e999 has the shape of a number but is infinite
    return valid, numbers


def _plain_numbers(values: Any, decimal: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(which texts are plain numbers, their values): texts of digits and the decimal mark only,
    which Arrow parses exactly when they match :func:`number_re` (one mark at most, a digit at
    least). The few texts holding any other byte are found from those bytes' positions, and
    Arrow parses the rest at once. None when one of the rest does not parse (``1.2.3``): rare
    enough that the caller then judges the texts byte by byte instead."""
    mark = ord(decimal)

    def other(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        odd = np.flatnonzero(((data - 48) >= 10) & (data != mark))  # unsigned: below "0" wraps
        texts = np.zeros(len(offsets) - 1, bool)
        if len(odd):
            texts[np.searchsorted(offsets, odd, side="right") - 1] = True
        return texts

    plain = ~_per_text(values, other) & (_byte_lengths(values) > 0)
    try:
        return plain, _parsed_numbers(_only(values, plain), decimal, plain)
    except pa.ArrowInvalid:
        return None


def _other_numbers(
    values: Any, decimal: str, open_: np.ndarray, plain: np.ndarray, numbers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_type_valid` of a number field once its plain numbers are known: the other open
    texts (signs, exponents, or not numbers at all) are judged by the exact pattern."""
    valid = plain.copy()
    rest = np.flatnonzero(open_ & ~plain)
    if len(rest):
        subset = values if len(rest) == len(values) else _take(values, rest)
        matched = _np(pc.match_substring_regex(subset, pattern=number_re(decimal))).astype(bool)
        more = rest[matched]
        if len(more):
            valid[more] = True
            numbers = numbers if numbers.flags.writeable else numbers.copy()
            numbers[more] = _parsed_numbers(_take(values, more), decimal)
    valid &= np.isfinite(numbers)  # 1e999 has the shape of a number but is infinite
    return valid, numbers


def _parsed_numbers(texts: Any, decimal: str, kept: np.ndarray | None = None) -> np.ndarray:
    """Texts of numbers as float64, by Arrow's parser (``ArrowInvalid`` if one is not); with
    ``kept``, the texts were nulled elsewhere (see :func:`_only`), which read as 0."""
    if decimal == ",":
        texts = pc.replace_substring(texts, ",", ".")
    numbers = _np(pc.cast(texts, pa.float64()))
    return numbers if kept is None or kept.all() else np.where(kept, numbers, 0.0)


def _only(values: Any, kept: np.ndarray) -> Any:
    """``values`` with every text not ``kept`` turned null, sharing the texts' buffers: Arrow's
    kernels then skip those texts, without a copy of the others as ``take`` would make."""
    if kept.all():
        return values
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    masked = []
    start = 0
    for chunk in chunks:
        count = len(chunk)
        keep = kept[start : start + count]
        start += count
        buffers = chunk.buffers()
        if buffers[0] is not None:  # nulls already: keep those too
            keep = keep & _np(_arrow_compute.call_function("is_valid", [chunk], None))
        bits = np.concatenate([np.zeros(chunk.offset, bool), keep]) if chunk.offset else keep
        validity = pa.py_buffer(np.packbits(bits, bitorder="little"))
        nulls = count - int(np.count_nonzero(keep))
        masked.append(pa.Array.from_buffers(chunk.type, count, [validity, *buffers[1:]], nulls, chunk.offset))
    return pa.chunked_array(masked, values.type) if isinstance(values, pa.ChunkedArray) else masked[0]


def _number_array(values: Any, ftype: FieldType, decimal: str, valid: np.ndarray) -> np.ndarray:
    """The ``valid`` values as int64 or float64 in numpy (0 elsewhere), for bound checks."""
    subset = _only(values, valid)
    if ftype != FieldType.INTEGER:
        return _parsed_numbers(subset, decimal, valid)
    if _per_text(subset, lambda _, data: np.array([(data == 43).any()])).any():  # "+"
        subset = pc.utf8_ltrim(subset, "+")
    numbers = _np(pc.cast(subset, pa.int64()))
    return numbers if valid.all() else np.where(valid, numbers, 0)


def _text_column(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    if col.null_count:
        col = pc.fill_null(col, _text_scalar("", col.type))
    return col


def _missing_mask(col: pa.ChunkedArray | pa.Array, markers: list[str]) -> np.ndarray:
    missing = _byte_lengths(col) == 0
    if markers:
        missing |= _np(pc.is_in(col, value_set=_texts(markers, col.type)))
    return missing


def _fits_int64(col: pa.ChunkedArray) -> Any:
    negative = pc.starts_with(col, "-")
    digits = pc.utf8_ltrim(pc.utf8_ltrim(col, "+-"), "0")
    length = pc.utf8_length(digits)
    nineteen = _int_scalar(19, length.type)
    limit = pc.if_else(
        negative, _text_scalar(_INT64_MIN_DIGITS, col.type), _text_scalar(_INT64_MAX_DIGITS, col.type)
    )
    same = pc.and_(pc.equal(length, nineteen), pc.less_equal(digits, limit))
    return pc.or_(pc.less(length, nineteen), same)


def _beyond(numbers: np.ndarray, bound: float, *, below: bool) -> np.ndarray:
    """Which numbers are below (or above) ``bound``, exactly, whatever their size.

    Integers are compared with the bound rounded inwards (x >= 2.5 is x >= 3 for integers), in
    the integer domain, so values beyond 2**53 compare exactly and never pass through a double.
    """
    if numbers.dtype.kind == "f":
        return numbers < float(bound) if below else numbers > float(bound)
    edge = math.ceil(bound) if below else math.floor(bound)
    if below and edge > _INT64_MAX or not below and edge < -_INT64_MAX - 1:
        return np.ones(len(numbers), bool)  # no int64 gets that far
    if below and edge <= -_INT64_MAX - 1 or not below and edge >= _INT64_MAX:
        return np.zeros(len(numbers), bool)
    return numbers < edge if below else numbers > edge


def _repeats(columns: list[pa.ChunkedArray], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of rows whose key repeats an earlier row's, and of that earlier row.

    Keys usually arrive almost sorted (sequential ids with a few stray ones): rows that break
    the strictly increasing order are set aside until the rest increases, which holds no
    repeat, so a repeat involves a row set aside. Only rows whose key cells all occur among
    those are then sorted. Keys in any order are sorted whole.
    """
    none = np.empty(0, np.int64)
    if count < 2:
        return none, none
    stray = _stray_rows(columns, count)
    if stray is None:
        return _sorted_repeats(columns, count)
    if not len(stray):
        return none, none
    candidates = None
    for col in columns:
        seen = pc.unique(_take(col, stray))
        here = _np(pc.is_in(col, value_set=seen)).astype(bool)
        candidates = here if candidates is None else candidates & here
    assert candidates is not None
    rows = np.flatnonzero(candidates)
    repeat, first = _sorted_repeats([_take(col, rows) for col in columns], len(rows))
    return rows[repeat], rows[first]


def _stray_rows(columns: list[pa.ChunkedArray], count: int) -> np.ndarray | None:
    """Rows whose removal leaves the keys strictly increasing, or None when too many."""
    increasing = _increasing([c.slice(0, count - 1) for c in columns], [c.slice(1) for c in columns])
    bad = np.flatnonzero(~increasing)
    if not len(bad):
        return bad
    limit = max(_STRAY_MIN, count // _STRAY_SHARE)
    stray = np.zeros(count, bool)
    stray[bad] = True
    stray[bad + 1] = True
    for _ in range(_STRAY_ROUNDS):
        if np.count_nonzero(stray) > limit:
            return None
        # The kept rows increase within each stretch between stray rows; check each pair of
        # kept rows on either side of a run of stray ones.
        edges = np.diff(stray.astype(np.int8))
        before = np.flatnonzero(edges == 1)  # last kept row before a run
        after = np.flatnonzero(edges == -1) + 1  # first kept row after a run
        if stray[0]:
            after = after[1:]  # a run at the very start has no kept row before it
        before = before[: len(after)]  # nor one at the very end a kept row after it
        if not len(before):
            return np.flatnonzero(stray)
        ok = _increasing([_take(c, before) for c in columns], [_take(c, after) for c in columns])
        if ok.all():
            return np.flatnonzero(stray)
        stray[before[~ok]] = True
        stray[after[~ok]] = True
    return None


def _increasing(left: list[Any], right: list[Any]) -> np.ndarray:
    """Whether each left key is strictly below the right key (column by column, as text)."""
    below = None
    for a, b in zip(reversed(left), reversed(right), strict=True):
        less = _np(pc.less(a, b)).astype(bool)
        below = less if below is None else less | (_np(pc.equal(a, b)).astype(bool) & below)
    assert below is not None
    return below


def _sorted_repeats(columns: list[Any], count: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_repeats` by sorting every row: a stable sort puts equal keys next to each other,
    earliest row first; a row equal to its predecessor in that order repeats the run's first."""
    none = np.empty(0, np.int64)
    if count < 2:
        return none, none
    if len(columns) == 1:
        order = pc.sort_indices(columns[0])
    else:
        names = [f"k{i}" for i in range(len(columns))]
        order = pc.sort_indices(
            pa.table(dict(zip(names, columns, strict=True))),
            sort_keys=[(name, "ascending") for name in names],
        )
    same = None
    for col in columns:
        ranked = pc.take(col, order)
        equal = pc.equal(ranked.slice(1), ranked.slice(0, count - 1))
        same = equal if same is None else pc.and_(same, equal)
    if not _true_count(same):
        return none, none
    starts = np.concatenate([[True], ~_np(same).astype(bool)])
    run_start = np.flatnonzero(starts)[np.cumsum(starts) - 1]
    ranked_order = _np(order).astype(np.int64)
    repeats = np.flatnonzero(~starts)
    return ranked_order[repeats], ranked_order[run_start[repeats]]


def _true_count(mask: Any) -> int:
    if isinstance(mask, pa.ChunkedArray):
        return sum(chunk.true_count for chunk in mask.chunks)
    return mask.true_count


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _cut(text: str | None) -> str | None:
    if text is not None and len(text) > VALUE_MAX_CHARS:
        return text[:VALUE_MAX_CHARS] + "…"
    return text


# --- typed data for storage ----------------------------------------------------------------------


def arrow_type(ftype: FieldType) -> pa.DataType:
    """The Arrow type a field is stored as."""
    return {
        FieldType.STRING: pa.string(),
        FieldType.INTEGER: pa.int64(),
        FieldType.NUMBER: pa.float64(),
        FieldType.BOOLEAN: pa.bool_(),
        FieldType.DATE: pa.date32(),
        FieldType.DATETIME: pa.timestamp("us"),
    }[ftype]


def typed_table(contract: DataContract, table: pa.Table) -> pa.Table:
    """The contract's columns cast to real types; missing or invalid cells become null.

    Date-times with a zone offset are stored as UTC wall time, those without as written.
    A column already of the right type is kept; a column absent from ``table`` is all null.
    """
    arrays = []
    for f in contract.fields:
        target = arrow_type(f.type)
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, target))
            continue
        col = table.column(f.name)
        if col.type == target and f.type != FieldType.STRING:
            arrays.append(col)
            continue
        arrays.append(_typed_column(_text_column(col), f, contract))
    schema = pa.schema(
        [pa.field(f.name, arrow_type(f.type), nullable=True) for f in contract.fields],
        metadata={"ocenter.contract": contract.id},
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def _typed_column(col: pa.ChunkedArray, f: ContractField, contract: DataContract) -> Any:
    missing = _missing_mask(col, [m for m in contract.missing_values if m != ""])
    present = ~missing.astype(bool)
    if f.type == FieldType.STRING:
        return pc.if_else(_bools(present), col, pa.nulls(1, col.type)[0])
    valid, _ = _type_valid(col, f.type, contract.decimal_separator, present)
    keep = present & valid
    target = arrow_type(f.type)
    null = pa.nulls(1, target)[0]
    usable = _bools(keep)
    if f.type in (FieldType.INTEGER, FieldType.NUMBER):
        kept = _only(col, keep)  # the others are null, never parsed
        if f.type == FieldType.INTEGER:
            return pc.cast(pc.utf8_ltrim(kept, "+"), pa.int64())
        decimal = contract.decimal_separator
        return pc.cast(pc.replace_substring(kept, ",", ".") if decimal == "," else kept, pa.float64())
    if f.type == FieldType.BOOLEAN:
        truth = pc.is_in(pc.ascii_lower(col), value_set=_texts(list(TRUE_TEXTS), col.type))
        return pc.if_else(usable, truth, null)
    text = pc.if_else(usable, col, pa.nulls(1, col.type)[0])
    if f.type == FieldType.DATE:
        return pc.cast(text, pa.date32())
    zoned = pc.and_(usable, pc.match_substring_regex(col, pattern=_OFFSET_RE))
    naive = pc.cast(pc.if_else(zoned, pa.nulls(1, col.type)[0], text), target)
    if not _true_count(zoned):
        return naive
    utc = pc.cast(pc.if_else(zoned, text, pa.nulls(1, col.type)[0]), pa.timestamp("us", "UTC"))
    return pc.if_else(zoned, pc.cast(utc, target), naive)


# --- sending failing rows back -------------------------------------------------------------------

#: First characters that make a spreadsheet read a cell as a formula (CSV/formula injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def failing_rows(
    contract: DataContract,
    table: pa.Table,
    report: VerificationReport,
    *,
    lang: str = "id",
    clearance: Level | None = None,
) -> pa.Table:
    """The original rows with at least one reported error, with their row number and errors.

    Only rows named in ``report.errors`` are included (the detail may be capped). With a
    ``clearance``, cells of fields above it read ``***``.
    """
    by_row: dict[int, list[str]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append(error.message(lang))
    rows = sorted(by_row)
    picked = table.take(pa.array([r - 2 for r in rows], pa.int64()))
    columns = list(picked.columns)
    if clearance is not None:
        hidden = {f.name for f in contract.fields if not clearance.allows(f.level)}
        for position, name in enumerate(picked.column_names):
            if name in hidden:
                columns[position] = pa.array([MASK] * picked.num_rows, pa.string())
    row_name = _free_name(t("verify.export.row_column", lang), picked.column_names)
    errors_name = _free_name(t("verify.export.errors_column", lang), picked.column_names)
    names = [row_name, *picked.column_names, errors_name]
    arrays = [
        pa.array(rows, pa.int64()),
        *columns,
        pa.array(["; ".join(by_row[r]) for r in rows], pa.string()),
    ]
    return pa.Table.from_arrays(arrays, names=names)


def export_failing_rows(
    contract: DataContract,
    table: pa.Table,
    report: VerificationReport,
    fmt: Literal["csv", "xlsx"] = "csv",
    *,
    lang: str = "id",
    clearance: Level | None = None,
) -> bytes:
    """The failing rows as a file for the sender; no cell can run as a spreadsheet formula."""
    rows = failing_rows(contract, table, report, lang=lang, clearance=clearance)
    records = [[_neutral(v) for v in record] for record in _records(rows)]
    header = [_neutral(name) for name in rows.column_names]
    if fmt == "csv":
        out = io.StringIO(newline="")
        # Semicolons where the decimal mark is a comma, as Excel in that locale expects.
        writer = csv.writer(out, delimiter=";" if contract.decimal_separator == "," else ",")
        writer.writerow(header)
        writer.writerows(records)
        return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    if fmt == "xlsx":
        return _xlsx_bytes(header, records)
    raise ValueError(f"unknown export format {fmt!r}")


def _records(table: pa.Table) -> list[list[str]]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [["" if v is None else str(v) for v in row] for row in zip(*columns, strict=True)]


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _xlsx_bytes(header: list[str], records: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for record in [header, *records]:
        cells = []
        for value in record:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _free_name(name: str, taken: list[str]) -> str:
    while name in taken:
        name = f"_{name}"
    return name


# --- command line ---------------------------------------------------------------------------------


def load_contract(path: Path) -> DataContract:
    """A contract file: OCenter YAML, or ODCS v3 when it has ``apiVersion``/``kind: DataContract``.

    Raises ``UserError("verify.contract_unreadable")`` with the reason.
    """
    import yaml
    from pydantic import ValidationError

    from ocenter.contracts import YAML_LOADER

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader, the C one
        if isinstance(data, dict) and ("apiVersion" in data or data.get("kind") == "DataContract"):
            from ocenter.odcs import contract_from_odcs

            return contract_from_odcs(text)
        if not isinstance(data, dict):
            raise ValueError("a data contract must be a YAML mapping")
        return DataContract.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, ValidationError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ValidationError):
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise UserError("verify.contract_unreadable", path=str(path), detail=detail) from None


def _report_text(engine: _Engine, report: VerificationReport, lang: str, errors: str | None = None) -> str:
    """``report.to_json_dict(lang)`` as one line of JSON, with every failing cell the engine kept
    in detail (``report``, finished with a smaller ``detail``, holds only a few of them); the
    failing cells come last, after the summary a reader looks for first. ``errors``: those
    cells as :func:`_error_list_text` gives them, when already written."""
    data = report.to_json_dict(lang)
    del data["errors"]
    head = json.dumps(data, ensure_ascii=False)  # one line, through json's C encoder
    if errors is None:
        errors = _error_list_text(engine.error_rows(), lang)
    return f'{head[:-1]}, "errors": {errors}}}'


def _error_list_text(rows: list[tuple[Any, ...]], lang: str) -> str:
    """The JSON list of the failing cells ``rows`` (as :meth:`_Engine.error_rows` gives them)."""
    return "[" + ", ".join(_json_error_texts((row[:5] for row in rows), lang)) + "]"


def run_verify(
    contract_path: Path | str,
    data_path: Path | str,
    report_path: Path | str | None,
    lang: str = "id",
    ahead: ReadAhead | None = None,
) -> int:
    """Verify a data file against a contract and write the JSON report.

    Prints a short summary. Returns 0 when the data conforms, 1 when it does not, 2 when the
    contract or the data cannot be read (the reason is printed, never a traceback). A CSV is
    verified in batches, in bounded memory; ``ahead`` is that file already being read on a
    thread (see :func:`ocenter.csvfile.read_ahead`).
    """
    data_path = Path(data_path)
    collecting = gc.isenabled()
    # Nothing built here forms reference cycles worth collecting, and each pass of the cyclic
    # collector would walk every object the imports made: pause it for the command.
    gc.disable()
    try:
        return _run_verify(contract_path, data_path, report_path, lang, ahead)
    finally:
        if ahead is not None:
            ahead.cancel()  # the contract could not be read, say: the file is not needed
        if collecting:
            gc.enable()


def _run_verify(
    contract_path: Path | str,
    data_path: Path,
    report_path: Path | str | None,
    lang: str,
    ahead: ReadAhead | None,
) -> int:
    from ocenter.ingest import ReadLimits, file_kind, iter_batches, read_table

    try:
        contract = load_contract(Path(contract_path))
        limits = ReadLimits()
        if not data_path.is_file():
            raise UserError("ingest.not_found", path=str(data_path))
        with lean_memory():
            if file_kind(data_path.name) == "csv":
                # Every CSV is streamed: a few parts in memory at a time, read while others are
                # judged, whatever the file's size (up to limits.max_stream_bytes).
                batches = iter_batches(data_path, contract, limits=limits, ahead=ahead)
                engine = _verified(contract, batches, reading=ahead.reading if ahead is not None else None)
            else:
                engine = _verified(contract, read_table(data_path, data_path.name, contract, limits=limits))
    except UserError as exc:
        print(exc.text(lang), file=sys.stderr)
        return 2
    # Repeated keys are found on a helper thread while this one writes out the failing cells
    # found so far; they stand unless the repeats add failing cells of their own (then the
    # cells are laid out and written again, all of them in order).
    with ThreadPoolExecutor(1, "ocenter-repeats") as helper:
        repeats = helper.submit(engine.find_repeats)
        early_rows = engine.error_rows()
        early_text = _error_list_text(early_rows, lang) if report_path is not None else None
        repeats.result()
    # The report as verify_table gives it, but for the JSON file the failing cells go straight
    # from the engine to JSON, without a CellError (validated, then read back) for each.
    report = engine.finish(detail=_PRINTED_ERRORS)
    if report_path is not None:
        errors = early_text if engine.error_rows() is early_rows else None
        Path(report_path).write_text(_report_text(engine, report, lang, errors) + "\n", encoding="utf-8")
    print(report.headline(lang))
    for error in report.errors[:_PRINTED_ERRORS]:
        print(f"  {error.message(lang)}")
    for issue in report.dataset_issues:
        print(f"  {issue.message(lang)}")
    return 0 if report.valid else 1
