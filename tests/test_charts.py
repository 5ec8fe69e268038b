"""Charts that tell the truth: every month on a time axis, numbers and words in the viewer's
language, titles from the contract's labels, and a real map of the 38 provinces."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa
import pytest

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.contracts.model import ContractField, DataContract, FieldType, contract_from_yaml
from ocenter.demo_data import (
    DATASET_ID,
    MOCKUP_FILE,
    generate_sampling_dataset,
    mockup_dashboard,
    sampling_contract,
    sampling_dashboard,
)
from ocenter.display.aggregation import VALUE_COLUMN, panel_data
from ocenter.display.charts import NO_DATA_FILL, panel_chart
from ocenter.display.filtering import viewer_rows
from ocenter.display.labels import format_value, table_frame
from ocenter.display.render import render_dashboard
from ocenter.display.spec import Panel, PanelKind, spec_from_yaml
from ocenter.reference import province_boundaries, reference_rows
from tests.conftest import PROJECT_ROOT

#: Month abbreviations as Indonesian and English readers write them (KBBI / English), typed here
#: rather than read from the catalogue the code uses.
MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
KEPALA = Authority(username="kepala", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA,
                   scope=ScopeKind.BPOM)
#: A map tile's whole Vega-Lite spec, as JSON, must stay under this.
MAP_TILE_LIMIT = 200 * 1024


def months_between(first: str, last: str, lang: str) -> list[str]:
    return [f"{MONTHS[lang][p.month - 1]} {p.year}" for p in pd.period_range(first, last, freq="M")]


def chart_of(panel: Panel, contract: DataContract, rows: pd.DataFrame, lang: str = "id") -> dict:
    data = panel_data(panel, contract, rows, KEPALA)
    return panel_chart(panel, data, contract, lang).to_dict()


def inline_rows(spec: dict) -> list[dict]:
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    return rows + spec.get("data", {}).get("values", [])


@pytest.fixture(scope="module")
def contract() -> DataContract:
    return sampling_contract()


@pytest.fixture(scope="module")
def sent() -> pd.DataFrame:
    return generate_sampling_dataset()


@pytest.fixture(scope="module")
def rows(contract, sent) -> pd.DataFrame:
    return viewer_rows(contract, pa.Table.from_pandas(sent, preserve_index=False), KEPALA, None)


@pytest.fixture
def stock() -> tuple[DataContract, pd.DataFrame]:
    """Deliveries in March, May and July 2026: April and June had none."""
    contract = DataContract(
        id="stok-gudang", title="Stok", owner_unit="PUSDATIN", level=Level.TERBUKA,
        fields=[
            ContractField(name="tanggal", label="Tanggal kirim", label_en="Delivery date",
                          type=FieldType.DATE),
            ContractField(name="kode_gudang"),  # no label at all
            ContractField(name="nilai", label="Nilai", label_en="Value", type=FieldType.NUMBER),
        ],
    )
    frame = pd.DataFrame({
        "tanggal": ["2026-03-02", "2026-03-20", "2026-05-11", "2026-07-31"],
        "kode_gudang": ["g1", "g2", "g1", "g2"],
        "nilai": ["1234.5", "2", "3", "4000"],
    })
    return contract, viewer_rows(contract, frame, KEPALA, None)


# --- every month, once, in order ----------------------------------------------------------------


@pytest.mark.parametrize("kind", [PanelKind.LINE, PanelKind.BAR, PanelKind.AREA, PanelKind.POINT])
@pytest.mark.parametrize("aggregate", ["count", "sum"])
def test_an_empty_month_is_on_the_axis_as_zero(stock, kind, aggregate) -> None:
    contract, rows = stock
    panel = Panel(id="p-x", title="x", kind=kind, dataset="stok-gudang", dimension="tanggal",
                  measure="nilai", aggregate=aggregate)
    spec = chart_of(panel, contract, rows)
    shown = {row["label"]: row["value"] for row in inline_rows(spec)}
    expected = {"count": [2, 0, 1, 0, 1], "sum": [1236.5, 0, 3, 0, 4000]}[aggregate]
    assert shown == dict(zip(months_between("2026-03", "2026-07", "id"), expected, strict=True))
    # One category per month, in time order: one label each, none skipped for overlap.
    assert spec["encoding"]["x"]["type"] == "ordinal"
    assert spec["encoding"]["x"]["sort"] == months_between("2026-03", "2026-07", "id")
    assert spec["encoding"]["x"]["axis"]["labelOverlap"] is False


@pytest.mark.parametrize("aggregate", ["mean", "min", "max"])
def test_an_empty_month_of_an_average_is_a_gap_not_a_zero(stock, aggregate) -> None:
    contract, rows = stock
    panel = Panel(id="p-x", title="x", kind=PanelKind.LINE, dataset="stok-gudang",
                  dimension="tanggal", measure="nilai", aggregate=aggregate)
    spec = chart_of(panel, contract, rows, "en")
    shown = {row["label"]: row["value"] for row in inline_rows(spec)}
    assert list(shown) == months_between("2026-03", "2026-07", "en")
    assert shown["Apr 2026"] is None and shown["Jun 2026"] is None
    assert shown["May 2026"] == 3
    # The line breaks at the missing month instead of joining its neighbours.
    assert spec["mark"]["invalid"] == "break-paths-show-path-domains"


def test_a_month_no_one_sampled_shows_on_the_demo_dashboard(contract, sent) -> None:
    without_june = sent[~sent["tanggal_sampling"].str.startswith("2025-06")]
    rows = viewer_rows(contract, pa.Table.from_pandas(without_june, preserve_index=False),
                       KEPALA, None)
    panels = {p.id: p for p in sampling_dashboard().panels}
    for lang in ("id", "en"):
        line = chart_of(panels["sampel-per-bulan"], contract, rows, lang)
        labels = [row["label"] for row in inline_rows(line)]
        assert labels == months_between("2025-01", "2026-12", lang)  # 24, once each, in order
        assert {row["label"]: row["value"] for row in inline_rows(line)}[labels[5]] == 0
        heatmap = chart_of(panels["tms-kategori-bulan"], contract, rows, lang)
        cells = inline_rows(heatmap)
        assert heatmap["encoding"]["x"]["sort"] == months_between("2025-01", "2026-12", lang)
        # Every category in every month: an empty cell is 0, not a hole in the grid.
        assert len(cells) == 24 * len({c["series"] for c in cells})
        assert all(c["value"] == 0 for c in cells if c["label"] == labels[5])


def test_a_limited_time_axis_keeps_the_latest_calendar_months(stock) -> None:
    contract, rows = stock
    panel = Panel(id="p-x", title="x", kind=PanelKind.BAR, dataset="stok-gudang",
                  dimension="tanggal", limit=3)
    shown = {row["label"]: row["value"] for row in inline_rows(chart_of(panel, contract, rows))}
    assert shown == {"Mei 2026": 1, "Jun 2026": 0, "Jul 2026": 1}


# --- numbers and words in the viewer's language -------------------------------------------------


def test_numbers_are_written_the_viewers_way() -> None:
    assert [format_value(v, "id") for v in (1234.5, 12345.0, 0.25, -1234.5, 2.0)] == \
        ["1.234,5", "12.345", "0,25", "-1.234,5", "2"]
    assert [format_value(v, "en") for v in (1234.5, 12345.0, 0.25, -1234.5, 2.0)] == \
        ["1,234.5", "12,345", "0.25", "-1,234.5", "2"]
    assert format_value(float("nan"), "id") == format_value(None, "en") == "–"


@pytest.mark.parametrize("panel", [p for p in sampling_dashboard().panels
                                   if p.kind not in (PanelKind.KPI, PanelKind.TABLE)],
                         ids=lambda p: p.id)
def test_every_chart_carries_the_viewers_number_and_calendar_locale(panel, contract, rows) -> None:
    indonesian = chart_of(panel, contract, rows, "id")["config"]["locale"]
    assert (indonesian["number"]["decimal"], indonesian["number"]["thousands"]) == (",", ".")
    assert indonesian["time"]["shortMonths"] == MONTHS["id"]
    english = chart_of(panel, contract, rows, "en")["config"]["locale"]
    assert (english["number"]["decimal"], english["number"]["thousands"]) == (".", ",")
    assert english["time"]["shortMonths"] == MONTHS["en"]


def test_counts_have_no_decimals_and_averages_at_most_two(stock) -> None:
    contract, rows = stock
    count = Panel(id="p-x", title="x", kind=PanelKind.HEATMAP, dataset="stok-gudang",
                  dimension="tanggal", series="kode_gudang")
    spec = chart_of(count, contract, rows)
    legend = spec["encoding"]["color"]["legend"]
    # The legend of a count of at most 1 reads 0 and 1, never 0,5 or 2.000000.
    assert legend["format"] == ",.0f" and legend["tickCount"] == 1
    assert [t["format"] for t in spec["encoding"]["tooltip"] if t["field"] == "value"] == [",.0f"]
    mean = Panel(id="p-y", title="x", kind=PanelKind.BAR, dataset="stok-gudang",
                 dimension="kode_gudang", measure="nilai", aggregate="mean")
    axis = chart_of(mean, contract, rows)["encoding"]["x"]["axis"]
    assert axis["format"] == ",.2~f" and "tickCount" not in axis


def test_table_headers_are_labels_in_the_viewers_language_never_column_names(contract, rows):
    panel = Panel(id="p-x", title="x", kind=PanelKind.TABLE, dataset=DATASET_ID,
                  dimension="kode_upt", series="hasil_uji", measure="jumlah_sampel",
                  aggregate="sum", sort="desc", limit=3)
    data = panel_data(panel, contract, rows, KEPALA)
    indonesian = table_frame(panel, data, contract, "id")
    english = table_frame(panel, data, contract, "en")
    assert list(indonesian.columns) == ["UPT", "Hasil uji", "Total Jumlah sampel"]
    assert list(english.columns) == ["UPT", "Test result", "Total Packages sampled"]
    raw = {*contract.field_names(), VALUE_COLUMN}
    assert not raw & {*indonesian.columns, *english.columns}
    assert indonesian.iloc[0, 0].startswith(("Balai", "Loka"))  # a name, not UPT-3201
    total = data.frame[VALUE_COLUMN].iloc[0]
    assert total >= 1000  # big enough to need a thousands mark
    assert indonesian.iloc[0, 2] == f"{total:,.0f}".replace(",", ".")
    assert english.iloc[0, 2] == f"{total:,.0f}"


def test_a_field_without_a_label_is_headed_by_its_name_made_readable(stock) -> None:
    contract, rows = stock
    panel = Panel(id="p-x", title="x", kind=PanelKind.TABLE, dataset="stok-gudang",
                  dimension="kode_gudang", measure="nilai", aggregate="mean")
    table = table_frame(panel, panel_data(panel, contract, rows, KEPALA), contract, "en")
    assert list(table.columns) == ["Kode gudang", "Average Value"]
    assert list(table.iloc[:, 1]) == ["618.75", "2,001"]


# --- titles from the contract's labels, in both languages ---------------------------------------


def test_the_english_screen_reads_english_titles_and_the_indonesian_one_indonesian(
    contract, sent
) -> None:
    table = pa.Table.from_pandas(sent, preserve_index=False)
    spec = sampling_dashboard()
    for lang, wanted, unwanted in (("en", "Product category", "Kategori produk"),
                                   ("id", "Kategori produk", "Product category")):
        rendered = {r.panel.id: r for r in render_dashboard(spec, {DATASET_ID: contract},
                                                            {DATASET_ID: table}, KEPALA, lang)}
        charts = json.dumps(rendered["tms-per-kategori"].chart.to_dict(), ensure_ascii=False)
        assert wanted in charts and unwanted not in charts
        monthly = json.dumps(rendered["sampel-per-bulan"].chart.to_dict(), ensure_ascii=False)
        assert {"en": "Sampling date (by month)", "id": "Tanggal sampling (per bulan)"}[lang] in monthly
        kpi = rendered["kpi-produk-disampling"]
        assert kpi.value_text == f"{len(sent):,}".replace(",", "." if lang == "id" else ",")
    assert spec.title_in("en") == "Sampling and Testing Results Monitor"
    assert spec.title_in("id") == "Pantauan Hasil Sampling dan Pengujian"
    assert spec.panels[2].title_in("en") == "TMS findings by product category"
    assert spec.panels[2].title_in("id") == "Temuan TMS per kategori produk"


def test_the_demo_content_has_english_titles_in_its_files_too() -> None:
    files = [PROJECT_ROOT / "specs" / name for name in ("pantauan-sampling-pengujian.yaml",
                                                         "ringkasan-pengawasan-nasional.yaml")]
    specs = [spec_from_yaml(path.read_text("utf-8")) for path in [*files, MOCKUP_FILE]]
    assert specs[2] == mockup_dashboard()
    for spec in specs:
        assert spec.title_en and all(panel.title_en for panel in spec.panels), spec.id
    shipped = contract_from_yaml((PROJECT_ROOT / "data_contracts" / f"{DATASET_ID}.yaml")
                                 .read_text("utf-8"))
    assert shipped == sampling_contract()
    assert all(field.label_en for field in shipped.fields)


# --- the map ------------------------------------------------------------------------------------


def test_the_shipped_map_has_each_of_the_38_provinces_once() -> None:
    codes = [shape["properties"]["code"] for shape in province_boundaries()]
    assert sorted(codes) == sorted(row["code"] for row in reference_rows("provinsi"))
    assert len(codes) == len(set(codes)) == 38
    assert province_boundaries() is province_boundaries()  # read once per process


def _polygons(shape: dict) -> list[list[list[list[float]]]]:
    geometry = shape["geometry"]
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _centroid(shape: dict) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat) of the outer rings, in plain degrees."""
    total = lon = lat = 0.0
    for polygon in _polygons(shape):
        ring = polygon[0]
        area = _signed_area(ring)
        cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
        cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))
        total += area
        lon += cx / 6
        lat += cy / 6
    return lon / total, lat / total


