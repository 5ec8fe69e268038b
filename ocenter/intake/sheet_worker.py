"""One sheet of a workbook (XLSX, XLS, ODS, XLSB) read as text by calamine, in a process of its own.

Started by :mod:`ocenter.intake.sheets` as ``python -m ocenter.intake.sheet_worker REQUEST [PATH]``
(the workbook from PATH, else from standard input). It writes the sheet, from cell A1, to standard
output as an Arrow IPC stream of text columns (the first row is the header row, read by the
caller), or one JSON line ``{"key": ..., "params": ...}`` to standard error and exits with
:data:`REFUSED`.

Why a process of its own: calamine lays a sheet out as a dense grid between the first and last
cell positions the file names, so a 5 KB XLSX naming cells A1 and XFD1048576 asks for 512 GB, and
Rust aborts the whole process when an allocation fails (checked with python-calamine 0.9.1). The
address-space limit set first thing here makes every such file end this process within a second,
never the server. Only the standard library, pyarrow and python-calamine are imported (no
pydantic), so the process is ready in about 0.3 s.
"""

from __future__ import annotations

import array
import datetime as dt
import io
import itertools
import json
import re
import resource
import sys
import tempfile
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

#: Exit status of a refusal (the reason is on standard error); an exhausted memory limit exits
#: with :data:`OUT_OF_MEMORY` when Python notices it, or dies of SIGABRT when Rust does.
REFUSED = 3
OUT_OF_MEMORY = 4
#: Rows converted to Arrow at a time: Python objects exist for one chunk only.
_CHUNK_ROWS = 16_384
_ZERO_PADDED = re.compile(r"^0{2,}$")
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\""
)
_CELL_LIMIT = re.compile(r"Cell limit exceeded \(([0-9]+) cells requested")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\s[^>]*>")
_STYLE_ATTR = re.compile(rb"\ss=\"([0-9]+)\"")
_REF_ATTR = re.compile(rb"\sr=\"([A-Z]{1,3})([0-9]{1,7})\"")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class Refusal(Exception):
    """A file the sender must fix: a catalogue key and its values."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    memory = int(request["memory"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        source: Any = open(argv[2], "rb") if len(argv) > 2 else io.BytesIO(sys.stdin.buffer.read())  # noqa: SIM115
        with source:
            write_sheet(source, request, sys.stdout.buffer)
    except Refusal as refusal:
        print(json.dumps({"key": refusal.key, "params": refusal.params}), file=sys.stderr)
        return REFUSED
    except MemoryError:
        return OUT_OF_MEMORY
    return 0


def write_sheet(source: Any, request: dict[str, Any], out: Any) -> None:
    """The requested sheet of the workbook in ``source`` as an Arrow IPC stream on ``out``."""
    import pyarrow as pa
    import python_calamine

    name = request["filename"]
    max_cells = int(request["max_cells"])
    head = source.read(8)
    source.seek(0)
    if head.startswith(b"PK") and zipfile.is_zipfile(source):
        source.seek(0)
        _check_xlsx_dimension(source, request.get("sheet"), max_cells)
        source.seek(0)
    elif head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and _is_encrypted_ooxml(source):
        raise Refusal("ingest.encrypted", filename=name)
    source.seek(0)
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(source)
        with workbook:
            sheet = _chosen_sheet(workbook, request.get("sheet"), name)
            loaded = workbook.get_sheet_by_name(sheet)
    except Refusal:
        raise
    except python_calamine.PasswordError:
        raise Refusal("ingest.encrypted", filename=name) from None
    except (python_calamine.CalamineError, OSError, ValueError) as exc:  # OSError: a bad deflate stream
        # ODS states repeated rows and cells; calamine stops past 100 million of them.
        over = _CELL_LIMIT.search(f"{exc} {_reason(python_calamine, source, exc)}")
        if over is not None:
            raise Refusal("ingest.sheet_too_many_cells", cells=f"{int(over.group(1)):,}",
                          limit=f"{max_cells:,}") from None
        raise Refusal("ingest.broken_sheet", filename=name) from None
    except BaseException as exc:  # calamine panics on some malformed input: a broken file too
        if type(exc).__name__ != "PanicException":
            raise
        raise Refusal("ingest.broken_sheet", filename=name) from None
    start_row, start_col = loaded.start or (0, 0)
    height, width = loaded.height, loaded.width
    if (start_row + height) * (start_col + width) > max_cells:
        raise Refusal("ingest.sheet_too_many_cells",
                      cells=f"{(start_row + height) * (start_col + width):,}", limit=f"{max_cells:,}")
    padded = _padded_cells(source, sheet) if head.startswith(b"PK") else {}
    columns = start_col + width
    schema = pa.schema([pa.field(f"c{i}", pa.string()) for i in range(columns)])
    texts = _CellTexts(request["decimal"])
    datetime_names = set(request.get("datetime_columns", ()))
    as_datetime = [False] * columns
    by_column: dict[int, dict[int, int]] = {}
    for (row, col), digits in padded.items():
        by_column.setdefault(col, {})[row] = digits
    with pa.ipc.new_stream(out, schema) as stream:
        if start_row:  # the sheet starts lower down: row 1 is empty, as the sender sees it
            stream.write_batch(_blank_batch(pa, schema, start_row))
        rows = loaded.iter_rows()
        row_number = start_row
        while chunk := list(itertools.islice(rows, _CHUNK_ROWS)):
            if row_number == 0:  # the header row names the columns a contract types as datetime
                header = [v if v.__class__ is str else texts.text(v, False) for v in chunk[0]]
                as_datetime = [False] * start_col + [h in datetime_names for h in header]
            arrays = [_blank_array(pa, len(chunk))] * start_col
            for index, values in enumerate(zip(*chunk, strict=True)):
                column = start_col + index
                wants_datetime = as_datetime[column]
                text = [v if v.__class__ is str else texts.text(v, wants_datetime) for v in values]
                if column in by_column:
                    _pad(text, values, by_column[column], row_number)
                arrays.append(_text_array(pa, text))
            stream.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            row_number += len(chunk)


def _pad(text: list[str], values: tuple[Any, ...], padded: dict[int, int], first_row: int) -> None:
    """Zero-pad the number cells of one column's chunk that a ``0000`` format pads."""
    for at, value in enumerate(values):
        digits = padded.get(first_row + at)
        if digits is not None and value.__class__ in (int, float) and text[at].isdigit():
            text[at] = text[at].zfill(digits)


