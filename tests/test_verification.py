"""The verification engine: what a sender and a verifier rely on, and agreement with a second verifier."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import io
import json
import math
import random
import re
import threading
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from ocenter import reference
from ocenter.accounts.levels import Level
from ocenter.contracts.model import DataContract, contract_from_yaml
from ocenter.contracts.odcs import contract_to_odcs
from ocenter.errors import NotFound, UserError
from ocenter.intake.read import iter_batches, read_table
from ocenter.textformats import DATE_RE, anchored, number_re
from ocenter.verification import engine, judging
from ocenter.verification.command import _report_text, run_verify
from ocenter.verification.datasets import load_dataset, store_dataset_version
from ocenter.verification.engine import _verified, verify_table
from ocenter.verification.failing_rows import export_failing_rows, failing_rows
from ocenter.verification.judging import _plain_numbers, _repeats, _sorted_repeats, _type_valid
from ocenter.verification.kernels import (
    _decimal_shape,
    _fixed_match,
    _fixed_ranges,
    _iso_dates,
    fixed_width_classes,
)
from ocenter.verification.report import CELL_CHECKS, VerificationReport
from ocenter.verification.typed import typed_table
from tests.reference_verifier import read_csv_rows, read_xlsx_rows, reference_verify

FIXTURES = Path(__file__).parent / "fixtures" / "verification"
SCENARIOS = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").exists())
CODES = {
    "upt": frozenset({"UPT-1101", "UPT-1102", "UPT-1103", "UPT-1104", "UPT-1105"}),
    "kategori_produk": frozenset({"obat", "pangan-olahan", "kosmetik"}),
    "provinsi": frozenset({"11", "12"}),
}


@pytest.fixture(autouse=True)
def fixed_reference_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reference lists fixed here, so the expectations do not move when the shipped lists do."""
    monkeypatch.setattr(reference, "reference_codes", lambda list_id: CODES[list_id])


def load(scenario: str) -> tuple[DataContract, dict, Path]:
    folder = FIXTURES / scenario
    contract = contract_from_yaml((folder / "contract.yaml").read_text(encoding="utf-8"))
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    return contract, expected, folder / expected["data"]


def engine_report(scenario: str) -> VerificationReport:
    contract, expected, data = load(scenario)
    table = read_table(data, data.name, contract)
    return verify_table(contract, table, today=dt.date.fromisoformat(expected["today"]))


def cells(report: VerificationReport) -> set[tuple[int, str, str]]:
    return {(e.row, e.column, e.check) for e in report.errors}


def issue_names(report: VerificationReport) -> list[str]:
    return [
        f"{i.check}:{i.params['kind']}" if i.check == "header" else i.check for i in report.dataset_issues
    ]


# --- the fixtures: what a person expects, and what the second verifier finds ----------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fixture_reports_exactly_the_expected_cells(scenario: str) -> None:
    _, expected, _ = load(scenario)
    report = engine_report(scenario)
    assert cells(report) == {tuple(e) for e in expected["errors"]}
    assert issue_names(report) == expected["dataset"]
    if "rows" in expected:
        assert report.rows == expected["rows"]
    hard = [n for n in expected["dataset"] if n != "freshness"]
    assert report.valid == (not expected["errors"] and not hard)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_engine_and_reference_verifier_agree(scenario: str) -> None:
    contract, expected, data = load(scenario)
    if data.suffix == ".xlsx":
        header, body = read_xlsx_rows(data, contract)
    else:
        header, body = read_csv_rows(data, expected["delimiter"])
    today = dt.date.fromisoformat(expected["today"])
    want_cells, want_issues = reference_verify(contract, header, body, today)
    report = engine_report(scenario)
    assert cells(report) == want_cells
    assert report.rows == len(body)
    assert [i.model_dump(include={"check", "params", "severity"}) for i in report.dataset_issues] == (
        want_issues
    )


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "xlsx_numbers"])
def test_streaming_in_small_batches_gives_the_same_report(scenario: str) -> None:
    contract, expected, data = load(scenario)
    today = dt.date.fromisoformat(expected["today"])
    whole = engine_report(scenario)
    streamed = verify_table(contract, iter_batches(data, contract, block_size=256), today=today)
    assert streamed == whole


