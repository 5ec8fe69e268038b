"""Spreadsheets from offices (XLSX, XLS, ODS, XLSB): the same data reads as the same table as its
CSV, and a workbook that would flood the server's memory is refused, not opened."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import demo_sampling_frame
from ocenter.contracts.model import contract_from_yaml
from ocenter.errors import UserError
from ocenter.intake.read import ReadLimits, read_table
from ocenter.intake.stored import kept_table_path
from ocenter.verification.engine import verify_table

SHEETS = Path(__file__).parent / "fixtures" / "spreadsheets"
CONTRACT = contract_from_yaml((SHEETS / "contract.yaml").read_text(encoding="utf-8"))
TODAY = dt.date(2026, 5, 1)
FORMATS = ["xlsx", "xls", "ods", "xlsb"]


def refused(data: bytes, name: str, **kwargs: object) -> UserError:
    with pytest.raises(UserError) as caught:
        read_table(data, name, CONTRACT, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- the same data in every format -------------------------------------------------------------


def test_the_fixtures_were_written_by_an_office_suite() -> None:
    """data.xlsx, .xls and .ods come from LibreOffice opening data.csv (make_fixtures.py)."""
    with zipfile.ZipFile(SHEETS / "data.xlsx") as xlsx:
        assert b"LibreOffice" in xlsx.read("docProps/app.xml")
    with zipfile.ZipFile(SHEETS / "data.ods") as ods:
        assert b"LibreOffice" in ods.read("meta.xml")
    # The suite typed the cells itself: numbers, dates, moments and booleans, not text.
    cells = next(openpyxl.load_workbook(SHEETS / "data.xlsx").worksheets[0].iter_rows(min_row=2))
    assert [c.data_type for c in cells[:9]] == ["s", "s", "d", "d", "n", "n", "b", "s", "n"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_data_in_every_format_gives_the_csv_table_and_report(fmt: str) -> None:
    csv_table = read_table(SHEETS / "data.csv", "data.csv", CONTRACT)
    sheet_table = read_table(SHEETS / f"data.{fmt}", f"data.{fmt}", CONTRACT)
    # The verification engine sees the very same table: names, cells, blank row and all.
    assert sheet_table.equals(csv_table)
    expected = verify_table(CONTRACT, csv_table, today=TODAY)
    report = verify_table(CONTRACT, sheet_table, today=TODAY)
    assert report.model_dump() == expected.model_dump()
    assert report.rows == 9 and len(report.errors) == 18
    assert [(e.row, e.column, e.check, e.value) for e in report.errors][:4] == [
        (3, "jumlah", "type", "dua"),
        (4, "jumlah", "minimum", "0"),
        (5, "kadar", "maximum", "150.5"),
        (6, "tanggal", "type", "2026-02-30"),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_codes_integers_dates_and_booleans_read_as_the_sender_wrote_them(fmt: str) -> None:
    table = read_table(SHEETS / f"data.{fmt}", f"data.{fmt}", CONTRACT)
    first = table.slice(0, 1).to_pylist()[0]
    assert first == {
        "id_sampel": "S-2026-000001",
        "kode_upt": "0012",  # a code kept as text keeps its leading zeros
        "tanggal": "2026-03-25",  # a date cell: ISO text
        "waktu_uji": "2026-03-25 14:30:00",  # a moment, in a datetime column
        "jumlah": "19",  # a number cell holding a whole number: "19", not "19.0"
        "kadar": "12.5",
        "halal": "true",  # a boolean cell
        "hasil": "MS",
        "nomor_izin": "320123456789001",  # fifteen digits, not 3.20123456789001e+14
        "catatan": "",  # an empty cell is empty text
    }
    assert table.column("kode_upt").to_pylist()[:5] == ["0012", "0107", "0012", "1204", "0107"]
    assert table.column("waktu_uji")[-1].as_py() == "2026-04-01 00:00:00"  # midnight keeps its time
    assert table.column("kadar").to_pylist()[1:4] == ["0.1", "-3.25", "150.5"]


def test_a_codes_number_format_keeps_its_zeros_in_xlsx() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in [["kode_upt", "jumlah"], [12, 19], [107, 2], ["0950", 3]]:
        sheet.append(row)
    for cell in ("A2", "A3"):
        sheet[cell].number_format = "0000"  # Excel's way to show 12 as 0012
    out = io.BytesIO()
    workbook.save(out)
    table = read_table(out.getvalue(), "data.xlsx", CONTRACT)
    assert table.to_pydict() == {"kode_upt": ["0012", "0107", "0950"], "jumlah": ["19", "2", "3"]}


# --- refusals ------------------------------------------------------------------------------------


def inflating_xlsx(sheet_bytes: int) -> bytes:
    """A valid XLSX whose one sheet holds the same row again and again until it inflates to
    ``sheet_bytes``: about 1.2 MB on disk for 400 MB of sheet."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["kode_upt", "jumlah"])
    out = io.BytesIO()
    workbook.save(out)
    template = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    bomb = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>0012</t></is></c><c><v>19</v></c></row>'
    block = row * (4 * 1024 * 1024 // len(row))
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in template.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, template.read(info.filename))
                continue
            with archive.open(info.filename, "w", force_zip64=True) as member:
                member.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                             b'2006/main"><sheetData>')
                for _ in range(sheet_bytes // len(block)):
                    member.write(block)
                member.write(b"</sheetData></worksheet>")
    return bomb.getvalue()


def test_a_sheet_that_inflates_past_the_limit_is_refused_unread() -> None:
    data = inflating_xlsx(400 * 1024 * 1024)
    assert len(data) < 2_000_000
    error = refused(data, "data.xlsx")
    assert error.key == "ingest.sheet_inflates"
    assert error.params["limit_mb"] == "256.0" and float(error.params["size_mb"]) >= 400
    assert "400" in error.text("id")


def _far_cell_xlsx(dimension: str) -> bytes:
    """An XLSX of a few KB with cells in A1, A2 and XFD1048576, the last cell a sheet can have."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["kode_upt"])
    workbook.active.append(["0012"])
    out = io.BytesIO()
    workbook.save(out)
    template = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    far = io.BytesIO()
    with zipfile.ZipFile(far, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in template.infolist():
            content = template.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                text = text.replace('<dimension ref="A1:A2" />', f'<dimension ref="{dimension}" />')
                text = text.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="n">'
                                    "<v>1</v></c></row></sheetData>")
                content = text.encode()
            archive.writestr(info.filename, content)
    return far.getvalue()


def test_a_sheet_naming_its_farthest_cell_is_refused_by_its_stated_size() -> None:
    error = refused(_far_cell_xlsx("A1:XFD1048576"), "data.xlsx")
    assert error.key == "ingest.sheet_too_many_cells"
    assert error.params == {"cells": "17,179,869,184", "limit": "5,000,000"}


def test_a_sheet_hiding_its_farthest_cell_is_refused_and_the_server_lives_on() -> None:
    # The file states A1:A2; read as stated, its grid would need 512 GB, and calamine's
    # failed allocation ends its process: the reading process, not this one.
    error = refused(_far_cell_xlsx("A1:A2"), "data.xlsx")
    assert error.key == "ingest.sheet_too_big"
    assert error.params["limit_mb"] == "1,024.0"
    assert read_table(SHEETS / "data.xlsx", "data.xlsx", CONTRACT).num_rows == 9


def test_an_ods_repeating_a_row_a_million_times_is_refused() -> None:
    template = zipfile.ZipFile(SHEETS / "data.ods")
    out = io.BytesIO()
    repeated = (b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
                b'office:value-type="float" office:value="1" table:number-columns-repeated="1000">'
                b"<text:p>1</text:p></table:table-cell></table:table-row></table:table>")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in template.infolist():
            content = template.read(info.filename)
            if info.filename == "content.xml":
                content = content.replace(b"</table:table>", repeated, 1)
            archive.writestr(info, content)
    assert len(out.getvalue()) < 20_000
    error = refused(out.getvalue(), "data.ods")
    assert error.key == "ingest.sheet_too_many_cells"


def test_a_sheet_over_the_cell_limit_is_refused_in_every_format() -> None:
    limits = ReadLimits(max_sheet_cells=50)  # the fixtures hold 11 rows x 10 columns
    for fmt in FORMATS:
        error = refused((SHEETS / f"data.{fmt}").read_bytes(), f"data.{fmt}", limits=limits)
        assert (fmt, error.key, error.params["limit"]) == (fmt, "ingest.sheet_too_many_cells", "50")


def test_a_password_protected_workbook_is_refused_as_such() -> None:
    # encrypted.xlsx: data.xlsx sealed with a password by msoffcrypto-tool (make_fixtures.py).
    error = refused((SHEETS / "encrypted.xlsx").read_bytes(), "data.xlsx")
    assert error.key == "ingest.encrypted"
    assert "kata sandi" in error.text("id")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_broken_workbook_is_refused_in_every_format(fmt: str) -> None:
    data = (SHEETS / f"data.{fmt}").read_bytes()
    assert refused(data[: len(data) // 2], f"data.{fmt}").key == "ingest.broken_sheet"
    assert refused((SHEETS / "data.csv").read_bytes(), f"data.{fmt}").key == "ingest.broken_sheet"


def test_a_named_sheet_is_read_and_a_missing_one_refused() -> None:
    assert read_table(SHEETS / "data.ods", "data.ods", CONTRACT, sheet="data").num_rows == 9
    error = refused((SHEETS / "data.xls").read_bytes(), "data.xls", sheet="Lembar2")
    assert error.key == "ingest.no_sheet" and error.params["sheets"] == "data"


# --- read once per upload ------------------------------------------------------------------------


def _sampling_xlsx(frame) -> bytes:  # noqa: ANN001 - pandas.DataFrame
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        sheet.append([int(v) if name == "jumlah_sampel" and v.isdigit() else v
                      for name, v in zip(frame.columns, record, strict=True)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_spreadsheet_upload_is_read_once_at_submission(demo_ctx, as_user):
    upt, verifier = as_user("upt"), as_user("verifikator")
    region = demo_sampling_frame(demo_ctx.clock.today(), months=6)
    region = region[region["kode_upt"] == upt.unit_code].tail(40).reset_index(drop=True)
    region.loc[3, "jumlah_sampel"] = "dua"
    sent = procedure.submit_data(demo_ctx, upt, dataset_id="sampling-pengujian",
                                 level=Level.TERBATAS, filename="Sampling Bandung.XLSX",
                                 content=_sampling_xlsx(region))
    assert sent.rows == 40 and sent.upload_suffix == ".xlsx"
    upload = procedure.upload_path(demo_ctx, sent)
    contract = procedure.contract_of(demo_ctx, "sampling-pengujian")
    assert kept_table_path(upload, contract).exists()
    # Checking reads the table kept at submission (the upload's bytes are only hashed, to know
    # it is still the file that was sent; acceptance reads those verified bytes again).
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    report = procedure.check_submission(demo_ctx, verifier, sent.id)
    assert [(e.row, e.column, e.check, e.value) for e in report.errors] == [
        (5, "jumlah_sampel", "type", "dua")
    ]
    failing = procedure.failing_rows_file(demo_ctx, upt, sent.id, "csv").decode("utf-8-sig")
    assert "dua" in failing and len(failing.strip().splitlines()) == 2


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsb"])
def test_every_office_format_is_an_upload_type(suffix: str) -> None:
    assert procedure.UPLOAD_SUFFIXES[suffix] == suffix
