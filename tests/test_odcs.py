"""ODCS v3 interchange, contract drafts from samples, and the JSON Schema of a contract."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from ocenter import reference
from ocenter.accounts.levels import Level
from ocenter.contracts.inference import infer_contract
from ocenter.contracts.json_schema import json_schema
from ocenter.contracts.model import DataContract, FieldType, contract_from_yaml
from ocenter.contracts.odcs import (
    OdcsRefusal,
    contract_from_odcs,
    contract_to_odcs,
    level_from_classification,
)
from ocenter.verification.command import load_contract

FIXTURES = Path(__file__).parent / "fixtures" / "verification"

FULL = DataContract.model_validate(
    {
        "id": "sampling-pengujian",
        "title": "Sampling dan pengujian",
        "description": "Hasil sampling rutin per UPT.",
        "owner_unit": "PPPOMN",
        "level": "rahasia",
        "cadence_days": 30,
        "time_field": "tanggal",
        "scope_field": "kode_upt",
        "primary_key": ["kode_upt", "no_sampel"],
        "min_rows": 1,
        "max_rows": 500000,
        "decimal_separator": ",",
        "missing_values": ["", "NA"],
        "fields": [
            {
                "name": "no_sampel",
                "label": "No. sampel",
                "label_en": "Sample no.",
                "required": True,
                "unique": True,
                "pattern": r"^S\d{4}$",
                "min_length": 5,
                "max_length": 5,
            },
            {"name": "kode_upt", "required": True, "reference": "upt", "level": "sangat-rahasia"},
            {"name": "tanggal", "type": "date", "required": True},
            {"name": "waktu", "type": "datetime"},
            {"name": "hasil", "allowed_values": ["MS", "TMS"], "description": "Memenuhi syarat?"},
            {"name": "kadar", "type": "number", "minimum": 0, "maximum": 99.5},
            {"name": "jumlah", "type": "integer", "minimum": 1},
            {"name": "aktif", "type": "boolean", "level": "terbatas"},
        ],
    }
)

HANDWRITTEN = """
apiVersion: v3.0.2
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
name: Peredaran Obat
version: 1.1.0
status: active
domain: DIT-WAS-EDAR-OBAT
description:
  purpose: Data peredaran obat per provinsi.
  usage: Dasbor Operational Center.
schema:
  - name: peredaran
    logicalType: object
    classification: internal
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
    properties:
      - name: tahun
        logicalType: integer
        primaryKey: true
        primaryKeyPosition: 2
        required: true
        logicalTypeOptions: {minimum: 2000, maximum: 2100}
      - name: provinsi
        logicalType: string
        primaryKey: true
        primaryKeyPosition: 1
        required: true
        classification: confidential
        customProperties:
          - {property: reference, value: provinsi}
      - name: status
        logicalType: string
        enum:
          - {value: aktif, label: Aktif}
          - {value: dicabut}
      - name: temuan
        logicalType: string
        quality:
          - type: library
            rule: validValues
            validValues: [ringan, berat]
      - name: kode
        logicalType: string
        quality:
          - metric: invalidValues
            arguments: {pattern: '^[A-Z]{2}\\d+$'}
            mustBe: 0
      - name: diperbarui
        logicalType: date
        logicalTypeOptions: {format: "yyyy-MM-dd HH:mm:ss"}
slaProperties:
  - {property: latency, value: 4, unit: d}
  - {property: frequency, value: 1, unit: m, element: peredaran.diperbarui}