def test_a_blank_row_keeps_the_numbering_of_the_spreadsheet() -> None:
    report = engine_report("sampling_errors")
    # Row 13 is the blank line; the record after it is row 14, as in a spreadsheet.
    assert {e.row for e in report.errors if e.check == "required"} == {3, 13}
    assert any(e.row == 14 and e.column == "kategori" for e in report.errors)


def test_unique_names_the_first_row_with_the_same_value() -> None:
    report = engine_report("sampling_errors")
    (repeat,) = [e for e in report.errors if e.check == "unique"]
    assert (repeat.row, repeat.value, repeat.params["first_row"]) == (12, "S0001", 2)
    assert "baris 2" in repeat.message("id")
    (key,) = [i for i in report.dataset_issues if i.check == "primary_key"]
    assert key.params == {"columns": "no_sampel", "count": 1, "rows": "12"}


def test_messages_speak_the_senders_words_in_both_languages() -> None:
    report = engine_report("sampling_errors")
    by_cell = {(e.row, e.column): e for e in report.errors}
    date = by_cell[(4, "tanggal")]
    assert date.message("id") == (
        'Baris 4, kolom tanggal: nilai "2026-02-30" bukan tanggal yang sah dengan format '
        "TTTT-BB-HH (contoh 2024-03-25)."
    )
    assert date.message("en").startswith('Row 4, column tanggal: value "2026-02-30" is not a valid')
    assert "bilangan bulat" in by_cell[(14, "jumlah")].message("id")
    assert "MS, TMS" in by_cell[(5, "hasil")].message("id")


def test_json_report_has_exactly_the_agreed_shape() -> None:
    data = engine_report("sampling_errors").to_json_dict("en")
    assert list(data) == ["valid", "rows", "errors", "summary", "dataset_issues"]
    assert data["valid"] is False and data["rows"] == 16
    assert set(data["errors"][0]) == {"row", "column", "check", "value", "message"}
    assert data["errors"][0]["row"] == 3
    assert {"column": "kadar", "check": "minimum", "count": 1} in data["summary"]
    assert data["dataset_issues"][0]["check"] == "primary_key"
    json.dumps(data)  # plain JSON data


def test_errors_are_ordered_by_row_then_contract_column() -> None:
    report = engine_report("sampling_errors")
    order = [f.name for f in load("sampling_errors")[0].fields]
    keys = [(e.row, order.index(e.column)) for e in report.errors]
    assert keys == sorted(keys)


def test_masking_hides_values_of_fields_above_the_clearance() -> None:
    report = engine_report("sampling_errors")  # kode_upt is rahasia, the rest terbuka
    masked = report.masked_for(Level.TERBATAS)
    upt = [e for e in masked.errors if e.column == "kode_upt" and e.check == "reference"]
    assert upt[0].value == "***" and '"***"' in upt[0].message("id")
    assert all(e.value != "***" for e in masked.errors if e.column != "kode_upt")
    assert report.masked_for(Level.RAHASIA) == report
    assert "UPT-9999" not in json.dumps(masked.to_json_dict("id"))


def test_the_detail_is_capped_but_the_summary_counts_every_cell() -> None:
    contract = DataContract(
        id="uji-batas", title="t", owner_unit="X", fields=[{"name": "n", "type": "integer"}]
    )
    table = pa.table({"n": ["x"] * 50})
    report = verify_table(contract, table, max_errors=7)
    assert [e.row for e in report.errors] == list(range(2, 9))
    assert report.summary[0].count == 50 and report.error_count == 50 and report.truncated


def test_progress_reports_rows_done() -> None:
    contract, _, data = load("sampling_valid")
    seen: list[int] = []
    verify_table(contract, read_table(data, data.name, contract), progress=seen.append)
    assert seen == [5]


def test_valid_fixture_is_valid_and_freshness_is_only_a_warning() -> None:
    assert engine_report("sampling_valid").valid
    report = engine_report("rows_fresh")
    fresh = [i for i in report.dataset_issues if i.check == "freshness"][0]
    assert fresh.severity == "warning"
    assert fresh.params == {
        "column": "periode",
        "newest": "2025-02-01",
        "days_old": 393,
        "cadence_days": 30,
    }


# --- random tables against the second verifier ------------------------------------------------

