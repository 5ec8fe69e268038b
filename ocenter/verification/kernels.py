"""Vectorised text kernels: lengths, number shapes, ISO dates and fixed-width patterns over Arrow buffers."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from ocenter.textformats import pc

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
