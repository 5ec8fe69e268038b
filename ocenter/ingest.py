"""Reading what senders send (CSV or XLSX) into a table of text, refusing what cannot be read."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pv
from pydantic import BaseModel, ConfigDict, Field

from ocenter.contracts import DataContract, FieldType
from ocenter.errors import UserError
from ocenter.verification import pc  # Arrow kernels without importing pyarrow.compute

MB = 1024 * 1024
CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx"})
#: Delimiters a CSV may use: Excel writes ";" where the decimal mark is a comma (Indonesian
#: Windows settings), "," elsewhere, and a tab for "Unicode text".
DELIMITERS = (",", ";", "\t")
_SAMPLE_BYTES = 64 * 1024
_SNIFF_RECORDS = 50
_CHECK_CHUNK = 16 * MB
_SURVEY_CHUNK = 1 * MB
#: Whether Arrow parses a piece on several threads: not, as verification runs beside it and
#: one thread per piece takes less time in all (fewer threads, fewer fresh pages).
_PIECE_THREADS = False
#: Arrow decodes UTF-8 natively; other encodings go through Python's codecs while streaming.
_ARROW_UTF8 = "utf8"
_ZERO_PADDED = re.compile(r"^0{2,}$")
_TRAILING_CHECK_ROWS = 4096


class ReadLimits(BaseModel):
    """How much a sender's file may hold before it is refused unread."""

    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(
        default=200 * MB, ge=1, description="Largest file read whole into memory, in bytes."
    )
    max_rows: int = Field(default=10_000_000, ge=1, description="Most data rows accepted.")
    max_xlsx_uncompressed: int = Field(
        default=500 * MB,
        ge=1,
        description="Largest total an XLSX (a zip) may inflate to, checked before parsing.",
    )
    max_stream_bytes: int = Field(
        default=8 * 1024 * MB,
        ge=1,
        description="Largest CSV read in batches by iter_batches (bounded memory), in bytes.",
    )


def file_kind(filename: str) -> str:
    """``"csv"`` or ``"xlsx"`` from the file name's suffix; ``UserError`` for anything else."""
    # A bare suffix (".csv") is accepted too: callers that keep uploads by digest pass only that.
    suffix = Path(filename).suffix.lower() or (filename.lower() if filename.startswith(".") else "")
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in (".xls", ".xlsm", ".xlsb", ".ods"):
        raise UserError("ingest.xls_unsupported", filename=filename)
    raise UserError("ingest.unknown_format", filename=filename)


def read_table(
    source: bytes | Path,
    filename: str,
    contract: DataContract | None,
    *,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
) -> pa.Table:
    """Every cell of the file as text; column names from the first row, in the file's order.

    Nothing is converted: ``01`` stays ``01`` and ``NA`` is the text ``NA``; the contract decides
    later what is missing. Blank rows in the middle stay (as empty cells) so that record *i* is
    spreadsheet row *i + 2*; blank rows at the end are dropped. Unreadable input raises
    ``UserError``.
    """
    limits = limits or ReadLimits()
    kind = file_kind(filename)
    size = _size_of(source)
    if size > limits.max_bytes:
        raise UserError("ingest.too_large", size_mb=_mb(size), limit_mb=_mb(limits.max_bytes))
    if size == 0:
        raise UserError("ingest.empty", filename=filename)
    if kind == "xlsx":
        return _read_xlsx(source, filename, contract, sheet, limits)
    # The encoding is judged on the first 64 KB only; Arrow checks the rest as it reads, and a
    # late byte that is not UTF-8 sends the whole file through the full check once more.
    plan = _plan_csv(source, filename, contract, whole=False)
    try:
        raw = pv.read_csv(_arrow_input(source), **plan.arrow_options())
    except pa.ArrowInvalid as exc:
        if "UTF8" not in str(exc) or plan.encoding not in ("utf-8", "utf-8-sig"):
            raise _csv_failure(source, plan, exc) from None
        plan = _plan_csv(source, filename, contract, whole=True)
        try:
            raw = pv.read_csv(_arrow_input(source), **plan.arrow_options())
        except pa.ArrowInvalid as again:
            raise _csv_failure(source, plan, again) from None
    table = _header_from_first_row(raw, plan)
    table = _drop_trailing_blank_rows(table)
    if table.num_rows > limits.max_rows:
        raise UserError("ingest.too_many_rows", rows=table.num_rows, limit=limits.max_rows)
    return table