def _reason(python_calamine: Any, source: Any, failure: Exception) -> str:
    """Why calamine could not open the workbook, when it said only "Cannot detect file format".

    Reading from memory, calamine tries each format in turn and keeps none of their errors; read
    from a file whose suffix names the format, it says what went wrong. Only refused files get here.
    """
    if "Cannot detect file format" not in str(failure):
        return ""
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
            opendocument = "mimetype" in names and b"spreadsheet" in archive.read("mimetype")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        return ""
    suffix = ".ods" if opendocument else ".xlsb" if "xl/workbook.bin" in names else ".xlsx"
    source.seek(0)
    with tempfile.TemporaryDirectory(prefix="ocenter-sheet-") as folder:
        path = Path(folder) / f"workbook{suffix}"
        path.write_bytes(source.read())
        try:
            with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
                workbook.get_sheet_by_index(0)
        except (python_calamine.CalamineError, OSError, ValueError) as exc:
            return str(exc)
    return ""


def _chosen_sheet(workbook: Any, wanted: str | None, filename: str) -> str:
    names = list(workbook.sheet_names)
    if wanted is not None:
        if wanted not in names:
            raise Refusal("ingest.no_sheet", sheet=wanted, sheets=", ".join(names))
        return wanted
    # The first worksheet, hidden or not (a chart sheet holds no cells).
    for metadata in workbook.sheets_metadata:
        if str(metadata.typ).endswith("WorkSheet"):
            return metadata.name
    raise Refusal("ingest.no_header", filename=filename)


class _CellTexts:
    """A typed cell as the sender sees it: what the CSV path would read for the same data.

    Every number in a workbook is a double: a whole number loses the ``.0`` (19, not 19.0),
    others are the shortest text that reads back as the same double, with the contract's
    decimal mark; dates are ISO ``YYYY-MM-DD``, booleans ``true``/``false``. A moment is
    ``YYYY-MM-DD HH:MM:SS``, as the sheet shows it and a CSV saved from it holds it; at
    midnight only its date, unless the contract types the column as a datetime.
    """

    def __init__(self, decimal: str) -> None:
        self.decimal = decimal

    def text(self, value: Any, as_datetime: bool) -> str:
        kind = value.__class__
        if kind is float or kind is int:
            text = number_text(value)
            return text.replace(".", ",") if self.decimal == "," else text
        if kind is bool:
            return "true" if value else "false"
        if kind is dt.datetime:
            if not as_datetime and value.time() == dt.time(0):
                return value.date().isoformat()
            return value.isoformat(" ", "microseconds" if value.microsecond else "seconds")
        if kind is dt.date:
            # calamine gives a date for a moment at midnight; a datetime field still gets its time.
            return f"{value.isoformat()} 00:00:00" if as_datetime else value.isoformat()
        if kind is dt.time:
            return value.isoformat()
        return str(value)  # a duration ([h]:mm): as Python writes it


