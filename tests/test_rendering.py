"""The renderer: who sees which dashboard, rows and fields; charts carry only aggregates."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier
from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.demo_data import (
    DATASET_ID,
    generate_sampling_dataset,
    mockup_dashboard,
    sampling_contract,
    sampling_dashboard,
    sampling_lifecycle,
)
from ocenter.display.aggregation import MAX_PANEL_ROWS, VALUE_COLUMN, panel_data
from ocenter.display.charts import panel_chart
from ocenter.display.filtering import can_view, viewer_rows, visible_specs
from ocenter.display.labels import format_value, table_frame
from ocenter.display.render import render_dashboard
from ocenter.display.spec import Aggregation, DashboardSpec, DefaultView, Panel, PanelFilter, PanelKind
from ocenter.errors import PermissionDenied
from ocenter.i18n import t
from ocenter.reference import reference_codes

UPT_BANDUNG = "UPT-3201"
OTHER_UPTS = sorted(reference_codes("upt") - {UPT_BANDUNG})
TMS_PARAMETERS = ["Boraks", "Formalin", "Rhodamin B", "Merkuri", "Hidrokuinon", "BKO ("]


def viewer(name: str, **changes: object) -> Authority:
    """One of four stakeholders, optionally changed (say a UPT head with more clearance)."""
    base = {
        "kepala": dict(role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM),
        "direktur": dict(role=Role.DIREKTUR, clearance=Level.RAHASIA, scope=ScopeKind.UNIT,
                         unit_code="DIT-WAS-EDAR-PANGAN"),
        "kabalai": dict(role=Role.KABALAI, clearance=Level.TERBATAS, scope=ScopeKind.UPT,
                        unit_code=UPT_BANDUNG),
        "tamu": dict(role=Role.TAMU, clearance=Level.TERBUKA, scope=ScopeKind.GRANT,
                     grants=["ringkasan-publik", "rahasia-negara"]),
    }[name]
    return Authority(username=name, **{**base, **changes})


@pytest.fixture(scope="module")
def contract() -> DataContract:
    return sampling_contract()


@pytest.fixture(scope="module")
def sent() -> pd.DataFrame:
    """The demo dataset as a sender sends it: every cell text."""
    return generate_sampling_dataset()


@pytest.fixture(scope="module")
def table(sent: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(sent, preserve_index=False)


def chart_json(chart) -> str:
    return json.dumps(chart.to_dict(), ensure_ascii=False)


def inline_rows(spec: dict) -> list[dict]:
    """Every data row a chart dict carries, wherever Altair put it."""
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    for part in [spec, *spec.get("layer", [])]:
        rows.extend(part.get("data", {}).get("values", []))
    return rows


def has_url(node: object) -> bool:
    if isinstance(node, dict):
        return "url" in node or any(has_url(v) for k, v in node.items() if k != "$schema")
    if isinstance(node, list):
        return any(has_url(v) for v in node)
    return False


# --- can_view -----------------------------------------------------------------------------------


def spec(id: str, level: Level, audience: list[ScopeKind], owner: str, **more) -> DashboardSpec:
    return DashboardSpec(id=id, title=id, owner_unit=owner, level=level, audience=audience, **more)


MATRIX_SPECS = {
    "demo": sampling_dashboard(),
    "mockup": mockup_dashboard(),
    "publik": spec("ringkasan-publik", Level.TERBUKA, [ScopeKind.BPOM], "PUSDATIN"),
    "regional": spec("pantauan-regional", Level.TERBATAS, [ScopeKind.UPT], "PPPOMN"),
    "internal-lain": spec("internal-kosmetik", Level.TERBATAS, [ScopeKind.BPOM],
                          "DIT-WAS-KOSMETIK"),
    "milik-sendiri": spec("internal-pangan", Level.TERBATAS, [ScopeKind.BPOM],
                          "DIT-WAS-EDAR-PANGAN"),
    "rahasia-granted": spec("rahasia-negara", Level.SANGAT_RAHASIA, [ScopeKind.BPOM], "PUSDATIN"),
}

#: spec -> viewers who may open it.
EXPECTED = {
    "demo": {"kepala", "direktur"},  # rahasia: above the kabalai's terbatas clearance
    "mockup": {"kepala", "direktur"},  # audience includes central units, not UPT
    "publik": {"kepala", "tamu"},  # tamu only through the grant
    "regional": {"kepala", "kabalai"},
    "internal-lain": {"kepala"},  # another unit's own dashboard
    "milik-sendiri": {"kepala", "direktur"},  # the viewer's unit owns it
    "rahasia-granted": {"kepala"},  # a grant never lifts a viewer above their clearance
}


@pytest.mark.parametrize("spec_name", sorted(MATRIX_SPECS))
@pytest.mark.parametrize("viewer_name", ["kepala", "direktur", "kabalai", "tamu"])
def test_can_view_matrix(spec_name: str, viewer_name: str) -> None:
    expected = viewer_name in EXPECTED[spec_name]
    assert can_view(viewer(viewer_name), MATRIX_SPECS[spec_name]) is expected


def test_a_upt_head_with_enough_clearance_sees_the_demo_dashboard() -> None:
    assert can_view(viewer("kabalai", clearance=Level.RAHASIA), sampling_dashboard())


def test_visible_specs_keeps_order_and_only_what_is_on_display() -> None:
    specs = list(MATRIX_SPECS.values())
    kepala = viewer("kepala")
    shown = {sampling_dashboard().id}
    assert [s.id for s in visible_specs(specs, kepala, on_display=shown)] == [sampling_dashboard().id]
    assert visible_specs(specs, kepala, on_display=None) == specs  # Pusdatin's preview of all
    assert visible_specs(specs, kepala, on_display=set()) == []
    assert visible_specs(specs, viewer("tamu"), on_display=shown) == []


def test_the_step_7_default_comes_from_the_lifecycle_record(contract, sent, table) -> None:
    """A UPT viewer of the demo dashboard sees its last 12 months once step 7 said so, and
    every month without a lifecycle record (a mock-up has none)."""
    kabalai = viewer("kabalai", clearance=Level.RAHASIA)
    lifecycle = sampling_lifecycle()
    assert lifecycle.default_for(Tier.KEPALA_UPT).months == 12
    months = lambda rendered: {  # noqa: E731 - the months a line panel draws
        str(row) for r in rendered if r.panel.id == "sampel-per-bulan" for row in r.data.frame.iloc[:, 0]
    }
    classified = render_dashboard(sampling_dashboard(), {DATASET_ID: contract},
                                  {DATASET_ID: table}, kabalai, "id", lifecycle)
    plain = render_dashboard(sampling_dashboard(), {DATASET_ID: contract},
                             {DATASET_ID: table}, kabalai, "id")
    assert 0 < len(months(classified)) <= 12 < len(months(plain))


# --- viewer_rows --------------------------------------------------------------------------------


def test_a_upt_viewer_gets_only_its_region(contract, sent, table) -> None:
    kabalai = viewer("kabalai")
    for source in (sent, table):
        rows = viewer_rows(contract, source, kabalai, None)
        assert len(rows) == int((sent["kode_upt"] == UPT_BANDUNG).sum()) > 0
        assert set(rows["kode_upt"]) == {UPT_BANDUNG}
        assert set(rows["kode_provinsi"]) == {"32"}


def test_bpom_and_unit_viewers_get_every_region(contract, table) -> None:
    for name in ("kepala", "direktur"):
        assert len(viewer_rows(contract, table, viewer(name), None)) == table.num_rows


def test_a_upt_viewer_gets_no_rows_without_a_scope_field_or_a_unit(contract, table) -> None:
    unscoped = contract.model_copy(update={"scope_field": None})
    assert viewer_rows(unscoped, table, viewer("kabalai"), None).empty
    assert viewer_rows(contract, table, viewer("kabalai", unit_code=None), None).empty


def test_fields_above_clearance_are_dropped(contract, table) -> None:
    assert "parameter_tms" in viewer_rows(contract, table, viewer("direktur"), None).columns
    kabalai_rows = viewer_rows(contract, table, viewer("kabalai"), None)
    assert "parameter_tms" not in kabalai_rows.columns
    assert "nama_produk" in kabalai_rows.columns  # terbatas, like the kabalai
    # The dataset itself is terbatas: an open-clearance viewer receives nothing from it.
    tamu_rows = viewer_rows(contract, table, viewer("tamu"), None)
    assert tamu_rows.empty and list(tamu_rows.columns) == []


def test_columns_outside_the_contract_never_pass(contract, sent) -> None:
    extra = sent.assign(nik_petugas="3201010101010001")
    assert "nik_petugas" not in viewer_rows(contract, extra, viewer("kepala"), None).columns


def test_cells_are_typed_by_the_contract(contract, table) -> None:
    rows = viewer_rows(contract, table, viewer("kepala"), None)
    assert pd.api.types.is_datetime64_any_dtype(rows["tanggal_sampling"])
    assert pd.api.types.is_integer_dtype(rows["jumlah_sampel"])
    assert rows["parameter_tms"].isna().sum() == int((rows["hasil_uji"] == "MS").sum())


def test_default_months_count_back_from_the_latest_month(contract, table) -> None:
    latest = viewer_rows(contract, table, viewer("kabalai"), DefaultView(scope="upt", months=12))
    assert latest["tanggal_sampling"].min() >= pd.Timestamp("2026-01-01")
    assert latest["tanggal_sampling"].max() <= pd.Timestamp("2026-12-31")


def test_default_filters_apply_before_fields_are_dropped(contract, table) -> None:
    default = DefaultView(
        scope="upt",
        filters=[
            PanelFilter(field="kategori_produk", value="kosmetik"),
            PanelFilter(field="parameter_tms", op="ne", value="Merkuri"),
        ],
    )
    rows = viewer_rows(contract, table, viewer("kabalai"), default)
    assert set(rows["kategori_produk"]) == {"kosmetik"}
    # Rows without a parameter (MS) fail "ne" like a SQL NULL: only TMS rows remain.
    assert set(rows["hasil_uji"]) == {"TMS"}
    assert "parameter_tms" not in rows.columns


# --- panel_data and charts ----------------------------------------------------------------------


def test_a_panel_needing_a_field_above_clearance_is_restricted(contract, table) -> None:
    panel = sampling_dashboard().panels[5]
    assert panel.dimension == "parameter_tms"
    kabalai = viewer("kabalai")
    data = panel_data(panel, contract, viewer_rows(contract, table, kabalai, None), kabalai)
    assert data.restricted and data.frame.empty and data.value is None
    # Even rows that still hold the field (a caller's mistake) give nothing.
    full = viewer_rows(contract, table, viewer("kepala"), None)
    assert panel_data(panel, contract, full, kabalai).restricted
    assert panel_chart(panel, data, contract, "id") is None


def test_nothing_above_clearance_reaches_any_frame_or_chart(contract, table) -> None:
    kabalai = viewer("kabalai")
    rows = viewer_rows(contract, table, kabalai, DefaultView(scope="upt", months=12))
    for panel in sampling_dashboard().panels:
        data = panel_data(panel, contract, rows, kabalai)
        texts = [data.frame.to_json(date_format="iso")]
        chart = panel_chart(panel, data, contract, "en")
        if chart is not None:
            spec = chart.to_dict()
            texts.append(json.dumps(spec, ensure_ascii=False))
            assert not has_url(spec)
            # Only the aggregate travels (a map carries it in its 38 province shapes).
            if panel.kind == PanelKind.MAP:
                shapes = inline_rows(spec)
                assert len(shapes) == 38
                valued = [s for s in shapes if s["properties"]["value"] is not None]
                assert len(valued) == len(data.frame)
            else:
                assert len(inline_rows(spec)) == len(data.frame)
        if panel.kind == PanelKind.TABLE and not data.restricted:
            texts.append(table_frame(panel, data, contract, "id").to_json(date_format="iso"))
        for text in texts:
            assert "parameter_tms" not in text and "Parameter TMS" not in text
            assert not any(word in text for word in TMS_PARAMETERS), panel.id
            assert "S-2025-" not in text and "S-2026-" not in text  # no sample row ids
            assert not any(code in text for code in OTHER_UPTS)


def test_the_map_of_a_upt_viewer_shows_only_its_province(contract, table) -> None:
    kabalai = viewer("kabalai", clearance=Level.RAHASIA)
    panel = next(p for p in sampling_dashboard().panels if p.kind == PanelKind.MAP)
    data = panel_data(panel, contract, viewer_rows(contract, table, kabalai, None), kabalai)
    spec = panel_chart(panel, data, contract, "id").to_dict()
    shown = {row["properties"]["name"] for row in inline_rows(spec)
             if row["properties"]["value"] is not None}
    assert shown == {"Jawa Barat"}
    assert spec["mark"]["type"] == "geoshape"


def test_demo_panels_aggregate_what_a_bpom_viewer_expects(contract, sent, table) -> None:
    kepala = viewer("kepala")
    rows = viewer_rows(contract, table, kepala, None)
    panels = {p.id: p for p in sampling_dashboard().panels}
    tms = sent[sent["hasil_uji"] == "TMS"]
    assert panel_data(panels["kpi-produk-disampling"], contract, rows, kepala).value == len(sent)
    assert panel_data(panels["kpi-produk-tms"], contract, rows, kepala).value == len(tms)
    by_category = panel_data(panels["tms-per-kategori"], contract, rows, kepala).frame
    expected = tms["kategori_produk"].value_counts()
    assert dict(zip(by_category["kategori_produk"], by_category[VALUE_COLUMN], strict=True)) == {
        k: float(v) for k, v in expected.items()
    }
    assert list(by_category[VALUE_COLUMN]) == sorted(by_category[VALUE_COLUMN], reverse=True)
    monthly = panel_data(panels["sampel-per-bulan"], contract, rows, kepala).frame
    assert len(monthly) == 24
    assert monthly[VALUE_COLUMN].sum() == sent["jumlah_sampel"].astype(int).sum()
    assert list(monthly["tanggal_sampling"]) == sorted(monthly["tanggal_sampling"])
    top = panel_data(panels["parameter-tms-teratas"], contract, rows, kepala).frame
    assert len(top) == 10
    counts = tms["parameter_tms"].value_counts()
    assert list(top[VALUE_COLUMN]) == [float(n) for n in counts.iloc[:10]]
    assert all(counts[name] == value for name, value in zip(*top.to_dict("list").values(),
                                                             strict=True))


def test_no_panel_ever_carries_more_than_the_row_cap(contract, table) -> None:
    kepala = viewer("kepala")
    rows = viewer_rows(contract, table, kepala, None)
    per_sample = Panel(id="per-sampel", title="x", kind=PanelKind.BAR, dataset=DATASET_ID,
                       dimension="id_sampel", measure="jumlah_sampel", aggregate="sum")
    data = panel_data(per_sample, contract, rows, kepala)
    assert data.truncated and len(data.frame) == MAX_PANEL_ROWS
    chart = panel_chart(per_sample, data, contract, "id")
    assert len(inline_rows(chart.to_dict())) == MAX_PANEL_ROWS
    many_series = Panel(id="upt-bulan", title="x", kind=PanelKind.LINE, dataset=DATASET_ID,
                        dimension="tanggal_sampling", series="kode_upt")
    data = panel_data(many_series, contract, rows, kepala)
    assert data.truncated and len(data.frame) <= MAX_PANEL_ROWS
    assert data.frame["kode_upt"].nunique() <= 40


CHART_PANELS = [
    Panel(id="bar", title="x", kind=PanelKind.BAR, dataset=DATASET_ID, dimension="kategori_produk",
          series="hasil_uji"),
    Panel(id="bar-bulan", title="x", kind=PanelKind.BAR, dataset=DATASET_ID,
          dimension="tanggal_sampling"),
    Panel(id="line", title="x", kind=PanelKind.LINE, dataset=DATASET_ID,
          dimension="tanggal_sampling", series="hasil_uji"),
    Panel(id="line-kategori", title="x", kind=PanelKind.LINE, dataset=DATASET_ID,
          dimension="kategori_produk"),
    Panel(id="area", title="x", kind=PanelKind.AREA, dataset=DATASET_ID,
          dimension="tanggal_sampling", measure="jumlah_sampel", aggregate="mean"),
    Panel(id="point", title="x", kind=PanelKind.POINT, dataset=DATASET_ID, dimension="kode_upt",
          measure="jumlah_sampel", aggregate="max", sort="desc", limit=15),
    Panel(id="pie", title="x", kind=PanelKind.PIE, dataset=DATASET_ID, dimension="kategori_produk",
          measure="nama_produk", aggregate="count_distinct"),
    Panel(id="heatmap", title="x", kind=PanelKind.HEATMAP, dataset=DATASET_ID,
          dimension="kode_provinsi", series="kategori_produk"),
    Panel(id="map", title="x", kind=PanelKind.MAP, dataset=DATASET_ID, dimension="kode_provinsi",
          measure="jumlah_sampel", aggregate="sum"),
    Panel(id="map-upt", title="x", kind=PanelKind.MAP, dataset=DATASET_ID, dimension="kode_upt"),
]


@pytest.mark.parametrize("panel", CHART_PANELS, ids=lambda p: p.id)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_chart_kind_builds_from_inline_values(panel: Panel, lang: str, contract, table):
    kepala = viewer("kepala")
    data = panel_data(panel, contract, viewer_rows(contract, table, kepala, None), kepala)
    assert 0 < len(data.frame) <= MAX_PANEL_ROWS
    chart = panel_chart(panel, data, contract, lang)
    spec = chart.to_dict()  # raises on an invalid spec
    assert not has_url(spec)
    assert 0 < len(inline_rows(spec)) <= MAX_PANEL_ROWS + 38
    if panel.kind == PanelKind.MAP:
        assert spec["projection"] == {"type": "mercator"}


def test_kpi_and_table_panels_have_no_chart(contract, table) -> None:
    kepala = viewer("kepala")
    rows = viewer_rows(contract, table, kepala, None)
    for kind, dimension in ((PanelKind.KPI, None), (PanelKind.TABLE, "kategori_produk")):
        panel = Panel(id="p-x", title="x", kind=kind, dataset=DATASET_ID, dimension=dimension)
        assert panel_chart(panel, panel_data(panel, contract, rows, kepala), contract, "id") is None


def test_axis_titles_come_from_contract_labels(contract, table) -> None:
    kepala = viewer("kepala")
    panel = CHART_PANELS[0]
    data = panel_data(panel, contract, viewer_rows(contract, table, kepala, None), kepala)
    text = chart_json(panel_chart(panel, data, contract, "id"))
    assert "Kategori produk" in text and "Hasil uji" in text and "Jumlah data" in text
    assert "Pangan Olahan" in text and "pangan-olahan" not in text  # names, not codes
    english = chart_json(panel_chart(panel, data, contract, "en"))
    assert "Number of records" in english and "Processed food" in english


# --- aggregation on a small hand-made dataset ---------------------------------------------------


@pytest.fixture
def tiny() -> tuple[DataContract, pd.DataFrame]:
    contract = DataContract(
        id="stok-gudang",
        title="Stok",
        owner_unit="PUSDATIN",
        level=Level.TERBUKA,
        decimal_separator=",",
        missing_values=["", "-"],
        fields=[
            ContractField(name="wilayah"),
            ContractField(name="tanggal", type=FieldType.DATE),
            ContractField(name="nilai", type=FieldType.NUMBER),
        ],
    )
    frame = pd.DataFrame(
        {
            "wilayah": ["a", "a", "b", "b", "c", "-"],
            "tanggal": ["2025-01-03", "2025-01-20", "2025-02-01", "2025-02-11", "2025-03-05",
                        "2025-03-06"],
            "nilai": ["1,5", "2,5", "10", "-", "4", "6"],
        }
    )
    return contract, frame


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        ("count", {"a": 2, "b": 1, "c": 1, "": 1}),
        ("sum", {"a": 4.0, "b": 10.0, "c": 4.0, "": 6.0}),
        ("mean", {"a": 2.0, "b": 10.0, "c": 4.0, "": 6.0}),
        ("min", {"a": 1.5, "b": 10.0, "c": 4.0, "": 6.0}),
        ("max", {"a": 2.5, "b": 10.0, "c": 4.0, "": 6.0}),
        ("count_distinct", {"a": 2, "b": 1, "c": 1, "": 1}),
    ],
)
def test_aggregations(tiny, aggregate: str, expected: dict) -> None:
    contract, frame = tiny
    kepala = viewer("kepala")
    panel = Panel(id="p-x", title="x", kind=PanelKind.BAR, dataset="stok-gudang",
                  dimension="wilayah", measure="nilai", aggregate=aggregate)
    data = panel_data(panel, contract, viewer_rows(contract, frame, kepala, None), kepala)
    assert dict(zip(data.frame["wilayah"], data.frame[VALUE_COLUMN], strict=True)) == expected


def test_rows_count_months_sort_limit_and_filters(tiny) -> None:
    contract, frame = tiny
    kepala = viewer("kepala")
    rows = viewer_rows(contract, frame, kepala, None)
    monthly = Panel(id="p-x", title="x", kind=PanelKind.LINE, dataset="stok-gudang",
                    dimension="tanggal", sort="desc", limit=2)
    data = panel_data(monthly, contract, rows, kepala)
    # A time axis keeps the latest months, in time order, whatever the sort.
    assert list(data.frame["tanggal"].dt.strftime("%Y-%m")) == ["2025-02", "2025-03"]
    top = Panel(id="p-y", title="x", kind=PanelKind.BAR, dataset="stok-gudang",
                dimension="wilayah", measure="nilai", aggregate="sum", sort="asc", limit=2,
                filters=[PanelFilter(field="nilai", op="gte", value=2)])
    data = panel_data(top, contract, rows, kepala)
    assert list(data.frame["wilayah"]) == ["", "b"]
    assert table_frame(top, data, contract, "id").iloc[0, 0] == t("render.missing_value", "id")
    kpi = Panel(id="p-z", title="x", kind=PanelKind.KPI, dataset="stok-gudang", measure="nilai",
                aggregate=Aggregation.MEAN, filters=[PanelFilter(field="wilayah", op="in",
                                                                 value=["a", "c"])])
    assert panel_data(kpi, contract, rows, kepala).value == pytest.approx(8 / 3)


def test_a_filter_value_that_cannot_be_compared_matches_nothing(tiny) -> None:
    contract, frame = tiny
    kepala = viewer("kepala")
    kpi = Panel(id="p-z", title="x", kind=PanelKind.KPI, dataset="stok-gudang",
                filters=[PanelFilter(field="nilai", op="gte", value="banyak")])
    rows = viewer_rows(contract, frame, kepala, None)
    assert panel_data(kpi, contract, rows, kepala).value == 0


# --- render_dashboard ---------------------------------------------------------------------------


def test_render_dashboard_refuses_a_viewer_who_may_not_open_it(contract, table) -> None:
    with pytest.raises(PermissionDenied) as refused:
        render_dashboard(sampling_dashboard(), {DATASET_ID: contract}, {DATASET_ID: table},
                         viewer("kabalai"), "id")
    assert refused.value.key == "render.denied"


def test_render_dashboard_for_the_director(contract, sent, table) -> None:
    direktur = viewer("direktur")
    rendered = render_dashboard(sampling_dashboard(), {DATASET_ID: contract},
                                {DATASET_ID: table}, direktur, "id")
    by_id = {r.panel.id: r for r in rendered}
    assert by_id["kpi-produk-disampling"].value_text == format_value(len(sent), "id")
    assert by_id["parameter-tms-teratas"].table is not None
    for kind in (PanelKind.BAR, PanelKind.LINE, PanelKind.MAP, PanelKind.HEATMAP):
        assert all(r.chart is not None for r in rendered if r.panel.kind == kind)


def test_render_dashboard_explains_restricted_and_missing_data(contract, table) -> None:
    leaky = sampling_dashboard().model_copy(update={"level": Level.TERBATAS})
    kabalai = viewer("kabalai")
    rendered = render_dashboard(leaky, {DATASET_ID: contract}, {DATASET_ID: table}, kabalai, "en")
    restricted = [r for r in rendered if r.panel.id == "parameter-tms-teratas"][0]
    assert restricted.message == t("render.restricted", "en")
    assert restricted.table is None and restricted.chart is None
    waiting = render_dashboard(leaky, {DATASET_ID: contract}, {}, kabalai, "id")
    assert {r.message for r in waiting} == {t("render.no_data", "id")}


def test_numbers_are_written_the_way_each_language_writes_them() -> None:
    assert format_value(12345.0, "id") == "12.345"
    assert format_value(12345.0, "en") == "12,345"
    assert format_value(1234.5, "id") == "1.234,5"  # at most two decimals, none trailing
    assert format_value(None, "en") == "–"
