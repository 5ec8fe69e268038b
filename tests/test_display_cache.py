"""What the display keeps between page runs: each viewer gets the aggregates of their own
authority, a new data version is computed afresh, and the memory it keeps is bounded."""

from __future__ import annotations

import itertools
import threading

import pandas as pd
import pyarrow as pa
import pytest

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.demo_data import (
    DATASET_ID,
    generate_sampling_dataset,
    sampling_contract,
    sampling_dashboard,
    sampling_lifecycle,
)
from ocenter.display import cache
from ocenter.display.aggregation import VALUE_COLUMN
from ocenter.display.cache import ByteBudgetCache, DatasetView, VersionedTable
from ocenter.display.filtering import viewer_cut, viewer_rows
from ocenter.display.lifecycle import DashboardLifecycle
from ocenter.display.render import render_dashboard
from ocenter.display.spec import DashboardSpec, DefaultView, Panel, PanelFilter, PanelKind
from ocenter.verification.typed import typed_table
from tests.test_rendering import viewer as demo_viewer

UPT_A, UPT_B = "UPT-3201", "UPT-1101"


@pytest.fixture(autouse=True)
def _empty_caches():
    cache.clear()
    yield
    cache.clear()


def person(name: str, clearance: Level, scope: ScopeKind, unit: str | None = None) -> Authority:
    role = {ScopeKind.UPT: Role.KABALAI, ScopeKind.UNIT: Role.DIREKTUR}.get(scope, Role.DEPUTI)
    return Authority(username=name, role=role, clearance=clearance, scope=scope, unit_code=unit)


KABALAI_A = person("kabalai-a", Level.RAHASIA, ScopeKind.UPT, UPT_A)
KABALAI_B = person("kabalai-b", Level.RAHASIA, ScopeKind.UPT, UPT_B)
TERBATAS = person("staf", Level.TERBATAS, ScopeKind.BPOM)
RAHASIA = person("deputi", Level.RAHASIA, ScopeKind.BPOM)


@pytest.fixture
def contract() -> DataContract:
    """Findings per UPT: the finding itself is Rahasia, the dataset Terbatas."""
    return DataContract(
        id="temuan-uji", title="Temuan", owner_unit="PPPOMN", level=Level.TERBATAS,
        scope_field="kode_upt", time_field="tanggal",
        fields=[ContractField(name="kode_upt"), ContractField(name="tanggal", type=FieldType.DATE),
                ContractField(name="jumlah", type=FieldType.INTEGER),
                ContractField(name="temuan", level=Level.RAHASIA)],
    )


def planted(a_rows: int, b_rows: int, finding: str = "Merkuri") -> pa.Table:
    """``a_rows`` rows of UPT A and ``b_rows`` of UPT B, each counting 1, found ``finding``."""
    codes = [UPT_A] * a_rows + [UPT_B] * b_rows
    return pa.table({
        "kode_upt": codes,
        "tanggal": pa.array([pd.Timestamp("2026-05-10").date()] * len(codes), pa.date32()),
        "jumlah": pa.array([1] * len(codes), pa.int64()),
        "temuan": [finding] * len(codes),
    })


DASHBOARD = DashboardSpec(
    id="temuan-per-upt", title="Temuan", owner_unit="PPPOMN", level=Level.TERBATAS,
    audience=[ScopeKind.BPOM, ScopeKind.UPT], datasets=["temuan-uji"],
    panels=[
        Panel(id="kpi-jumlah", title="Jumlah", kind=PanelKind.KPI, dataset="temuan-uji",
              measure="jumlah", aggregate="sum"),
        Panel(id="per-upt", title="Per UPT", kind=PanelKind.BAR, dataset="temuan-uji",
              dimension="kode_upt"),
        Panel(id="temuan", title="Temuan", kind=PanelKind.TABLE, dataset="temuan-uji",
              dimension="temuan"),
    ],
)


