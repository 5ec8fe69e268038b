"""What reaches the wall is what was approved: a mock-up approval merges only its own dashboard spec,
the review shows exactly what it merges, and steps 6-8 are never set from a spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.bootstrap import initialise, move_lifecycle_out_of_specs
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import DashboardSpec, spec_to_yaml
from ocenter.errors import Conflict, UserError
from ocenter.i18n import t, t_markdown
from ocenter.models import Event, RequestStatus
from ocenter.store.spec_store import SpecStore
from ocenter.store.validation import validate_store
from tests.conftest import settings_for
from tests.test_app import _login
from tests.test_store import ANALIS, DIREKTUR, PUSDATIN, commit_fields, git, make_spec, seed_files

CONTRACT = "data_contracts/sampling-pengujian.yaml"
OWN_SPEC = "specs/tren-temuan-kosmetik.yaml"  # request 2's dashboard, the cosmetics directorate's
OTHER_SPEC = "specs/pantauan-sampling-pengujian.yaml"  # request 1's, the food directorate's, on display


def _clone_mockup(ctx, tmp_path: Path) -> Path:  # noqa: ANN001
    """A developer's clone of the demo store, on demo request 2's mock-up branch."""
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(ctx.settings.store_path), str(clone))
    git("checkout", "--quiet", "mockup/req-2", cwd=clone)
    return clone


def _push(clone: Path, message: str) -> str:
    """Commit and push as the developer ``dewi`` (the hosting server names the pusher). A file the
    store's hook refuses (outside specs/ and data_contracts/) is refused at the push already;
    the approval's own rule is then shown on a store whose hook let it through, as one set up
    before the hook checked files would have."""
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", message, cwd=clone)
    pushed = git("push", "--quiet", "origin", "mockup/req-2", cwd=clone, check=False, pusher="dewi")
    if pushed.returncode != 0:
        assert " refused: only files in specs/ and data_contracts/" in pushed.stderr, pushed.stderr
        store = Path(git("remote", "get-url", "origin", cwd=clone).stdout.strip())
        hook = store / "hooks" / "pre-receive"
        kept = hook.read_bytes()
        hook.unlink()
        try:
            git("push", "--quiet", "origin", "mockup/req-2", cwd=clone, pusher="dewi")
        finally:
            hook.write_bytes(kept)
            hook.chmod(0o755)
    return git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def _lower_parameter_tms(clone: Path) -> None:
    path = clone / CONTRACT
    text = path.read_text(encoding="utf-8")
    field = "- name: parameter_tms\n"
    head, tail = text.split(field)
    assert "  level: rahasia\n" in tail.split("- name:")[0]
    path.write_text(head + field + tail.replace("  level: rahasia\n", "  level: terbuka\n", 1),
                    encoding="utf-8")


def _listed_files(at, lang: str) -> list[tuple[str, str]]:  # noqa: ANN001 - AppTest
    """The (file, change) rows of the review page's table of files outside the mock-up's scope."""
    column, change = t("review.col_file", lang), t("review.col_change", lang)
    [table] = [d.value for d in at.dataframe if column in d.value.columns]
    return list(zip(table[column], table[change], strict=True))


def _approval_events(ctx) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == "mockup.approved")).all())


# --- the reported case: a contract lowered on a mock-up -------------------------------------------


def test_a_pushed_contract_change_on_a_mockup_cannot_be_approved(app, demo_ctx, as_user, tmp_path):
    """Clone, lower parameter_tms from rahasia to terbuka on mockup/req-2, push, approve as unit:
    refused, main unchanged, and the review page names the file."""
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    clone = _clone_mockup(ctx, tmp_path)
    _lower_parameter_tms(clone)
    head = _push(clone, "Turunkan level parameter_tms")
    assert procedure.mockup_problems(ctx, 2) == []  # a valid contract: only the scope stops it

    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(ctx, as_user("unit"), 2, head)
    assert refused.value.key == "store.mockup_outside_scope"
    assert refused.value.params["files"] == CONTRACT
    assert ctx.store.head("main") == main_before
    on_main = ctx.store.snapshot("main").contracts["sampling-pengujian"]
    assert on_main.field("parameter_tms").level == "rahasia"
    assert procedure.get_request(ctx, 2).status == RequestStatus.IN_REVIEW
    assert _approval_events(ctx) == []
    assert [(c.path, c.change) for c in procedure.mockup_scope(ctx, 2, head)] == [(CONTRACT, "modified")]

    # The reviewer sees why, in their language, with the file listed, and cannot press approve.
    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    assert not at.exception, at.exception
    assert t_markdown("review.outside_scope", "id", allowed=OWN_SPEC) in [e.value for e in at.error]
    listed = _listed_files(at, "id")
    assert listed == [(CONTRACT, "diubah")]
    assert at.button(key="approve").disabled
    assert ctx.store.head("main") == main_before


def test_the_review_page_lists_the_files_in_english_too(app, demo_ctx, tmp_path):
    clone = _clone_mockup(demo_ctx, tmp_path)
    (clone / "catatan.txt").write_text("bukan bagian dari dasbor\n", encoding="utf-8")
    _push(clone, "Berkas lain")
    at = _login(app, "unit")
    at.session_state["ocenter_lang"] = "en"
    at.switch_page("pages/tinjau_mockup.py").run()
    assert not at.exception, at.exception
    assert t_markdown("review.outside_scope", "en", allowed=OWN_SPEC) in [e.value for e in at.error]
    assert _listed_files(at, "en") == [("catatan.txt", "added")]


# --- what else a branch may not carry ------------------------------------------------------------


def _edit_other_spec(clone: Path) -> None:
    path = clone / OTHER_SPEC
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Pantauan Hasil Sampling dan Pengujian", "title: Diubah dari mock-up lain"),
        encoding="utf-8")


def _delete_a_spec(clone: Path) -> None:
    (clone / "specs" / "ringkasan-pengawasan-nasional.yaml").unlink()


def _stray_file(clone: Path) -> None:
    (clone / "tools").mkdir()
    (clone / "tools" / "jalankan.sh").write_text("#!/bin/sh\necho hai\n", encoding="utf-8")


def _own_lifecycle(clone: Path) -> None:
    lifecycle = DashboardLifecycle(id="tren-temuan-kosmetik", built=True, classified=True, on_display=True)
    (clone / "lifecycle" / "tren-temuan-kosmetik.yaml").write_text(lifecycle_to_yaml(lifecycle))


def _rename_own_spec(clone: Path) -> None:
    text = (clone / OWN_SPEC).read_text(encoding="utf-8")
    (clone / OWN_SPEC).unlink()
    (clone / "specs" / "tren-temuan-kosmetik-2.yaml").write_text(
        text.replace("id: tren-temuan-kosmetik", "id: tren-temuan-kosmetik-2"), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_edit_other_spec, [(OTHER_SPEC, "modified")], id="another-units-spec"),
        pytest.param(_delete_a_spec, [("specs/ringkasan-pengawasan-nasional.yaml", "deleted")],
                     id="a-spec-deleted"),
        pytest.param(_stray_file, [("tools/jalankan.sh", "added")], id="a-stray-file"),
        pytest.param(_own_lifecycle, [("lifecycle/tren-temuan-kosmetik.yaml", "added")],
                     id="its-own-steps-6-8"),
        # (the mock-up's own spec is new, so only the new name is a change since the fork)
        pytest.param(_rename_own_spec, [("specs/tren-temuan-kosmetik-2.yaml", "added")],
                     id="its-own-spec-renamed"),
    ],
)
def test_a_mockup_changing_anything_but_its_own_spec_is_refused(
    demo_ctx, as_user, tmp_path, change, expected
):
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    clone = _clone_mockup(ctx, tmp_path)
    change(clone)
    head = _push(clone, "Perubahan di luar mock-up")
    assert [(c.path, c.change) for c in procedure.mockup_scope(ctx, 2, head)] == expected
    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(ctx, as_user("unit"), 2, head)
    if any(not path.startswith(("specs/", "data_contracts/", "lifecycle/")) for path, _ in expected):
        # A file outside the store's folders is a problem of the mock-up itself, named as such.
        assert refused.value.key == "procedure.mockup_invalid"
        assert expected[0][0] in refused.value.params["problems"]
    else:
        assert refused.value.key == "store.mockup_outside_scope"
        assert refused.value.params["allowed"] == OWN_SPEC
    assert ctx.store.head("main") == main_before
    assert procedure.get_request(ctx, 2).status == RequestStatus.IN_REVIEW
    assert _approval_events(ctx) == []


def test_the_requests_own_spec_is_approved_as_before(demo_ctx, as_user, tmp_path):
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    clone = _clone_mockup(ctx, tmp_path)
    path = clone / OWN_SPEC
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Tren Temuan Kosmetik", "title: Tren Temuan Kosmetik per Provinsi"), encoding="utf-8")
    head = _push(clone, "Judul dari git")
    assert procedure.mockup_scope(ctx, 2, head) == []

    merge = procedure.approve_mockup(ctx, as_user("unit"), 2, head)
    assert commit_fields(ctx.settings.store_path, merge, "%P").split() == [main_before, head]
    main = ctx.store.snapshot("main")
    assert main.specs["tren-temuan-kosmetik"].title == "Tren Temuan Kosmetik per Provinsi"
    assert [c.path for c in ctx.store.branch_changes(main_before, merge)] == [OWN_SPEC]
    assert procedure.get_request(ctx, 2).status == RequestStatus.APPROVED
    assert "tren-temuan-kosmetik" not in main.displayed_specs()  # approved is not yet displayed


def test_a_branch_moved_after_the_review_is_refused_then_judged_as_it_now_is(
    demo_ctx, as_user, tmp_path
):
    """The unit reviewed an in-scope revision; a push then adds a contract change. The approval
    names the reviewed commit, so it is refused as outdated; approving the new head is refused
    for its scope. Nothing is merged either way."""
    ctx = demo_ctx
    main_before = ctx.store.head("main")
    reviewed = ctx.store.head("mockup/req-2")
    assert procedure.mockup_scope(ctx, 2, reviewed) == []
    clone = _clone_mockup(ctx, tmp_path)
    _lower_parameter_tms(clone)
    moved = _push(clone, "Diam-diam setelah ditinjau")
    unit = as_user("unit")
    with pytest.raises(Conflict) as refused:
        procedure.approve_mockup(ctx, unit, 2, reviewed)
    assert refused.value.key == "store.review_outdated"
    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(ctx, unit, 2, moved)
    assert refused.value.key == "store.mockup_outside_scope"
    assert ctx.store.head("main") == main_before


def test_the_analyst_cannot_send_a_mockup_the_unit_could_not_approve(demo_ctx, as_user, tmp_path):
    ctx, analyst = demo_ctx, as_user("analis")
    head = ctx.store.head("mockup/req-2")
    procedure.request_changes(ctx, as_user("unit"), 2, head, "Ubah judulnya.")
    clone = _clone_mockup(ctx, tmp_path)
    _edit_other_spec(clone)
    _push(clone, "Ikut mengubah dasbor lain")
    with pytest.raises(UserError) as refused:
        procedure.send_mockup(ctx, analyst, 2)
    assert refused.value.key == "procedure.mockup_outside_scope"
    assert refused.value.params["files"] == OTHER_SPEC
    assert procedure.get_request(ctx, 2).status == RequestStatus.CHANGES_REQUESTED


# --- the review diff is what the approval merges ------------------------------------------------


def test_the_review_diff_is_exactly_what_the_approval_changes(demo_ctx, as_user, tmp_path):
    ctx = demo_ctx
    clone = _clone_mockup(ctx, tmp_path)
    path = clone / OWN_SPEC
    path.write_text(path.read_text(encoding="utf-8").replace("limit: 10", "limit: 5"), encoding="utf-8")
    head = _push(clone, "Lima provinsi teratas")
    # main moves on in another file meanwhile: the diff is still only the mock-up's change.
    seed = ctx.store.head("main")
    other = ctx.store.snapshot(seed).specs["ringkasan-pengawasan-nasional"]
    ctx.store.commit_to_main(
        {"specs/ringkasan-pengawasan-nasional.yaml": spec_to_yaml(
            other.model_copy(update={"description": "Ringkasan nasional."}))},
        PUSDATIN, seed, "Deskripsi")
    main_before = ctx.store.head("main")

    shown = procedure.mockup_review_diff(ctx, as_user("unit"), 2, head)
    assert "+  limit: 5" in shown and "limit: 10" not in shown and "ringkasan" not in shown
    merge = procedure.approve_mockup(ctx, as_user("unit"), 2, head)
    assert ctx.store.diff(main_before, merge) == shown


def test_the_review_diff_when_main_changed_the_same_spec(store: SpecStore) -> None:
    """main changed another line of the same spec since the mock-up began: the diff shown is the
    mock-up's own change from where it began, never what main holds now (main's newer text came
    from other approvals, which the reviewer may not be cleared for); the merge applies that
    change to today's main."""
    head = store.start_mockup(7, make_spec(title="Judul baru"), ANALIS)
    forked = store.head()
    on_main = make_spec()
    on_main.panels[0] = on_main.panels[0].model_copy(update={"title": "Per produk"})
    store.commit_to_main({"specs/dash-one.yaml": spec_to_yaml(on_main)}, PUSDATIN, forked, "Panel")

    shown = store.mockup_diff(7, head)
    assert "+title: Judul baru" in shown and "Per produk" not in shown
    assert shown == store.diff(forked, head)
    merge = store.approve(7, head, DIREKTUR, dashboard_id="dash-one")
    landed = store.snapshot(merge).specs["dash-one"]
    assert (landed.title, landed.panels[0].title) == ("Judul baru", "Per produk")


