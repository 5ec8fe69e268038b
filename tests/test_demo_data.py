"""The demo content: reference lists, the synthetic dataset against its contract, the YAML files."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ocenter.contracts.model import FieldType, contract_from_yaml, contract_to_yaml
from ocenter.demo_data import (
    COLUMNS,
    DASHBOARD_ID,
    DATASET_ID,
    generate_sampling_dataset,
    mockup_dashboard,
    sampling_contract,
    sampling_dashboard,
    sampling_lifecycle,
    write_demo_files,
)
from ocenter.display.lifecycle import lifecycle_problems, lifecycle_to_yaml
from ocenter.display.spec import content_problems, spec_from_yaml, spec_to_yaml
from ocenter.reference import REFERENCE_LISTS, reference_codes, reference_rows

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    return generate_sampling_dataset()


# --- reference lists ----------------------------------------------------------------------------


def test_every_reference_list_has_a_code_column_first() -> None:
    for list_id in REFERENCE_LISTS:
        rows = reference_rows(list_id)
        assert rows and next(iter(rows[0])) == "code"
        assert len(reference_codes(list_id)) == len(rows), f"{list_id}: duplicate codes"


def test_the_38_provinces_with_bps_codes_and_centroids_in_indonesia() -> None:
    rows = reference_rows("provinsi")
    assert len(rows) == 38
    assert all(re.fullmatch(r"\d{2}", r["code"]) for r in rows)
    names = {r["code"]: r["name"] for r in rows}
    assert names["11"] == "Aceh" and names["31"] == "DKI Jakarta"
    # The 2022 Papua splits, with BPS's codes.
    assert names["92"] == "Papua Barat Daya" and names["95"] == "Papua Selatan"
    assert names["96"] == "Papua Tengah" and names["97"] == "Papua Pegunungan"
    for row in rows:
        assert -11.5 < float(row["lat"]) < 6.5 and 94.5 < float(row["lon"]) < 141.5, row


def test_the_76_upt_offices() -> None:
    rows = reference_rows("upt")
    assert len(rows) == 76
    provinces = reference_codes("provinsi")
    for row in rows:
        assert re.fullmatch(r"UPT-\d{4}", row["code"]), row
        assert row["kind"] in {"bbpom", "bpom", "loka"}
        assert row["province_code"] in provinces
        # The code starts with the province's BPS code.
        assert row["code"][4:6] == row["province_code"]
        prefix = {"bbpom": "Balai Besar POM di ", "bpom": "Balai POM di ", "loka": "Loka POM di "}
        assert row["name"].startswith(prefix[row["kind"]]) and row["city"]
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["bbpom"] + kinds["bpom"] == 34 and kinds["loka"] == 42
    assert {r["code"]: r["name"] for r in rows}["UPT-3101"] == "Balai Besar POM di Jakarta"


def test_product_categories() -> None:
    rows = reference_rows("kategori_produk")
    codes = {r["code"] for r in rows}
    assert {"obat", "obat-tradisional", "suplemen-kesehatan", "kosmetik", "pangan-olahan",
            "obat-kuasi", "nappza"} == codes
    assert all(r["name_id"] and r["name_en"] for r in rows)


# --- the dataset --------------------------------------------------------------------------------


def test_the_dataset_is_deterministic(dataset: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(dataset, generate_sampling_dataset())
    other = generate_sampling_dataset(seed=7, months=2)
    assert not other.equals(generate_sampling_dataset(months=2))


def test_the_dataset_looks_like_a_senders_file(dataset: pd.DataFrame) -> None:
    assert list(dataset.columns) == COLUMNS
    assert 18_000 <= len(dataset) <= 22_000
    assert all(pd.api.types.is_string_dtype(dataset[c]) for c in COLUMNS)
    assert dataset["tanggal_sampling"].min() == "2025-01-01"
    assert dataset["tanggal_sampling"].max() <= "2026-12-31"
    assert dataset["tanggal_sampling"].str[:7].nunique() == 24


def test_every_upt_sends_from_its_own_province(dataset: pd.DataFrame) -> None:
    assert set(dataset["kode_upt"]) == reference_codes("upt")
    province_of = {r["code"]: r["province_code"] for r in reference_rows("upt")}
    assert (dataset["kode_upt"].map(province_of) == dataset["kode_provinsi"]).all()


def test_tms_results_are_rare_vary_by_category_and_name_a_parameter(dataset) -> None:
    tms = dataset["hasil_uji"] == "TMS"
    assert 0.03 <= tms.mean() <= 0.08
    by_category = tms.groupby(dataset["kategori_produk"]).mean()
    assert by_category.max() - by_category.min() > 0.02
    assert (dataset.loc[tms, "parameter_tms"] != "").all()
    assert (dataset.loc[~tms, "parameter_tms"] == "").all()
    found = set(dataset.loc[tms, "parameter_tms"])
    assert {"Boraks", "Formalin", "Rhodamin B", "Merkuri", "Hidrokuinon"} <= found
    assert any(p.startswith("BKO") for p in found)


def test_the_dataset_passes_its_own_contract(dataset: pd.DataFrame) -> None:
    """The contract's rules checked in plain Python, independent of the verification engine."""
    contract = sampling_contract()
    assert contract.field_names() == list(dataset.columns)
    for field in contract.fields:
        cells = dataset[field.name].tolist()
        filled = [c for c in cells if c not in contract.missing_values]
        if field.required:
            assert len(filled) == len(cells), field.name
        if field.unique:
            assert len(set(filled)) == len(filled), field.name
        if field.allowed_values is not None:
            assert set(filled) <= set(field.allowed_values), field.name
        if field.pattern is not None:
            pattern = re.compile(field.pattern)
            assert all(pattern.fullmatch(c) for c in filled), field.name
        if field.max_length is not None:
            assert all(len(c) <= field.max_length for c in filled), field.name
        if field.reference is not None:
            assert set(filled) <= reference_codes(field.reference), field.name
        if field.type == FieldType.DATE:
            for cell in filled:
                date.fromisoformat(cell)
        if field.type == FieldType.INTEGER:
            numbers = [int(c) for c in filled]
            assert min(numbers) >= field.minimum and max(numbers) <= field.maximum
    keys = dataset[contract.primary_key].apply(tuple, axis=1)
    assert keys.is_unique
    assert dataset["jumlah_sampel"].astype(int).between(1, 50).all()