def shown(viewer: Authority, contract: DataContract, table: VersionedTable, lang: str = "id") -> dict:
    rendered = render_dashboard(DASHBOARD, {"temuan-uji": contract}, {"temuan-uji": table}, viewer, lang)
    by_id = {item.panel.id: item for item in rendered}
    findings = by_id["temuan"].data
    return {
        "total": by_id["kpi-jumlah"].data.value,
        "regions": dict(zip(by_id["per-upt"].data.frame["kode_upt"],
                            by_id["per-upt"].data.frame[VALUE_COLUMN], strict=True)),
        "findings": None if findings.restricted else list(findings.frame["temuan"]),
    }


def test_heads_of_two_upt_each_get_their_own_region_in_either_order(contract):
    stored = VersionedTable(planted(3, 7), "v1")
    for first, second in ((KABALAI_A, KABALAI_B), (KABALAI_B, KABALAI_A)):
        cache.clear()
        for viewer in (first, second, first):  # the second view of each comes from the cache
            expected = 3.0 if viewer is KABALAI_A else 7.0
            seen = shown(viewer, contract, stored)
            assert seen["total"] == expected
            assert seen["regions"] == {viewer.unit_code: expected}


def test_a_terbatas_viewer_never_gets_what_a_rahasia_viewer_left_in_the_cache(contract):
    stored = VersionedTable(planted(3, 7), "v1")
    for first, second in ((RAHASIA, TERBATAS), (TERBATAS, RAHASIA)):
        cache.clear()
        for viewer in (first, second, first, second):
            seen = shown(viewer, contract, stored)
            assert seen["total"] == 10.0
            if viewer is RAHASIA:
                assert seen["findings"] == ["Merkuri"]
            else:
                assert seen["findings"] is None  # restricted, nothing of it kept for them


def test_a_new_version_of_the_data_is_computed_afresh(contract):
    assert shown(RAHASIA, contract, VersionedTable(planted(3, 7), "v1"))["total"] == 10.0
    newer = VersionedTable(planted(30, 70, finding="Boraks"), "v2")
    seen = shown(RAHASIA, contract, newer)
    assert seen["total"] == 100.0 and seen["findings"] == ["Boraks"]
    assert shown(KABALAI_B, contract, newer)["total"] == 70.0
    # The same version again is served as it was computed.
    assert shown(RAHASIA, contract, VersionedTable(planted(3, 7), "v1"))["total"] == 10.0


def test_a_changed_contract_is_computed_afresh(contract):
    stored = VersionedTable(planted(3, 7), "v1")
    assert shown(TERBATAS, contract, stored)["findings"] is None
    lowered = contract.model_copy(update={"fields": [
        *contract.fields[:3], contract.field("temuan").model_copy(update={"level": Level.TERBATAS})]})
    assert shown(TERBATAS, lowered, stored)["findings"] == ["Merkuri"]


def test_viewers_with_the_same_cut_share_and_the_language_is_drawn_apart(contract):
    stored = VersionedTable(planted(3, 7), "v1")
    shown(RAHASIA, contract, stored)
    kept = len(cache.PANEL_DATA), len(cache.DRAWN)
    twin = person("layar", Level.RAHASIA, ScopeKind.BPOM)  # another person, the same authority
    assert shown(twin, contract, stored) == shown(RAHASIA, contract, stored)
    assert (len(cache.PANEL_DATA), len(cache.DRAWN)) == kept
    english = render_dashboard(DASHBOARD, {"temuan-uji": contract}, {"temuan-uji": stored}, twin, "en")
    assert len(cache.PANEL_DATA) == kept[0] and len(cache.DRAWN) == 2 * kept[1]
    assert english[1].chart is not None


def test_the_step_7_default_is_part_of_the_cut(contract):
    stored = VersionedTable(pa.concat_tables([
        planted(3, 0),
        planted(2, 0).set_column(1, "tanggal", pa.array([pd.Timestamp("2025-01-10").date()] * 2,
                                                        pa.date32())),
    ]), "v1")
    recent = DashboardLifecycle(id=DASHBOARD.id, built=True, classified=True,
                                defaults=[DefaultView(scope=ScopeKind.UPT, months=3)])

    def total(lifecycle: DashboardLifecycle | None) -> float:
        rendered = render_dashboard(DASHBOARD, {"temuan-uji": contract}, {"temuan-uji": stored},
                                    KABALAI_A, "id", lifecycle)
        return rendered[0].data.value

    assert (total(None), total(recent), total(None)) == (5.0, 3.0, 5.0)