POOLS = {
    "string": ["", "NA", "a", "ab", "abc", "abcd", "é", "ééé", "S0001", "S01", " ", "x y", "-"],
    "integer": [
        "0",
        "1",
        "-1",
        "+5",
        "007",
        "1.0",
        "1e3",
        "",
        "x",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "٣",
        "99",
    ],
    "number": [
        "0",
        "1.5",
        "1,5",
        "-2.25",
        ".5",
        "5.",
        "+.5",
        "1e3",
        "1e999",
        "nan",
        "inf",
        "",
        "abc",
        "100",
        "100.0001",
        "1e-400",
        "2.5e1",
    ],
    "boolean": ["ya", "Tidak", "TRUE", "false", "1", "0", "yes", "", "2"],
    "date": [
        "2024-02-29",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-04-31",
        "0001-01-01",
        "0000-01-01",
        "2024-1-1",
        "",
        "2024-12-31",
        "1900-02-29",
        "2000-02-29",
    ],
    "datetime": [
        "2024-02-29T23:59:59",
        "2024-02-29 24:00",
        "2024-01-01T00:00Z",
        "2024-01-01T00:00:00.123456+07:00",
        "2024-01-01T00:00:00.1234567",
        "2024-01-01T00:60",
        "2024-01-01",
        "",
        "2024-01-01T10:00+2400",
    ],
}


def random_case(seed: int) -> tuple[DataContract, list[str], list[list[str]]]:
    rng = random.Random(seed)
    fields = []
    for index in range(rng.randint(1, 5)):
        kind = rng.choice(list(POOLS))
        spec: dict = {
            "name": f"f{index}",
            "type": kind,
            "required": rng.random() < 0.5,
            "unique": rng.random() < 0.2,
        }
        if kind in ("integer", "number"):
            if rng.random() < 0.5:
                spec["minimum"] = rng.choice([-5, 0, 0.5, 1])
            if rng.random() < 0.5:
                spec["maximum"] = rng.choice([2.5, 99, 100, 9223372036854775807])
        if kind == "string":
            if rng.random() < 0.4:
                # Fixed-width ones are checked byte by byte, the others by RE2.
                spec["pattern"] = rng.choice([r"^S\d+$", r"[a-z]+", r"^.{2}$", r"^S\d{4}$", r"[a-z]{2}"])
            if rng.random() < 0.4:
                spec["min_length"] = rng.choice([0, 1, 2])
            if rng.random() < 0.4:
                spec["max_length"] = rng.choice([1, 3])
                spec["min_length"] = min(spec.get("min_length", 0), spec["max_length"])
        if kind in ("date", "datetime") and rng.random() < 0.5:
            spec["earliest"] = rng.choice(["2000-02-29", "2024-01-01", "2024-02-29"])
            spec["latest"] = rng.choice(["2024-02-29", "2024-12-31"])
            spec.pop(rng.choice(["earliest", "latest", "neither"]), None)
        if rng.random() < 0.3:
            spec["allowed_values"] = rng.sample(POOLS[kind], 4)
        fields.append(spec)
    names = [f["name"] for f in fields]
    contract = DataContract.model_validate(
        {
            "id": "acak-uji",
            "title": "acak",
            "owner_unit": "X",
            "fields": fields,
            "missing_values": rng.choice([[""], ["", "NA", "-"]]),
            "decimal_separator": rng.choice([".", ","]),
            "primary_key": rng.sample(names, rng.randint(0, min(2, len(names)))),
        }
    )
    header = names[:]
    if rng.random() < 0.2:
        rng.shuffle(header)
    rows = [[rng.choice(POOLS[f["type"]]) for f in fields] for _ in range(rng.randint(0, 60))]
    order = [names.index(n) for n in header]
    return contract, header, [[row[i] for i in order] for row in rows]


@pytest.mark.parametrize("seed", range(150))
def test_random_tables_match_the_reference_verifier(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    contract, header, rows = random_case(seed)
    # A tiny sample makes the engine take its distinct-values path on small tables too.
    if seed % 2:
        monkeypatch.setattr(judging, "_DISTINCT_SAMPLE", 2)
        monkeypatch.setattr(judging, "_DISTINCT_SHARE", 1)
    if seed % 5 == 0:  # parts of a few rows, judged side by side by the worker threads
        monkeypatch.setattr(engine, "_PART_ROWS", 8)
    table = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(header)})
    if seed % 3 == 0:  # many small chunks, as a CSV read or a stream gives
        table = pa.Table.from_batches(table.to_batches(max_chunksize=7), table.schema)
    report = verify_table(contract, table, today=dt.date(2026, 1, 1))
    want_cells, want_issues = reference_verify(contract, header, rows, dt.date(2026, 1, 1))
    assert cells(report) == want_cells
    got = [i.model_dump(include={"check", "params", "severity"}) for i in report.dataset_issues]
    assert got == want_issues