def iter_batches(
    path: Path,
    contract: DataContract | None,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
    block_size: int = 4 * MB,
) -> Iterator[pa.RecordBatch]:
    """The file as record batches of text, so a very large CSV is verified in bounded memory.

    Same rules as :func:`read_table`; an XLSX (small by its limits) is read whole and then
    batched. A problem found part way (a ragged row, too many rows) raises ``UserError`` then.
    A UTF-8 CSV without quotes is cut at line ends into pieces of about ``block_size`` bytes,
    each parsed by Arrow as one block (see :func:`_pieces`); from a first quote on, or for
    another encoding, Arrow's streaming reader takes over.
    """
    limits = limits or ReadLimits()
    path = Path(path)
    name = filename or path.name
    if file_kind(name) == "xlsx":
        yield from read_table(path, name, contract, sheet=sheet, limits=limits).to_batches()
        return
    size = _size_of(path)
    if size > limits.max_stream_bytes:
        raise UserError("ingest.too_large", size_mb=_mb(size), limit_mb=_mb(limits.max_stream_bytes))
    if size == 0:
        raise UserError("ingest.empty", filename=name)
    # The first 64 KB decide; the rest of the file is checked only where it needs to be.
    plan = _plan_csv(path, name, contract, whole=False, survey=False)
    if plan.arrow_encoding == _ARROW_UTF8 and plan.has_line_feed:
        raw = _pieces(path, plan, block_size)
    else:
        plan = _plan_csv(path, name, contract)
        raw = _streamed(path, plan, block_size)
    yield from _named_batches(raw, plan, limits)


def _pieces(path: Path, plan: _CsvPlan, block_size: int) -> Iterator[pa.RecordBatch]:
    """The file cut after its last line feed of every ``block_size`` bytes, each piece parsed.

    A line feed ends a record while the file has no quote (only a quoted value can hold a line
    break). Memory holds one piece and its table, not Arrow's read-ahead of many blocks, and a
    file of plain ASCII is read once. At the first piece holding a quote or a byte beyond
    ASCII, the rest of the file is surveyed once: if it holds a quote, or is not UTF-8 (then
    the whole file is Windows-1252, every earlier piece being ASCII), the rest is read by
    Arrow's streaming reader from that piece on, exactly as if the whole file had been
    surveyed first.
    """
    size = max(block_size, 1)
    buffer = bytearray(size)  # reused: Arrow copies every cell out of it while parsing
    surveyed = False
    with path.open("rb", buffering=0) as handle:
        while True:
            start = handle.tell()
            count = handle.readinto(buffer)
            if count < len(buffer):
                count += _fill(handle, buffer, count)
            if not count:
                return
            cut = count
            if count == len(buffer):  # more may follow: end the piece after its last line feed
                cut = buffer.rfind(b"\n") + 1
                if cut == 0:  # a line longer than the buffer: read it again into one twice as big
                    handle.seek(start)
                    buffer = bytearray(2 * len(buffer))
                    continue
                handle.seek(start + cut)
            block = buffer if count == len(buffer) else buffer[:count]
            if not surveyed and (not block.isascii() or block.find(b'"', 0, cut) != -1):
                decodes, quoted = _survey(path, utf8=True, start=start)
                if quoted or not decodes:
                    rest = replace(
                        plan,
                        encoding=plan.encoding if decodes else _detect_encoding(path, b"", False),
                        quoted=quoted,
                    )
                    yield from _streamed(path, rest, block_size, start=start)
                    return
                surveyed = True  # the rest is UTF-8 without quotes: pieces all the way
            # One Arrow block per piece: one chunk per column, which costs less than many small
            # chunks later on. The piece is known to be UTF-8 (ASCII, or surveyed): no check.
            options = plan.arrow_options(cut + 1, check_utf8=False, threads=_PIECE_THREADS)
            try:
                table = pv.read_csv(pa.BufferReader(pa.py_buffer(buffer)[:cut]), **options)
            except pa.ArrowInvalid as exc:
                raise _csv_failure(path, plan, exc) from None
            yield from table.to_batches()
            if len(buffer) > size:
                buffer = bytearray(size)