def test_viewers_with_equal_cuts_receive_equal_rows():
    """The key stands for the rows: viewers whose cuts are equal receive the same rows and fields,
    so a shared aggregate is theirs; every difference in authority is another cut."""
    contract = sampling_contract()
    table = pa.Table.from_pandas(generate_sampling_dataset(months=3), preserve_index=False)
    viewers = [
        Authority(username="v", role=Role.DEPUTI, clearance=level, scope=scope, unit_code=unit)
        for level, scope, unit in itertools.product(
            [Level.TERBUKA, Level.TERBATAS, Level.RAHASIA, Level.SANGAT_RAHASIA],
            [ScopeKind.BPOM, ScopeKind.UNIT, ScopeKind.UPT],
            [None, UPT_A, UPT_B])
    ] + [demo_viewer("kabalai"), demo_viewer("kepala")]
    defaults = [None, DefaultView(scope=ScopeKind.UPT, months=1),
                DefaultView(scope=ScopeKind.UPT, filters=[PanelFilter(field="hasil_uji", value="TMS")])]
    by_key: dict[str, pd.DataFrame] = {}
    for person_, default in itertools.product(viewers, defaults):
        key = viewer_cut(contract, person_, default).key
        rows = viewer_rows(contract, table, person_, default)
        if key in by_key:
            pd.testing.assert_frame_equal(rows, by_key[key])
        else:
            by_key[key] = rows
    assert len(by_key) > 10


def test_the_kept_aggregates_are_those_computed_without_the_cache():
    contract, spec, lifecycle = sampling_contract(), sampling_dashboard(), sampling_lifecycle()
    sent = pa.Table.from_pandas(generate_sampling_dataset(months=6), preserve_index=False)
    stored = typed_table(contract, sent)  # as accepted data is kept
    for viewer in (person("kepala", Level.SANGAT_RAHASIA, ScopeKind.BPOM), KABALAI_A,
                   person("direktur", Level.RAHASIA, ScopeKind.UNIT, "DIT-WAS-EDAR-PANGAN")):
        for lang in ("id", "en"):
            plain = render_dashboard(spec, {DATASET_ID: contract}, {DATASET_ID: sent}, viewer, lang,
                                     lifecycle)
            kept = [render_dashboard(spec, {DATASET_ID: contract},
                                     {DATASET_ID: VersionedTable(stored, "demo")}, viewer, lang,
                                     lifecycle) for _ in range(2)]
            for one, *others in zip(plain, *kept, strict=True):
                for other in others:
                    assert other.panel == one.panel and other.message == one.message
                    assert other.value_text == one.value_text
                    pd.testing.assert_frame_equal(other.data.frame, one.data.frame,
                                                  check_dtype=False)
                    assert (other.chart is None) == (one.chart is None)
                    if one.chart is not None:
                        assert other.chart.to_dict() == one.chart.to_dict()


def test_the_panels_own_title_is_shown_with_a_kept_aggregate(contract):
    stored = VersionedTable(planted(3, 7), "v1")
    shown(RAHASIA, contract, stored)
    renamed = DASHBOARD.model_copy(update={"panels": [
        DASHBOARD.panels[0].model_copy(update={"title": "Jumlah sampel", "width": 3}),
        *DASHBOARD.panels[1:]]})
    item = render_dashboard(renamed, {"temuan-uji": contract}, {"temuan-uji": stored}, RAHASIA, "id")[0]
    assert (item.panel.title, item.panel.width, item.data.value) == ("Jumlah sampel", 3, 10.0)


