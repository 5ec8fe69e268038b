"""History, restore, and bringing main's newer changes into a mock-up: store and procedure."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.display.spec import spec_to_yaml
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import Event, RequestStatus
from ocenter.store.spec_store import SpecStore
from ocenter.store.validation import validate_store
from tests.test_store import (
    ANALIS,
    DIREKTUR,
    PUSDATIN,
    commit_fields,
    fsck,
    make_spec,
    object_count,
)

SPEC = "specs/dash-one.yaml"


def _main_changes_title(store: SpecStore, title: str) -> str:
    """Pusdatin changes dash-one's title directly on main (as steps 6-8 do)."""
    return store.commit_to_main({SPEC: spec_to_yaml(make_spec(title=title))}, PUSDATIN,
                                store.head(), f"Judul {title}")


@pytest.fixture
def conflicted(store: SpecStore) -> tuple[str, str]:
    """Mock-up 7 changes dash-one's title; main changes the same line afterwards.
    Returns (mock-up head, main head)."""
    start = store.start_mockup(7, make_spec(title="Dasbor"), ANALIS, "Mulai")
    head = store.save_spec(7, make_spec(title="Judul Mock-up"), ANALIS, start, "Judul mock-up")
    main = _main_changes_title(store, "Judul Main")
    return head, main


# --- the store: merge_preview ---------------------------------------------------------------


def test_a_fresh_mockup_is_up_to_date(store: SpecStore) -> None:
    head = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    preview = store.merge_preview(7)
    assert (preview.up_to_date, preview.clean, preview.conflicts) == (True, True, [])
    assert (preview.head, preview.main, preview.base) == (head, store.head(), store.head())
    with pytest.raises(UserError) as exc:
        store.update_mockup_from_main(7, {}, ANALIS, head)
    assert exc.value.key == "history.already_current"


def test_clean_update_from_main_then_approval_is_a_normal_merge(
    store: SpecStore, store_path: Path
) -> None:
    head = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    main = _main_changes_title(store, "Dibangun")  # another file than the mock-up's
    preview = store.merge_preview(7)
    assert (preview.up_to_date, preview.clean, preview.conflicts) == (False, True, [])
    assert preview.main == main

    updated = store.update_mockup_from_main(7, {}, ANALIS, head, expected_main=main)
    assert commit_fields(store_path, updated, "%P").split() == [head, main]  # on the branch
    assert store.head("mockup/req-7") == updated and store.head() == main  # main untouched
    assert commit_fields(store_path, updated, "%(trailers:key=Change-kind,valueonly)") == "mockup-update"
    branch = store.snapshot(updated)
    assert branch.specs["dash-one"].title == "Dibangun" and "dash-two" in branch.specs
    assert store.merge_preview(7).up_to_date
    assert store.mockup_diff(7).count("+++ ") == 1  # the review diff shows only the mock-up's file

    merge = store.approve(7, updated, DIREKTUR, dashboard_id="dash-two")
    assert commit_fields(store_path, merge, "%P").split() == [main, updated]
    assert commit_fields(store_path, merge, "%T") == branch.tree
    assert validate_store(store_path) == []
    fsck(store_path)


def test_conflict_shows_three_versions_and_the_resolution_is_approved(
    store: SpecStore, store_path: Path, conflicted: tuple[str, str]
) -> None:
    head, main = conflicted
    preview = store.merge_preview(7)
    assert (preview.up_to_date, preview.clean) == (False, False)
    assert preview.conflict_paths == [SPEC]
    [versions] = preview.conflicts
    assert "title: Dasbor" in versions.base
    assert "title: Judul Main" in versions.main
    assert "title: Judul Mock-up" in versions.mockup
    with pytest.raises(Conflict) as exc:  # approval still refuses it, naming the file
        store.approve(7, head, DIREKTUR, dashboard_id="dash-one")
    assert exc.value.key == "store.merge_conflict"

    resolution = versions.mockup.replace("title: Judul Mock-up", "title: Judul Gabungan")
    updated = store.update_mockup_from_main(7, {SPEC: resolution}, ANALIS, head, expected_main=main)
    assert commit_fields(store_path, updated, "%P").split() == [head, main]
    assert commit_fields(store_path, updated, "%(trailers:key=Resolved,valueonly)") == SPEC
    assert store.read_file(updated, SPEC) == resolution
    assert store.head() == main
    assert store.merge_preview(7).up_to_date

    merge = store.approve(7, updated, DIREKTUR, dashboard_id="dash-one")
    assert commit_fields(store_path, merge, "%P").split() == [main, updated]
    assert store.snapshot().specs["dash-one"].title == "Judul Gabungan"
    fsck(store_path)