# --- steps 6-8 cannot come from a spec -----------------------------------------------------------


def _with_lifecycle(spec: DashboardSpec, **state: object) -> str:
    return yaml.safe_dump({**yaml.safe_load(spec_to_yaml(spec)), **state}, sort_keys=False)


@pytest.mark.parametrize(
    "state",
    [{"on_display": True}, {"published": True}, {"defaults": [{"scope": "upt", "months": 12}]},
     {"built": True, "classified": True}],
    ids=["on_display", "published", "defaults", "built-classified"],
)
def test_a_spec_carrying_lifecycle_state_is_refused_at_save(demo_ctx, as_user, state):
    ctx = demo_ctx
    head = ctx.store.head("mockup/req-2")
    text = _with_lifecycle(ctx.store.snapshot(head).specs["tren-temuan-kosmetik"], **state)
    with pytest.raises(UserError) as refused:  # what the editor's Save does first
        procedure.parse_spec(text)
    assert refused.value.key == "spec.lifecycle_fields"
    assert refused.value.params["fields"] == ", ".join(state)
    with pytest.raises(ValueError):
        DashboardSpec.model_validate(yaml.safe_load(text))
    main = ctx.store.head("main")
    with pytest.raises(UserError) as refused:  # and the store refuses the file from any writer
        ctx.store.commit_to_main({OWN_SPEC: text}, procedure.author_of(ctx, as_user("analis")), main, "x")
    assert refused.value.key == "store.invalid_content"
    assert ctx.store.head("main") == main