def _fill(handle: BinaryIO, buffer: bytearray, count: int) -> int:
    """Bytes added to a short read until ``buffer`` is full or the file ends."""
    added = 0
    view = memoryview(buffer)
    while count + added < len(buffer):
        more = handle.readinto(view[count + added :])
        if not more:
            break
        added += more
    return added


def _streamed(path: Path, plan: _CsvPlan, block_size: int, start: int = 0) -> Iterator[pa.RecordBatch]:
    """The file from byte ``start`` through Arrow's streaming reader (quotes, or an encoding
    Arrow transcodes)."""
    with pa.OSFile(str(path)) as source:
        source.seek(start)
        try:
            reader = pv.open_csv(source, **plan.arrow_options(block_size))
        except pa.ArrowInvalid as exc:
            raise _csv_failure(path, plan, exc) from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _csv_failure(path, plan, exc) from None
            yield batch


def _named_batches(
    raw: Iterator[pa.RecordBatch], plan: _CsvPlan, limits: ReadLimits
) -> Iterator[pa.RecordBatch]:
    """Batches named by the file's first row, without trailing blank rows, counted."""
    header: list[str] | None = None
    pending: list[pa.RecordBatch] = []  # blank rows that may turn out to be trailing
    rows = 0
    empty: pa.RecordBatch | None = None
    for batch in raw:
        if header is None:
            if batch.num_rows == 0:
                continue
            header = plan.clean_header([batch.column(i)[0].as_py() for i in range(plan.ncols)])
            batch = batch.slice(1)
        batch = pa.RecordBatch.from_arrays(batch.columns, names=header)
        if empty is None:
            empty = batch.slice(0, 0)
        keep = _last_non_blank(batch)
        if keep == 0:
            pending.append(batch)
            continue
        for out in (*pending, batch.slice(0, keep)):
            rows += out.num_rows
            if rows > limits.max_rows:
                raise UserError("ingest.too_many_rows", rows=rows, limit=limits.max_rows)
            if out.num_rows:
                yield out
        pending = [batch.slice(keep)] if keep < batch.num_rows else []
    if header is None or empty is None:
        raise UserError("ingest.no_header", filename=plan.filename)
    if rows == 0:
        yield empty  # a header without data: the header still has to be checked


# --- CSV -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CsvPlan:
    """What sniffing the start of a CSV decided: encoding, delimiter and column count."""

    filename: str
    encoding: str  # Python codec name, for our own decoding
    delimiter: str
    ncols: int
    quoted: bool  # any quote at all: only then can a value hold a line break
    has_line_feed: bool = True  # records end with "\n" (or "\r\n"), not a lone "\r"

    @property
    def arrow_encoding(self) -> str:
        # UTF-8 (with or without BOM: Arrow skips it) is decoded natively, much faster.
        return _ARROW_UTF8 if self.encoding in ("utf-8", "utf-8-sig") else self.encoding

    def arrow_options(
        self, block_size: int | None = None, *, check_utf8: bool = True, threads: bool = True
    ) -> dict[str, Any]:
        names = [f"c{i}" for i in range(self.ncols)]
        read = {"column_names": names, "encoding": self.arrow_encoding, "use_threads": threads}
        if block_size:
            read["block_size"] = block_size
        return {
            # The header is read as the first data row, so Arrow's own parser (quotes, line
            # breaks inside quotes) decides the names, and every column is text from the start.
            "read_options": pv.ReadOptions(**read),
            "parse_options": pv.ParseOptions(
                delimiter=self.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                # Line breaks inside quoted values need a slower, quote-aware chunker.
                newlines_in_values=self.quoted,
                # Kept as rows of empty cells so row numbers match the spreadsheet.
                ignore_empty_lines=False,
            ),
            "convert_options": pv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=check_utf8,
            ),
        }

    def clean_header(self, names: list[str | None]) -> list[str]:
        cleaned = ["" if name is None else name for name in names]
        if cleaned and cleaned[0].startswith("\ufeff"):
            cleaned[0] = cleaned[0][1:]
        return cleaned