def test_a_conflict_is_never_resolved_silently(store: SpecStore, conflicted: tuple[str, str]) -> None:
    head, _ = conflicted
    [versions] = store.merge_preview(7).conflicts
    with pytest.raises(Conflict) as exc:  # no resolution given for the conflicting file
        store.update_mockup_from_main(7, {}, ANALIS, head)
    assert exc.value.key == "history.unresolved" and SPEC in exc.value.params["files"]
    markers = "<<<<<<< mockup\n" + versions.mockup + "=======\n" + versions.main + ">>>>>>> main\n"
    with pytest.raises(UserError) as exc:
        store.update_mockup_from_main(7, {SPEC: markers}, ANALIS, head)
    assert exc.value.key == "history.markers_left"
    with pytest.raises(UserError) as exc:  # only conflicting files are "resolved"
        store.update_mockup_from_main(7, {SPEC: versions.mockup, "README.md": "x\n"}, ANALIS, head)
    assert exc.value.key == "history.not_conflicting"
    assert store.head("mockup/req-7") == head


def test_stale_heads_are_refused(store: SpecStore, conflicted: tuple[str, str]) -> None:
    head, main = conflicted
    [versions] = store.merge_preview(7).conflicts
    newer = store.save_spec(7, make_spec(title="Judul Mock-up 2"), ANALIS, head, "lagi")
    with pytest.raises(Conflict) as exc:  # the branch moved since the analyst looked
        store.update_mockup_from_main(7, {SPEC: versions.mockup}, ANALIS, head)
    assert exc.value.key == "store.stale_head"
    assert store.head("mockup/req-7") == newer

    moved = _main_changes_title(store, "Judul Main 2")
    with pytest.raises(Conflict) as exc:  # main moved: the resolution was made against old versions
        store.update_mockup_from_main(7, {SPEC: versions.mockup}, ANALIS, newer, expected_main=main)
    assert exc.value.key == "store.stale_head" and exc.value.params["branch"] == "main"
    assert store.head("mockup/req-7") == newer and store.head() == moved


def test_an_invalid_resolution_is_refused_and_nothing_written(
    store: SpecStore, store_path: Path, conflicted: tuple[str, str]
) -> None:
    head, main = conflicted
    store.merge_preview(7)  # merge-tree's own objects exist from here on
    objects = object_count(store_path)
    broken = spec_to_yaml(make_spec(title="Rusak", dimension="tidak_ada"))
    with pytest.raises(UserError) as exc:
        store.update_mockup_from_main(7, {SPEC: broken}, ANALIS, head, expected_main=main)
    assert exc.value.key == "store.invalid_content" and "tidak_ada" in exc.value.params["reasons"]
    with pytest.raises(UserError) as exc:
        store.update_mockup_from_main(7, {SPEC: "title: [tidak ditutup\n"}, ANALIS, head)
    assert exc.value.key == "store.invalid_content"
    assert store.head("mockup/req-7") == head and store.head() == main
    assert object_count(store_path) == objects


def test_a_file_deleted_on_main_and_changed_on_the_mockup(store: SpecStore, store_path: Path) -> None:
    start = store.start_mockup(7, make_spec(title="Dasbor"), ANALIS)
    head = store.save_spec(7, make_spec(title="Diubah"), ANALIS, start, "ubah")
    main = store.commit_to_main({SPEC: None}, PUSDATIN, store.head(), "Hapus dasbor")
    [versions] = store.merge_preview(7).conflicts
    assert versions.main is None and "title: Diubah" in versions.mockup
    updated = store.update_mockup_from_main(7, {SPEC: None}, ANALIS, head, expected_main=main)
    assert store.read_file(updated, SPEC) is None
    assert commit_fields(store_path, updated, "%P").split() == [head, main]


# --- the procedure: history and restore (demo request 2, the mock-up of `unit`) -------------


@pytest.fixture
def reopened(demo_ctx, as_user) -> str:  # noqa: ANN001
    """The unit asks for changes on demo mock-up 2, so the analyst may work on it again."""
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(2))
    procedure.request_changes(demo_ctx, as_user("unit"), 2, head, "Ubah judulnya.")
    return head


def _save_title(ctx, analyst, title: str, head: str) -> str:  # noqa: ANN001
    spec = ctx.store.snapshot(head).specs["tren-temuan-kosmetik"]
    return procedure.save_mockup(ctx, analyst, 2, spec.model_copy(update={"title": title}), head, title)


