"""What the analyst is told when bringing main into a mock-up is refused (which request, which
files, which branch moved from what to what), and what the merge commit records for review."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocenter.display.spec import spec_to_yaml
from ocenter.errors import Conflict, UserError
from ocenter.store.spec_store import SpecStore
from tests.test_store import ANALIS, DIREKTUR, PUSDATIN, commit_fields, make_spec

SPEC = "specs/dash-one.yaml"


def main_changes_title(store: SpecStore, title: str) -> str:
    return store.commit_to_main({SPEC: spec_to_yaml(make_spec(title=title))}, PUSDATIN,
                                store.head(), f"Judul {title}")


@pytest.fixture
def conflicting(store: SpecStore) -> tuple[str, str]:
    """Mock-up 7 and main both change dash-one's title. Returns (mock-up head, main head)."""
    start = store.start_mockup(7, make_spec(title="Dasbor"), ANALIS, "Mulai")
    head = store.save_spec(7, make_spec(title="Judul Mock-up"), ANALIS, start, "Judul mock-up")
    return head, main_changes_title(store, "Judul Main")


def refusal(call) -> UserError:  # noqa: ANN001
    with pytest.raises(UserError) as refused:
        call()
    return refused.value


def test_refusals_name_the_request_and_the_files(store: SpecStore, conflicting: tuple[str, str]):
    head, _ = conflicting
    [versions] = store.merge_preview(7).conflicts
    unresolved = refusal(lambda: store.update_mockup_from_main(7, {}, ANALIS, head))
    assert (unresolved.key, unresolved.params) == ("history.unresolved", {"request": 7, "files": SPEC})
    extra = {SPEC: versions.mockup, "README.md": "x\n", "LICENSE": "y\n"}
    unexpected = refusal(lambda: store.update_mockup_from_main(7, extra, ANALIS, head))
    assert (unexpected.key, unexpected.params) == ("history.not_conflicting", {"files": "LICENSE, README.md"})
    marked = {SPEC: "<<<<<<< mockup\n" + versions.mockup + "=======\n" + versions.main + ">>>>>>> main\n"}
    markers = refusal(lambda: store.update_mockup_from_main(7, marked, ANALIS, head))
    assert (markers.key, markers.params) == ("history.markers_left", {"files": SPEC})


def test_a_moved_branch_or_main_is_named_with_both_revisions(store: SpecStore, conflicting: tuple[str, str]):
    head, main = conflicting
    [versions] = store.merge_preview(7).conflicts
    newer = store.save_spec(7, make_spec(title="Judul Mock-up 2"), ANALIS, head, "lagi")
    stale = refusal(lambda: store.update_mockup_from_main(7, {SPEC: versions.mockup}, ANALIS, head))
    assert isinstance(stale, Conflict)
    assert stale.params == {"branch": "mockup/req-7", "expected": head[:12], "current": newer[:12]}
    moved = main_changes_title(store, "Judul Main 2")
    stale_main = refusal(lambda: store.update_mockup_from_main(
        7, {SPEC: versions.mockup}, ANALIS, newer, expected_main=main))
    assert stale_main.params == {"branch": "main", "expected": main[:12], "current": moved[:12]}


def test_an_up_to_date_mockup_names_its_request(store: SpecStore):
    head = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    current = refusal(lambda: store.update_mockup_from_main(7, {}, ANALIS, head))
    assert (current.key, current.params) == ("history.already_current", {"request": 7})


def test_the_update_commit_records_request_main_and_resolved_files(
    store: SpecStore, store_path: Path, conflicting: tuple[str, str]
):
    head, main = conflicting
    [versions] = store.merge_preview(7).conflicts
    updated = store.update_mockup_from_main(7, {SPEC: versions.mockup}, ANALIS, head, expected_main=main)
    trailers = commit_fields(store_path, updated, "%(trailers:only,unfold)").splitlines()
    assert trailers == ["Request: 7", f"Merged-main: {main}", f"Resolved: {SPEC}",
                        "Change-kind: mockup-update"]
    assert commit_fields(store_path, updated, "%s") == "Update mock-up of request 7 from main"


def test_a_clean_update_records_no_resolved_files(store: SpecStore, store_path: Path):
    head = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    main = main_changes_title(store, "Dibangun")
    updated = store.update_mockup_from_main(7, {}, ANALIS, head)
    trailers = commit_fields(store_path, updated, "%(trailers:only,unfold)").splitlines()
    assert trailers == ["Request: 7", f"Merged-main: {main}", "Change-kind: mockup-update"]
    merge = store.approve(7, updated, DIREKTUR, dashboard_id="dash-two")
    assert commit_fields(store_path, merge, "%(trailers:only,unfold)").splitlines() == [
        "Approved-by: direktur", "Request: 7", f"Reviewed-commit: {updated}", "Change-kind: approval"]


def test_a_refusal_lists_pushed_file_names_with_only_our_own_characters():
    from ocenter.store.merges import _LISTED_FILES, listing
    from ocenter.store.models import FileChange

    odd = [FileChange(path="specs/[klik](http://x) *b*.yaml", change="added"),
           FileChange(path="lifecycle/dasbor-0001.yaml", change="modified")]
    assert listing(odd) == "specs/?klik??http?//x???b?.yaml, lifecycle/dasbor-0001.yaml"
    many = [FileChange(path=f"specs/d-{n}.yaml", change="added") for n in range(_LISTED_FILES + 3)]
    assert listing(many).endswith(f"specs/d-{_LISTED_FILES - 1}.yaml (+3)")
    assert listing([FileChange(path="specs/" + "a" * 200, change="added")]) == "specs/" + "a" * 114
