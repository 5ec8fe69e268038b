"""The file of failing rows sent back to a sender: in XLSX every cell is stored as text, so a
spreadsheet never evaluates what a sender (or an attacker) wrote, whatever it starts with."""

from __future__ import annotations

import io
import re
import zipfile

import pyarrow as pa

from ocenter.contracts.model import DataContract
from ocenter.verification.engine import verify_table
from ocenter.verification.failing_rows import export_failing_rows


def test_every_cell_of_the_xlsx_file_is_a_text_cell():
    contract = DataContract(id="rumus-uji", title="t", owner_unit="X",
                            fields=[{"name": "a"}, {"name": "b", "type": "integer"}])
    table = pa.table({"a": ["=1+1", "12", "ok"], "b": ["x", "2", "y"]})
    exported = export_failing_rows(contract, table, verify_table(contract, table), "xlsx", lang="id")
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = re.findall(r"<c\b[^>]*>", sheet)
    assert len(cells) == 4 * 3  # header and two failing rows, four columns each
    # Inline text, the one cell type a spreadsheet shows as written (t="S" would be a broken file).
    assert all(' t="inlineStr"' in cell for cell in cells), cells
    assert "<f>" not in sheet and "<f " not in sheet


def test_a_missing_cell_goes_back_empty_in_both_formats():
    import csv

    import openpyxl

    contract = DataContract(id="kosong-uji", title="t", owner_unit="X",
                            fields=[{"name": "a"}, {"name": "b", "type": "integer"}])
    table = pa.table({"a": [None, "ada"], "b": ["x", "y"]})  # both rows fail on b
    report = verify_table(contract, table)
    text = export_failing_rows(contract, table, report, "csv", lang="id").decode("utf-8-sig")
    assert [row[1] for row in csv.reader(io.StringIO(text, newline=""))] == ["a", "", "ada"]
    xlsx = export_failing_rows(contract, table, report, "xlsx", lang="id")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    assert [row[1].value for row in sheet.iter_rows()] in (["a", "", "ada"], ["a", None, "ada"])
