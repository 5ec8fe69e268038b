"""Judging one column of one part: every cell's first failing check, by distinct value where it pays."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow._compute as _arrow_compute

from ocenter.contracts.model import ContractField, FieldType
from ocenter.textformats import (
    _INT64_MAX,
    _INT64_MAX_DIGITS,
    _INT64_MIN_DIGITS,
    DATE_RE,
    DATETIME_RE,
    INTEGER_RE,
    number_re,
    pc,
)
from ocenter.verification.kernels import (
    _byte_lengths,
    _char_lengths,
    _decimal_shape,
    _fixed_match,
    _int_scalar,
    _iso_dates,
    _np,
    _per_text,
    _take,
    _text_scalar,
    _texts,
)
from ocenter.verification.report import BOOLEAN_TEXTS, CELL_CHECKS, VALUE_MAX_CHARS


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
    partition: list[str] | None = None  # the sender's own codes, on the field naming the sender


@dataclass
class _Failures:
    """Failing cells of one field and check in one part, as a worker found them."""

    index: int
    check: str
    at: np.ndarray  # positions within the part
    values: Any  # their text, or None when the detail is no longer kept
    lengths: np.ndarray | None = None


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
    if f.earliest is not None or f.latest is not None:
        # Cells open here passed the type check, so each starts with an ISO date, which
        # compares as text in calendar order; a date-time is judged by its date as written.
        day = values if f.type == FieldType.DATE else pc.utf8_slice_codeunits(values, 0, 10)
        if f.earliest is not None:
            fail("minimum", pc.less(day, _text_scalar(f.earliest.isoformat(), day.type)))
        if f.latest is not None:
            fail("maximum", pc.greater(day, _text_scalar(f.latest.isoformat(), day.type)))
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
    if plan.partition is not None:
        fail("partition", ~_member(values, plan.partition))
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


#: Keys set aside as out of order before sorting them all instead (see _repeats).
_STRAY_MIN = 64


_STRAY_SHARE = 64


_STRAY_ROUNDS = 8
