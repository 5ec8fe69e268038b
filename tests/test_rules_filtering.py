"""The step-7 default data of a dashboard: the period and the filters a group of stakeholders
gets, applied on the server to typed values, failing closed on a value that cannot be compared."""

from __future__ import annotations

import pandas as pd
import pytest

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.display.filtering import viewer_rows
from ocenter.display.spec import DefaultView, PanelFilter

KEPALA = Authority(username="kepala", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA,
                   scope=ScopeKind.BPOM)


@pytest.fixture(scope="module")
def contract() -> DataContract:
    return DataContract(
        id="uji-contoh", title="Uji contoh", owner_unit="PPPOMN", level=Level.TERBATAS,
        time_field="tanggal", decimal_separator=",", missing_values=["", "NA"],
        fields=[
            ContractField(name="kode", type=FieldType.STRING),
            ContractField(name="tanggal", type=FieldType.DATE),
            ContractField(name="jumlah", type=FieldType.NUMBER),
            ContractField(name="memenuhi", type=FieldType.BOOLEAN),
        ],
    )


@pytest.fixture(scope="module")
def sent() -> pd.DataFrame:
    """Six months of rows as a sender writes them: text, decimal commas, one missing number."""
    return pd.DataFrame({
        "kode": ["1", "2", "3", "4", "5", "6", "7"],
        "tanggal": ["2026-01-15", "2026-02-10", "2026-03-31", "2026-04-01", "2026-05-20",
                    "2026-06-30", "2026-06-01"],
        "jumlah": ["1,5", "2", "2,5", "3", "4", "NA", "5"],
        "memenuhi": ["ya", "tidak", "Ya", "no", "true", "0", "y"],
    })


def codes(contract, sent, *filters: PanelFilter, months: int | None = None) -> list[str]:  # noqa: ANN001
    default = DefaultView(scope=ScopeKind.BPOM, filters=list(filters), months=months)
    return viewer_rows(contract, sent, KEPALA, default)["kode"].tolist()


@pytest.mark.parametrize(("months", "expected"), [
    (1, ["6", "7"]),  # June, the latest month in the data
    (3, ["4", "5", "6", "7"]),  # April to June: 1 April counts, 31 March does not
    (6, ["1", "2", "3", "4", "5", "6", "7"]),
])
def test_the_months_window_counts_back_whole_months_from_the_latest(contract, sent, months, expected):
    assert codes(contract, sent, months=months) == expected


@pytest.mark.parametrize(("flt", "expected"), [
    (PanelFilter(field="jumlah", op="gte", value="2,5"), ["3", "4", "5", "7"]),
    (PanelFilter(field="jumlah", op="lte", value="2,5"), ["1", "2", "3"]),
    (PanelFilter(field="jumlah", op="eq", value=2.5), ["3"]),
    (PanelFilter(field="jumlah", op="in", value=["2", "4"]), ["2", "5"]),
    # A missing number passes no condition, not even "not equal".
    (PanelFilter(field="jumlah", op="ne", value="2"), ["1", "3", "4", "5", "7"]),
    (PanelFilter(field="kode", op="ne", value=["1", "2", "3"]), ["4", "5", "6", "7"]),
    (PanelFilter(field="kode", value=5.0), ["5"]),  # a whole number written as a number
    (PanelFilter(field="tanggal", op="gte", value="2026-06-01"), ["6", "7"]),
    (PanelFilter(field="tanggal", op="lte", value="2026-02-10"), ["1", "2"]),
    (PanelFilter(field="memenuhi", value=" YA "), ["1", "3", "5", "7"]),
    (PanelFilter(field="memenuhi", value="Tidak"), ["2", "4", "6"]),
])
def test_default_filters_compare_typed_values(contract, sent, flt, expected):
    assert codes(contract, sent, flt) == expected


@pytest.mark.parametrize("flt", [
    PanelFilter(field="jumlah", value="banyak"),
    PanelFilter(field="tanggal", op="gte", value="bukan-tanggal"),
    PanelFilter(field="memenuhi", value="mungkin"),
    PanelFilter(field="jumlah", op="in", value=["x", "y"]),
])
def test_a_filter_value_that_cannot_be_compared_matches_nothing(contract, sent, flt):
    assert codes(contract, sent, flt) == []


def test_filters_and_the_window_combine(contract, sent):
    kept = codes(contract, sent, PanelFilter(field="memenuhi", value="ya"),
                 PanelFilter(field="jumlah", op="gte", value="4"), months=3)
    assert kept == ["5", "7"]


@pytest.fixture(scope="module")
def timed() -> DataContract:
    return DataContract(
        id="uji-waktu", title="Uji waktu", owner_unit="PPPOMN", time_field="waktu",
        fields=[ContractField(name="kode"), ContractField(name="waktu", type=FieldType.DATETIME),
                ContractField(name="tanggal", type=FieldType.DATE)],
    )


def typed(contract, rows: dict, months: int | None = None) -> pd.DataFrame:  # noqa: ANN001
    default = DefaultView(scope=ScopeKind.BPOM, months=months) if months else None
    return viewer_rows(contract, pd.DataFrame(rows), KEPALA, default)


