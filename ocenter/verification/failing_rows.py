"""Sending failing rows back to their sender as CSV or XLSX, with formula cells neutralised."""

from __future__ import annotations

import csv
import io
from typing import Literal

import pyarrow as pa

from ocenter.accounts.levels import Level
from ocenter.contracts.model import DataContract, header_key
from ocenter.i18n import t
from ocenter.verification.report import MASK, VerificationReport, may_read_value

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
    dataset_level: Level = Level.TERBUKA,
) -> pa.Table:
    """The original rows with at least one reported error, with their row number and errors.

    Only rows named in ``report.errors`` are included (the detail may be capped). With a
    ``clearance``, every value it may not read (``may_read_value``: the higher of its field's
    level and ``dataset_level``) reads ``***``, in the cells and in the error messages; a
    column the contract does not name counts at the dataset's level, and loses its header too
    (a file without a header row has data there).
    """
    if clearance is not None:
        report = report.masked_for(clearance, dataset_level)
    by_row: dict[int, list[str]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append(error.message(lang))
    rows = sorted(by_row)
    picked = table.take(pa.array([r - 2 for r in rows], pa.int64()))
    columns = list(picked.columns)
    headers = list(picked.column_names)
    if clearance is not None:
        # A column is its field's by the header the field appears under (as the contract
        # matches headers), so "Kode UPT" carries the level of kode_upt.
        matching = contract.header_matching
        known = {header_key(f.header_text(), matching): f.level for f in contract.fields}
        for position, name in enumerate(picked.column_names):
            level = known.get(header_key(name, matching))
            if not may_read_value(clearance, level or Level.TERBUKA, dataset_level):
                columns[position] = pa.array([MASK] * picked.num_rows, pa.string())
                if level is None:
                    headers[position] = f"{MASK}{position + 1}"
    row_name = _free_name(t("verify.export.row_column", lang), headers)
    errors_name = _free_name(t("verify.export.errors_column", lang), headers)
    names = [row_name, *headers, errors_name]
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
    lang: str,
    clearance: Level | None = None,
    dataset_level: Level = Level.TERBUKA,
) -> bytes:
    """The failing rows as a file for the sender; no cell can run as a spreadsheet formula.
    With a ``clearance``, what it may not read is masked (see ``failing_rows``)."""
    rows = failing_rows(contract, table, report, lang=lang, clearance=clearance,
                        dataset_level=dataset_level)
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
