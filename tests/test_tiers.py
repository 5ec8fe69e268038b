"""Stakeholder tiers as the SOP names them: each user's tier, each tier's ceiling, step 7's
default data per tier (records kept by scope still read as they were meant), the refusal of a
default filter above a tier's ceiling, the audience carried from the request form to step 7,
and the notice that tells a viewer their default narrows what they see."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier, audience_tiers, tier_of
from ocenter.demo_data import (
    DATASET_ID,
    generate_sampling_dataset,
    sampling_contract,
    sampling_dashboard,
    sampling_lifecycle,
)
from ocenter.display.filtering import can_view
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_from_yaml
from ocenter.display.render import default_notice, render_dashboard, viewer_default
from ocenter.display.spec import DashboardSpec, DefaultView, PanelFilter, spec_from_yaml, spec_to_yaml
from ocenter.errors import UserError
from ocenter.i18n import catalogue, t
from ocenter.models import DashboardRequest
from tests.test_refusals import _state as stored_state

T = Tier
UPT_BANDUNG = "UPT-3201"

#: Each role's tier, written out from the SOP's stakeholders (DOMAIN.md, "Who takes part").
TIER_OF_ROLE = {
    Role.KEPALA: T.KEPALA_BPOM,
    Role.DEPUTI: T.ESELON_1,
    Role.DIREKTUR: T.ESELON_2,
    Role.KABALAI: T.KEPALA_UPT,
    Role.UNIT: T.UNIT_STAFF,
    Role.UPT: T.UNIT_STAFF,  # staff of a UPT are staff of a work unit too
    Role.ANALIS: T.PUSDATIN,
    Role.VERIFIKATOR: T.PUSDATIN,
    Role.ADMIN: T.PUSDATIN,  # the application's administrators work in Pusdatin
    Role.TAMU: T.AUTHORISED_PARTY,
    Role.MITRA: T.AUTHORISED_PARTY,  # another agency sees only what is granted to it
    Role.LAYAR: T.WALL_SCREEN,
}

#: Each tier's ceiling, from the demo users (README, "Demo users").
CEILING = {
    T.KEPALA_BPOM: Level.SANGAT_RAHASIA,
    T.ESELON_1: Level.RAHASIA,
    T.ESELON_2: Level.RAHASIA,
    T.KEPALA_UPT: Level.RAHASIA,
    T.UNIT_STAFF: Level.TERBATAS,
    T.PUSDATIN: Level.RAHASIA,
    T.AUTHORISED_PARTY: Level.TERBATAS,
    T.WALL_SCREEN: Level.RAHASIA,
}


def person(role: Role, scope: ScopeKind, clearance: Level = Level.RAHASIA, unit: str | None = None,
           **more: object) -> Authority:
    return Authority(username=role.value, role=role, clearance=clearance, scope=scope, unit_code=unit,
                     **more)


KEPALA = person(Role.KEPALA, ScopeKind.BPOM, Level.SANGAT_RAHASIA)
DEPUTI = person(Role.DEPUTI, ScopeKind.BPOM)
DIREKTUR = person(Role.DIREKTUR, ScopeKind.UNIT, unit="DIT-WAS-EDAR-PANGAN")
KABALAI = person(Role.KABALAI, ScopeKind.UPT, unit=UPT_BANDUNG)
STAF_PUSAT = person(Role.UNIT, ScopeKind.UNIT, Level.TERBATAS, unit="DIT-WAS-KOSMETIK")
STAF_UPT = person(Role.UPT, ScopeKind.UPT, Level.TERBATAS, unit=UPT_BANDUNG)


# --- tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_its_tier(role: Role) -> None:
    assert tier_of(role) == TIER_OF_ROLE[role]
    assert person(role, ScopeKind.BPOM).tier == TIER_OF_ROLE[role]


def test_every_tier_has_a_ceiling_a_usual_scope_and_a_name_in_both_languages() -> None:
    assert {tier: tier.ceiling for tier in Tier} == CEILING
    assert {tier for tier in Tier if tier.usual_scope == ScopeKind.BPOM} == {
        T.KEPALA_BPOM, T.ESELON_1, T.PUSDATIN, T.WALL_SCREEN}
    assert T.KEPALA_UPT.usual_scope == ScopeKind.UPT
    assert T.AUTHORISED_PARTY.usual_scope == ScopeKind.GRANT
    for tier in Tier:
        assert set(catalogue()[f"tier.{tier.value}"]) == {"id", "en"}
    assert t("tier.eselon_1", "id") == "Eselon I" and t("tier.eselon_1", "en") == "Echelon I"


def test_old_audience_words_read_as_tiers() -> None:
    # The request form's words before tiers.
    assert audience_tiers(["kepala", "eselon1", "eselon2", "upt", "tamu"]) == [
        T.KEPALA_BPOM, T.ESELON_1, T.ESELON_2, T.KEPALA_UPT, T.AUTHORISED_PARTY]
    # A spec's scopes before tiers: each stands for the tiers whose usual scope it is.
    assert audience_tiers(["bpom", "unit", "upt", "grant"]) == [
        T.KEPALA_BPOM, T.ESELON_1, T.PUSDATIN, T.WALL_SCREEN, T.ESELON_2, T.UNIT_STAFF,
        T.KEPALA_UPT, T.AUTHORISED_PARTY]
    assert audience_tiers(["eselon_1", "kepala", "kepala_bpom"]) == [T.ESELON_1, T.KEPALA_BPOM]
    with pytest.raises(ValueError, match="direksi"):
        audience_tiers(["direksi"])


def test_a_spec_written_with_scopes_reads_as_tiers_and_is_written_with_tiers() -> None:
    old = spec_to_yaml(sampling_dashboard()).replace(
        "audience:\n" + "".join(f"- {tier}\n" for tier in sampling_dashboard().audience),
        "audience:\n- bpom\n- unit\n- upt\n")
    assert "- bpom" in old
    spec = spec_from_yaml(old)
    assert spec.audience == audience_tiers(["bpom", "unit", "upt"])
    assert "- kepala_upt" in spec_to_yaml(spec) and "- bpom" not in spec_to_yaml(spec)


def _spec(audience: list[str], owner: str = "PUSDATIN") -> DashboardSpec:
    return DashboardSpec(id="uji-audiens", title="t", owner_unit=owner, level=Level.TERBATAS,
                         audience=audience)


@pytest.mark.parametrize(("audience", "who"), [
    # Scopes as stored before tiers: who saw the dashboard then sees it now.
    (["bpom"], {"kepala", "deputi"}),
    (["bpom", "unit"], {"kepala", "deputi", "direktur", "staf-pusat"}),
    (["bpom", "unit", "upt"], {"kepala", "deputi", "direktur", "staf-pusat", "kabalai", "staf-upt"}),
    # Tiers: a UPT region sees it when Kepala UPT are named, its staff when unit staff are too.
    (["kepala_upt"], {"kepala", "deputi", "kabalai"}),
    (["unit_staff"], {"kepala", "deputi", "staf-pusat"}),
    (["eselon_2"], {"kepala", "deputi", "direktur"}),
])
def test_the_audience_names_who_of_units_and_regions_may_open_a_dashboard(audience, who) -> None:
    people = {"kepala": KEPALA, "deputi": DEPUTI, "direktur": DIREKTUR, "kabalai": KABALAI,
              "staf-pusat": STAF_PUSAT, "staf-upt": STAF_UPT}
    assert {name for name, viewer in people.items() if can_view(viewer, _spec(audience))} == who
    # The owning unit always sees its own dashboard.
    assert can_view(STAF_PUSAT, _spec(["kepala_upt"], owner="DIT-WAS-KOSMETIK"))


# --- step 7's defaults per tier ---------------------------------------------------------------


OLD_RECORD = """id: pantauan-sampling-pengujian
built: true
classified: true
defaults:
- scope: upt
  months: 12