def test_each_shape_lies_where_provinsi_csv_puts_its_province() -> None:
    """A check against the reference list: each province's point in provinsi.csv is nearer to
    the centre of the shape carrying its code than to any other shape's (so no two codes are
    swapped, as the source's own Papua codes would swap them), and within 1.5 degrees of it."""
    centres = {shape["properties"]["code"]: _centroid(shape) for shape in province_boundaries()}
    for row in reference_rows("provinsi"):
        point = (float(row["lon"]), float(row["lat"]))
        nearest = min(centres, key=lambda code: math.dist(point, centres[code]))
        assert nearest == row["code"], (row["name"], nearest)
        assert math.dist(point, centres[row["code"]]) < 1.5, row["name"]


def test_every_shape_is_wound_the_way_vega_draws_it() -> None:
    """Vega's projection (d3-geo) takes an anticlockwise outer ring for the whole world outside
    it: each outer ring must run clockwise, each hole anticlockwise."""
    for shape in province_boundaries():
        for polygon in _polygons(shape):
            assert _signed_area(polygon[0]) < 0, shape["properties"]["name"]
            assert all(_signed_area(hole) > 0 for hole in polygon[1:])
            assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in polygon)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_map_is_a_choropleth_of_the_provinces_under_200_kb(contract, sent, rows, lang) -> None:
    panel = Panel(id="p-x", title="x", kind=PanelKind.MAP, dataset=DATASET_ID,
                  dimension="kode_provinsi")
    spec = chart_of(panel, contract, rows, lang)
    size = len(json.dumps(spec, ensure_ascii=False).encode("utf-8"))
    assert size < MAP_TILE_LIMIT, size
    assert spec["mark"]["type"] == "geoshape" and spec["projection"] == {"type": "mercator"}
    assert "url" not in json.dumps(spec.get("data", {}))
    shapes = {s["properties"]["code"]: s["properties"] for s in inline_rows(spec)}
    counted = sent["kode_provinsi"].value_counts()
    assert {code: p["value"] for code, p in shapes.items() if p["value"] is not None} == \
        {code: float(n) for code, n in counted.items()}
    jabar = shapes["32"]
    assert jabar["name"] == "Jawa Barat"
    mark = "." if lang == "id" else ","
    assert jabar["value_text"] == f"{counted['32']:,}".replace(",", mark)
    titles = [t["title"] for t in spec["encoding"]["tooltip"]]
    assert titles == [{"id": "Provinsi", "en": "Province"}[lang],
                      {"id": "Jumlah data", "en": "Number of records"}[lang]]