def test_a_large_table_takes_the_distinct_values_path_and_still_agrees() -> None:
    rng = random.Random(5)
    contract = DataContract.model_validate(
        {
            "id": "besar-uji",
            "title": "besar",
            "owner_unit": "X",
            "primary_key": ["id"],
            "fields": [
                {"name": "id", "required": True, "unique": True},
                {"name": "tanggal", "type": "date", "required": True},
                {"name": "nilai", "type": "number", "minimum": 0, "maximum": 100},
                {"name": "status", "type": "boolean"},
            ],
        }
    )
    n = 140_000
    ids = [f"ID{i:06d}" for i in range(n)]
    ids[1000] = ids[10]
    ids[2000] = "ID0002001"  # breaks the sorted order too
    dates = [rng.choice(POOLS["date"]) for _ in range(n)]
    numbers = [rng.choice(POOLS["number"]) for _ in range(n)]
    flags = [rng.choice(POOLS["boolean"]) for _ in range(n)]
    table = pa.table({"id": ids, "tanggal": dates, "nilai": numbers, "status": flags})
    table = pa.Table.from_batches(table.to_batches(max_chunksize=9_999), table.schema)
    today = dt.date(2026, 1, 20)
    report = verify_table(contract, table, today=today, max_errors=None)
    rows = [list(r) for r in zip(ids, dates, numbers, flags, strict=True)]
    want_cells, want_issues = reference_verify(contract, table.column_names, rows, today)
    assert cells(report) == want_cells
    got = [i.model_dump(include={"check", "params", "severity"}) for i in report.dataset_issues]
    assert got == want_issues


# --- the vectorised shortcuts against what they stand for --------------------------------------

FIXED_PATTERNS = [
    r"^S\d{8}$",
    r"S\d{4}",
    r"[A-Z]{2}-\d{4}",
    r"^UPT-\d{4}$",
    r"[a-c0-2_]{3}",
    r"\$\d",
    r"a\$",
    r"[-a]{2}",
    r"[a-]x",
    r"\.\d{0}x",
    r"^[A-Za-z0-9]{5}$",
    r"[\d.]{3}",
    r"[ -~]{2}",
]
NOT_FIXED = [r"^S\d+$", r"[a-z]+", r"^.{2}$", r"a|b", r"(ab)", r"[^a]", r"\w{2}", "é", r"a{2,3}", r"[]a]"]


def test_fixed_width_patterns_match_exactly_as_re2_and_python_do() -> None:
    rng = random.Random(3)
    alphabet = list("S0123456789AZaz-_.$xé ]\n~")
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(5000)]
    texts += [f"S{i:08d}" for i in range(50)]
    texts += ["S0001", "AB-1234", "UPT-0001", "a_2", "$5", "a$", "S12345678\n"]
    values = pa.chunked_array([pa.array(texts[:2000]), pa.array(texts[2000:]).slice(1)])
    for pattern in FIXED_PATTERNS:
        got = _fixed_match(values, _fixed_ranges(pattern))
        python = [re.fullmatch(pattern, text, flags=re.ASCII) is not None for text in values.to_pylist()]
        arrow = pc.match_substring_regex(values, pattern=anchored(pattern)).to_pylist()
        assert got.tolist() == python == arrow, pattern
    for pattern in NOT_FIXED:
        assert fixed_width_classes(pattern) is None, pattern