- scope: bpom
  months: 24
on_display: true
"""


def test_a_record_kept_by_scope_reads_as_it_was_meant() -> None:
    old = lifecycle_from_yaml(OLD_RECORD)
    # Every viewer gets the default of their scope, whatever their tier...
    assert viewer_default(old, KEPALA).months == 24
    assert viewer_default(old, DEPUTI).months == 24
    assert viewer_default(old, KABALAI).months == 12
    assert viewer_default(old, STAF_UPT).months == 12  # a UPT's staff as before
    assert viewer_default(old, DIREKTUR) is None
    # ...and step 7 shows (and saves) it as one default per tier, from each tier's usual scope.
    by_tier = old.defaults_by_tier()
    assert {tier: view.months for tier, view in by_tier.items()} == {
        T.KEPALA_BPOM: 24, T.ESELON_1: 24, T.PUSDATIN: 24, T.WALL_SCREEN: 24, T.KEPALA_UPT: 12}
    assert all(view.tier == tier and view.scope is None for tier, view in by_tier.items())


def test_a_tiers_own_default_wins_over_one_kept_by_scope() -> None:
    mixed = lifecycle_from_yaml(OLD_RECORD.replace(
        "on_display", "- tier: eselon_1\n  months: 6\non_display"))
    assert viewer_default(mixed, DEPUTI).months == 6
    assert viewer_default(mixed, KEPALA).months == 24


def test_a_record_gives_each_tier_one_default_at_most() -> None:
    with pytest.raises(ValueError, match="more than one default for eselon_1"):
        DashboardLifecycle(id="a-b", defaults=[DefaultView(tier=T.ESELON_1, months=1),
                                               DefaultView(tier=T.ESELON_1, months=2)])
    with pytest.raises(ValueError, match="either its tier"):
        DefaultView(tier=T.ESELON_1, scope=ScopeKind.BPOM)
    with pytest.raises(ValueError, match="either its tier"):
        DefaultView(months=3)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return pa.Table.from_pandas(generate_sampling_dataset(), preserve_index=False)


def _categories(viewer: Authority, table: pa.Table, lifecycle: DashboardLifecycle | None) -> set[str]:
    rendered = render_dashboard(sampling_dashboard(), {DATASET_ID: sampling_contract()},
                                {DATASET_ID: table}, viewer, "id", lifecycle)
    [by_category] = [r for r in rendered if r.panel.id == "tms-per-kategori"]
    return set(by_category.data.frame["kategori_produk"])


def test_kepala_and_eselon_i_get_their_own_default_on_the_same_dashboard(table) -> None:
    lifecycle = sampling_lifecycle()  # Eselon I: processed food only; Kepala BPOM: everything
    assert _categories(DEPUTI, table, lifecycle) == {"pangan-olahan"}
    assert len(_categories(KEPALA, table, lifecycle)) > 1
    assert len(_categories(DEPUTI, table, None)) > 1  # a mock-up has no defaults


# --- the notice -------------------------------------------------------------------------------


def _notice(viewer: Authority, lifecycle: DashboardLifecycle, lang: str = "id") -> str | None:
    return default_notice(sampling_dashboard(), {DATASET_ID: sampling_contract()}, viewer,
                          viewer_default(lifecycle, viewer), lang)


def test_a_narrowed_viewer_is_told_what_their_default_shows() -> None:
    lifecycle = sampling_lifecycle()
    assert _notice(DEPUTI, lifecycle) == \
        "Tampilan bawaan: hanya Kategori produk: Pangan Olahan (24 bulan terakhir)"
    assert _notice(DEPUTI, lifecycle, "en") == \
        "Default view: only Product category: Processed food (the latest 24 months)"
    assert _notice(KEPALA, lifecycle) == "Tampilan bawaan: 24 bulan terakhir"
    # Eselon II have no default: nothing is said.
    assert _notice(DIREKTUR, lifecycle) is None
    assert _notice(DIREKTUR, DashboardLifecycle(id=lifecycle.id, defaults=[
        DefaultView(tier=T.ESELON_2)])) is None


def test_the_notice_names_only_fields_the_viewer_may_see() -> None:
    hidden = DashboardLifecycle(id=DATASET_ID, defaults=[DefaultView(tier=T.KEPALA_UPT, filters=[
        PanelFilter(field="hasil_uji", value="TMS"),
        PanelFilter(field="parameter_tms", op="ne", value="Merkuri"),
    ])])
    terbatas = KABALAI.model_copy(update={"clearance": Level.TERBATAS})
    told = _notice(terbatas, hidden)
    assert told == "Tampilan bawaan: hanya Hasil uji: TMS; syarat lain"
    assert "Merkuri" not in told and "Parameter" not in told
    assert _notice(KABALAI, hidden) == \
        "Tampilan bawaan: hanya Hasil uji: TMS; Parameter TMS selain Merkuri"


# --- step 7 through the use case ---------------------------------------------------------------


@pytest.fixture
def built(demo_ctx, as_user) -> int:
    """Request 2, approved by its unit and built: waiting for step 7."""
    procedure.approve_mockup(demo_ctx, as_user("unit"), 2,
                             demo_ctx.store.head(demo_ctx.store.mockup_branch(2)))
    procedure.build_dashboard(demo_ctx, as_user("analis"), 2)
    return 2


@pytest.mark.parametrize("tier", [T.UNIT_STAFF, T.AUTHORISED_PARTY])
def test_a_default_filter_above_the_tiers_ceiling_is_refused(demo_ctx, as_user, built, tier):
    before = stored_state(demo_ctx)
    above = [DefaultView(tier=T.KEPALA_BPOM, months=24),
             DefaultView(tier=tier, filters=[PanelFilter(field="parameter_tms", op="ne", value="x")])]
    with pytest.raises(UserError) as refused:
        procedure.classify_defaults(demo_ctx, as_user("analis"), built, above)
    assert refused.value.key == "classify.above_tier"
    assert refused.value.params["field"] == "parameter_tms"
    assert refused.value.params["tier"] == f"tier.{tier.value}"
    # Said in the reader's language: the field, its level, the tier and the tier's ceiling.
    assert refused.value.text("id") == t("classify.above_tier", "id", field="parameter_tms",
                                         level="Rahasia", tier=t(f"tier.{tier.value}", "id"),
                                         ceiling="Terbatas")
    assert t(f"tier.{tier.value}", "en") in refused.value.text("en") and "Secret" in str(refused.value)
    assert stored_state(demo_ctx) == before


def test_a_default_filter_on_a_field_the_dashboard_does_not_read_is_refused(demo_ctx, as_user, built):
    before = stored_state(demo_ctx)
    with pytest.raises(UserError) as refused:
        procedure.classify_defaults(demo_ctx, as_user("analis"), built, [
            DefaultView(tier=T.ESELON_1, filters=[PanelFilter(field="nik_petugas", value="1")])])
    assert (refused.value.key, refused.value.params) == ("classify.field_unknown",
                                                         {"field": "nik_petugas"})
    assert stored_state(demo_ctx) == before


def test_a_filter_within_the_ceiling_is_kept_per_tier(demo_ctx, as_user, built):
    rahasia = PanelFilter(field="parameter_tms", op="ne", value="Merkuri")
    procedure.classify_defaults(demo_ctx, as_user("analis"), built, [
        DefaultView(tier=T.ESELON_1, filters=[rahasia]), DefaultView(tier=T.KEPALA_BPOM, months=6)])
    main = demo_ctx.store.snapshot("main")
    text = demo_ctx.store.read_file(main.commit, "lifecycle/tren-temuan-kosmetik.yaml")
    assert "tier: eselon_1" in text and "scope" not in text
    lifecycle = main.lifecycle_of("tren-temuan-kosmetik")
    assert lifecycle.default_for(T.ESELON_1).filters == [rahasia]
    assert lifecycle.default_for(T.KEPALA_BPOM).months == 6


# --- the audience, from the request form to step 7 ---------------------------------------------


def test_the_request_forms_audience_starts_the_mockup_and_step_7(demo_ctx, as_user):
    direktur, analyst = as_user("direktur"), as_user("analis")
    named = [T.KEPALA_BPOM, T.ESELON_1, T.KEPALA_UPT]
    request = procedure.file_request(
        demo_ctx, direktur, title="Temuan per Wilayah", purpose="Untuk rapat pimpinan.",
        datasets_wanted=[DATASET_ID], level=Level.RAHASIA, audience=named)
    assert request.audience == ["kepala_bpom", "eselon_1", "kepala_upt"]
    procedure.state_no_new_data(demo_ctx, analyst, request.id, "Data ini sudah diterima sebelumnya.")
    head = procedure.start_mockup(demo_ctx, analyst, request.id)
    draft = demo_ctx.store.snapshot(head).specs[request.dashboard_id]
    assert draft.audience == named
    procedure.send_mockup(demo_ctx, analyst, request.id)
    procedure.approve_mockup(demo_ctx, direktur, request.id, head)
    procedure.build_dashboard(demo_ctx, analyst, request.id)
    main = demo_ctx.store.snapshot("main")
    spec = main.specs[request.dashboard_id]
    stored = procedure.get_request(demo_ctx, request.id)
    assert procedure.classification_tiers(stored, spec, main.lifecycle_of(spec.id)) == named


def test_a_request_filed_with_the_old_words_is_read_as_tiers(demo_ctx, as_user):
    old = DashboardRequest(title="t", purpose="p", requesting_unit="DIT-WAS-KOSMETIK",
                           requested_by="unit", datasets=[DATASET_ID], level=Level.TERBATAS,
                           audience=["kepala", "upt"], dashboard_id="dasbor-lama")
    spec = procedure.starter_spec(old, demo_ctx.store.snapshot("main").contracts)
    assert spec.audience == [T.KEPALA_BPOM, T.KEPALA_UPT]
    lifecycle = DashboardLifecycle(id=spec.id, defaults=[DefaultView(tier=T.WALL_SCREEN, months=3)])
    assert procedure.classification_tiers(old, spec, lifecycle) == [
        T.KEPALA_BPOM, T.KEPALA_UPT, T.WALL_SCREEN]
    # Nothing named on the form: the mock-up keeps the usual audience.
    assert procedure.starter_spec(old.model_copy(update={"audience": []}),
                                  demo_ctx.store.snapshot("main").contracts).audience == \
        DashboardSpec(id="a-b", title="t", owner_unit="X").audience


def test_step_8_previews_each_tier_within_the_analysts_clearance(demo_ctx, as_user):
    analyst = as_user("analis")  # Rahasia
    request = procedure.get_request(demo_ctx, 1)
    kepala = procedure.preview_viewer(T.KEPALA_BPOM, analyst, request)
    assert (kepala.tier, kepala.clearance, kepala.scope) == (T.KEPALA_BPOM, Level.RAHASIA,
                                                             ScopeKind.BPOM)
    kabalai = procedure.preview_viewer(T.KEPALA_UPT, analyst, request, UPT_BANDUNG)
    assert (kabalai.tier, kabalai.scope, kabalai.unit_code) == (T.KEPALA_UPT, ScopeKind.UPT, UPT_BANDUNG)
    staff = procedure.preview_viewer(T.UNIT_STAFF, analyst, request)
    assert (staff.clearance, staff.unit_code) == (Level.TERBATAS, request.requesting_unit)
    party = procedure.preview_viewer(T.AUTHORISED_PARTY, analyst, request)
    assert party.grants == [request.dashboard_id] and party.scope == ScopeKind.GRANT