def _plan_csv(
    source: bytes | Path,
    filename: str,
    contract: DataContract | None,
    *,
    whole: bool = True,
    survey: bool = True,
) -> _CsvPlan:
    """Encoding, delimiter and columns of a CSV. ``whole``: the encoding is judged on the whole
    input, else on its first 64 KB. Without ``survey`` nothing beyond the sample is read and
    ``quoted`` is False: the caller looks for quotes itself (see :func:`_pieces`)."""
    sample = _head(source, _SAMPLE_BYTES)
    decodes, quoted = _survey(source, utf8=whole) if survey else (False, False)
    encoding = _detect_encoding(source, sample, decodes if whole else None)
    truncated = len(sample) == _SAMPLE_BYTES and _size_of(source) > _SAMPLE_BYTES
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise UserError("ingest.empty", filename=filename)
    names = set(contract.field_names()) if contract is not None else set()
    delimiter, header = _sniff(text, truncated, names)
    if not header or all(name == "" for name in header):
        raise UserError("ingest.no_header", filename=filename)
    return _CsvPlan(
        filename=filename,
        encoding=encoding,
        delimiter=delimiter,
        ncols=len(header),
        quoted=quoted,
        has_line_feed="\n" in text,
    )


def _detect_encoding(source: bytes | Path, head: bytes, whole_utf8: bool | None) -> str:
    """UTF-8 (with or without BOM) when every byte decodes so, else Windows-1252.

    ``whole_utf8`` says whether the entire input decodes as UTF-8 (from :func:`_survey`), so
    a late accented letter cannot make Arrow fail half way through a stream; ``None`` lets the
    first 64 KB decide UTF-8 (the caller lets Arrow check the rest).
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    if b"\x00" in head:
        raise UserError("ingest.not_text")
    if whole_utf8 is None:
        whole_utf8 = _decodes_as(head, "utf-8", final=len(head) < _SAMPLE_BYTES)
    if whole_utf8:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if _decodes_as(source, "cp1252"):
        return "cp1252"
    raise UserError("ingest.encoding")


def _survey(source: bytes | Path, *, utf8: bool, start: int = 0) -> tuple[bool, bool]:
    """(the input from byte ``start`` decodes as UTF-8, it holds a quote character), in one pass.

    Read through one reused buffer (no mapping: mapped pages would count as the process's
    memory); pure ASCII chunks skip the decoder. Without ``utf8`` the first element is False.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source[start:]) if isinstance(source, memoryview) or start else source
        return utf8 and (data.isascii() or _decodes_as(data, "utf-8")), b'"' in data
    decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
    quoted = False
    buffer = bytearray(_SURVEY_CHUNK)
    with Path(source).open("rb", buffering=0) as handle:
        handle.seek(start)
        while count := handle.readinto(buffer):
            chunk = buffer if count == len(buffer) else buffer[:count]
            quoted = quoted or chunk.find(b'"') != -1
            if decoder is not None and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder = None
            if quoted and decoder is None:
                break
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    return decoder is not None, quoted


def _decodes_as(source: bytes | Path, encoding: str, *, final: bool = True) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(source, _CHECK_CHUNK):
            if encoding == "utf-8" and chunk.isascii() and not decoder.getstate()[0]:
                continue
            decoder.decode(chunk)
        if final:  # a sample may end inside a character: only a whole input must end cleanly
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(text: str, truncated: bool, field_names: set[str]) -> tuple[str, list[str]]:
    """The delimiter among , ; tab that best splits the first records, and the header it gives.

    Records are parsed with quotes respected. Preferred: the delimiter whose header names the
    most contract fields, then the one giving the same field count on most records, then the
    most columns. A file whose header has no delimiter at all is read as one column.
    """
    best: tuple[tuple[int, float, int], str, list[str]] | None = None
    for delimiter in DELIMITERS:
        records = _sample_records(text, delimiter, truncated)
        if not records:
            continue
        header = records[0]
        width = len(header)
        body = [r for r in records[1:] if r]  # blank lines are not evidence either way
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        known = sum(name.lstrip("\ufeff") in field_names for name in header)
        score = (known, consistent if width > 1 else -1.0, width)
        if best is None or score > best[0]:
            best = (score, delimiter, header)
    if best is None:
        return ",", []
    return best[1], best[2]