def test_a_province_without_data_is_light_grey_with_no_number(contract, sent) -> None:
    aceh_only = sent[sent["kode_provinsi"] == "11"]
    rows = viewer_rows(contract, pa.Table.from_pandas(aceh_only, preserve_index=False), KEPALA, None)
    panel = Panel(id="p-x", title="x", kind=PanelKind.MAP, dataset=DATASET_ID,
                  dimension="kode_provinsi")
    spec = chart_of(panel, contract, rows)
    shapes = {s["properties"]["code"]: s["properties"] for s in inline_rows(spec)}
    assert len(shapes) == 38 and shapes["11"]["value"] == len(aceh_only)
    assert all(p["value"] is None and p["value_text"] == "–" for c, p in shapes.items() if c != "11")
    color = spec["encoding"]["color"]
    assert color["value"] == NO_DATA_FILL
    assert color["condition"]["test"] == "isValid(datum.properties.value)"


@pytest.mark.parametrize("aggregate", ["count", "mean"])
def test_a_map_of_upt_counts_each_upt_at_its_province(contract, sent, rows, aggregate) -> None:
    panel = Panel(id="p-x", title="x", kind=PanelKind.MAP, dataset=DATASET_ID,
                  dimension="kode_upt", measure="jumlah_sampel", aggregate=aggregate)
    spec = chart_of(panel, contract, rows)
    shown = {s["properties"]["code"]: s["properties"]["value"] for s in inline_rows(spec)
             if s["properties"]["value"] is not None}
    province_of = {row["code"]: row["province_code"] for row in reference_rows("upt")}
    sizes = sent["jumlah_sampel"].astype(int).groupby(sent["kode_upt"].map(province_of))
    expected = sizes.count() if aggregate == "count" else sizes.mean()
    # Exact per province (an average of all its rows, not of its UPTs' averages).
    assert shown == pytest.approx({code: float(v) for code, v in expected.items()})
