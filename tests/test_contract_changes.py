"""A data contract changes only through its own reviewed change: Pusdatin proposes, the dataset's
owner unit and Pusdatin approve (neither the proposer), and a lowered level is logged with why."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.contracts.changes import WHOLE_FIELD, compare_contracts
from ocenter.contracts.model import ContractField, contract_to_yaml
from ocenter.demo_data import sampling_contract
from ocenter.errors import Conflict, PermissionDenied, UserError
from ocenter.i18n import t, t_markdown
from ocenter.models import ContractChange, ContractChangeStatus, Event, User
from tests.conftest import APPTEST_TIMEOUT, PROJECT_ROOT
from tests.test_app import _button, _login
from tests.test_store import commit_fields

DATASET = "sampling-pengujian"  # owned by PPPOMN (demo user pppomn)
REASON = "Parameter TMS diumumkan dalam rilis publik BPOM, sehingga tidak lagi rahasia."


def _lowered_text() -> str:
    contract = sampling_contract()
    fields = [f.model_copy(update={"level": Level.TERBUKA}) if f.name == "parameter_tms" else f
              for f in contract.fields]
    return contract_to_yaml(contract.model_copy(update={"fields": fields}))


def _retitled_text(title: str) -> str:
    return contract_to_yaml(sampling_contract().model_copy(update={"title": title}))


def _events(ctx, action: str) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)).all())


def _contract_on_main(ctx):  # noqa: ANN001, ANN202
    return ctx.store.snapshot("main").contracts[DATASET]


def test_a_lowered_level_needs_the_owner_unit_and_pusdatin_and_is_logged(demo_ctx, as_user):
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    change = procedure.propose_contract_change(ctx, as_user("analis"), DATASET, _lowered_text(), REASON)
    assert change.status == ContractChangeStatus.PROPOSED and change.lowers_level
    assert ctx.store.head("main") == main_before
    assert ctx.store.contract_change_head(DATASET, change.id) == change.head_commit

    # Nothing is in force before both approvals: not the proposer's, not another unit's.
    refusals = [("analis", "contract_change.proposer_cannot_approve"),
                ("unit", "contract_change.not_owner_unit"),  # staff of another directorate
                ("direktur", "contract_change.not_owner_unit"),
                ("kepala", "auth.forbidden")]
    for username, key in refusals:
        with pytest.raises(PermissionDenied) as refused:
            procedure.approve_contract_change(ctx, as_user(username), change.id, change.head_commit)
        assert refused.value.key == key, username

    owner_side = procedure.approve_contract_change(ctx, as_user("pppomn"), change.id,
                                                   change.head_commit)
    assert owner_side.owner_approved_by == "pppomn" and owner_side.status == ContractChangeStatus.PROPOSED
    assert ctx.store.head("main") == main_before
    assert _contract_on_main(ctx).field("parameter_tms").level == Level.RAHASIA
    with pytest.raises(PermissionDenied) as refused:  # one person, one approval
        procedure.approve_contract_change(ctx, as_user("pppomn"), change.id, change.head_commit)
    assert refused.value.key == "contract_change.one_approval_per_person"
    assert _events(ctx, "contract.level_lowered") == []

    merged = procedure.approve_contract_change(ctx, as_user("verifikator"), change.id,
                                               change.head_commit)
    assert merged.status == ContractChangeStatus.MERGED and merged.pusdatin_approved_by == "verifikator"
    assert ctx.store.head("main") == merged.merge_commit
    assert _contract_on_main(ctx).field("parameter_tms").level == Level.TERBUKA
    store_path = ctx.settings.store_path
    assert commit_fields(store_path, merged.merge_commit, "%P").split() == [main_before, change.head_commit]
    body = commit_fields(store_path, merged.merge_commit, "%B")
    for trailer in ("Approved-by-owner: pppomn", "Owner-unit: PPPOMN", "Approved-by-pusdatin: verifikator",
                    "Proposed-by: analis", f"Contract-change: {change.id}",
                    f"Reviewed-commit: {change.head_commit}"):
        assert trailer in body
    assert [c.path for c in ctx.store.branch_changes(main_before, merged.merge_commit)] == [
        f"data_contracts/{DATASET}.yaml"]

    [lowered] = _events(ctx, "contract.level_lowered")
    assert lowered.actor == "verifikator" and lowered.outcome == "lowered"
    assert REASON in lowered.detail and "parameter_tms.level: rahasia -> terbuka" in lowered.detail
    assert "pppomn" in lowered.detail and "verifikator" in lowered.detail
    assert [e.actor for e in _events(ctx, "contract.approved")] == ["pppomn", "verifikator"]
    with pytest.raises(Conflict) as refused:
        procedure.approve_contract_change(ctx, as_user("analis"), change.id, change.head_commit)
    assert refused.value.key == "contract_change.closed"
    # Once in force, the change still reads as what it changed, and its diff is what merged.
    review = procedure.review_contract_change(ctx, as_user("pppomn"), change.id)
    assert [(d.subject, d.attribute) for d in review.differences] == [("parameter_tms", "level")]
    assert review.diff == ctx.store.diff(main_before, merged.merge_commit)


def test_pusdatin_may_approve_first_but_not_twice(demo_ctx, as_user):
    ctx = demo_ctx
    change = procedure.propose_contract_change(ctx, as_user("verifikator"), DATASET,
                                               _retitled_text("Sampling dan Pengujian"), "Judul baru.")
    assert not change.lowers_level
    first = procedure.approve_contract_change(ctx, as_user("analis"), change.id, change.head_commit)
    assert first.pusdatin_approved_by == "analis" and first.owner_approved_by is None
    with pytest.raises(PermissionDenied) as refused:  # the proposer, of Pusdatin too
        procedure.approve_contract_change(ctx, as_user("verifikator"), change.id, change.head_commit)
    assert refused.value.key == "contract_change.proposer_cannot_approve"
    merged = procedure.approve_contract_change(ctx, as_user("pppomn"), change.id, change.head_commit)
    assert merged.status == ContractChangeStatus.MERGED
    assert _contract_on_main(ctx).title == "Sampling dan Pengujian"
    assert _events(ctx, "contract.level_lowered") == []  # nothing was lowered


def test_an_approval_names_the_proposal_it_reviewed(demo_ctx, as_user):
    ctx = demo_ctx
    change = procedure.propose_contract_change(ctx, as_user("analis"), DATASET, _lowered_text(), REASON)
    with pytest.raises(Conflict) as refused:
        procedure.approve_contract_change(ctx, as_user("pppomn"), change.id, ctx.store.head("main"))
    assert refused.value.key == "contract_change.review_outdated"
    review = procedure.review_contract_change(ctx, as_user("pppomn"), change.id)
    assert review.change.owner_approved_by is None


@pytest.mark.parametrize(
    ("text", "reason", "key"),
    [
        pytest.param(_lowered_text(), "  ", "contract_change.reason_required", id="no-reason"),
        pytest.param(contract_to_yaml(sampling_contract()), "Sama.", "contract_change.no_changes",
                     id="nothing-changes"),
        pytest.param(_lowered_text().replace(f"id: {DATASET}", "id: dataset-lain"), "Lain.",
                     "contract_change.wrong_dataset", id="another-dataset"),
        pytest.param("fields: [", "Rusak.", "contract_change.invalid", id="not-yaml"),
        # pantauan-sampling-pengujian on main reads kode_provinsi
        pytest.param(contract_to_yaml(sampling_contract().model_copy(update={"fields": [
            f for f in sampling_contract().fields if f.name != "kode_provinsi"]})),
            "Kolom provinsi dihapus.", "store.invalid_content", id="breaks-a-dashboard-on-main"),
    ],
)
def test_a_proposal_that_cannot_stand_is_refused_and_nothing_is_kept(demo_ctx, as_user, text, reason, key):
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    with pytest.raises(UserError) as refused:
        procedure.propose_contract_change(ctx, as_user("analis"), DATASET, text, reason)
    assert refused.value.key == key
    assert ctx.store.head("main") == main_before
    with Session(ctx.engine) as session:
        assert session.exec(select(ContractChange)).all() == []
    assert _events(ctx, "contract.proposed") == []


def test_a_change_overtaken_by_another_on_the_same_line_is_refused_at_merge(demo_ctx, as_user):
    ctx = demo_ctx
    analis = as_user("analis")
    first = procedure.propose_contract_change(ctx, analis, DATASET, _retitled_text("Judul A"), "A.")
    second = procedure.propose_contract_change(ctx, analis, DATASET, _retitled_text("Judul B"), "B.")
    procedure.approve_contract_change(ctx, as_user("pppomn"), first.id, first.head_commit)
    procedure.approve_contract_change(ctx, as_user("verifikator"), first.id, first.head_commit)
    procedure.approve_contract_change(ctx, as_user("pppomn"), second.id, second.head_commit)
    main = ctx.store.head("main")
    with pytest.raises(Conflict) as refused:
        procedure.approve_contract_change(ctx, as_user("verifikator"), second.id, second.head_commit)
    assert refused.value.key == "store.contract_conflict"
    assert ctx.store.head("main") == main and _contract_on_main(ctx).title == "Judul A"
    again = procedure.review_contract_change(ctx, as_user("verifikator"), second.id).change
    assert again.pusdatin_approved_by is None and again.status == ContractChangeStatus.PROPOSED


def test_owners_see_only_their_own_datasets_changes(demo_ctx, as_user):
    ctx = demo_ctx
    change = procedure.propose_contract_change(ctx, as_user("analis"), DATASET, _lowered_text(), REASON)
    assert [c.id for c in procedure.list_contract_changes(ctx, as_user("pppomn"))] == [change.id]
    assert [c.id for c in procedure.list_contract_changes(ctx, as_user("verifikator"))] == [change.id]
    assert procedure.list_contract_changes(ctx, as_user("unit")) == []
    with pytest.raises(PermissionDenied) as refused:
        procedure.review_contract_change(ctx, as_user("unit"), change.id)
    assert refused.value.key == "contract_change.not_owner_unit"


# --- the readable diff ---------------------------------------------------------------------------


def test_the_differences_read_as_fields_levels_and_rules():
    before = sampling_contract()
    fields = [f.model_copy(update={"level": Level.TERBUKA, "max_length": 200})
              if f.name == "parameter_tms" else f for f in before.fields if f.name != "nama_produk"]
    fields.append(ContractField(name="catatan", level=Level.TERBATAS))
    after = before.model_copy(update={"fields": fields, "level": Level.TERBUKA, "title": "Baru"})
    rows = [(d.subject, d.attribute, d.before, d.after, d.lowers_level)
            for d in compare_contracts(before, after)]
    assert rows == [
        ("", "title", before.title, "Baru", False),
        ("", "level", "terbatas", "terbuka", True),
        ("parameter_tms", "max_length", "100", "200", False),
        ("parameter_tms", "level", "rahasia", "terbuka", True),
        ("catatan", WHOLE_FIELD, None, "{name: catatan, level: terbatas}", False),
        ("nama_produk", WHOLE_FIELD, rows[-1][2], None, False),
    ]
    assert rows[-1][2].startswith("{name: nama_produk,") and "level: terbatas" in rows[-1][2]
    assert compare_contracts(before, before) == []


# --- the page ------------------------------------------------------------------------------------


def _fresh_app():  # noqa: ANN202 - AppTest, at the login page of the same installation
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=APPTEST_TIMEOUT)
    return at.run()


def test_pusdatin_proposes_and_both_sides_approve_on_the_page(app, demo_ctx, as_user):
    ctx = demo_ctx
    at = _login(app, "analis")
    at.switch_page("pages/perubahan_kontrak.py").run()
    assert not at.exception, at.exception
    at.text_area(key=f"yaml-{DATASET}").input(_lowered_text())
    at.text_area(key="propose-reason").input(REASON)
    _button(at, t("contract_page.submit", "id")).click()
    at.run()
    assert not at.exception, at.exception
    [change] = procedure.list_contract_changes(ctx, as_user("analis"))
    assert t_markdown("contract_page.proposed", "id", change=change.id, dataset=DATASET) in [
        s.value for s in at.success]

    for username in ("pppomn", "verifikator"):
        at = _login(_fresh_app(), username)
        at.switch_page("pages/perubahan_kontrak.py").run()
        assert not at.exception, at.exception
        assert t("contract_page.lowers", "id") in [w.value for w in at.warning]
        [table] = [d.value for d in at.dataframe if t("contract_page.col_after", "id") in d.value.columns]
        lowered = table[table[t("contract_page.col_lowers", "id")] != ""]
        assert list(lowered[t("contract_page.col_subject", "id")]) == ["parameter_tms"]
        assert list(lowered[t("contract_page.col_after", "id")]) == [t("level.terbuka", "id")]
        at.button(key="approve").click()
        at.run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        approved = procedure.review_contract_change(ctx, as_user(username), change.id).change
        said = (t("contract_page.merged", "id", commit=approved.merge_commit[:8]) if approved.merge_commit
                else t("contract_page.approved", "id"))
        assert said in [s.value for s in at.success]
    assert _contract_on_main(ctx).field("parameter_tms").level == Level.TERBUKA
    assert REASON in _events(ctx, "contract.level_lowered")[0].detail



def test_an_approver_with_no_account_here_is_named_by_username_in_git(demo_ctx):
    from ocenter.procedure.common import author_named

    # A change approved in another installation (its database restored from Git, say) names its
    # approver by username; the merge commit still needs an author.
    gone = author_named(demo_ctx, "mantan-pegawai")
    assert (gone.username, gone.name) == ("mantan-pegawai", "mantan-pegawai")
    with Session(demo_ctx.engine) as session:
        name = session.get(User, "analis").name
    assert author_named(demo_ctx, "analis").name == name != "analis"
