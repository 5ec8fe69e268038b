"""A second, independent verifier: plain per-row Python, to check the vectorised engine against.

It shares nothing with ``ocenter.verification`` but the contract model and the reference lists:
its own file readers, its own parsing (``int``, ``float``, ``datetime``, Python ``re``) and its
own loops. Slow and obvious on purpose. Both must report the same (row, column, check) set.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any

from ocenter import reference
from ocenter.contracts.model import DataContract, FieldType

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER_DOT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")
_NUMBER_COMMA = re.compile(r"[+-]?([0-9]+(,[0-9]*)?|,[0-9]+)([eE][+-]?[0-9]{1,4})?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.[0-9]{1,6})?)?"
    r"(Z|[+-]([0-9]{2}):?([0-9]{2}))?"
)
_BOOLEANS = {"true", "false", "1", "0", "ya", "tidak"}


# --- reading ----------------------------------------------------------------------------------


def read_csv_rows(path: Path, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and records of a CSV, the slow way: decode, then Python's csv module."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, body = records[0], records[1:]
    body = [record or [""] * len(header) for record in body]  # a blank line is an empty row
    return header, _trim(body)


def read_xlsx_rows(path: Path, contract: DataContract) -> tuple[list[str], list[list[str]]]:
    """Header and records of an XLSX's first sheet, each cell as the sender sees it."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, data_only=True)
    sheet = workbook.worksheets[0]
    datetime_fields = {f.name for f in contract.fields if f.type == FieldType.DATETIME}
    rows = list(sheet.iter_rows())
    header = [_xlsx_text(c, False, contract.decimal_separator) for c in rows[0]]
    while header and header[-1] == "":
        header.pop()
    body = []
    for cells in rows[1:]:
        record = []
        for index, cell in enumerate(cells[: len(header)]):
            as_datetime = header[index] in datetime_fields
            record.append(_xlsx_text(cell, as_datetime, contract.decimal_separator))
        body.append(record + [""] * (len(header) - len(record)))
    return header, _trim(body)


def _xlsx_text(cell: Any, as_datetime: bool, decimal: str) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if float(value) == int(value) and abs(value) < 2**53:
            text = str(int(value))
            fmt = cell.number_format or ""
            if set(fmt) == {"0"} and len(fmt) > 1:
                text = text.rjust(len(fmt), "0")
        else:
            text = repr(float(value))
        return text.replace(".", ",") if decimal == "," else text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and not as_datetime:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _trim(body: list[list[str]]) -> list[list[str]]:
    while body and all(cell == "" for cell in body[-1]):
        body.pop()
    return body


# --- checking ---------------------------------------------------------------------------------


