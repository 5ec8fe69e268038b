"""Reading what senders send (CSV or XLSX) into a table of text, refusing what cannot be read."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv
from pydantic import BaseModel, ConfigDict, Field

from ocenter.contracts.model import DataContract, FieldType
from ocenter.errors import UserError
from ocenter.intake.csvfile import (
    ARROW_UTF8,
    MB,
    CsvPlan,
    ReadAhead,
    arrow_input,
    csv_failure,
    mb,
    open_source,
    pieces,
    plan_csv,
    size_of,
    streamed,
)
from ocenter.textformats import pc  # Arrow kernels without importing pyarrow.compute

CSV_SUFFIXES = frozenset({".csv"})
XLSX_SUFFIXES = frozenset({".xlsx"})
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
    size = size_of(source)
    if size > limits.max_bytes:
        raise UserError("ingest.too_large", size_mb=mb(size), limit_mb=mb(limits.max_bytes))
    if size == 0:
        raise UserError("ingest.empty", filename=filename)
    if kind == "xlsx":
        return _read_xlsx(source, filename, contract, sheet, limits)
    # The encoding is judged on the first 64 KB only; Arrow checks the rest as it reads, and a
    # late byte that is not UTF-8 sends the whole file through the full check once more.
    names = _field_names(contract)
    plan = plan_csv(source, filename, names, whole=False)
    try:
        raw = pv.read_csv(arrow_input(source), **plan.arrow_options())
    except pa.ArrowInvalid as exc:
        if "UTF8" not in str(exc) or plan.encoding not in ("utf-8", "utf-8-sig"):
            raise csv_failure(source, plan, exc) from None
        plan = plan_csv(source, filename, names, whole=True)
        try:
            raw = pv.read_csv(arrow_input(source), **plan.arrow_options())
        except pa.ArrowInvalid as again:
            raise csv_failure(source, plan, again) from None
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
    ahead: ReadAhead | None = None,
) -> Iterator[pa.RecordBatch]:
    """The file as record batches of text, so a very large CSV is verified in bounded memory.

    Same rules as :func:`read_table`; an XLSX (small by its limits) is read whole and then
    batched. A problem found part way (a ragged row, too many rows) raises ``UserError`` then.
    A UTF-8 CSV without quotes is cut at line ends into pieces of about ``block_size`` bytes,
    each parsed by Arrow as one block (see :func:`pieces`); from a first quote on, or for
    another encoding, Arrow's streaming reader takes over. ``ahead``: the same file already
    being read on a thread (see :func:`ocenter.intake.csvfile.read_ahead`); its pieces are used when
    it read them as planned here, else it is stopped.
    """
    try:
        yield from _batches(path, contract, filename, sheet, limits or ReadLimits(), block_size, ahead)
    finally:
        if ahead is not None:
            ahead.cancel()  # a no-op once its pieces are all taken


def _batches(
    path: Path,
    contract: DataContract | None,
    filename: str | None,
    sheet: str | None,
    limits: ReadLimits,
    block_size: int,
    ahead: ReadAhead | None,
) -> Iterator[pa.RecordBatch]:
    path = Path(path)
    name = filename or path.name
    if file_kind(name) == "xlsx":
        yield from read_table(path, name, contract, sheet=sheet, limits=limits).to_batches()
        return
    size = size_of(path)
    if size > limits.max_stream_bytes:
        raise UserError("ingest.too_large", size_mb=mb(size), limit_mb=mb(limits.max_stream_bytes))
    if size == 0:
        raise UserError("ingest.empty", filename=name)
    # The first 64 KB decide; the rest of the file is checked only where it needs to be.
    plan = plan_csv(path, name, _field_names(contract), whole=False, survey=False)
    if plan.arrow_encoding == ARROW_UTF8 and plan.has_line_feed:
        early = ahead.batches_for(path, plan, block_size) if ahead is not None else None
        raw = early if early is not None else pieces(path, plan, block_size)
    else:
        plan = plan_csv(path, name, _field_names(contract))
        raw = streamed(path, plan, block_size)
    yield from _named_batches(raw, plan, limits)


def _named_batches(
    raw: Iterator[pa.RecordBatch], plan: CsvPlan, limits: ReadLimits
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


def _field_names(contract: DataContract | None) -> frozenset[str]:
    return frozenset(contract.field_names()) if contract is not None else frozenset()


def _header_from_first_row(raw: pa.Table, plan: CsvPlan) -> pa.Table:
    if raw.num_rows == 0:
        raise UserError("ingest.no_header", filename=plan.filename)
    names = plan.clean_header([raw.column(i)[0].as_py() for i in range(raw.num_columns)])
    return raw.slice(1).rename_columns(names)


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
    with open_source(source) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise UserError("ingest.broken_xlsx", filename=filename) from None
        if inflated > limits.max_xlsx_uncompressed:
            raise UserError(
                "ingest.xlsx_inflates",
                size_mb=mb(inflated),
                limit_mb=mb(limits.max_xlsx_uncompressed),
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
