"""Step 7's form (Klasifikasi Data Bawaan) as the analyst fills it: which fields it offers, what
it shows of a saved default, and the default it saves, where a filter left as it was is kept
exactly as saved (so saving an unchanged form records nothing new)."""

from __future__ import annotations

import pytest

from ocenter.accounts.levels import Level, Tier
from ocenter.bootstrap import DEMO_DASHBOARD
from ocenter.display.spec import DefaultView, PanelFilter
from ocenter.procedure.dashboard_build import (
    FilterChoice,
    default_form,
    default_from_form,
    field_level,
    filter_choices,
)
from ocenter.reference import reference_rows

CATEGORY = FilterChoice(field="kategori_produk", label="Kategori produk", level=Level.TERBATAS,
                        options={"PANGAN": "Pangan Olahan", "OBAT": "Obat"})
RESULT = FilterChoice(field="hasil_uji", label="Hasil uji", level=Level.TERBATAS,
                      options={"MS": "MS", "TMS": "TMS"})
CHOICES = [CATEGORY, RESULT]


def test_the_form_offers_each_field_with_a_closed_list_once_in_dataset_order(demo_ctx):
    main = demo_ctx.store.snapshot("main")
    spec = main.specs[DEMO_DASHBOARD]
    contract = main.contracts["sampling-pengujian"]
    choices = filter_choices(spec, main.contracts, "id")
    closed = [f for f in contract.fields if f.allowed_values or f.reference]
    assert [c.field for c in choices] == [f.name for f in closed]
    provinces = {row["code"]: row["name"] for row in reference_rows("provinsi")}
    by_field = {c.field: c for c in choices}
    assert by_field["kode_provinsi"].options == dict(sorted(provinces.items()))
    assert by_field["kode_provinsi"].label == "Provinsi"
    assert by_field["hasil_uji"].options == {v: v for v in contract.field("hasil_uji").allowed_values}
    for choice in choices:
        assert choice.level == field_level(spec, main.contracts, choice.field)
    # An analyst working in English reads the fields' English labels.
    english = {c.field: c.label for c in filter_choices(spec, main.contracts, "en")}
    assert (english["kode_provinsi"], english["kategori_produk"]) == ("Province", "Product category")


def test_a_default_is_kept_by_tier_and_an_old_scope_default_is_never_written_again(demo_ctx, as_user):
    from ocenter import procedure
    from ocenter.accounts.levels import ScopeKind

    old_record = DefaultView(scope=ScopeKind.UPT, months=3)  # as records made before tiers read
    with pytest.raises(ValueError, match="step 7 keeps each default by its tier, never by scope"):
        procedure.classify_defaults(demo_ctx, as_user("analis"), 1, [old_record])


def test_an_empty_form_for_a_tier_without_a_default():
    assert default_form(None, CHOICES) == (0, {}, [])


def test_the_form_shows_the_first_text_filter_of_each_offered_field_and_keeps_the_rest():
    shown = PanelFilter(field="kategori_produk", op="in", value=["PANGAN", "OBAT"])
    one = PanelFilter(field="hasil_uji", op="eq", value="TMS")
    second = PanelFilter(field="kategori_produk", op="eq", value="OBAT")  # the form shows one
    other = PanelFilter(field="kode_upt", op="eq", value="UPT-3201")  # not offered
    numeric = PanelFilter(field="hasil_uji", op="gte", value=2)  # not "one of"
    view = DefaultView(tier=Tier.ESELON_1, months=6, filters=[shown, other, one, second, numeric])
    months, values, kept = default_form(view, CHOICES)
    assert months == 6
    assert values == {"kategori_produk": ["PANGAN", "OBAT"], "hasil_uji": ["TMS"]}
    assert kept == [other, second, numeric]
    numbers = DefaultView(tier=Tier.ESELON_1, filters=[PanelFilter(field="hasil_uji", op="eq", value=2.0)])
    assert default_form(numbers, CHOICES) == (0, {}, numbers.filters)  # not text: no widget


def test_an_unchanged_form_saves_the_very_filters_that_were_saved():
    kept = PanelFilter(field="kode_upt", op="eq", value="UPT-3201")
    shown = PanelFilter(field="kategori_produk", op="eq", value="PANGAN")
    saved = DefaultView(tier=Tier.ESELON_1, months=12, filters=[kept, shown])
    again = default_from_form(Tier.ESELON_1, 12, {"kategori_produk": ["PANGAN"]}, saved, CHOICES)
    assert again == saved
    assert again.filters[0] is kept and again.filters[1] is shown


@pytest.mark.parametrize(("months", "chosen", "filters"), [
    # A changed value replaces the filter in its place, as "one of".
    (0, {"kategori_produk": ["OBAT", "PANGAN"]},
     [PanelFilter(field="kode_upt", op="eq", value="UPT-3201"),
      PanelFilter(field="kategori_produk", op="in", value=["OBAT", "PANGAN"])]),
    # A value cleared drops the filter; a newly chosen field is added after the saved ones.
    (3, {"kategori_produk": [], "hasil_uji": ["TMS"]},
     [PanelFilter(field="kode_upt", op="eq", value="UPT-3201"),
      PanelFilter(field="hasil_uji", op="in", value=["TMS"])]),
])
def test_the_form_saves_what_the_analyst_changed(months, chosen, filters):
    saved = DefaultView(tier=Tier.KEPALA_UPT, filters=[
        PanelFilter(field="kode_upt", op="eq", value="UPT-3201"),
        PanelFilter(field="kategori_produk", op="eq", value="PANGAN")])
    made = default_from_form(Tier.KEPALA_UPT, months, chosen, saved, CHOICES)
    assert made == DefaultView(tier=Tier.KEPALA_UPT, months=months or None, filters=filters)


def test_a_form_that_narrows_nothing_is_no_default_and_months_alone_are_one():
    assert default_from_form(Tier.ESELON_2, 0, {}, None, CHOICES) is None
    assert default_from_form(Tier.ESELON_2, 0, {"hasil_uji": []}, None, CHOICES) is None
    assert default_from_form(Tier.ESELON_2, 24, {}, None, CHOICES) == DefaultView(
        tier=Tier.ESELON_2, months=24)
    cleared = DefaultView(tier=Tier.ESELON_2, filters=[
        PanelFilter(field="hasil_uji", op="eq", value="TMS")])
    assert default_from_form(Tier.ESELON_2, 0, {"hasil_uji": []}, cleared, CHOICES) is None