def test_history_lists_every_revision_and_restore_adds_a_commit(demo_ctx, as_user, reopened):
    analyst, path = as_user("analis"), "specs/tren-temuan-kosmetik.yaml"
    v2 = _save_title(demo_ctx, analyst, "Tren v2", reopened)
    v3 = _save_title(demo_ctx, analyst, "Tren v3", v2)
    history = procedure.spec_history(demo_ctx, 2)
    assert [h.sha for h in history] == [v3, v2, reopened]
    assert history[0].author_username == "analis" and history[0].subject == "Tren v3"
    assert history[0].author_name and history[0].date.tzinfo is not None

    restored = procedure.restore_mockup_version(demo_ctx, analyst, 2, reopened, v3)
    assert demo_ctx.store.read_file(restored, path) == demo_ctx.store.read_file(reopened, path)
    assert demo_ctx.store.head("mockup/req-2") == restored
    assert subprocess_parents(demo_ctx, restored) == [v3]  # a new commit; nothing rewritten
    after = procedure.spec_history(demo_ctx, 2)
    assert len(after) == len(history) + 1 and [h.sha for h in after[1:]] == [h.sha for h in history]
    assert after[0].trailers["Restored-from"] == reopened
    with Session(demo_ctx.engine) as session:
        event = session.exec(select(Event).where(Event.action == "mockup.restored")).one()
    assert (event.step, event.request_id, event.actor) == (4, 2, "analis")


def subprocess_parents(ctx, commit: str) -> list[str]:  # noqa: ANN001
    import subprocess

    out = subprocess.run(["git", "--git-dir", str(ctx.settings.store_path), "log", "-1",
                          "--format=%P", commit], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_restore_refusals_leave_the_branch_as_it_was(demo_ctx, as_user, reopened):
    analyst = as_user("analis")
    v2 = _save_title(demo_ctx, analyst, "Tren v2", reopened)
    for who in ("unit", "direktur", "verifikator"):
        with pytest.raises(PermissionDenied):
            procedure.restore_mockup_version(demo_ctx, as_user(who), 2, reopened, v2)
    with pytest.raises(Conflict) as exc:  # someone saved since the analyst looked
        procedure.restore_mockup_version(demo_ctx, analyst, 2, v2, reopened)
    assert exc.value.key == "store.stale_head"
    with pytest.raises(NotFound):  # only a revision of this dashboard can come back
        procedure.restore_mockup_version(demo_ctx, analyst, 2, demo_ctx.store.head(), v2)
    with pytest.raises(UserError) as exc:  # restoring the current content changes nothing
        procedure.restore_mockup_version(demo_ctx, analyst, 2, v2, v2)
    assert exc.value.key == "store.no_changes"
    procedure.send_mockup(demo_ctx, analyst, 2)
    with pytest.raises(Conflict) as exc:  # in review, the mock-up is the unit's to judge
        procedure.restore_mockup_version(demo_ctx, analyst, 2, reopened, v2)
    assert exc.value.key == "procedure.wrong_status"
    assert demo_ctx.store.head("mockup/req-2") == v2


def test_dashboard_history_on_main(demo_ctx):
    history = procedure.dashboard_history(demo_ctx, "pantauan-sampling-pengujian")
    assert history and all(h.sha for h in history)
    assert history[-1].parents == []  # back to the seed
    assert procedure.dashboard_history(demo_ctx, "tren-temuan-kosmetik") == []  # not approved yet


def test_the_analyst_resolves_a_conflict_and_the_unit_approves(demo_ctx, as_user, reopened):
    analyst, unit, path = as_user("analis"), as_user("unit"), "specs/tren-temuan-kosmetik.yaml"
    # Meanwhile main gets its own version of the same dashboard (the same lines differ).
    theirs = demo_ctx.store.snapshot(reopened).specs["tren-temuan-kosmetik"]
    main = demo_ctx.store.commit_to_main(
        {path: spec_to_yaml(theirs.model_copy(update={"title": "Versi Main"}))},
        procedure.author_of(demo_ctx, as_user("verifikator")), demo_ctx.store.head(), "Versi main",
    )
    head = _save_title(demo_ctx, analyst, "Versi Mock-up", reopened)
    preview = procedure.mockup_merge_preview(demo_ctx, 2)
    assert not preview.clean and preview.conflict_paths == [path]
    with pytest.raises(PermissionDenied):
        procedure.update_mockup_from_main(demo_ctx, unit, 2, {}, head, main)

    resolution = preview.conflicts[0].mockup.replace("Versi Mock-up", "Versi Bersama")
    updated = procedure.update_mockup_from_main(demo_ctx, analyst, 2, {path: resolution}, head, main)
    assert subprocess_parents(demo_ctx, updated) == [head, main]
    procedure.send_mockup(demo_ctx, analyst, 2)
    merge = procedure.approve_mockup(demo_ctx, unit, 2, updated)
    assert subprocess_parents(demo_ctx, merge) == [main, updated]
    assert demo_ctx.store.snapshot("main").specs["tren-temuan-kosmetik"].title == "Versi Bersama"
    assert procedure.get_request(demo_ctx, 2).status == RequestStatus.APPROVED
    with Session(demo_ctx.engine) as session:
        actions = [e.action for e in session.exec(select(Event).where(Event.request_id == 2))]
    assert "mockup.updated_from_main" in actions
