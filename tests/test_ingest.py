"""Reading senders' files: every cell stays the text the sender wrote; unreadable input is refused."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from ocenter.contracts.model import DataContract
from ocenter.errors import UserError
from ocenter.intake.csvfile import ReadAhead, read_ahead
from ocenter.intake.read import ReadLimits, iter_batches, read_table

CONTRACT = DataContract(
    id="uji-baca",
    title="Uji baca",
    owner_unit="PUSDATIN",
    fields=[{"name": "kode"}, {"name": "nilai"}, {"name": "catatan"}],
)
FIXTURES = Path(__file__).parent / "fixtures" / "verification"


def read(data: bytes, name: str = "data.csv", **kwargs: object) -> pa.Table:
    return read_table(data, name, CONTRACT, **kwargs)  # type: ignore[arg-type]


def refused(data: bytes, name: str = "data.csv", **kwargs: object) -> UserError:
    with pytest.raises(UserError) as caught:
        read(data, name, **kwargs)
    return caught.value


# --- CSV: text stays text ------------------------------------------------------------------------


def test_every_cell_is_text_exactly_as_written() -> None:
    table = read(b"kode,nilai,catatan\n01,007,NA\n1.50,1e3,n/a\n-0,  ,null\n")
    assert all(t == pa.string() for t in table.schema.types)
    assert table.to_pylist() == [
        {"kode": "01", "nilai": "007", "catatan": "NA"},
        {"kode": "1.50", "nilai": "1e3", "catatan": "n/a"},
        {"kode": "-0", "nilai": "  ", "catatan": "null"},
    ]


def test_empty_cells_are_empty_text_not_null() -> None:
    table = read(b'kode,nilai,catatan\n,"",x\n')
    assert table.to_pylist() == [{"kode": "", "nilai": "", "catatan": "x"}]
    assert table.column("kode").null_count == 0


def test_semicolon_file_with_decimal_comma_is_sniffed() -> None:
    table = read(b'kode;nilai;catatan\r\n01;1,5;"a;b"\r\n02;2,25;c\r\n')
    assert table.column_names == ["kode", "nilai", "catatan"]
    assert table.column("nilai").to_pylist() == ["1,5", "2,25"]
    assert table.column("catatan").to_pylist() == ["a;b", "c"]


def test_tab_separated_and_utf16_excel_unicode_text() -> None:
    table = read("kode\tnilai\tcatatan\n01\t2\tcafé\n".encode("utf-16"))
    assert table.to_pylist() == [{"kode": "01", "nilai": "2", "catatan": "café"}]


def test_sniffing_prefers_the_delimiter_that_names_contract_columns() -> None:
    # Commas inside the values would fool a count of delimiters; the header decides.
    table = read(b"kode;nilai;catatan\n1,2;3,4;5,6\n")
    assert table.column_names == ["kode", "nilai", "catatan"]


def test_windows_1252_file_is_decoded() -> None:
    data = "kode,nilai,catatan\r\nUPT-1101,Médan,café — 5 €\r\n".encode("cp1252")
    table = read(data)
    assert table.column("catatan").to_pylist() == ["café — 5 €"]
    assert table.column("nilai").to_pylist() == ["Médan"]


def test_a_late_windows_1252_byte_after_the_sample_still_decodes() -> None:
    body = "a,1,x\n" * 20_000 + "é,2,y\n"
    table = read(("kode,nilai,catatan\n" + body).encode("cp1252"))
    assert table.num_rows == 20_001 and table.column("kode")[-1].as_py() == "é"


def test_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    table = read(b"\xef\xbb\xbfkode,nilai,catatan\r\n1,2,3\r\n")
    assert table.column_names == ["kode", "nilai", "catatan"]
    fixture = read_table(FIXTURES / "bom_crlf" / "data.csv", "data.csv", CONTRACT)
    assert fixture.column_names[0] == "id"


def test_line_breaks_inside_quotes_stay_in_the_cell() -> None:
    table = read(b'kode,nilai,catatan\n1,2,"baris satu\r\nbaris dua"\n3,4,5\n')
    assert table.column("catatan").to_pylist() == ["baris satu\r\nbaris dua", "5"]


def test_blank_rows_keep_their_place_and_trailing_ones_go() -> None:
    table = read(b"kode,nilai,catatan\n1,2,3\n\n4,5,6\n,,\n\n\n")
    assert table.column("kode").to_pylist() == ["1", "", "4"]


def test_a_header_without_rows_is_an_empty_table() -> None:
    table = read(b"kode,nilai,catatan\n")
    assert table.num_rows == 0 and table.column_names == ["kode", "nilai", "catatan"]


def test_the_files_own_columns_are_kept_in_order() -> None:
    table = read(b"nilai,lain,kode,kode\n1,2,3,4\n")
    assert table.column_names == ["nilai", "lain", "kode", "kode"]


def test_a_bare_suffix_is_accepted_as_the_file_name() -> None:
    assert read(b"kode\n1\n", ".csv").num_rows == 1


# --- CSV: refusals ---------------------------------------------------------------------------------


def test_a_row_with_the_wrong_number_of_cells_is_named() -> None:
    error = refused(b"kode,nilai,catatan\n1,2,3\n4,5\n")
    assert error.key == "ingest.ragged_row"
    assert error.params == {"row": 3, "expected": 3, "found": 2}
    assert "Baris 3 berisi 2 sel" in error.text("id")


@pytest.mark.parametrize(
    ("data", "name", "key"),
    [
        (b"", "data.csv", "ingest.empty"),
        (b"\n\n", "data.csv", "ingest.empty"),
        (b"\n\nkode\n1\n", "data.csv", "ingest.no_header"),
        (b"%PDF-1.4\x00\x01\x02", "data.csv", "ingest.not_text"),
        (b"kode\n\x81\x8d\x8f\n", "data.csv", "ingest.encoding"),
        (b"kode\n1\n", "data.pdf", "ingest.unknown_format"),
        (b"kode\n1\n", "data", "ingest.unknown_format"),
        (b"kode\n1\n", "data.xls", "ingest.broken_sheet"),
        (b"kode\n1\n", "data.xlsm", "ingest.format_unsupported"),
    ],
)
def test_unreadable_input_is_a_user_error_not_a_traceback(data: bytes, name: str, key: str) -> None:
    error = refused(data, name)
    assert error.key == key
    assert error.text("id") and error.text("en")


def test_size_and_row_limits() -> None:
    assert refused(b"kode\n" + b"1\n" * 100, limits=ReadLimits(max_bytes=50)).key == ("ingest.too_large")
    error = refused(b"kode\n" + b"1\n" * 100, limits=ReadLimits(max_rows=10))
    assert error.key == "ingest.too_many_rows" and error.params["limit"] == 10


def test_a_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        read_table(tmp_path / "tidak-ada.csv", "tidak-ada.csv", CONTRACT)
    assert caught.value.key == "ingest.not_found"


# --- streaming ---------------------------------------------------------------------------------------


def test_batches_give_the_same_cells_as_a_whole_read(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode,nilai,catatan\n" + b'01,NA,"a\nb"\n\n' * 500 + b"\n\n")
    whole = read_table(path, "data.csv", CONTRACT)
    batches = list(iter_batches(path, CONTRACT, block_size=200))
    assert len(batches) > 10
    assert pa.Table.from_batches(batches).equals(whole)
    assert whole.num_rows == 999  # the last blank row of the file is trailing


def test_batches_of_a_header_only_file_carry_the_header(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode,nilai\n\n")
    (batch,) = list(iter_batches(path, CONTRACT))
    assert batch.num_rows == 0 and batch.schema.names == ["kode", "nilai"]


def test_a_ragged_row_deep_in_a_stream_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode,nilai\n" + b"1,2\n" * 5000 + b"3\n")
    with pytest.raises(UserError) as caught:
        list(iter_batches(path, CONTRACT, block_size=1000))
    assert caught.value.key == "ingest.ragged_row" and caught.value.params["row"] == 5002


def test_streaming_refuses_too_many_rows(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode\n" + b"1\n" * 100)
    with pytest.raises(UserError) as caught:
        list(iter_batches(path, CONTRACT, limits=ReadLimits(max_rows=10), block_size=64))
    assert caught.value.key == "ingest.too_many_rows"


ROWS = b"01,2,abc\n"
STREAM_CASES = {
    "plain": b"kode,nilai,catatan\n" + ROWS * 3000,
    "crlf_and_blank_rows": b"kode,nilai,catatan\r\n" + b"01,2,abc\r\n\r\n" * 2000 + b"\r\n\r\n",
    "bom": b"\xef\xbb\xbfkode,nilai,catatan\n" + ROWS * 3000,
    "late_quote_with_line_break": b"kode,nilai,catatan\n" + ROWS * 3000 + b'02,3,"x\ny"\n' + ROWS * 99,
    "late_windows_1252": b"kode,nilai,catatan\n" + ROWS * 3000 + b"02,3,caf\xe9\n" + ROWS * 99,
    "late_utf8": b"kode,nilai,catatan\n" + ROWS * 3000 + "02,3,café\n".encode() + ROWS * 99,
    # Valid UTF-8 early, a byte that is not later: the whole file is Windows-1252.
    "utf8_then_not": b"kode,nilai,catatan\n"
    + ROWS * 3000
    + "02,3,café\n".encode()
    + ROWS * 3000
    + b"02,3,caf\xe9\n",
    "a_line_longer_than_a_block": b"kode,nilai,catatan\n01,2," + b"x" * 5000 + b"\n" + ROWS * 10,
    "no_final_line_feed": b"kode,nilai,catatan\n" + ROWS * 300 + b"9,9,9",
    "lone_carriage_returns": b"kode,nilai,catatan\r" + b"01,2,abc\r" * 300,
    "quoted_header": b'"kode","nilai","catatan"\n' + ROWS * 300,
}


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
@pytest.mark.parametrize("block_size", [64, 1000, 8 * 1024 * 1024])
def test_streamed_pieces_give_exactly_the_whole_read(tmp_path: Path, case: str, block_size: int) -> None:
    # Pieces cut at line feeds, switching to Arrow's quote-aware reader (or Windows-1252) at
    # the first quote (or byte that is not UTF-8): the same table as one whole read.
    path = tmp_path / "data.csv"
    path.write_bytes(STREAM_CASES[case])
    whole = read_table(path, "data.csv", CONTRACT)
    batches = list(iter_batches(path, CONTRACT, block_size=block_size))
    assert pa.Table.from_batches(batches).equals(whole)


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
def test_a_read_ahead_gives_exactly_the_whole_read(tmp_path: Path, case: str) -> None:
    # The command starts reading on a thread before the contract is loaded; what the
    # verifier then gets is the same table, whether the read-ahead's pieces are used or not.
    path = tmp_path / "data.csv"
    path.write_bytes(STREAM_CASES[case])
    whole = read_table(path, "data.csv", CONTRACT)
    ahead = read_ahead(path, block_size=1000)
    batches = list(iter_batches(path, CONTRACT, block_size=1000, ahead=ahead))
    assert pa.Table.from_batches(batches).equals(whole)
    if ahead is not None:
        ahead._thread.join(timeout=10)
        assert not ahead._thread.is_alive()


def test_a_read_ahead_is_used_only_when_it_read_the_file_as_planned(tmp_path: Path) -> None:
    # Without the contract a ";" file whose last column holds commas looks comma-separated
    # (four columns against three); the contract's column names say ";". The read-ahead's
    # pieces are then dropped, never used.
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode;nilai;catatan,a,b,c\n" + b"01;2;x,y,z,w\n" * 2000)
    ahead = read_ahead(path, block_size=1000)
    assert ahead is not None and ahead.plan.delimiter == ","
    batches = list(iter_batches(path, CONTRACT, block_size=1000, ahead=ahead))
    assert pa.Table.from_batches(batches).equals(read_table(path, "data.csv", CONTRACT))
    assert ahead._stopped
    ahead._thread.join(timeout=10)
    assert not ahead._thread.is_alive()


def test_a_read_ahead_reports_a_ragged_row_where_the_file_has_it(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode,nilai,catatan\n" + ROWS * 3000 + b"1,2\n" + ROWS * 10)
    ahead = read_ahead(path, block_size=1000)
    with pytest.raises(UserError) as caught:
        list(iter_batches(path, CONTRACT, block_size=1000, ahead=ahead))
    assert caught.value.key == "ingest.ragged_row" and caught.value.params["row"] == 3002


def test_a_read_ahead_holds_few_pieces_and_stops_when_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"kode,nilai,catatan\n" + ROWS * 20000)
    ahead = ReadAhead(path, read_ahead(path).plan, block_size=1000, ahead=3)
    for _ in range(200):  # the thread fills its three places, then waits
        if len(ahead._ready) == 3:
            break
        ahead._thread.join(timeout=0.01)
    assert len(ahead._ready) == 3 and not ahead.reading()  # waiting for room, not reading
    assert ahead._thread.is_alive()
    ahead.cancel()
    ahead._thread.join(timeout=10)
    assert not ahead.reading() and not ahead._thread.is_alive() and not ahead._ready


def test_no_read_ahead_for_what_is_not_a_plain_utf8_csv(tmp_path: Path) -> None:
    for name, data in [("data.xlsx", b"PK"), ("data.csv", "kode\ncafé\n".encode("utf-16")), ("x.csv", b"")]:
        path = tmp_path / name
        path.write_bytes(data)
        assert read_ahead(path) is None
    assert read_ahead(tmp_path / "missing.csv") is None


@pytest.mark.parametrize(
    "data",
    [b"kode\n\x81\x8d\x8f\n", b"\n\nkode\n1\n", b"kode,nilai\n1,2\n" * 50 + b"3\n", b"\n\n"],
)
def test_streaming_refuses_what_a_whole_read_refuses(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    with pytest.raises(UserError) as whole:
        read_table(path, "data.csv", CONTRACT)
    with pytest.raises(UserError) as streamed:
        list(iter_batches(path, CONTRACT, block_size=64))
    assert (streamed.value.key, streamed.value.params) == (whole.value.key, whole.value.params)


# --- XLSX ----------------------------------------------------------------------------------------------


def workbook_bytes(rows: list[list[object]], formats: dict[str, str] | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_numbers_dates_and_codes_read_as_the_sender_sees_them() -> None:
    data = workbook_bytes(
        [
            ["kode", "nilai", "catatan"],
            [123, 19.0, dt.datetime(2026, 3, 25)],
            ["01", 2.5, dt.date(2026, 3, 26)],
            [7, 1e-05, True],
            [8, 123456789012.0, dt.datetime(2026, 3, 25, 14, 30)],
        ],
        {"A2": "00000"},
    )
    table = read(data, "data.xlsx")
    assert table.to_pylist() == [
        {"kode": "00123", "nilai": "19", "catatan": "2026-03-25"},
        {"kode": "01", "nilai": "2.5", "catatan": "2026-03-26"},
        {"kode": "7", "nilai": "0.00001", "catatan": "true"},
        {"kode": "8", "nilai": "123456789012", "catatan": "2026-03-25 14:30:00"},
    ]


def test_xlsx_decimal_comma_and_datetime_fields_follow_the_contract() -> None:
    contract = DataContract(
        id="uji-xlsx",
        title="t",
        owner_unit="X",
        decimal_separator=",",
        fields=[{"name": "nilai", "type": "number"}, {"name": "waktu", "type": "datetime"}],
    )
    data = workbook_bytes([["nilai", "waktu"], [2.5, dt.datetime(2026, 1, 5)]])
    table = read_table(data, "data.xlsx", contract)
    assert table.to_pylist() == [{"nilai": "2,5", "waktu": "2026-01-05 00:00:00"}]


def test_xlsx_blank_rows_and_named_sheets() -> None:
    path = FIXTURES / "xlsx_numbers" / "data.xlsx"
    table = read_table(path, "data.xlsx", CONTRACT)
    assert table.num_rows == 5  # the empty middle row stays, the trailing ones go
    assert table.column("kode").to_pylist() == ["00123", "00124", "125", "", "01234"]
    other = read_table(path, "data.xlsx", CONTRACT, sheet="Lain")
    assert other.column_names == ["bukan", "data"] and other.num_rows == 0
    with pytest.raises(UserError) as caught:
        read_table(path, "data.xlsx", CONTRACT, sheet="Tidak Ada")
    assert caught.value.key == "ingest.no_sheet" and "Data, Lain" in caught.value.text("en")


def test_a_broken_xlsx_is_refused() -> None:
    assert refused(b"PK\x03\x04 not really a zip", "data.xlsx").key == "ingest.broken_sheet"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert refused(out.getvalue(), "data.xlsx").key == "ingest.broken_sheet"
    assert refused(b"kode,nilai\n1,2\n", "data.xlsx").key == "ingest.broken_sheet"


def test_a_zip_bomb_is_refused_before_parsing() -> None:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        block = b"0" * (4 << 20)
        for _ in range(130):  # 520 MB of zeros, about 2 MB compressed
            member.write(block)
    data = out.getvalue()
    assert len(data) < 5_000_000
    error = refused(data, "data.xlsx")
    assert error.key == "ingest.sheet_inflates" and error.params["limit_mb"] == "256.0"
    small = workbook_bytes([["kode"], ["x" * 50_000]])
    limits = ReadLimits(max_sheet_inflated=20_000)
    assert refused(small, "data.xlsx", limits=limits).key == "ingest.sheet_inflates"


def test_xml_entity_expansion_inside_an_xlsx_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    original = zipfile.ZipFile(io.BytesIO(workbook_bytes([["kode"], ["1"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in original.infolist():
            content = original.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = laughs
            archive.writestr(info, content)
    assert refused(out.getvalue(), "data.xlsx").key == "ingest.broken_sheet"
