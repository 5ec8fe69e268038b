"""Reading what senders send (CSV or a spreadsheet) into a table of text, refusing what cannot be read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
    pieces,
    plan_csv,
    size_of,
    streamed,
)
from ocenter.intake.sheets import SHEET_SUFFIXES, read_sheet_grid
from ocenter.textformats import pc  # Arrow kernels without importing pyarrow.compute

CSV_SUFFIXES = frozenset({".csv"})
_TRAILING_CHECK_ROWS = 4096


class ReadLimits(BaseModel):
    """How much a sender's file may hold before it is refused unread."""

    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(
        default=200 * MB, ge=1, description="Largest file read whole into memory, in bytes."
    )
    max_rows: int = Field(default=10_000_000, ge=1, description="Most data rows accepted.")
    max_sheet_inflated: int = Field(
        default=256 * MB,
        ge=1,
        description="Largest total a zip workbook (XLSX, ODS, XLSB) may inflate to, by the sizes "
        "its zip directory states, checked before reading a cell.",
    )
    max_sheet_cells: int = Field(
        default=5_000_000,
        ge=1,
        description="Most cells in a sheet's grid (rows x columns from A1): 500,000 rows of 10 "
        "columns. Checked from an XLSX's stated dimension before reading, and for every format "
        "before any cell is converted. Larger data goes as CSV, which is read in batches.",
    )
    max_sheet_memory: int = Field(
        default=1024 * MB,
        ge=64 * MB,
        description="Address space of the process that reads a spreadsheet, in bytes: a sheet "
        "that needs more is refused, whatever its file claims.",
    )
    max_sheet_seconds: float = Field(
        default=120.0, gt=0, description="Longest a spreadsheet may take to read, in seconds."
    )
    max_stream_bytes: int = Field(
        default=8 * 1024 * MB,
        ge=1,
        description="Largest CSV read in batches by iter_batches (bounded memory), in bytes.",
    )


def file_kind(filename: str) -> str:
    """``"csv"``, ``"xlsx"``, ``"xls"``, ``"ods"`` or ``"xlsb"`` from the file name's suffix;
    ``UserError`` for anything else."""
    # A bare suffix (".csv") is accepted too: callers that keep uploads by digest pass only that.
    suffix = Path(filename).suffix.lower() or (filename.lower() if filename.startswith(".") else "")
    if suffix in CSV_SUFFIXES or suffix in SHEET_SUFFIXES:
        return suffix[1:]
    if suffix in (".xlsm", ".xltx", ".xltm", ".ots", ".numbers"):
        raise UserError("ingest.format_unsupported", filename=filename)
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
    if kind != "csv":
        return _read_sheet(source, filename, contract, sheet, limits)
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

    Same rules as :func:`read_table`; a spreadsheet (small by its limits) is read whole and
    then batched. A problem found part way (a ragged row, too many rows) raises ``UserError`` then.
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
    if file_kind(name) != "csv":
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
    """The headers the contract's columns appear under (a hint for reading, not a check)."""
    return frozenset(f.header_text() for f in contract.fields) if contract is not None else frozenset()


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


# --- spreadsheets ------------------------------------------------------------------------------


def _read_sheet(
    source: bytes | Path,
    filename: str,
    contract: DataContract | None,
    sheet: str | None,
    limits: ReadLimits,
) -> pa.Table:
    """A spreadsheet's sheet (the first worksheet unless ``sheet`` names one) by the rules of a
    CSV: names from row 1, cells below as text, trailing blank rows dropped."""
    fields = contract.fields if contract is not None else []
    grid = read_sheet_grid(
        source,
        filename,
        sheet=sheet,
        decimal=contract.decimal_separator if contract is not None else ".",
        datetime_columns=frozenset(f.header_text() for f in fields if f.type == FieldType.DATETIME),
        max_inflated=limits.max_sheet_inflated,
        max_cells=limits.max_sheet_cells,
        memory=limits.max_sheet_memory,
        seconds=limits.max_sheet_seconds,
    )
    header = [grid.column(i)[0].as_py() for i in range(grid.num_columns)] if grid.num_rows else []
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise UserError("ingest.no_header", filename=filename)
    data = _drop_trailing_blank_rows(grid.slice(1))
    if data.num_rows > limits.max_rows:
        raise UserError("ingest.too_many_rows", rows=data.num_rows, limit=limits.max_rows)
    width = data.num_columns
    while width > len(header) and not pc.max(pc.utf8_length(data.column(width - 1))).as_py():
        width -= 1  # columns right of the header hold nothing
    names = header + [""] * (width - len(header))  # a filled cell beyond the header: an unnamed column
    return data.select(range(width)).rename_columns(names).combine_chunks()