# --- contract and dashboards --------------------------------------------------------------------


def test_the_demo_dashboards_fit_the_contract() -> None:
    contracts = {DATASET_ID: sampling_contract()}
    dashboard, mockup = sampling_dashboard(), mockup_dashboard()
    assert content_problems(dashboard, contracts) == []
    assert content_problems(mockup, contracts) == []
    assert dashboard.request_id == 1
    assert dashboard.owner_unit == "DIT-WAS-EDAR-PANGAN" and dashboard.level == "rahasia"
    assert 6 <= len(dashboard.panels) <= 8
    lifecycle = sampling_lifecycle()
    assert lifecycle.id == dashboard.id and lifecycle.built and lifecycle.on_display
    assert lifecycle.default_for("kepala_upt").months == 12
    assert lifecycle.default_for("kepala_bpom").months == 24
    # Kepala BPOM and Eselon I differ: the deputy for processed food sees processed food.
    assert [f.value for f in lifecycle.default_for("eselon_1").filters] == [["pangan-olahan"]]
    assert lifecycle_problems(lifecycle, dashboard, contracts) == []
    assert mockup.request_id == 2
    assert mockup.owner_unit == "DIT-WAS-KOSMETIK"


def test_the_contract_classifies_fields_for_field_level_clearance() -> None:
    contract = sampling_contract()
    assert contract.level == "terbatas" and contract.owner_unit == "PPPOMN"
    assert contract.field("nama_produk").level == "terbatas"
    assert contract.field("parameter_tms").level == "rahasia"
    assert (contract.scope_field, contract.time_field) == ("kode_upt", "tanggal_sampling")


def test_write_demo_files_round_trips(tmp_path: Path) -> None:
    written = write_demo_files(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        f"data_contracts/{DATASET_ID}.yaml",
        f"lifecycle/{DASHBOARD_ID}.yaml",
        "ocenter/demo_mockup.yaml",
        f"specs/{DASHBOARD_ID}.yaml",
    ]
    contract = contract_from_yaml((tmp_path / f"data_contracts/{DATASET_ID}.yaml").read_text())
    assert contract == sampling_contract()
    assert spec_from_yaml((tmp_path / f"specs/{DASHBOARD_ID}.yaml").read_text()) == (
        sampling_dashboard()
    )


def test_the_committed_demo_files_are_current() -> None:
    """specs/, data_contracts/ and the mock-up hold exactly what ``write_demo_files`` writes."""
    expected = {
        PROJECT_ROOT / "data_contracts" / f"{DATASET_ID}.yaml": contract_to_yaml(
            sampling_contract()
        ),
        PROJECT_ROOT / "specs" / f"{DASHBOARD_ID}.yaml": spec_to_yaml(sampling_dashboard()),
        PROJECT_ROOT / "lifecycle" / f"{DASHBOARD_ID}.yaml": lifecycle_to_yaml(sampling_lifecycle()),
        PROJECT_ROOT / "ocenter" / "demo_mockup.yaml": spec_to_yaml(mockup_dashboard()),
    }
    for path, text in expected.items():
        assert path.read_text(encoding="utf-8") == text, f"run write_demo_files: {path.name}"
