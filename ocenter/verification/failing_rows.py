"""Sending failing rows back to their sender as CSV or XLSX, with formula cells neutralised."""

from __future__ import annotations

import csv
import io
from typing import Literal

import pyarrow as pa

from ocenter.accounts.levels import Level
from ocenter.contracts.model import DataContract
from ocenter.i18n import t
from ocenter.verification.report import MASK, VerificationReport

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