def _sample_records(text: str, delimiter: str, truncated: bool) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for record in reader:
            records.append(record)
            if len(records) > _SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # a quote left open at the sample's cut: the records so far are enough
    if truncated and len(records) > 1 and len(records) <= _SNIFF_RECORDS:
        records.pop()  # the last record may be cut in the middle
    return records


def _header_from_first_row(raw: pa.Table, plan: _CsvPlan) -> pa.Table:
    if raw.num_rows == 0:
        raise UserError("ingest.no_header", filename=plan.filename)
    names = plan.clean_header([raw.column(i)[0].as_py() for i in range(raw.num_columns)])
    return raw.slice(1).rename_columns(names)


def _csv_failure(source: bytes | Path, plan: _CsvPlan, exc: Exception) -> UserError:
    """A user-facing reason for Arrow refusing a CSV: usually a row with the wrong cell count."""
    found = _find_ragged_row(source, plan)
    if found is not None:
        row, count = found
        return UserError("ingest.ragged_row", row=row, expected=plan.ncols, found=count)
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return UserError("ingest.unreadable_csv", filename=plan.filename, detail=detail)


def _find_ragged_row(source: bytes | Path, plan: _CsvPlan) -> tuple[int, int] | None:
    """Spreadsheet row number and cell count of the first record whose width is wrong."""
    with _open(source) as raw:
        text = io.TextIOWrapper(raw, encoding=plan.encoding, newline="", errors="replace")
        reader = csv.reader(text, delimiter=plan.delimiter, strict=False)
        try:
            for number, record in enumerate(reader, start=1):
                if record and len(record) != plan.ncols:
                    return number, len(record)
        except csv.Error:
            return None
    return None


def _drop_trailing_blank_rows(table: pa.Table) -> pa.Table:
    end = table.num_rows
    while end > 0:
        start = max(0, end - _TRAILING_CHECK_ROWS)
        keep = _last_non_blank(table.slice(start, end - start))
        if keep:
            return table.slice(0, start + keep)
        end = start
    return table.slice(0, 0)


def _last_non_blank(data: pa.Table | pa.RecordBatch) -> int:
    """Number of rows up to and including the last row with at least one non-empty cell."""
    if data.num_rows == 0 or data.num_columns == 0:
        return 0
    last = data.num_rows - 1
    if any(column[last].as_py() for column in data.columns):
        return data.num_rows  # the usual case, found without looking at every row
    filled = None
    for column in data.columns:
        # Lengths cast to booleans (non-zero is true): no Python scalar, so pandas is not
        # imported by Arrow just to convert one; a null cell counts as blank.
        has_text = pc.cast(pc.utf8_length(column), pa.bool_())
        if has_text.null_count:
            has_text = pc.and_kleene(has_text, pc.is_valid(column))
        filled = has_text if filled is None else pc.or_(filled, has_text)
    positions = pc.indices_nonzero(filled)
    if len(positions) == 0:
        return 0
    return positions[-1].as_py() + 1


# --- XLSX ------------------------------------------------------------------------------------


def _read_xlsx(
    source: bytes | Path,
    filename: str,
    contract: DataContract | None,
    sheet: str | None,
    limits: ReadLimits,
) -> pa.Table:
    # defusedxml must be importable: openpyxl then parses every part through it (no entity
    # expansion, no external entities). Imported here to keep the CSV path's start-up fast.
    import defusedxml  # noqa: F401
    import openpyxl
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise RuntimeError("openpyxl does not see defusedxml; refusing to parse XLSX unsafely")
    with _open(source) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise UserError("ingest.broken_xlsx", filename=filename) from None
        if inflated > limits.max_xlsx_uncompressed:
            raise UserError(
                "ingest.xlsx_inflates",
                size_mb=_mb(inflated),
                limit_mb=_mb(limits.max_xlsx_uncompressed),
            )
        handle.seek(0)
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a broken file; all mean "broken"
            raise UserError("ingest.broken_xlsx", filename=filename) from None
        try:
            return _sheet_table(workbook, filename, contract, sheet, limits)
        finally:
            workbook.close()