def test_a_stored_file_is_parsed_only_in_the_columns_a_dashboard_reads(demo_ctx, as_user):
    from ocenter import procedure
    from ocenter.verification.datasets import open_dataset

    main = demo_ctx.store.snapshot("main")
    spec = main.specs["pantauan-sampling-pengujian"]
    build = procedure.latest_versions(demo_ctx)[DATASET_ID]
    stored = open_dataset(demo_ctx.home, DATASET_ID, build.sha256, file_sha256=build.file_sha256)
    kepala = as_user("kepala")
    kept = render_dashboard(spec, main.contracts, {DATASET_ID: VersionedTable(stored, "demo")},
                            kepala, "id", main.lifecycle_of(spec.id))
    plain = render_dashboard(spec, main.contracts, {DATASET_ID: stored.read()}, kepala, "id",
                             main.lifecycle_of(spec.id))
    assert [p.data.value for p in kept] == [p.data.value for p in plain]
    typed = {key[-1] for key in cache.TYPED_COLUMNS.in_order()}
    assert typed == {n for p in spec.panels for n in p.fields_used()}  # no names, no sample ids


def test_a_tile_counts_a_late_sender_once_its_file_is_accepted(demo_ctx, as_user):
    from ocenter.procedure.data_integration import data_status
    from tests.test_integration import as_csv, integrated, send_and_accept

    before = data_status(demo_ctx, [DATASET_ID])[DATASET_ID]
    assert data_status(demo_ctx, [DATASET_ID])[DATASET_ID] is before  # nothing new: kept
    frame = integrated(demo_ctx)
    newest = sorted(frame["month"].unique())[-1]
    late = sorted(set(frame["kode_upt"]) - set(frame.loc[frame["month"] == newest, "kode_upt"]))[0]
    rows = frame[frame["kode_upt"] == late].tail(2).copy()
    rows["tanggal_sampling"] = f"{newest}-01"
    rows["id_sampel"] = ["S-2099-000001", "S-2099-000002"]
    send_and_accept(demo_ctx, as_user("pppomn"), as_user("verifikator"), as_csv(rows))
    after = data_status(demo_ctx, [DATASET_ID])[DATASET_ID]
    assert (after.period, after.reported) == (before.period, before.reported + 1)


# --- the bounded cache itself -------------------------------------------------------------------


def test_the_cache_keeps_no_more_bytes_than_its_budget_dropping_the_least_recently_used():
    kept = ByteBudgetCache(max_bytes=1000)
    for key in "abc":
        kept.get_or_compute(key, lambda key=key: key * 400, len)
    assert kept.bytes <= 1000 and len(kept) == 2 and "a" not in kept
    kept.get_or_compute("b", lambda: pytest.fail("b is kept"), len)  # b is now the most recent
    kept.get_or_compute("d", lambda: "d" * 400, len)
    assert kept.in_order() == ["b", "d"] and kept.bytes == 800
    assert kept.get_or_compute("huge", lambda: "x" * 1001, len) == "x" * 1001
    assert "huge" not in kept and kept.bytes == 800  # a value over the budget is never kept
    kept.clear()
    assert len(kept) == 0 and kept.bytes == 0


def test_the_process_caches_are_bounded():
    for each in (cache.TYPED_COLUMNS, cache.PANEL_DATA, cache.DRAWN):
        assert 0 < each.max_bytes <= 2 * 1024**3


def test_a_failed_computation_keeps_nothing_and_is_tried_again():
    kept = ByteBudgetCache(max_bytes=100)

    def broken() -> str:
        raise OSError("disk")

    with pytest.raises(OSError):
        kept.get_or_compute("k", broken, len)
    assert len(kept) == 0 and kept.get_or_compute("k", lambda: "v", len) == "v"


def test_sessions_asking_together_compute_once():
    kept: ByteBudgetCache[str] = ByteBudgetCache(max_bytes=100)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait()
        return "value"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(kept.get_or_compute("k", slow, len)))
    first.start()
    started.wait()
    others = [threading.Thread(target=lambda: results.append(kept.get_or_compute("k", slow, len)))
              for _ in range(5)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join()
    assert results == ["value"] * 6 and calls == [1]


def test_a_dataset_view_of_a_plain_table_keeps_nothing(contract):
    view = DatasetView(contract, planted(3, 7), viewer_cut(contract, RAHASIA, None))
    assert view.key(DASHBOARD.panels[0]) is None
    assert view.panel(DASHBOARD.panels[0]).value == 10.0
    assert len(cache.PANEL_DATA) == 0 and len(cache.TYPED_COLUMNS) == 0