def test_the_editor_refuses_to_save_a_spec_that_says_it_is_on_display(app, demo_ctx, as_user):
    ctx = demo_ctx
    head = ctx.store.head("mockup/req-2")
    procedure.request_changes(ctx, as_user("unit"), 2, head, "Ubah judulnya.")
    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    at.selectbox[0].set_value(2).run()
    editor = at.text_area(key=f"spec-2-{head}")
    editor.input(editor.value + "on_display: true\n").run()
    next(b for b in at.button if b.label == t("mockup.save", "id")).click()
    at.run()
    assert not at.exception, at.exception
    assert t_markdown("spec.lifecycle_fields", "id", fields="on_display") in [e.value for e in at.error]
    assert ctx.store.head("mockup/req-2") == head


def test_a_pushed_spec_carrying_lifecycle_state_fails_validate_store(demo_ctx, as_user, tmp_path):
    ctx = demo_ctx
    clone = _clone_mockup(ctx, tmp_path)
    spec = ctx.store.snapshot("mockup/req-2").specs["tren-temuan-kosmetik"]
    (clone / OWN_SPEC).write_text(_with_lifecycle(spec, on_display=True), encoding="utf-8")
    head = _push(clone, "Langsung tayang")

    problems = validate_store(clone)
    assert [p.path for p in problems] == [OWN_SPEC] and "on_display" in problems[0].message
    assert [p.path for p in validate_store(ctx.settings.store_path, "mockup/req-2")] == [OWN_SPEC]
    assert validate_store(ctx.settings.store_path) == []
    main_before = ctx.store.head("main")
    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(ctx, as_user("unit"), 2, head)
    assert refused.value.key == "procedure.mockup_invalid"
    assert ctx.store.head("main") == main_before and "tren-temuan-kosmetik" not in (
        ctx.store.snapshot("main").displayed_specs())