"""


def test_round_trip_keeps_every_detail() -> None:
    text = contract_to_odcs(FULL)
    doc = yaml.safe_load(text)
    assert doc["apiVersion"].startswith("v3") and doc["kind"] == "DataContract"
    props = {p["name"]: p for p in doc["schema"][0]["properties"]}
    assert props["kode_upt"]["primaryKey"] is True and props["kode_upt"]["primaryKeyPosition"] == 1
    assert props["no_sampel"]["primaryKeyPosition"] == 2
    assert props["no_sampel"]["logicalTypeOptions"] == {
        "pattern": r"^S\d{4}$",
        "minLength": 5,
        "maxLength": 5,
    }
    assert props["kadar"]["logicalTypeOptions"] == {"minimum": 0.0, "maximum": 99.5}
    assert props["waktu"]["logicalType"] == "timestamp"
    assert props["kode_upt"]["classification"] == "secret"
    assert props["hasil"]["quality"][0]["arguments"]["validValues"] == ["MS", "TMS"]
    # ODCS has one business name; the English label travels as a custom property.
    assert props["no_sampel"]["businessName"] == "No. sampel"
    assert {"property": "labelEn", "value": "Sample no."} in props["no_sampel"]["customProperties"]
    assert doc["slaProperties"][0] == {
        "property": "frequency",
        "value": 30,
        "unit": "d",
        "element": "sampling_pengujian.tanggal",
    }
    assert contract_from_odcs(text) == FULL


@pytest.mark.parametrize("scenario", ["sampling_errors", "keys", "semicolon_comma", "rows_fresh"])
def test_round_trip_of_the_fixture_contracts(scenario: str) -> None:
    contract = contract_from_yaml((FIXTURES / scenario / "contract.yaml").read_text("utf-8"))
    assert contract_from_odcs(contract_to_odcs(contract)) == contract


def test_a_handwritten_odcs_contract_is_understood() -> None:
    contract = contract_from_odcs(HANDWRITTEN)
    assert contract.id == "dataset-53581432-6c55-4ba2-a65f-72344a91553a"
    assert contract.title == "Peredaran Obat" and contract.owner_unit == "DIT-WAS-EDAR-OBAT"
    assert contract.description.startswith("Data peredaran obat")
    assert contract.level == Level.TERBATAS
    assert contract.primary_key == ["provinsi", "tahun"]
    assert contract.min_rows == 1 and contract.max_rows is None
    assert (contract.cadence_days, contract.time_field) == (30, "diperbarui")
    tahun = contract.field("tahun")
    assert (tahun.type, tahun.minimum, tahun.maximum, tahun.required) == (FieldType.INTEGER, 2000, 2100, True)
    provinsi = contract.field("provinsi")
    assert (provinsi.reference, provinsi.level) == ("provinsi", Level.RAHASIA)
    assert contract.field("status").allowed_values == ["aktif", "dicabut"]
    assert contract.field("temuan").allowed_values == ["ringan", "berat"]
    assert contract.field("kode").pattern == r"^[A-Z]{2}\d+$"
    assert contract.field("diperbarui").type == FieldType.DATETIME


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("- just a list", "odcs.not_mapping"),
        ("apiVersion: v2.2.2\nkind: DataContract\nschema: [{name: t, properties: []}]", "odcs.version"),
        ("apiVersion: v3.0.0\nkind: Something\nschema: [{name: t}]", "odcs.kind"),
        ("apiVersion: v3.0.0\nkind: DataContract\nid: x1\nname: x\n", "odcs.no_table"),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\ndomain: X\n"
            "schema: [{name: t, properties: [{name: tags, logicalType: array}]}]",
            "odcs.nested",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\ndomain: X\n"
            "schema: [{name: t, properties: [{name: a, classification: ultra}]}]",
            "odcs.classification",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\n"
            "schema: [{name: t, properties: [{name: a, logicalType: time}]}]",
            "odcs.type",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\n"
            "schema: [{name: t, properties: [{name: a, logicalType: number, "
            "logicalTypeOptions: {exclusiveMinimum: 0.5}}]}]",
            "odcs.options",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\n"
            "schema: [{name: t, properties: [{name: a, logicalType: date, "
            "logicalTypeOptions: {format: dd/MM/yyyy}}]}]",
            "odcs.date_format",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\n"
            "schema: [{name: t, properties: [{name: a, quality: [{metric: nullValues, "
            "mustBe: 0, mustNotBe: 1}]}]}]",
            "odcs.quality_operators",
        ),
        (
            "apiVersion: v3.0.0\nkind: DataContract\nid: abc\nname: abc\n"
            "schema: [{name: t, properties: [{name: a, quality: [{metric: nullValues, "
            "unit: bytes, mustBe: 0}]}]}]",
            "odcs.quality_unit",
        ),
    ],
)
def test_unusable_odcs_is_refused_naming_what(text: str, key: str) -> None:
    with pytest.raises(OdcsRefusal) as refused:
        contract_from_odcs(text)
    assert refused.value.key == key
    # Said in the reader's language: Indonesian first, English second, never a traceback.
    assert refused.value.text("id") != refused.value.text("en")


def test_classification_words() -> None:
    assert level_from_classification("Public") == Level.TERBUKA
    assert level_from_classification("internal") == Level.TERBATAS
    assert level_from_classification("sangat-rahasia") == Level.SANGAT_RAHASIA
    assert level_from_classification("highly confidential") == Level.SANGAT_RAHASIA


def test_load_contract_tells_odcs_from_ocenter_yaml(tmp_path: Path) -> None:
    odcs = tmp_path / "c.odcs.yaml"
    odcs.write_text(contract_to_odcs(FULL), encoding="utf-8")
    assert load_contract(odcs) == FULL
    assert load_contract(FIXTURES / "keys" / "contract.yaml").id == "izin-edar"


def test_infer_contract_drafts_types_requirements_and_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = {"upt": frozenset({"UPT-1101", "UPT-1102"}), "provinsi": frozenset({"11"})}
    codes["kategori_produk"] = frozenset({"obat"})
    monkeypatch.setattr(reference, "reference_codes", lambda list_id: codes[list_id])
    n = 12
    table = pa.table(
        {
            "Kode UPT": ["UPT-1101", "UPT-1102"] * (n // 2),
            "No Urut": [str(i) for i in range(n)],
            "Kode Pos": ["01234"] * n,
            "Kadar (%)": ["1,5", "2"] * (n // 2),
            "Tanggal": ["2026-01-05"] * n,
            "Aktif": ["ya", "Tidak"] * (n // 2),
            "Hasil": ["MS", "TMS", "MS"] * (n // 3),
            "Catatan": [f"catatan {i}" if i % 3 else "" for i in range(n)],
            "1st": ["x"] * n,
        }
    )
    draft = infer_contract(table, "draf-uji", "Draf uji", "PUSDATIN")
    fields = {f.label: f for f in draft.fields}
    assert [f.name for f in draft.fields] == [
        "kode_upt",
        "no_urut",
        "kode_pos",
        "kadar",
        "tanggal",
        "aktif",
        "hasil",
        "catatan",
        "f_1st",
    ]
    assert fields["Kode UPT"].reference == "upt"
    assert fields["No Urut"].type == FieldType.INTEGER
    assert fields["Kode Pos"].type == FieldType.STRING  # leading zero: a code, not a number
    assert fields["Kadar (%)"].type == FieldType.NUMBER and draft.decimal_separator == ","
    assert fields["Tanggal"].type == FieldType.DATE and draft.time_field == "tanggal"
    assert fields["Aktif"].type == FieldType.BOOLEAN
    assert fields["Hasil"].allowed_values == ["MS", "TMS"]
    assert fields["Catatan"].required is False and fields["Hasil"].required is True
    assert fields["Catatan"].allowed_values is None


def test_json_schema_describes_a_typed_record() -> None:
    jsonschema = pytest.importorskip("jsonschema")  # installed with altair
    schema = json_schema(FULL)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "no_sampel": "S0001",
        "kode_upt": "UPT-1101",
        "tanggal": "2026-01-05",
        "waktu": None,
        "hasil": "MS",
        "kadar": 12.5,
        "jumlah": 3,
        "aktif": True,
    }
    assert not list(validator.iter_errors(good))
    bad = dict(good, no_sampel="X1", hasil="BAIK", jumlah=0, kadar=100, extra=1)
    assert len(list(validator.iter_errors(bad))) == 6  # X1: pattern and length
    assert schema["required"] == ["no_sampel", "kode_upt", "tanggal"]
    assert schema["properties"]["kode_upt"]["x-level"] == "sangat-rahasia"
    assert schema["properties"]["tanggal"]["format"] == "date"
