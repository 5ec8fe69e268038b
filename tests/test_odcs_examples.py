"""The ODCS standard's own examples and JSON Schema: each example imports or is refused by name,
every export is valid ODCS v3.1.0, and a round trip keeps what a contract says."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from ocenter.accounts.levels import Level
from ocenter.cli import main
from ocenter.contracts.model import DataContract, contract_from_yaml
from ocenter.contracts.odcs import (
    OdcsRefusal,
    contract_from_odcs,
    contract_to_odcs,
    level_from_classification,
    odcs_table_names,
)
from tests.test_odcs import FULL

ODCS = Path(__file__).parent / "fixtures" / "odcs"
EXAMPLES = sorted(
    p.relative_to(ODCS / "examples").as_posix() for p in (ODCS / "examples").rglob("*.odcs.yaml")
)
#: What each official example gives: "ok", a refusal's key, or for a contract with several
#: tables how many import through --schema and the refusal of the others.
EXPECTED: dict[str, object] = {
    "all/full-example.odcs.yaml": {"tables": 2, "ok": 2},
    # 8 tables have several nested columns, named together in one refusal (odcs.columns).
    "all/postgresql-adventureworks-contract.odcs.yaml": {
        "tables": 68,
        "ok": 39,
        "odcs.nested": 21,
        "odcs.columns": 8,
    },
    "data-types/all-data-types.odcs.yaml": "odcs.columns",
    "fundamentals/table-column-description.odcs.yaml": "ok",
    "quality/column-accuracy.odcs.yaml": "ok",
    "quality/column-completeness.odcs.yaml": "ok",
    "quality/column-custom.odcs.yaml": "ok",
    "quality/column-validity.odcs.yaml": "ok",
    "roles/service-and-operational-roles.odcs.yaml": "odcs.no_table",
    "schema/all-schema-types.odcs.yaml": {"tables": 3, "ok": 1, "odcs.nested": 2},
    "schema/kafka-schema.odcs.yaml": "ok",
    "schema/kafka-schemaregistry.odcs.yaml": "odcs.no_properties",
    "schema/table-column.odcs.yaml": "ok",
    "schema/table-columns-with-partition.odcs.yaml": "ok",
    "server/azure-server.odcs.yaml": "odcs.no_table",
    "server/kafka-server.odcs.yaml": "odcs.no_properties",
    "sla/database-table-sla.odcs.yaml": "odcs.no_table",
    "stakeholders/basic-four-dpo.odcs.yaml": "odcs.no_table",
}


@cache
def _text(name: str) -> str:
    return (ODCS / "examples" / name).read_text(encoding="utf-8")


@cache
def _imported(text: str, table: str | None) -> DataContract | OdcsRefusal:
    """The contract, or the refusal (reading the 190 KB example takes a quarter of a second)."""
    try:
        return contract_from_odcs(text, table)
    except OdcsRefusal as refused:
        return refused


def _outcome(text: str, table: str | None) -> str:
    result = _imported(text, table)
    if isinstance(result, OdcsRefusal):
        assert result.text("id") and result.text("en") and result.text("id") != result.text("en")
        return result.key
    return "ok"


@cache
def _original(name: str) -> dict:
    return yaml.load(_text(name), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


@cache
def _tables(text: str) -> list[str]:
    return odcs_table_names(text)


def _imports() -> list[tuple[str, str | None]]:
    """(example, table) of every table of the official examples that imports."""
    found = []
    for name in EXAMPLES:
        text = _text(name)
        tables = _tables(text)
        for table in tables if len(tables) > 1 else [None]:
            if _outcome(text, table) == "ok":
                found.append((name, table))
    return found


@pytest.fixture(scope="module")
def validator():  # noqa: ANN201 - a jsonschema validator
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ODCS / "odcs-json-schema-v3.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_the_fixtures_are_the_eighteen_official_examples() -> None:
    assert len(EXAMPLES) == 18 and set(EXAMPLES) == set(EXPECTED)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_official_example_imports_or_is_refused_by_name(name: str) -> None:
    text = _text(name)
    expected = EXPECTED[name]
    if isinstance(expected, str):
        assert _outcome(text, None) == expected
        return
    tables = _tables(text)
    assert len(tables) == expected["tables"]
    # Without --schema, a contract with several tables is refused with their names.
    with pytest.raises(OdcsRefusal) as refused:
        contract_from_odcs(text)
    assert refused.value.key == "odcs.several_tables"
    assert all(t in refused.value.text("id") for t in tables)
    counts: dict[str, int] = {}
    for table in tables:
        outcome = _outcome(text, table)
        counts[outcome] = counts.get(outcome, 0) + 1
    assert counts == {k: v for k, v in expected.items() if k != "tables"}


@pytest.mark.parametrize(("name", "table"), _imports())
def test_every_import_exports_valid_odcs_and_reads_back_the_same(
    name: str, table: str | None, validator
) -> None:  # noqa: ANN001
    original = _original(name)
    contract = _imported(_text(name), table)
    assert isinstance(contract, DataContract)
    exported = contract_to_odcs(contract)
    doc = yaml.safe_load(exported)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:3]]
    assert contract_from_odcs(exported) == contract
    # Every property keeps its header, logical type, required, unique, classification, rules.
    source = next(s for s in original["schema"] if table is None or s["name"] == table)
    written = doc["schema"][0]["properties"]
    assert len(written) == len(source["properties"])
    for before, after in zip(source["properties"], written, strict=True):
        assert after.get("physicalName", after["name"]) == before.get("physicalName", before["name"])
        logical = before.get("logicalType", "string")
        has_time = "H" in str((before.get("logicalTypeOptions") or {}).get("format", ""))
        assert after["logicalType"] == ("timestamp" if logical == "date" and has_time else logical)
        assert after.get("required", False) == before.get("required", False)
        assert after.get("unique", False) == before.get("unique", False)
        if "classification" in before:
            assert level_from_classification(after["classification"]) == level_from_classification(
                before["classification"]
            )
        rules = [_rule_shape(r) for r in before.get("quality") or []]
        assert [_rule_shape(r) for r in after.get("quality") or []] == rules


def _rule_shape(rule: dict) -> tuple:
    """What a quality rule checks: its kind, metric, threshold, unit and arguments."""
    operators = {k: v for k, v in rule.items() if k.startswith("must")}
    return (
        rule.get("type", "library"),
        rule.get("metric"),
        json.dumps(operators, sort_keys=True),
        rule.get("unit", "rows") if operators else None,
        json.dumps(rule.get("arguments") or {}, sort_keys=True),
        rule.get("query"),
    )


@pytest.mark.parametrize("scenario", ["sampling_errors", "keys", "semicolon_comma", "rows_fresh"])
def test_our_contracts_export_as_valid_odcs(scenario: str, validator) -> None:  # noqa: ANN001
    from ocenter.demo_data import sampling_contract

    folder = Path(__file__).parent / "fixtures" / "verification" / scenario
    ours = contract_from_yaml((folder / "contract.yaml").read_text("utf-8"))
    for contract in (ours, FULL, sampling_contract()):
        doc = yaml.safe_load(contract_to_odcs(contract))
        assert not list(validator.iter_errors(doc))
        # Our own properties travel as custom properties, not as keys ODCS does not have.
        assert "classification" not in doc["schema"][0]
        custom = {c["property"]: c["value"] for c in doc["customProperties"]}
        assert custom["level"] == contract.level.value
        assert contract_from_odcs(contract_to_odcs(contract)) == contract


def test_a_table_of_a_contract_with_several_is_chosen_by_name() -> None:
    text = _text("all/full-example.odcs.yaml")
    contract = contract_from_odcs(text, "tbl")
    assert contract.id == "tbl" and contract.field_names() == [
        "transaction_reference_date",
        "rcvr_id",
        "rcvr_cntry_code",
    ]
    # The name is the data's, the physical name the header the column appears under.
    assert contract.field("transaction_reference_date").header == "txn_ref_dt"
    assert contract.field("rcvr_id").level == Level.TERBATAS  # classification: restricted
    with pytest.raises(OdcsRefusal) as refused:
        contract_from_odcs(text, "nope")
    assert refused.value.key == "odcs.no_such_table" and "receivers" in refused.value.text("en")


def test_the_command_lists_the_tables_and_imports_the_one_chosen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ODCS / "examples" / "all" / "full-example.odcs.yaml"
    assert main(["contract", "import-odcs", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tbl, receivers" in err and "--schema" in err and "Traceback" not in err
    out = tmp_path / "receivers.yaml"
    assert main(["contract", "import-odcs", str(path), "--schema", "receivers", "-o", str(out)]) == 0
    assert contract_from_yaml(out.read_text("utf-8")).id == "receivers"
    refused = ODCS / "examples" / "data-types" / "all-data-types.odcs.yaml"
    assert main(["contract", "import-odcs", str(refused)]) == 2
    err = capsys.readouterr().err
    # Every column that cannot be taken is named at once, with what is wrong with it.
    for column, problem in (
        ("txn_timestamp", "2021-01-01 00:00:00"),
        ("txn_timestamp_tz", "timezone"),
        ("txn_time", '"time" is not supported'),
        ("latest_txns", "array"),
        ("customer_details", "object"),
    ):
        assert f'Column "{column}"' in err and problem in err
    assert err.startswith("error: 5 columns") and "Traceback" not in err


def test_a_column_named_like_datavalue_keeps_its_header() -> None:
    contract = contract_from_odcs(_text("quality/column-accuracy.odcs.yaml"))
    field = contract.field("data_value")
    assert field.header == "DataValue" and field.type.value == "number"
    (rule,) = field.quality
    assert (rule.type, rule.operator, rule.operands) == ("sql", "mustBe", [0.0])
    assert rule.query is not None and "DataValue <= 0" in rule.query


def test_an_invalid_values_rule_with_a_threshold_stays_a_threshold() -> None:
    contract = contract_from_odcs(_text("quality/column-validity.odcs.yaml"))
    field = contract.field("air_quality_status")
    assert field.allowed_values is None  # not a hard list of allowed values
    (rule,) = field.quality
    assert (rule.metric, rule.operator, rule.operands, rule.unit) == (
        "invalidValues",
        "mustBeLessOrEqualTo",
        [5.0],
        "percent",
    )
    assert rule.valid_values == ["", None, "n/a"]  # null stays null, not the text "None"


def test_date_bounds_are_read_from_the_logical_type_options() -> None:
    text = """
