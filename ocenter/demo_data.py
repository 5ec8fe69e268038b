"""Demo content: a synthetic BPOM sampling-and-testing dataset, its data contract and dashboards.

The data is invented but shaped like the real thing: every UPT samples products in its region each
month (more before Ramadan and at the year's end, when BPOM intensifies supervision), and a few
percent of the samples fail their tests ("tidak memenuhi syarat", TMS) for the findings BPOM
reports year after year: borax and formalin in food, mercury and hydroquinone in cosmetics,
medicinal chemicals (BKO) in jamu. Nothing here is a real product or a real result.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ocenter.accounts.levels import Level, Tier
from ocenter.contracts.model import (
    ContractField,
    DataContract,
    FieldType,
    Partitioning,
    contract_to_yaml,
)
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import (
    Aggregation,
    DashboardSpec,
    DefaultView,
    Panel,
    PanelFilter,
    PanelKind,
    spec_to_yaml,
)
from ocenter.reference import reference_rows

DATASET_ID = "sampling-pengujian"
DASHBOARD_ID = "pantauan-sampling-pengujian"
MOCKUP_ID = "tren-temuan-kosmetik"
MOCKUP_FILE = Path(__file__).with_name("demo_mockup.yaml")

COLUMNS = [
    "id_sampel",
    "tanggal_sampling",
    "kode_upt",
    "kode_provinsi",
    "kategori_produk",
    "nama_produk",
    "hasil_uji",
    "jumlah_sampel",
    "parameter_tms",
]

#: Share of sampled products by category, and the base TMS rate of each.
CATEGORY_SHARE = {
    "pangan-olahan": 0.40,
    "kosmetik": 0.17,
    "obat-tradisional": 0.14,
    "obat": 0.14,
    "suplemen-kesehatan": 0.08,
    "obat-kuasi": 0.04,
    "nappza": 0.03,
}
TMS_RATE = {
    "pangan-olahan": 0.060,
    "kosmetik": 0.075,
    "obat-tradisional": 0.070,
    "obat": 0.030,
    "suplemen-kesehatan": 0.040,
    "obat-kuasi": 0.035,
    "nappza": 0.030,
}

#: Products of each category, each with the test parameters it typically fails on.
PRODUCTS: dict[str, list[tuple[str, list[str]]]] = {
    "pangan-olahan": [
        ("Mi basah", ["Boraks", "Formalin"]),
        ("Tahu putih", ["Formalin"]),
        ("Bakso sapi", ["Boraks", "Cemaran mikroba"]),
        ("Kerupuk merah", ["Rhodamin B", "Boraks"]),
        ("Terasi udang", ["Rhodamin B"]),
        ("Ikan asin", ["Formalin"]),
        ("Sirup rasa cocopandan", ["Rhodamin B", "Siklamat"]),
        ("Kue lapis", ["Rhodamin B", "Methanyl yellow"]),
        ("Cincau hitam", ["Boraks"]),
        ("Saus sambal", ["Rhodamin B", "Natrium benzoat"]),
        ("Minuman serbuk rasa jeruk", ["Siklamat", "Sakarin"]),
        ("Roti tawar", ["Cemaran mikroba"]),
        ("Keripik singkong balado", ["Rhodamin B"]),
        ("Air minum dalam kemasan", ["Cemaran mikroba"]),
        ("Permen jeli", ["Methanyl yellow"]),
    ],
    "kosmetik": [
        ("Krim pemutih wajah", ["Merkuri", "Hidrokuinon", "Asam retinoat"]),
        ("Krim malam", ["Merkuri", "Hidrokuinon"]),
        ("Lipstik", ["Rhodamin B", "Timbal"]),
        ("Perona pipi", ["Rhodamin B"]),
        ("Losion tubuh", ["Hidrokuinon", "Cemaran mikroba"]),
        ("Sabun pembersih wajah", ["Cemaran mikroba"]),
        ("Bedak padat", ["Timbal"]),
        ("Serum wajah", ["Asam retinoat", "Hidrokuinon"]),
    ],
    "obat-tradisional": [
        ("Jamu pegal linu", ["BKO (parasetamol)", "BKO (fenilbutazon)", "BKO (deksametason)"]),
        ("Jamu kuat pria", ["BKO (sildenafil sitrat)", "BKO (tadalafil)"]),
        ("Jamu asam urat", ["BKO (allopurinol)", "BKO (deksametason)"]),
        ("Jamu pelangsing", ["BKO (sibutramin)"]),
        ("Kapsul herbal penambah nafsu makan", ["BKO (siproheptadin)"]),
        ("Jamu beras kencur", ["Angka kapang khamir"]),
        ("Minyak urut", ["Cemaran mikroba"]),
    ],
    "obat": [
        ("Tablet parasetamol 500 mg", ["Disolusi", "Kadar zat aktif"]),
        ("Kaplet amoksisilin 500 mg", ["Kadar zat aktif", "Disolusi"]),
        ("Sirup obat batuk", ["Cemaran EG/DEG", "Kadar zat aktif"]),
        ("Tablet metformin 500 mg", ["Disolusi"]),
        ("Salep kulit", ["Cemaran mikroba"]),
        ("Tetes mata", ["Sterilitas"]),
        ("Tablet amlodipin 5 mg", ["Keseragaman kandungan"]),
    ],
    "suplemen-kesehatan": [
        ("Tablet vitamin C 500 mg", ["Kadar vitamin C"]),
        ("Kapsul minyak ikan", ["Cemaran logam berat"]),
        ("Serbuk kolagen", ["Cemaran mikroba"]),
        ("Tablet effervescent multivitamin", ["Kadar vitamin"]),
        ("Kapsul penambah stamina", ["BKO (sildenafil sitrat)"]),
    ],
    "obat-kuasi": [
        ("Balsem", ["Cemaran mikroba", "Kadar zat aktif"]),
        ("Minyak angin aromaterapi", ["Kadar zat aktif"]),
        ("Koyok", ["Kadar zat aktif"]),
        ("Plester penurun demam", ["Cemaran mikroba"]),
    ],
    "nappza": [
        ("Tablet alprazolam 0,5 mg", ["Kadar zat aktif"]),
        ("Tablet diazepam 5 mg", ["Disolusi"]),
        ("Tablet kodein 10 mg", ["Kadar zat aktif"]),
        ("Tablet tramadol 50 mg", ["Kadar zat aktif"]),
    ],
}

#: Invented makers: market food is often sold loose ("curah"), the rest under a maker's name.
FOOD_BRANDS = ["curah", "Sari Rasa", "Mekar Sari", "Sumber Rejeki", "Bunga Melati", "Putri Ayu"]
MAKERS = ["PT Farma Sentosa", "PT Herba Lestari", "CV Mutiara Alam", "PT Cahaya Timur",
          "PT Nusa Makmur", "CV Anugerah Jaya", "PT Berkah Medika"]

#: Relative sampling effort by kind of UPT.
KIND_WEIGHT = {"bbpom": 3.0, "bpom": 2.0, "loka": 1.0}
ROWS_PER_MONTH = 20_000 / 24


def _season(month: pd.Period) -> float:
    """Intensified supervision before Ramadan/Idul Fitri (Feb-Mar in 2025-2026) and at year end."""
    return {2: 1.25, 3: 1.35, 11: 1.1, 12: 1.3}.get(month.month, 1.0)


def generate_sampling_dataset(
    seed: int = 2026, start: date = date(2025, 1, 1), months: int = 24
) -> pd.DataFrame:
    """Synthetic product sampling and testing results ("hasil sampling dan pengujian").

    About 830 rows a month over all 76 UPT (about 20,000 over two years), every cell text as a
    sender's CSV would hold it, in the columns of ``COLUMNS``. The same arguments always give
    the same frame.
    """
    rng = np.random.default_rng(seed)
    upts = list(reference_rows("upt"))
    weights = np.array([KIND_WEIGHT[u["kind"]] for u in upts])
    # Some regions find more than others; drawn once so each UPT keeps its character.
    upt_tms_factor = rng.uniform(0.6, 1.6, size=len(upts))
    categories = list(CATEGORY_SHARE)
    shares = np.array([CATEGORY_SHARE[c] for c in categories])
    shares = shares / shares.sum()
    first = pd.Period(start, freq="M")
    # Seasons add effort; scale the base so the period's total stays near ROWS_PER_MONTH a month.
    mean_season = np.mean([_season(first + step) for step in range(months)]) if months else 1.0
    per_unit = ROWS_PER_MONTH / weights.sum() / mean_season

    records: list[tuple] = []
    for step in range(months):
        month = first + step
        # Findings fall slowly over the period, as enforcement follows up earlier findings.
        trend = 1.0 - 0.2 * step / max(months - 1, 1)
        counts = rng.poisson(weights * per_unit * _season(month))
        for index, count in enumerate(counts):
            upt = upts[index]
            days = rng.integers(1, month.days_in_month + 1, size=count)
            picked = rng.choice(len(categories), size=count, p=shares)
            failing = rng.random(count)
            sizes = np.clip(np.rint(rng.lognormal(1.6, 0.7, size=count)), 1, 50).astype(int)
            for day, cat_index, draw, size in zip(days, picked, failing, sizes, strict=True):
                category = categories[cat_index]
                product, parameters = PRODUCTS[category][rng.integers(len(PRODUCTS[category]))]
                tms = draw < TMS_RATE[category] * upt_tms_factor[index] * trend
                parameter = parameters[rng.integers(len(parameters))] if tms else ""
                brands = FOOD_BRANDS if category == "pangan-olahan" else MAKERS
                brand = brands[rng.integers(len(brands))]
                name = f"{product} ({brand})"
                when = date(month.year, month.month, int(day))
                records.append((when, upt["code"], upt["province_code"], category, name,
                                "TMS" if tms else "MS", int(size), parameter))

    frame = pd.DataFrame(records, columns=COLUMNS[1:])
    frame = frame.sort_values(["tanggal_sampling", "kode_upt"], kind="stable", ignore_index=True)
    years = frame["tanggal_sampling"].map(lambda d: d.year)
    sequence = frame.groupby(years).cumcount() + 1
    frame.insert(0, "id_sampel", [f"S-{y}-{n:06d}" for y, n in zip(years, sequence, strict=True)])
    frame["tanggal_sampling"] = frame["tanggal_sampling"].map(date.isoformat)
    frame["jumlah_sampel"] = frame["jumlah_sampel"].map(str)
    return frame.astype(str)


def sampling_contract() -> DataContract:
    """The data contract of the demo dataset, owned by PPPOMN and sent by every UPT for its region
    each month (PPPOMN may send any UPT's part)."""
    return DataContract(
        id=DATASET_ID,
        title="Hasil Sampling dan Pengujian Obat dan Makanan",
        description=(
            "Hasil sampling dan pengujian produk obat dan makanan oleh seluruh UPT BPOM, "
            "dikirim bulanan oleh setiap UPT untuk wilayahnya (PPPOMN dapat mengirim untuk semua UPT)."
        ),
        owner_unit="PPPOMN",
        level=Level.TERBATAS,
        cadence_days=31,
        primary_key=["id_sampel"],
        scope_field="kode_upt",
        time_field="tanggal_sampling",
        partitioning=Partitioning(sender_field="kode_upt", period_field="tanggal_sampling"),
        fields=[
            ContractField(
                name="id_sampel",
                label="Nomor sampel",
                label_en="Sample number",
                description="Nomor unik sampel: S-tahun-nomor urut enam digit.",
                required=True,
                unique=True,
                pattern=r"^S-\d{4}-\d{6}$",
            ),
            ContractField(
                name="tanggal_sampling",
                label="Tanggal sampling",
                label_en="Sampling date",
                description="Tanggal sampel diambil (YYYY-MM-DD).",
                type=FieldType.DATE,
                required=True,
            ),
            ContractField(
                name="kode_upt",
                label="UPT",
                label_en="UPT",
                description="Kode UPT BPOM yang mengambil sampel.",
                required=True,
                reference="upt",
            ),
            ContractField(
                name="kode_provinsi",
                label="Provinsi",
                label_en="Province",
                description="Kode BPS provinsi tempat sampel diambil.",
                required=True,
                pattern=r"^\d{2}$",
                reference="provinsi",
            ),
            ContractField(
                name="kategori_produk",
                label="Kategori produk",
                label_en="Product category",
                description="Kategori produk menurut BPOM.",
                required=True,
                reference="kategori_produk",
            ),
            ContractField(
                name="nama_produk",
                label="Nama produk",
                label_en="Product name",
                description="Nama produk dan produsen sebagaimana tertera pada label.",
                required=True,
                max_length=200,
                level=Level.TERBATAS,
            ),
            ContractField(
                name="hasil_uji",
                label="Hasil uji",
                label_en="Test result",
                description="MS = memenuhi syarat, TMS = tidak memenuhi syarat.",
                required=True,
                allowed_values=["MS", "TMS"],
            ),
            ContractField(
                name="jumlah_sampel",
                label="Jumlah sampel",
                label_en="Packages sampled",
                description="Banyaknya kemasan yang diambil sebagai sampel.",
                type=FieldType.INTEGER,
                required=True,
                minimum=1,
                maximum=500,
            ),
            ContractField(
                name="parameter_tms",
                label="Parameter TMS",
                label_en="TMS parameter",
                description="Parameter uji yang tidak memenuhi syarat; kosong bila hasil MS.",
                max_length=100,
                level=Level.RAHASIA,
            ),
        ],
    )


def _tms() -> list[PanelFilter]:
    return [PanelFilter(field="hasil_uji", op="eq", value="TMS")]


def sampling_dashboard() -> DashboardSpec:
    """Request 1: the dashboard on the Operational Center display, owned by the food directorate."""
    return DashboardSpec(
        id=DASHBOARD_ID,
        title="Pantauan Hasil Sampling dan Pengujian",
        title_en="Sampling and Testing Results Monitor",
        description=(
            "Sampel obat dan makanan yang diuji UPT BPOM di seluruh Indonesia dan temuan produk "
            "tidak memenuhi syarat (TMS) per kategori, provinsi dan bulan."
        ),
        owner_unit="DIT-WAS-EDAR-PANGAN",
        request_id=1,
        level=Level.RAHASIA,
        audience=[Tier.KEPALA_BPOM, Tier.ESELON_1, Tier.ESELON_2, Tier.KEPALA_UPT, Tier.UNIT_STAFF,
                  Tier.PUSDATIN, Tier.WALL_SCREEN],
        datasets=[DATASET_ID],
        panels=[
            Panel(id="kpi-produk-disampling", title="Produk disampling",
                  title_en="Products sampled", kind=PanelKind.KPI,
                  dataset=DATASET_ID),
            Panel(id="kpi-produk-tms", title="Produk tidak memenuhi syarat (TMS)",
                  title_en="Products failing requirements (TMS)",
                  kind=PanelKind.KPI, dataset=DATASET_ID, filters=_tms()),
            Panel(id="tms-per-kategori", title="Temuan TMS per kategori produk",
                  title_en="TMS findings by product category",
                  kind=PanelKind.BAR, dataset=DATASET_ID, dimension="kategori_produk",
                  filters=_tms(), sort="desc"),
            Panel(id="sampel-per-bulan", title="Jumlah sampel per bulan",
                  title_en="Samples per month", kind=PanelKind.LINE,
                  dataset=DATASET_ID, dimension="tanggal_sampling", measure="jumlah_sampel",
                  aggregate=Aggregation.SUM, width=3),
            Panel(id="peta-tms-provinsi", title="Sebaran temuan TMS per provinsi",
                  title_en="TMS findings by province",
                  kind=PanelKind.MAP, dataset=DATASET_ID, dimension="kode_provinsi",
                  filters=_tms(), width=2),
            Panel(id="parameter-tms-teratas", title="10 parameter TMS terbanyak",
                  title_en="Top 10 TMS parameters",
                  kind=PanelKind.TABLE, dataset=DATASET_ID, dimension="parameter_tms",
                  filters=_tms(), sort="desc", limit=10),
            Panel(id="tms-kategori-bulan", title="Temuan TMS per kategori dan bulan",
                  title_en="TMS findings by category and month",
                  kind=PanelKind.HEATMAP, dataset=DATASET_ID, dimension="tanggal_sampling",
                  series="kategori_produk", filters=_tms(), width=3),
        ],
    )


def sampling_lifecycle() -> DashboardLifecycle:
    """Steps 6-8 of request 1's dashboard: built, its default data classified per tier (Kepala
    BPOM, Pusdatin and the wall screen see two years; Eselon I, the deputy for processed food,
    two years of processed food; a Kepala UPT the last year of the region), and on display."""
    return DashboardLifecycle(
        id=DASHBOARD_ID,
        built=True,
        classified=True,
        defaults=[
            DefaultView(tier=Tier.KEPALA_BPOM, months=24),
            DefaultView(tier=Tier.ESELON_1, months=24, filters=[
                PanelFilter(field="kategori_produk", op="in", value=["pangan-olahan"])]),
            DefaultView(tier=Tier.KEPALA_UPT, months=12),
            DefaultView(tier=Tier.PUSDATIN, months=24),
            DefaultView(tier=Tier.WALL_SCREEN, months=24),
        ],
        on_display=True,
    )


def mockup_dashboard() -> DashboardSpec:
    """Request 2: a mock-up the cosmetics directorate is reviewing (step 5), not yet built."""
    kosmetik = PanelFilter(field="kategori_produk", op="eq", value="kosmetik")
    return DashboardSpec(
        id=MOCKUP_ID,
        title="Tren Temuan Kosmetik",
        title_en="Cosmetics Findings Trend",
        description="Temuan kosmetik tidak memenuhi syarat (TMS) per bulan dan per provinsi.",
        owner_unit="DIT-WAS-KOSMETIK",
        request_id=2,
        level=Level.TERBATAS,
        datasets=[DATASET_ID],
        panels=[
            Panel(id="kpi-kosmetik-tms", title="Kosmetik TMS",
                  title_en="TMS cosmetics", kind=PanelKind.KPI,
                  dataset=DATASET_ID, filters=[kosmetik, *_tms()]),
            Panel(id="kosmetik-tms-per-bulan", title="Kosmetik TMS per bulan",
                  title_en="TMS cosmetics per month",
                  kind=PanelKind.AREA, dataset=DATASET_ID, dimension="tanggal_sampling",
                  filters=[kosmetik, *_tms()], width=2),
            Panel(id="kosmetik-tms-provinsi", title="Provinsi dengan temuan kosmetik TMS terbanyak",
                  title_en="Provinces with the most TMS cosmetics",
                  kind=PanelKind.BAR, dataset=DATASET_ID, dimension="kode_provinsi",
                  filters=[kosmetik, *_tms()], sort="desc", limit=10, width=3),
        ],
    )


def write_demo_files(project_root: Path) -> list[Path]:
    """Write the demo contract, dashboard and its steps 6-8 into ``project_root``'s
    data_contracts/, specs/ and lifecycle/, and the request-2 mock-up as
    ocenter/demo_mockup.yaml; returns the files written."""
    targets = {
        project_root / "data_contracts" / f"{DATASET_ID}.yaml": contract_to_yaml(
            sampling_contract()
        ),
        project_root / "specs" / f"{DASHBOARD_ID}.yaml": spec_to_yaml(sampling_dashboard()),
        project_root / "lifecycle" / f"{DASHBOARD_ID}.yaml": lifecycle_to_yaml(
            sampling_lifecycle()
        ),
        project_root / "ocenter" / MOCKUP_FILE.name: spec_to_yaml(mockup_dashboard()),
    }
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