def number_text(value: int | float) -> str:
    """A number as text: whole numbers without ``.0``, others the shortest exact text."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = repr(value)  # shortest text that reads back as the same double
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _text_array(pa: Any, values: list[str]) -> Any:
    # Built from buffers: pyarrow.array() on Python strings imports pandas (about 0.3 s).
    encoded = [v.encode() for v in values]
    offsets = array.array("i", [0])
    offsets.extend(itertools.accumulate(map(len, encoded)))
    data = b"".join(encoded)
    return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _blank_array(pa: Any, length: int) -> Any:
    offsets = array.array("i", bytes(4 * (length + 1)))
    return pa.Array.from_buffers(pa.string(), length, [None, pa.py_buffer(offsets), pa.py_buffer(b"")])


def _blank_batch(pa: Any, schema: Any, length: int) -> Any:
    return pa.RecordBatch.from_arrays([_blank_array(pa, length)] * len(schema), schema=schema)


# --- XLSX parts read before calamine ---------------------------------------------------------


def _sheet_part(archive: zipfile.ZipFile, wanted: str | None) -> str | None:
    """The zip member of the wanted (else first) worksheet of an XLSX, or None if not an XLSX."""
    from defusedxml import DefusedXmlException, ElementTree

    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, ValueError, DefusedXmlException):
        return None
    targets = {r.get("Id"): r.get("Target", "") for r in relations.iter(f"{_PKG_REL}Relationship")}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        if "worksheets/" not in target or (wanted is not None and sheet.get("name") != wanted):
            continue
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        return path if path in archive.NameToInfo else None
    return None


def _check_xlsx_dimension(source: Any, wanted: str | None, max_cells: int) -> None:
    """Refuse a sheet whose stated size (``<dimension ref="A1:J500000"/>``) is over the limit,
    before calamine reads a cell of it. A file that understates it is stopped by the cell count
    after loading, or by the memory limit."""
    try:
        with zipfile.ZipFile(source) as archive:
            part = _sheet_part(archive, wanted)
            if part is None:
                return
            with archive.open(part) as member:
                head = member.read(64 * 1024)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        return  # calamine says how the file is broken
    found = _DIMENSION.search(head)
    if found is None:
        return
    first_col, first_row, last_col, last_row = found.groups()
    rows = int(last_row or first_row)
    columns = _column_number(last_col or first_col)
    if rows * columns > max_cells:
        raise Refusal("ingest.sheet_too_many_cells", cells=f"{rows * columns:,}", limit=f"{max_cells:,}")


def _padded_cells(source: Any, sheet: str) -> dict[tuple[int, int], int]:
    """Cells of an XLSX sheet whose number format pads with zeros (``00000``: codes such as
    ``00123`` typed as numbers), by (row, column) from 0, with the number of digits.

    calamine gives values without formats; this reads the styles, and the sheet's cell tags only
    when some style pads, which most workbooks never do.
    """
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            padding = _padding_styles(archive)
            part = _sheet_part(archive, sheet) if padding else None
            if part is None:
                return {}
            found: dict[tuple[int, int], int] = {}
            with archive.open(part) as member:
                tail = b""
                while block := member.read(4 * 1024 * 1024):
                    text = tail + block
                    cut = text.rfind(b"<")
                    for tag in _CELL_TAG.finditer(text, 0, cut):
                        style = _STYLE_ATTR.search(tag.group())
                        if style is None or style.group(1) not in padding:
                            continue
                        ref = _REF_ATTR.search(tag.group())
                        if ref is not None:
                            position = (int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1)
                            found[position] = padding[style.group(1)]
                    tail = text[cut:]
            return found
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
        return {}  # not an XLSX's layout (an ODS, an XLSB): no formats to honour


def _padding_styles(archive: zipfile.ZipFile) -> dict[bytes, int]:
    """Style indexes (as in ``s="3"``) of an XLSX whose number format pads, with its digits."""
    from defusedxml import DefusedXmlException, ElementTree

    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except (KeyError, ElementTree.ParseError, DefusedXmlException):
        return {}
    codes = {f.get("numFmtId"): f.get("formatCode", "") for f in styles.iter(f"{_MAIN}numFmt")}
    cell_formats = styles.find(f"{_MAIN}cellXfs")
    return {
        str(index).encode(): len(codes[xf.get("numFmtId")])
        for index, xf in enumerate(cell_formats if cell_formats is not None else [])
        if _ZERO_PADDED.match(codes.get(xf.get("numFmtId"), ""))
    }


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _is_encrypted_ooxml(source: Any) -> bool:
    """Whether an OLE2 file is a password-protected XLSX (its ``EncryptionInfo`` stream)."""
    return "EncryptionInfo".encode("utf-16-le") in source.read()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