apiVersion: v3.1.0
kind: DataContract
id: periode
name: periode
schema:
  - name: t
    properties:
      - {name: tanggal, logicalType: date, logicalTypeOptions: {minimum: "2026-01-01", maximum: "2026-03-31"}}
      - {name: sejak, logicalType: date, logicalTypeOptions: {exclusiveMinimum: "2025-12-31"}}
      - name: waktu
        logicalType: timestamp
        logicalTypeOptions: {minimum: "2026-01-01 00:00:00", maximum: "2026-03-31T23:59:59"}
"""
    contract = contract_from_odcs(text)
    got = {f.name: (str(f.earliest), str(f.latest)) for f in contract.fields}
    assert got == {
        "tanggal": ("2026-01-01", "2026-03-31"),
        "sejak": ("2026-01-01", "None"),
        "waktu": ("2026-01-01", "2026-03-31"),
    }
    options = {
        p["name"]: p.get("logicalTypeOptions")
        for p in yaml.safe_load(contract_to_odcs(contract))["schema"][0]["properties"]
    }
    assert options["tanggal"] == {"format": "yyyy-MM-dd", "minimum": "2026-01-01", "maximum": "2026-03-31"}


def test_every_kind_of_quality_rule_round_trips_as_valid_odcs(validator) -> None:  # noqa: ANN001
    def rule(metric: str, operator: str, *operands: float, **more: object) -> dict:
        return {"metric": metric, "operator": operator, "operands": list(operands), **more}

    contract = DataContract.model_validate(
        {
            "id": "aturan-mutu",
            "title": "Aturan mutu",
            "owner_unit": "PUSDATIN",
            "header_matching": "loose",
            "fields": [
                {
                    "name": "kode_upt",
                    "header": "Kode UPT",
                    "quality": [
                        rule("nullValues", "mustBe", 0),
                        rule(
                            "missingValues",
                            "mustBeLessThan",
                            2.5,
                            unit="percent",
                            missing_values=["", None, "NA"],
                        ),
                        rule(
                            "invalidValues",
                            "mustBeLessOrEqualTo",
                            5,
                            unit="percent",
                            valid_values=["A", None],
                        ),
                        rule("invalidValues", "mustNotBe", 3, pattern=r"^U\d+$", severity="warning"),
                        rule(
                            "duplicateValues", "mustBeGreaterThan", 0.5, name="dups", dimension="uniqueness"
                        ),
                        {
                            "type": "sql",
                            "query": "SELECT COUNT(*) FROM t",
                            "operator": "mustBe",
                            "operands": [0],
                        },
                        {"type": "custom", "engine": "soda", "implementation": "type: duplicate_percent\n"},
                        {"type": "text", "description": "Kode diisi dari daftar UPT."},
                    ],
                },
                {"name": "tanggal", "type": "date", "earliest": "2026-01-01", "latest": "2026-12-31"},
            ],
            "quality": [
                rule("rowCount", "mustNotBeBetween", 5, 10),
                rule("duplicateValues", "mustBeGreaterOrEqualTo", 0, properties=["kode_upt", "tanggal"]),
                rule("rowCount", "mustBeBetween", 1, 9, unit="rows", severity="warning"),
            ],
        }
    )
    text = contract_to_odcs(contract)
    assert not list(validator.iter_errors(yaml.safe_load(text)))
    assert contract_from_odcs(text) == contract


@pytest.mark.parametrize(("low", "high"), [(0, None), (None, 5), (3, 3), (2, 9), (1, None)])
def test_row_bounds_round_trip_as_a_row_count_rule(low: int | None, high: int | None, validator) -> None:  # noqa: ANN001
    data: dict = {"id": "baris", "title": "Baris", "owner_unit": "X", "fields": [{"name": "a"}]}
    data |= {k: v for k, v in (("min_rows", low), ("max_rows", high)) if v is not None}
    contract = DataContract.model_validate(data)
    doc = yaml.safe_load(contract_to_odcs(contract))
    assert not list(validator.iter_errors(doc))
    (rule,) = doc["schema"][0]["quality"]
    assert rule["metric"] == "rowCount" and contract_from_odcs(contract_to_odcs(contract)) == contract


def test_verify_checks_a_file_against_the_table_it_chooses_with_schema(tmp_path: Path) -> None:
    """``verify --schema NAME`` checks a file against one table of an official contract with
    several; without it, or with a name the contract lacks, the command names the tables."""
    from tests.test_cli import _ocenter

    contract = ODCS / "examples" / "all" / "full-example.odcs.yaml"
    data = tmp_path / "receivers.csv"
    # The "tbl" table's date column is headed by its physicalName, txn_ref_dt.
    dates = tmp_path / "tbl.csv"
    data.write_text("id,country_code,receiver_name,receiver_type\n"
                    "R1,ID,Balai Besar POM di Bandung,UPT\n"
                    "R1,ID,Balai POM di Bogor,UPT\n"
                    "R3,,Loka POM di Kabupaten Bogor,\n", encoding="utf-8")
    dates.write_text("txn_ref_dt,rcvr_id,rcvr_cntry_code\n2026-11-02,R1,ID\n2026-13-02,R2,ID\n",
                     encoding="utf-8")
    report = tmp_path / "report.json"

    checked = _ocenter("verify", str(contract), str(data), "--schema", "receivers",
                       "--report", str(report), "--lang", "en")
    assert checked.returncode == 1, checked.stderr
    found = json.loads(report.read_text(encoding="utf-8"))
    cells = {(e["row"], e["column"], e["check"]) for e in found["errors"]}
    assert cells == {(3, "id", "unique"), (4, "country_code", "required")}

    other = _ocenter("verify", str(contract), str(dates), "--schema", "tbl", "--report", str(report))
    assert other.returncode == 1, other.stderr
    found = json.loads(report.read_text(encoding="utf-8"))
    assert [(e["row"], e["column"], e["check"]) for e in found["errors"]] == [
        (3, "transaction_reference_date", "type")]

    unchosen = _ocenter("verify", str(contract), str(data), "--lang", "en")
    assert unchosen.returncode == 2
    assert "2 tables" in unchosen.stderr and "receivers" in unchosen.stderr and "--schema" in unchosen.stderr
    assert "Traceback" not in unchosen.stderr

    unknown = _ocenter("verify", str(contract), str(data), "--schema", "penerima", "--lang", "en")
    assert unknown.returncode == 2 and '"penerima"' in unknown.stderr and "Traceback" not in unknown.stderr

    ours = tmp_path / "kontrak.yaml"
    ours.write_text("id: penerima\ntitle: Penerima\nowner_unit: PUSDATIN\nlevel: terbatas\n"
                    "fields:\n  - {name: id}\n", encoding="utf-8")
    refused = _ocenter("verify", str(ours), str(data), "--schema", "receivers", "--lang", "en")
    assert refused.returncode == 2 and "--schema applies only to ODCS" in refused.stderr