def test_times_with_offsets_are_read_as_the_wall_clock_in_jakarta(timed):
    rows = {"kode": ["1", "2", "3"],
            "waktu": ["2026-06-30T20:00:00+00:00", "2026-06-30T10:00:00+07:00", "2026-05-31T18:00:00Z"],
            "tanggal": ["2026-06-30", "30/06/2026", ""]}
    frame = typed(timed, rows)
    assert frame["waktu"].tolist() == [pd.Timestamp("2026-07-01 03:00"), pd.Timestamp("2026-06-30 10:00"),
                                       pd.Timestamp("2026-06-01 01:00")]
    # A date is read only as YYYY-MM-DD; anything else is missing, never guessed.
    assert frame["tanggal"].iloc[0] == pd.Timestamp("2026-06-30")
    assert frame["tanggal"].iloc[1:].isna().all()
    # 20:00 UTC on 30 June is already July in Jakarta: the latest month is July.
    assert typed(timed, rows, months=1)["kode"].tolist() == ["1"]


def test_times_in_one_offset_and_without_one(timed):
    same_offset = typed(timed, {"kode": ["1", "2"], "tanggal": ["", ""],
                                "waktu": ["2026-06-30T20:00:00Z", "2026-06-01T00:00:00Z"]})
    assert same_offset["waktu"].tolist() == [pd.Timestamp("2026-07-01 03:00"),
                                             pd.Timestamp("2026-06-01 07:00")]
    naive = typed(timed, {"kode": ["1", "2"], "waktu": ["2026-06-30T20:00:00", "bukan waktu"],
                          "tanggal": ["", ""]})
    assert naive["waktu"].iloc[0] == pd.Timestamp("2026-06-30 20:00") and pd.isna(naive["waktu"].iloc[1])


def test_a_grant_scope_viewer_sees_only_granted_dashboards_even_within_clearance():
    from ocenter.display.filtering import can_view
    from ocenter.display.spec import DashboardSpec

    tamu = Authority(username="tamu", role=Role.TAMU, clearance=Level.RAHASIA, scope=ScopeKind.GRANT,
                     grants=["ringkasan-publik"])
    everyone = [ScopeKind.BPOM, ScopeKind.UNIT, ScopeKind.UPT, ScopeKind.GRANT]
    open_to_all = DashboardSpec(id="terbuka-umum", title="t", owner_unit="PUSDATIN", level=Level.TERBUKA,
                                audience=everyone)
    granted = open_to_all.model_copy(update={"id": "ringkasan-publik"})
    assert not can_view(tamu, open_to_all)
    assert can_view(tamu, granted)


def test_a_viewer_receives_the_contracts_fields_and_nothing_else(contract, sent):
    default = DefaultView(scope=ScopeKind.BPOM, filters=[PanelFilter(field="kode", op="ne", value="1")])
    rows = viewer_rows(contract, sent.assign(rahasia_lain="x"), KEPALA, default)
    assert list(rows.columns) == ["kode", "tanggal", "jumlah", "memenuhi"]
    assert list(rows.index) == list(range(6))


def test_every_row_is_read_by_the_same_rule_not_by_a_guess_from_the_first(timed):
    frame = typed(timed, {"kode": ["1", "2", "3"], "tanggal": ["30/06/2026", "2026-06-30", ""],
                          "waktu": ["2026-06-30T20:00:00", "2026-06-30 21:00:00", "2026-06-30T22:00"]})
    assert frame["tanggal"].isna().tolist() == [True, False, True]
    assert frame["waktu"].dt.hour.tolist() == [20, 21, 22]


def test_cells_are_typed_as_the_contract_says_and_unknown_words_are_missing(contract):
    from ocenter.display.filtering import display_table

    sent = pd.DataFrame({"kode": ["1", "2", "3"], "jumlah": ["2", "3", "NA"],
                         "memenuhi": ["ya", "mungkin", "TIDAK"]})
    table = display_table(contract, sent).to_pydict()
    assert table["memenuhi"] == [True, None, False]  # "mungkin" is neither: missing, not False
    assert table["jumlah"] == [2.0, 3.0, None]  # a number field stays a number, whole or not
    assert str(display_table(contract, sent).schema.field("jumlah").type) == "double"
    counted = DataContract(**{**contract.model_dump(), "time_field": None, "fields": [
        ContractField(name="kode", type=FieldType.INTEGER)]})
    assert str(display_table(counted, sent[["kode"]]).schema.field("kode").type) == "int64"


def test_a_stored_number_column_shows_nan_as_missing_and_no_field_keeps_every_row(contract):
    import pyarrow as pa

    from ocenter.display.filtering import display_table

    stored = pa.table({"jumlah": pa.array([1.5, float("nan"), 3.0]), "lain": ["a", "b", "c"]})
    assert display_table(contract, stored).column("jumlah").to_pylist() == [1.5, None, 3.0]
    assert display_table(contract, stored).column_names == ["jumlah"]  # "lain" is not in it
    unknown = pa.table({"lain": ["a", "b", "c", "d"]})
    none = display_table(contract, unknown)
    assert (none.num_rows, none.num_columns) == (4, 0)
    assert display_table(contract, unknown.to_pandas()).num_rows == 4


def test_a_months_window_keeps_no_undated_row_and_fails_closed_on_a_time_it_cannot_measure(timed):
    rows = {"kode": ["1", "2", "3"], "waktu": ["2026-06-30T10:00:00", "", "2026-06-02T08:00:00"],
            "tanggal": ["", "", ""]}
    assert typed(timed, rows, months=1)["kode"].tolist() == ["1", "3"]  # the undated row is out
    unreadable = {"kode": ["1", "2"], "waktu": ["kemarin", ""], "tanggal": ["", ""]}
    assert typed(timed, unreadable, months=3)["kode"].tolist() == ["1", "2"]  # no time at all: no window
    as_text = DataContract(**{**timed.model_dump(), "fields": [
        ContractField(name="kode"), ContractField(name="waktu"), ContractField(name="tanggal")]})
    assert typed(as_text, rows, months=3).empty  # a window that cannot be measured: fail closed