def _sheet_table(
    workbook: Any,
    filename: str,
    contract: DataContract | None,
    sheet: str | None,
    limits: ReadLimits,
) -> pa.Table:
    names = workbook.sheetnames
    if sheet is not None and sheet not in names:
        raise UserError("ingest.no_sheet", sheet=sheet, sheets=", ".join(names))
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    # Some writers store a wrong sheet size; re-measuring makes openpyxl read every row.
    worksheet.reset_dimensions()
    fields = contract.fields if contract is not None else []
    datetime_fields = {f.name for f in fields if f.type == FieldType.DATETIME}
    decimal = contract.decimal_separator if contract is not None else "."
    rows_iter = worksheet.iter_rows()
    try:
        first = next(rows_iter, None)
        header = [_cell_text(cell, decimal, False) for cell in first] if first else []
        while header and header[-1] == "":
            header.pop()
        if not header:
            raise UserError("ingest.no_header", filename=filename)
        wants_datetime = [name in datetime_fields for name in header]
        records: list[list[str]] = []
        last_filled = 0
        for cells in rows_iter:
            record = []
            for index, cell in enumerate(cells):
                as_datetime = index < len(wants_datetime) and wants_datetime[index]
                record.append(_cell_text(cell, decimal, as_datetime))
            while record and record[-1] == "":
                record.pop()
            records.append(record)
            if record:
                last_filled = len(records)
                if last_filled > limits.max_rows:
                    raise UserError("ingest.too_many_rows", rows=last_filled, limit=limits.max_rows)
    except UserError:
        raise
    except Exception:  # a corrupt sheet part surfaces only while iterating
        raise UserError("ingest.broken_xlsx", filename=filename) from None
    records = records[:last_filled]
    width = max([len(header), *(len(r) for r in records)])
    header += [""] * (width - len(header))  # cells beyond the header: an unnamed column
    columns = [pa.array([r[i] if i < len(r) else "" for r in records], pa.string()) for i in range(width)]
    return pa.Table.from_arrays(columns, names=header)


def _cell_text(cell: Any, decimal: str, as_datetime: bool) -> str:
    """A cell as the sender sees it, in the contract's conventions.

    Excel stores every number as a double: whole numbers lose the ``.0``; a ``00000`` number
    format (codes such as ``01``) keeps its leading zeros; dates become ISO ``YYYY-MM-DD``.
    """
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = _number_text(value)
        number_format = getattr(cell, "number_format", None) or ""
        if _ZERO_PADDED.match(number_format) and text.isdigit():
            text = text.zfill(len(number_format))
        return text.replace(".", ",") if decimal == "," else text
    if isinstance(value, dt.datetime):
        if not as_datetime and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = repr(value)  # shortest text that reads back as the same double
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


# --- bytes or path ---------------------------------------------------------------------------


def _size_of(source: bytes | Path) -> int:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    try:
        return Path(source).stat().st_size
    except FileNotFoundError:
        raise UserError("ingest.not_found", path=str(source)) from None


def _open(source: bytes | Path) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    return Path(source).open("rb")


def _arrow_input(source: bytes | Path) -> Any:
    # A path lets Arrow read natively without the GIL; bytes are wrapped without copying.
    if isinstance(source, bytes | bytearray | memoryview):
        return pa.BufferReader(pa.py_buffer(source))
    return str(source)


def _head(source: bytes | Path, size: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:size])
    with Path(source).open("rb") as handle:
        return handle.read(size)


def _chunks(source: bytes | Path, size: int) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), size):
            yield view[start : start + size].tobytes()
        return
    with Path(source).open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _mb(size: int) -> str:
    return f"{size / MB:,.1f}"