def test_a_store_from_before_lifecycle_records_keeps_its_dashboards_on_display(tmp_path):
    """A store whose specs on main still hold published/on_display/defaults is moved to
    lifecycle/ on the next start, in one commit; what was shown stays shown."""
    home = tmp_path / "home"
    # Written with plain git, as an older version of the app left it (today's store refuses it).
    old = tmp_path / "old"
    git("init", "--quiet", "--initial-branch=main", str(old))
    for path, text in {**seed_files(), "specs/dash-one.yaml": _with_lifecycle(
        make_spec(), defaults=[{"scope": "upt", "months": 6}], published=True, on_display=True,
    )}.items():
        (old / path).parent.mkdir(parents=True, exist_ok=True)
        (old / path).write_text(text, encoding="utf-8")
    git("add", "-A", cwd=old)
    git("commit", "--quiet", "-m", "Isi lama", cwd=old)
    git("clone", "--quiet", "--bare", str(old), str(home / "store.git"))
    store = SpecStore.open_or_init(home / "store.git")
    seeded = store.head()
    assert "specs/dash-one.yaml" in store.snapshot().problems

    ctx = initialise(settings_for(home, mode="production"), demo=False, progress=lambda _m: None)
    try:
        main = ctx.store.snapshot("main")
        assert commit_fields(home / "store.git", main.commit, "%P") == seeded
        assert main.problems == {}
        assert main.lifecycle_of("dash-one") == DashboardLifecycle(
            id="dash-one", built=True, classified=True, on_display=True,
            defaults=[{"scope": "upt", "months": 6}])
        assert list(main.displayed_specs()) == ["dash-one"]
        assert move_lifecycle_out_of_specs(ctx) is None  # done once
        with Session(ctx.engine) as session:
            [event] = session.exec(select(Event).where(Event.action == "store.lifecycle_moved")).all()
        assert event.actor == "system" and main.commit in event.detail
    finally:
        ctx.engine.dispose()