def reference_verify(
    contract: DataContract, header: list[str], body: list[list[str]], today: dt.date
) -> tuple[set[tuple[int, str, str]], list[dict[str, Any]]]:
    """(set of (row, column, check) of failing cells, dataset issues as plain dicts)."""
    errors: dict[tuple[int, str], str] = {}
    issues: list[dict[str, Any]] = []
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        if name not in position:
            position[name] = i
    names = [f.name for f in contract.fields]
    missing_cols = [n for n in names if n not in position]
    unexpected = [n for n in position if n not in names]
    duplicated = sorted({n for n in header if header.count(n) > 1})
    for kind, columns in (
        ("missing", missing_cols),
        ("unexpected", unexpected),
        ("duplicate", duplicated),
    ):
        if columns:
            shown = ", ".join('"' + c + '"' for c in columns)
            issues.append(_issue("header", {"kind": kind, "columns": shown}))
    file_order = [n for n in position if n in names]
    if file_order != [n for n in names if n in position]:
        issues.append(_issue("header", {"kind": "reordered", "expected": ", ".join(names)}))

    def cell(record: list[str], name: str) -> str:
        i = position[name]
        return record[i] if i < len(record) else ""

    newest: str | None = None
    for number, record in enumerate(body, start=2):
        for f in contract.fields:
            if f.name not in position:
                continue
            text = cell(record, f.name)
            failed = _first_failure(contract, f, text)
            if failed is not None:
                errors[(number, f.name)] = failed
            if (
                f.name == contract.time_field
                and not _is_missing(contract, text)
                and failed != "type"
                and _valid_date(text[:10])
                and (newest is None or text[:10] > newest)
            ):
                newest = text[:10]
    for f in contract.fields:
        if not f.unique or f.name not in position:
            continue
        seen: set[str] = set()
        for number, record in enumerate(body, start=2):
            text = cell(record, f.name)
            if _is_missing(contract, text):
                continue
            if text in seen and (number, f.name) not in errors:
                errors[(number, f.name)] = "unique"
            seen.add(text)
    key = contract.primary_key
    if key and all(n in position for n in key):
        seen_keys: set[tuple[str, ...]] = set()
        repeats = []
        for number, record in enumerate(body, start=2):
            values = tuple(cell(record, n) for n in key)
            if any(_is_missing(contract, v) for v in values):
                continue
            if values in seen_keys:
                repeats.append(number)
            seen_keys.add(values)
        if repeats:
            shown = ", ".join(str(r) for r in repeats[:10]) + (", …" if len(repeats) > 10 else "")
            params = {"columns": ", ".join(key), "count": len(repeats), "rows": shown}
            issues.append(_issue("primary_key", params))
    rows = len(body)
    if contract.min_rows is not None and rows < contract.min_rows:
        issues.append(_issue("min_rows", {"rows": rows, "min_rows": contract.min_rows}))
    if contract.max_rows is not None and rows > contract.max_rows:
        issues.append(_issue("max_rows", {"rows": rows, "max_rows": contract.max_rows}))
    if contract.time_field and contract.cadence_days and newest is not None:
        age = (today - dt.date.fromisoformat(newest)).days
        if age > contract.cadence_days:
            params = {
                "column": contract.time_field,
                "newest": newest,
                "days_old": age,
                "cadence_days": contract.cadence_days,
            }
            issues.append(_issue("freshness", params, "warning"))
    return {(row, column, check) for (row, column), check in errors.items()}, issues


def _issue(check: str, params: dict[str, Any], severity: str = "error") -> dict[str, Any]:
    return {"check": check, "params": params, "severity": severity}


def _is_missing(contract: DataContract, text: str) -> bool:
    return text == "" or text in contract.missing_values


def _first_failure(contract: DataContract, f: Any, text: str) -> str | None:
    if _is_missing(contract, text):
        return "required" if f.required else None
    value = _parse(f.type, text, contract.decimal_separator)
    if value is _INVALID:
        return "type"
    if f.allowed_values is not None and text not in f.allowed_values:
        return "allowed_values"
    if f.minimum is not None and value < f.minimum:
        return "minimum"
    if f.maximum is not None and value > f.maximum:
        return "maximum"
    if f.earliest is not None and dt.date.fromisoformat(text[:10]) < f.earliest:
        return "minimum"
    if f.latest is not None and dt.date.fromisoformat(text[:10]) > f.latest:
        return "maximum"
    if f.pattern is not None and re.fullmatch(f.pattern, text, flags=re.ASCII) is None:
        return "pattern"
    if f.min_length is not None and len(text) < f.min_length:
        return "min_length"
    if f.max_length is not None and len(text) > f.max_length:
        return "max_length"
    if f.reference is not None and text not in reference.reference_codes(f.reference):
        return "reference"
    return None


_INVALID = object()


def _parse(kind: FieldType, text: str, decimal: str) -> Any:
    if kind == FieldType.STRING:
        return text
    if kind == FieldType.INTEGER:
        if not _INTEGER.fullmatch(text):
            return _INVALID
        number = int(text)
        return number if INT64_MIN <= number <= INT64_MAX else _INVALID
    if kind == FieldType.NUMBER:
        shape = _NUMBER_COMMA if decimal == "," else _NUMBER_DOT
        if not shape.fullmatch(text):
            return _INVALID
        number = float(text.replace(",", "."))
        return number if math.isfinite(number) else _INVALID
    if kind == FieldType.BOOLEAN:
        return text.lower() if text.isascii() and text.lower() in _BOOLEANS else _INVALID
    if kind == FieldType.DATE:
        return text if _valid_date(text) else _INVALID
    match = _DATETIME.fullmatch(text)
    if match is None or not _valid_date(match.group(1)):
        return _INVALID
    hour, minute = int(match.group(2)), int(match.group(3))
    second = int(match.group(4) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return _INVALID
    if match.group(6) is not None and (int(match.group(6)) > 23 or int(match.group(7)) > 59):
        return _INVALID
    return text


def _valid_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    try:
        dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True