def test_dates_and_numbers_are_recognised_exactly_as_their_patterns_say() -> None:
    rng = random.Random(4)
    texts = POOLS["date"] + ["2024-02-30", "0400-02-29", "0100-02-29", "2024/02/10", " 2024-01-01"]
    for _ in range(20000):
        texts.append(f"{rng.randint(0, 9999):04d}-{rng.randint(0, 14):02d}-{rng.randint(0, 33):02d}")
    values = pa.array(texts)
    want = pc.match_substring_regex(values, pattern=DATE_RE).to_pylist()
    assert _iso_dates(values).tolist() == want
    numbers = pa.array(POOLS["number"] + ["1..2", "1.2.3", "00.00", ",5", "5,", "١", "+1"])
    for mark in (".", ","):
        old_quick = pc.ascii_is_decimal(pc.replace_substring(numbers, mark, "", max_replacements=1))
        assert _decimal_shape(numbers, ord(mark)).tolist() == old_quick.to_pylist()


@pytest.mark.parametrize("mark", [".", ","])
def test_number_cells_are_valid_exactly_when_the_number_pattern_matches(mark: str) -> None:
    from ocenter.contracts.model import FieldType

    odd = ["1..2", "1.2.3", ".", ",", "00.00", ",5", "5,", "١", "+1", "-0", "1 ", "12.5x", "9" * 400]
    rng = random.Random(6)
    plain = [f"{rng.randint(0, 10**6)}{mark}{rng.randint(0, 99)}" for _ in range(3000)]
    # All plain (read at once by Arrow), a few odd ones among them, and a "1.2.3" that Arrow
    # refuses, which sends the whole column the long way: the answer is the same.
    for texts, at_once in ((plain, True), (plain + odd[4:], True), (plain + odd + POOLS["number"], False)):
        values = pa.array([t for t in texts if t])
        assert (_plain_numbers(values, mark) is not None) == at_once
        want = [
            re.fullmatch(number_re(mark).strip("^$"), t, re.ASCII) is not None
            and math.isfinite(float(t.replace(",", ".")))
            for t in values.to_pylist()
        ]
        open_ = np.ones(len(values), bool)
        valid, numbers = _type_valid(values, FieldType.NUMBER, mark, open_)
        assert valid.tolist() == want
        for t, ok, number in zip(values.to_pylist(), want, numbers.tolist(), strict=True):
            if ok:
                assert number == float(t.replace(",", "."))


