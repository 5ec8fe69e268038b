"""Quality rules, real headers and date bounds as verification checks them, against hand-made counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from ocenter.contracts.model import DataContract
from ocenter.contracts.odcs import contract_from_odcs
from ocenter.verification.engine import verify_table
from ocenter.verification.report import VerificationReport
from ocenter.verification.typed import typed_table

ODCS = Path(__file__).parent / "fixtures" / "odcs" / "examples"
TODAY = dt.date(2026, 4, 1)


def contract(fields: list[dict], **extra: object) -> DataContract:
    return DataContract.model_validate(
        {"id": "uji-mutu", "title": "Uji mutu", "owner_unit": "PUSDATIN", "fields": fields, **extra}
    )


def verify(c: DataContract, columns: dict[str, list[str]]) -> VerificationReport:
    return verify_table(c, pa.table(columns), today=TODAY)


def issues(report: VerificationReport) -> list[tuple[str, str, dict]]:
    return [(i.check, i.severity, i.params) for i in report.dataset_issues]


def rule(metric: str, operator: str, *operands: float, unit: str = "rows", **more: object) -> dict:
    return {"metric": metric, "operator": operator, "operands": list(operands), "unit": unit, **more}


# 20 rows: "MS" 17 times, "TMS" once, "BAIK" once, one empty cell.
HASIL = ["MS"] * 17 + ["TMS", "BAIK", ""]


@pytest.mark.parametrize(
    ("threshold", "holds"),
    [
        # 1 invalid cell of 20 rows ("BAIK"; the empty cell is missing, not invalid) = 5%.
        (("mustBeLessOrEqualTo", 5), True),
        (("mustBeLessThan", 5), False),
        (("mustBe", 5), True),
        (("mustNotBe", 5), False),
        (("mustBeGreaterThan", 4.9), True),
        (("mustBeGreaterOrEqualTo", 5.1), False),
        (("mustBeBetween", 0, 5), True),
        (("mustNotBeBetween", 0, 5), False),
    ],
)
def test_invalid_values_in_percent_are_checked_as_written(threshold: tuple, holds: bool) -> None:
    c = contract(
        [
            {
                "name": "hasil",
                "quality": [
                    rule("invalidValues", *threshold, unit="percent", valid_values=["MS", "TMS", None])
                ],
            }
        ]
    )
    report = verify(c, {"hasil": HASIL})
    assert report.valid is holds
    assert report.errors == []  # a threshold over the column, never a per-cell refusal
    if not holds:
        ((check, severity, params),) = issues(report)
        assert (check, severity) == ("quality", "error")
        assert params["measured"] == "5% (1)" and params["column"] == "hasil"
        assert "invalidValues" in report.dataset_issues[0].message("id")


def test_null_missing_and_duplicate_values_are_counted_by_hand() -> None:
    kode = ["A1", "A2", "A2", "NA", "", "A3", "A3", "A3"]  # 8 rows
    c = contract(
        [
            {
                "name": "kode",
                "quality": [
                    rule("nullValues", "mustBe", 0),  # 1 empty cell: fails
                    rule("missingValues", "mustBeLessThan", 2, missing_values=["", "NA"]),  # 2: fails
                    rule("missingValues", "mustBeLessOrEqualTo", 12.5, unit="percent"),  # "" only: 1/8 holds
                    rule("duplicateValues", "mustBeLessOrEqualTo", 3),  # A2 once, A3 twice = 3: holds
                    rule("duplicateValues", "mustBeLessThan", 25, unit="percent"),  # 3/8 = 37.5%: fails
                ],
            },
        ],
        quality=[rule("rowCount", "mustNotBeBetween", 5, 10, severity="warning")],  # 8: fails, a warning
    )
    report = verify(c, {"kode": kode})
    got = [
        (check, severity, p["metric"], p["measured"], p["condition"]) for check, severity, p in issues(report)
    ]
    assert got == [
        ("quality", "error", "nullValues", "1", "= 0"),
        ("quality", "error", "missingValues", "2", "< 2"),
        ("quality", "error", "duplicateValues", "37.5% (3)", "< 25%"),
        ("quality_table", "warning", "rowCount", "8", "∉ [5, 10]"),
    ]
    assert not report.valid
    # Measured the same whatever size the parts are judged in.
    streamed = verify_table(c, pa.table({"kode": kode}).to_batches(max_chunksize=3), today=TODAY)
    assert issues(streamed) == issues(report)


def test_table_duplicate_values_over_several_fields() -> None:
    c = contract(
        [{"name": "upt"}, {"name": "no"}],
        quality=[rule("duplicateValues", "mustBe", 0, properties=["upt", "no"])],
    )
    report = verify(c, {"upt": ["U1", "U1", "U2", "U1"], "no": ["1", "2", "1", "1"]})
    ((check, _, params),) = issues(report)
    assert (check, params["column"], params["measured"]) == ("quality", "upt, no", "1")


def test_sql_and_custom_rules_are_reported_as_not_checked_never_dropped() -> None:
    c = contract_from_odcs((ODCS / "quality" / "column-accuracy.odcs.yaml").read_text("utf-8"))
    report = verify(c, {"DataValue": ["12.5", "600"]})
    ((check, severity, params),) = issues(report)
    assert (check, severity, params["type"], params["column"]) == (
        "quality_not_checked",
        "warning",
        "sql",
        "DataValue",
    )
    assert report.valid  # not checked is said, not counted as a failure
    assert "SQL" in report.dataset_issues[0].message("id") and "not checked" in report.dataset_issues[
        0
    ].message("en")
    custom = contract_from_odcs((ODCS / "quality" / "column-custom.odcs.yaml").read_text("utf-8"))
    checks = [i.check for i in verify(custom, {"UniqueID": ["1"]}).dataset_issues]
    assert checks == ["quality_not_checked", "quality_not_checked"]


def test_the_official_validity_example_allows_five_percent_invalid() -> None:
    c = contract_from_odcs((ODCS / "quality" / "column-validity.odcs.yaml").read_text("utf-8"))
    # validValues ["", null, "n/a"]: of 20 rows, 1 "baik" is 5% (holds), 2 are 10% (fails).
    # (The column is also the example's primary key, so no value repeats; empty cells do not count.)
    one = ["n/a"] + [""] * 18 + ["baik"]
    assert verify(c, {"air_quality_status": one}).dataset_issues == []
    two = ["n/a"] + [""] * 17 + ["baik", "buruk"]
    ((check, _, params),) = issues(verify(c, {"air_quality_status": two}))
    assert (check, params["measured"], params["condition"]) == ("quality", "10% (2)", "≤ 5%")
    # The official completeness example: nullValues must be 0.
    full = contract_from_odcs((ODCS / "quality" / "column-completeness.odcs.yaml").read_text("utf-8"))
    assert verify(full, {"UniqueID": ["1", "2"]}).valid
    assert not verify(full, {"UniqueID": ["1", ""]}).valid


# --- headers -------------------------------------------------------------------------------------


def test_a_field_is_found_under_its_header_and_stored_under_its_name() -> None:
    c = contract(
        [
            {"name": "kode_upt", "header": "Kode UPT", "required": True},
            {"name": "data_value", "header": "DataValue", "type": "number"},
        ]
    )
    report = verify(c, {"Kode UPT": ["UPT-1", ""], "DataValue": ["1.5", "x"]})
    assert [(e.row, e.column, e.check) for e in report.errors] == [
        (3, "kode_upt", "required"),
        (3, "data_value", "type"),
    ]
    typed = typed_table(c, pa.table({"Kode UPT": ["UPT-1"], "DataValue": ["1.5"]}))
    assert typed.column_names == ["kode_upt", "data_value"] and typed.column("data_value").to_pylist() == [
        1.5
    ]
    # Exact matching: another spelling of the header is not the column.
    wrong = verify(c, {"kode upt": ["UPT-1"], "DataValue": ["1"]})
    assert [(i.check, i.params["kind"]) for i in wrong.dataset_issues] == [
        ("header", "missing"),
        ("header", "unexpected"),
    ]
    assert '"Kode UPT"' in wrong.dataset_issues[0].params["columns"]


def test_loose_matching_ignores_case_and_spacing_where_the_contract_allows() -> None:
    c = contract(
        [{"name": "kode_upt", "header": "Kode UPT"}, {"name": "jumlah", "type": "integer"}],
        header_matching="loose",
    )
    assert verify(c, {"KODE_UPT": ["UPT-1"], " Jumlah ": ["3"]}).valid
    assert verify(c, {"kode-upt": ["UPT-1"], "JUMLAH": ["3"]}).valid
    twice = verify(c, {"Kode UPT": ["a"], "kode_upt": ["b"], "jumlah": ["1"]})
    assert ("header", "duplicate") in [(i.check, i.params.get("kind")) for i in twice.dataset_issues]
    with pytest.raises(ValueError):  # two fields whose headers are one under loose matching
        contract([{"name": "a", "header": "Kode UPT"}, {"name": "kode_upt"}], header_matching="loose")


# --- date bounds ---------------------------------------------------------------------------------


def test_dates_outside_the_reporting_period_fail_cell_by_cell() -> None:
    c = contract(
        [
            {"name": "tanggal", "type": "date", "earliest": "2026-01-01", "latest": "2026-03-31"},
            {"name": "waktu", "type": "datetime", "earliest": "2026-01-01", "latest": "2026-03-31"},
        ]
    )
    report = verify(
        c,
        {
            "tanggal": ["2026-01-01", "2025-12-31", "2026-03-31", "2026-04-01", "x"],
            "waktu": [
                "2026-03-31T23:59:00",
                "2026-01-01 00:00",
                "2025-12-31T23:59:59",
                "2026-04-01 00:00",
                "",
            ],
        },
    )
    assert [(e.row, e.column, e.check, e.value) for e in report.errors] == [
        (3, "tanggal", "minimum", "2025-12-31"),
        (4, "waktu", "minimum", "2025-12-31T23:59:59"),
        (5, "tanggal", "maximum", "2026-04-01"),
        (5, "waktu", "maximum", "2026-04-01 00:00"),
        (6, "tanggal", "type", "x"),
    ]
    assert report.errors[0].message("id") == (
        'Baris 3, kolom tanggal: tanggal "2025-12-31" lebih awal dari batas 2026-01-01.'
    )
    assert report.errors[2].message("en") == (
        'Row 5, column tanggal: date "2026-04-01" is later than the bound 2026-03-31.'
    )


def test_date_bounds_belong_to_date_fields() -> None:
    with pytest.raises(ValueError):
        contract([{"name": "n", "type": "integer", "earliest": "2026-01-01"}])
    with pytest.raises(ValueError):
        contract([{"name": "t", "type": "date", "earliest": "2026-02-01", "latest": "2026-01-01"}])


def test_the_json_schema_carries_the_header_and_the_date_bounds() -> None:
    from ocenter.contracts.json_schema import json_schema

    c = contract(
        [{"name": "tanggal", "header": "Tanggal Sampling", "type": "date", "earliest": "2026-01-01"}]
    )
    prop = json_schema(c)["properties"]["tanggal"]
    assert (prop["x-header"], prop["formatMinimum"], "formatMaximum" in prop) == (
        "Tanggal Sampling",
        "2026-01-01",
        False,
    )


def test_a_drafted_contract_verifies_the_sample_it_was_drafted_from() -> None:
    from ocenter.contracts.inference import infer_contract

    sample = pa.table(
        {"Kode UPT": ["U1", "U2"], "DataValue": ["1", "2"], "Tanggal": ["2026-01-05", "2026-02-01"]}
    )
    draft = infer_contract(sample, "draf-uji", "Draf uji", "PUSDATIN")
    assert [(f.name, f.header) for f in draft.fields] == [
        ("kode_upt", "Kode UPT"),
        ("datavalue", "DataValue"),
        ("tanggal", "Tanggal"),
    ]
    assert verify(draft, sample.to_pydict()).valid


def test_failing_rows_mask_a_column_found_under_its_header_at_its_fields_level() -> None:
    from ocenter.accounts.levels import Level
    from ocenter.verification.failing_rows import failing_rows

    c = contract(
        [
            {"name": "kode_upt", "header": "Kode UPT", "level": "rahasia"},
            {"name": "jumlah", "header": "Jumlah", "type": "integer"},
        ],
        header_matching="loose",
    )
    table = pa.table({"KODE UPT": ["UPT-1", "UPT-2"], "jumlah": ["1", "x"]})
    report = verify(c, table.to_pydict())
    rows = failing_rows(c, table, report, clearance=Level.TERBATAS)
    assert rows.column("KODE UPT").to_pylist() == ["***"]  # the field's level, not the dataset's
    assert rows.column("jumlah").to_pylist() == ["x"]