@pytest.mark.parametrize("seed", range(40))
def test_repeated_keys_are_found_as_a_full_sort_finds_them(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(2, 3000)
    if seed % 4 == 0:  # keys in any order
        keys = [f"K{rng.randint(0, count):05d}" for _ in range(count)]
    else:  # sequential keys with a few strays: repeats, outliers, a block moved
        keys = [f"K{i:05d}" for i in range(count)]
        for _ in range(rng.randint(0, 12)):
            at = rng.randrange(count)
            keys[at] = rng.choice([keys[rng.randrange(count)], f"K{rng.randint(0, 99999):05d}", "Z", "A"])
        if seed % 3 == 0 and count > 10:
            start = rng.randrange(count - 5)
            keys[start : start + 5] = keys[max(0, start - 40) : max(0, start - 40) + 5]
    second = [rng.choice("ab") for _ in range(count)]
    chunks = [pa.chunked_array([pa.array(keys[: count // 2]), pa.array(keys[count // 2 :])])]
    for columns in (chunks, [*chunks, pa.chunked_array([pa.array(second)])]):
        got = _repeats(columns, count)
        want = _sorted_repeats(columns, count)
        assert sorted(zip(*(a.tolist() for a in got), strict=True)) == sorted(
            zip(*(a.tolist() for a in want), strict=True)
        )


# --- the worker threads -------------------------------------------------------------------------


def test_a_stream_failing_part_way_stops_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    contract, _, data = load("sampling_valid")
    table = read_table(data, data.name, contract)

    def batches():  # noqa: ANN202
        for _ in range(50):
            yield from table.to_batches()
        raise UserError("ingest.ragged_row", row=9, expected=8, found=7)

    monkeypatch.setattr(engine, "_PART_ROWS", 4)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(UserError) as failed:
        verify_table(contract, batches())
    assert (failed.value.key, failed.value.params["row"]) == ("ingest.ragged_row", 9)
    left = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("ocenter")]
    assert not left


def test_parts_are_recorded_in_order_whatever_the_workers_do(monkeypatch: pytest.MonkeyPatch) -> None:
    contract, expected, data = load("sampling_errors")
    today = dt.date.fromisoformat(expected["today"])
    whole = engine_report("sampling_errors")
    monkeypatch.setattr(engine, "_PART_ROWS", 2)
    seen: list[int] = []
    table = read_table(data, data.name, contract)
    assert verify_table(contract, table, today=today, progress=seen.append) == whole
    assert seen == sorted(seen) and seen[-1] == whole.rows and len(seen) > 3
    capped = verify_table(contract, table, today=today, max_errors=5)
    assert capped.errors == whole.errors[:5] and capped.summary == whole.summary


def test_the_command_restores_the_collector_and_the_memory_pool(tmp_path: Path) -> None:
    folder = FIXTURES / "sampling_valid"
    pool = pa.default_memory_pool().backend_name
    assert gc.isenabled()
    assert run_verify(folder / "contract.yaml", folder / "data.csv", tmp_path / "r.json") == 0
    assert gc.isenabled() and pa.default_memory_pool().backend_name == pool


# --- typed data, failing rows, export ---------------------------------------------------------


def test_typed_table_casts_valid_text_and_nulls_the_rest() -> None:
    contract = contract_from_yaml(
        """
id: tipe-uji
title: t
owner_unit: X
decimal_separator: ","
missing_values: ["", "NA"]
fields:
  - {name: kode}
  - {name: n, type: integer}
  - {name: x, type: number}
  - {name: b, type: boolean}
  - {name: d, type: date}
  - {name: w, type: datetime}
"""
    )
    table = pa.table(
        {
            "kode": ["01", "NA", ""],
            "n": ["007", "+5", "x"],
            "x": ["1,5", "2", "1.5"],
            "b": ["Ya", "tidak", "maybe"],
            "d": ["2024-02-29", "2024-02-30", ""],
            "w": ["2024-01-01T07:00:00+07:00", "2024-01-01 10:30", "2024-01-01"],
        }
    )
    typed = typed_table(contract, table)
    assert typed.schema.types == [
        pa.string(),
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.date32(),
        pa.timestamp("us"),
    ]
    assert typed.column("kode").to_pylist() == ["01", None, None]
    assert typed.column("n").to_pylist() == [7, 5, None]
    assert typed.column("x").to_pylist() == [1.5, 2.0, None]
    assert typed.column("b").to_pylist() == [True, False, None]
    assert typed.column("d").to_pylist() == [dt.date(2024, 2, 29), None, None]
    assert typed.column("w").to_pylist() == [
        dt.datetime(2024, 1, 1, 0, 0),
        dt.datetime(2024, 1, 1, 10, 30),
        None,
    ]


def test_failing_rows_keep_the_original_cells_with_row_and_reasons() -> None:
    contract, _, data = load("sampling_errors")
    table = read_table(data, data.name, contract)
    report = verify_table(contract, table, today=dt.date(2026, 1, 20))
    rows = failing_rows(contract, table, report, lang="en")
    assert rows.column_names[0] == "row" and rows.column_names[-1] == "errors"
    assert rows.column("row").to_pylist()[:3] == [3, 4, 5]
    assert rows.num_rows == len({e.row for e in report.errors})
    first = rows.slice(0, 1).to_pylist()[0]
    assert first["no_sampel"] == "S0002" and "required" in first["errors"]
    masked = failing_rows(contract, table, report, clearance=Level.TERBATAS)
    assert set(masked.column("kode_upt").to_pylist()) == {"***"}


def test_export_neutralises_every_formula_start_in_csv_and_xlsx() -> None:
    # A spreadsheet may run a cell that starts with =, +, -, @, a tab or a carriage return as a
    # formula: each goes back with an apostrophe in front; a cell with = further on stays as sent.
    contract = DataContract(
        id="rumus-uji", title="t", owner_unit="X", fields=[{"name": "a"}, {"name": "b", "type": "integer"}]
    )
    sent = ['=HYPERLINK("http://x")', "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "1=1", "ok"]
    table = pa.table({"a": sent, "b": ["x"] * len(sent)})  # b is no number: every row goes back
    report = verify_table(contract, table)
    neutral = ['\'=HYPERLINK("http://x")', "'+1+1", "'-1+1", "'@SUM(A1)", "'\t=1+1", "'\r=1+1", "1=1", "ok"]

    exported = export_failing_rows(contract, table, report, "csv", lang="en").decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(exported, newline="")))
    assert records[0] == ["row", "a", "b", "errors"]
    assert [r[1] for r in records[1:]] == neutral
    assert [r[2] for r in records[1:]] == ["x"] * len(sent)

    workbook = openpyxl.load_workbook(
        io.BytesIO(export_failing_rows(contract, table, report, "xlsx", lang="en")), read_only=True
    )
    rows = list(workbook.worksheets[0].iter_rows())
    # XML reads a carriage return in a cell's text back as a line feed; the apostrophe stays first.
    assert [r[1].value for r in rows[1:]] == [*neutral[:5], "'\n=1+1", *neutral[6:]]
    assert {c.data_type for row in rows for c in row} == {"s"}  # text cells, not one formula
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export_failing_rows(contract, table, report, "pdf", lang="en")  # type: ignore[arg-type]


def test_semicolon_contracts_export_with_semicolons() -> None:
    contract, expected, data = load("semicolon_comma")
    table = read_table(data, data.name, contract)
    report = verify_table(contract, table)
    text = export_failing_rows(contract, table, report, "csv", lang="id").decode("utf-8-sig")
    assert text.splitlines()[0] == "baris;kode;nilai;jumlah;kesalahan"
    assert "02;1.5;3" in text


# --- the command -------------------------------------------------------------------------------


def test_run_verify_exit_codes_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = FIXTURES / "sampling_errors"
    report_path = tmp_path / "report.json"
    assert run_verify(folder / "contract.yaml", folder / "data.csv", report_path, "en") == 1
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["valid"] is False and len(data["errors"]) == 19
    out = capsys.readouterr().out
    assert "does not conform" in out and "Row 3, column kode_upt" in out
    valid = FIXTURES / "sampling_valid"
    assert run_verify(valid / "contract.yaml", valid / "data.csv", tmp_path / "ok.json") == 0


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_written_report_is_the_reports_json(scenario: str, lang: str, tmp_path: Path) -> None:
    # The command writes the failing cells straight from the engine: the same JSON as
    # verify_table's report gives, also when the detail is capped.
    contract, _, data = load(scenario)
    written = tmp_path / "r.json"
    run_verify(FIXTURES / scenario / "contract.yaml", data, written, lang)
    report = verify_table(contract, read_table(data, data.name, contract))
    assert json.loads(written.read_text(encoding="utf-8")) == json.loads(
        json.dumps(report.to_json_dict(lang))
    )


def test_the_written_report_keeps_the_cap() -> None:
    contract, _, data = load("sampling_errors")
    table = read_table(data, data.name, contract)
    engine = _verified(contract, table, max_errors=4)
    report = engine.finish(detail=2)
    written = json.loads(_report_text(engine, report, "en"))
    assert written == verify_table(contract, table, max_errors=4).to_json_dict("en")
    assert len(report.errors) == 2 and len(written["errors"]) == 4 and report.error_count == 19


def test_the_written_report_quotes_any_text_the_sender_wrote(tmp_path: Path) -> None:
    # Values are written into the JSON text directly: quotes, backslashes, line breaks, control
    # characters and letters beyond ASCII must come back exactly as they were sent.
    contract = contract_from_yaml(
        "id: teks\ntitle: Teks\nowner_unit: PUSDATIN\nlevel: terbuka\n"
        "fields:\n  - {name: kode, allowed_values: [A]}\n  - {name: jumlah, type: integer}\n"
    )
    odd = ['a"b', "back\\slash", "baris\nbaru", "tab\there", "\x01\x1f", "é ü 中文 🙂", "{row}", "{}", "=1+1"]
    table = pa.table({"kode": odd, "jumlah": odd[::-1]})
    engine = _verified(contract, table)
    report = engine.finish(detail=2)
    written = json.loads(_report_text(engine, report, "id"))
    assert written == json.loads(json.dumps(verify_table(contract, table).to_json_dict("id")))
    assert [e["value"] for e in written["errors"] if e["column"] == "kode"] == odd


def test_run_verify_reads_odcs_contracts(tmp_path: Path) -> None:
    folder = FIXTURES / "sampling_errors"
    contract = contract_from_yaml((folder / "contract.yaml").read_text(encoding="utf-8"))
    odcs = tmp_path / "contract.odcs.yaml"
    odcs.write_text(contract_to_odcs(contract), encoding="utf-8")
    assert run_verify(odcs, folder / "data.csv", tmp_path / "r.json") == 1
    assert len(json.loads((tmp_path / "r.json").read_text())["errors"]) == 19


def test_run_verify_refuses_unreadable_input_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    contract = FIXTURES / "sampling_valid" / "contract.yaml"
    broken = tmp_path / "data.xlsx"
    broken.write_bytes(b"not a zip at all")
    assert run_verify(contract, broken, tmp_path / "r.json", "en") == 2
    assert "not an intact spreadsheet" in capsys.readouterr().err
    assert run_verify(contract, tmp_path / "missing.csv", None, "en") == 2
    bad_contract = tmp_path / "c.yaml"
    bad_contract.write_text("id: X\nfields: []\n", encoding="utf-8")
    data = FIXTURES / "sampling_valid" / "data.csv"
    assert run_verify(bad_contract, data, None, "en") == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


# --- accepted data -------------------------------------------------------------------------------


def test_store_dataset_version_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    contract, _, data = load("sampling_valid")
    original = data.read_bytes()
    # The address is the SHA-256 of the file exactly as the sender sent it.
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    table = read_table(original, "data.csv", contract)
    stored = store_dataset_version(tmp_path, contract, table, original, "Data Sampling.CSV")
    folder = tmp_path / "datasets" / contract.id
    assert stored.sha256 == digest
    assert (stored.parquet_path, stored.original_path) == (
        folder / f"{digest}.parquet",
        folder / f"{digest}.orig.csv",
    )
    assert sorted(p.name for p in folder.iterdir()) == [f"{digest}.orig.csv", f"{digest}.parquet"]
    assert stored.original_path.read_bytes() == data.read_bytes() and stored.rows == 5
    assert pq.read_schema(stored.parquet_path).metadata[b"ocenter.sha256"] == digest.encode()
    stamp = stored.parquet_path.stat().st_mtime_ns
    again = store_dataset_version(tmp_path, contract, table, original, "lagi.csv")
    assert again == stored and stored.parquet_path.stat().st_mtime_ns == stamp
    assert not [p for p in stored.parquet_path.parent.iterdir() if p.suffix == ".tmp"]
    loaded = load_dataset(tmp_path, contract.id, stored.sha256)
    assert loaded.schema.field("jumlah").type == pa.int64()
    assert loaded.column("jumlah").to_pylist() == [10, 1, 7, None, 3]
    assert load_dataset(tmp_path, contract.id, stored.sha256, ["kadar"]).column_names == ["kadar"]


def test_load_dataset_refuses_bad_names_and_unknown_versions(tmp_path: Path) -> None:
    contract, _, data = load("sampling_valid")
    original = data.read_bytes()
    table = read_table(original, "data.csv", contract)
    with pytest.raises(UserError) as refused:
        store_dataset_version(tmp_path, contract, table, original, "data.exe")
    assert refused.value.key == "dataset.bad_suffix"
    with pytest.raises(UserError) as refused:
        load_dataset(tmp_path, "../etc", "0" * 64)
    assert refused.value.key == "dataset.bad_id"
    with pytest.raises(UserError) as refused:
        load_dataset(tmp_path, contract.id, "../../x")
    assert refused.value.key == "dataset.bad_id"
    with pytest.raises(NotFound) as missing:
        load_dataset(tmp_path, contract.id, "a" * 64)
    assert missing.value.key == "dataset.not_found"
    stored = store_dataset_version(tmp_path, contract, table, original, "data.csv")
    with pytest.raises(UserError) as unknown:
        load_dataset(tmp_path, contract.id, stored.sha256, ["tidak_ada"])
    assert unknown.value.key == "dataset.unknown_column"


def test_every_check_name_has_a_message() -> None:
    from ocenter.i18n import catalogue

    keys = catalogue()
    for check in CELL_CHECKS:
        if check != "type":
            assert f"verify.{check}" in keys
    for kind in ("integer", "number", "boolean", "date", "datetime"):
        assert f"verify.type.{kind}" in keys
    ours = [k for k in keys if k.split(".")[0] in ("ingest", "verify", "dataset")]
    assert all(keys[k]["id"] != keys[k]["en"] for k in ours if not k.startswith("verify.export"))
