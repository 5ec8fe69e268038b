"""Step 5 when a developer has pushed to the mock-up branch with plain Git (the store lets them
push ``mockup/req-<n>``): the unit reviews exactly the revision it opened, an unreadable spec is
judged by the most confidential data it could hold, and problems in files the branch took over
from main block the approval without being named."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from ocenter import procedure
from ocenter.accounts import admin
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.models import RequestStatus

IN_REVIEW = 2  # the demo's mock-up in review, of the Direktorat Pengawasan Kosmetik
BROKEN_SPEC = "id: [tidak ditutup\ntitle: parameter_tms disebut di sini\n"


def developer_commit(store, ref: str, files: dict[str, str | None], parents: list[str]) -> str:  # noqa: ANN001
    """A commit made outside the app, as ``git push`` by a developer leaves it: ``files`` (None
    deletes) on top of ``parents[0]``'s tree (no parents: a history of its own, from nothing),
    with ``parents``, and ``ref`` moved to it."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_DIR": str(store.path), "GIT_INDEX_FILE": str(Path(scratch) / "index"),
               "GIT_AUTHOR_NAME": "Pengembang", "GIT_AUTHOR_EMAIL": "pengembang@pom.go.id",
               "GIT_COMMITTER_NAME": "Pengembang", "GIT_COMMITTER_EMAIL": "pengembang@pom.go.id"}

        def git(*args: str, stdin: bytes | None = None) -> str:
            return subprocess.run(["git", *args], env=env, input=stdin, capture_output=True,
                                  check=True).stdout.decode().strip()

        if parents:
            git("read-tree", parents[0])
        for path, text in files.items():
            if text is None:
                git("update-index", "--index-info", stdin=f"0 {'0' * 40}\t{path}\n".encode())
            else:
                blob = git("hash-object", "-w", "--stdin", stdin=text.encode())
                git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        tree = git("write-tree")
        parent_args = [arg for parent in parents for arg in ("-p", parent)]
        commit = git("commit-tree", tree, *parent_args, "-m", "Perubahan langsung dari pengembang")
        git("update-ref", f"refs/heads/{ref}", commit, store.head(ref) or "")  # "": must be new
        return commit


def director_cleared_for(ctx, as_user, level: Level):  # noqa: ANN001, ANN201 - Authority
    """A director of the Kosmetik unit cleared for ``level``."""
    username = f"dirkosmetik-{level.value}"
    admin.add_user(ctx, None, username=username, name="Dr. Ratna Kosmetika", role=Role.DIREKTUR,
                   clearance=level, scope=ScopeKind.UNIT, unit_code="DIT-WAS-KOSMETIK",
                   password=DEMO_PASSWORD)
    return as_user(username)


def in_review(ctx, as_user, level: Level = Level.TERBATAS) -> tuple[int, str, str]:  # noqa: ANN001
    """A new request of the Kosmetik unit, its mock-up sent for review: (id, spec path, head)."""
    request = procedure.file_request(
        ctx, as_user("unit"), title="Parameter TMS", purpose="Rapat.", level=level,
        datasets_wanted=["sampling-pengujian"], audience=[])
    procedure.state_no_new_data(ctx, as_user("analis"), request.id, "Data sampling sudah diterima.")
    head = procedure.start_mockup(ctx, as_user("analis"), request.id)
    procedure.send_mockup(ctx, as_user("analis"), request.id)
    return request.id, f"specs/{request.dashboard_id}.yaml", head


def test_the_unit_reviews_the_revision_it_opened_not_what_was_pushed_after(demo_ctx, as_user):
    store = demo_ctx.store
    opened = store.head(store.mockup_branch(IN_REVIEW))
    request = procedure.get_request(demo_ctx, IN_REVIEW)
    path = f"specs/{request.dashboard_id}.yaml"
    pushed = store.read_file(opened, path).replace("title:", "title: JUDUL-DIDORONG-SETELAH-DIBUKA #", 1)
    developer_commit(store, store.mockup_branch(IN_REVIEW), {path: pushed}, [opened])

    shown = procedure.mockup_review_diff(demo_ctx, as_user("unit"), IN_REVIEW, opened)
    assert "+++ " in shown and "JUDUL-DIDORONG-SETELAH-DIBUKA" not in shown
    newest = store.head(store.mockup_branch(IN_REVIEW))
    assert "JUDUL-DIDORONG-SETELAH-DIBUKA" in procedure.mockup_review_diff(
        demo_ctx, as_user("unit"), IN_REVIEW, newest)


def test_an_unreadable_spec_shows_its_raw_text_only_to_whom_its_data_is_cleared(demo_ctx, as_user):
    store = demo_ctx.store
    request_id, path, head = in_review(demo_ctx, as_user)
    broken = developer_commit(store, store.mockup_branch(request_id), {path: BROKEN_SPEC}, [head])
    unit = as_user("unit")
    # The problems are no secret: the unit is told the mock-up cannot be read...
    access = procedure.review_access(demo_ctx, unit, request_id, broken)
    assert (access.allowed, access.level) == (True, Level.TERBATAS)
    # ... but the raw YAML may hold any value of the request's data, of which the most
    # confidential field is rahasia (sampling-pengujian's parameter_tms).
    with pytest.raises(PermissionDenied) as refused:
        procedure.mockup_review_diff(demo_ctx, unit, request_id, broken)
    assert (refused.value.key, refused.value.params) == ("procedure.review_above_clearance",
                                                         {"level": Level.RAHASIA.value})
    assert "parameter_tms disebut" in procedure.mockup_review_diff(
        demo_ctx, director_cleared_for(demo_ctx, as_user, Level.RAHASIA), request_id, broken)


def test_an_unreadable_spec_whose_contract_is_gone_is_judged_sangat_rahasia(demo_ctx, as_user):
    store = demo_ctx.store
    request_id, path, head = in_review(demo_ctx, as_user)
    broken = developer_commit(store, store.mockup_branch(request_id),
                              {path: BROKEN_SPEC, "data_contracts/sampling-pengujian.yaml": None}, [head])
    director = director_cleared_for(demo_ctx, as_user, Level.RAHASIA)
    with pytest.raises(PermissionDenied) as refused:
        procedure.mockup_review_diff(demo_ctx, director, request_id, broken)
    assert refused.value.params == {"level": Level.SANGAT_RAHASIA.value}


def test_problems_taken_over_from_main_block_the_approval_counted_by_file(demo_ctx, as_user):
    store = demo_ctx.store
    request_id, _, head = in_review(demo_ctx, as_user)
    # main gets a file the app cannot read (two problems in one file), and a developer merges
    # main into the mock-up with plain Git.
    main = store.head("main")
    bad_main = developer_commit(store, "main",
                                {"specs/rusak-dari-main.yaml": "id: rusak-dari-main\npanels: 7\n"}, [main])
    merged = developer_commit(store, store.mockup_branch(request_id), {
        "specs/rusak-dari-main.yaml": "id: rusak-dari-main\npanels: 7\n"}, [head, bad_main])
    mine, others = procedure.review_problems(demo_ctx, request_id)
    assert (mine, others) == ([], 1)
    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(demo_ctx, as_user("unit"), request_id, merged)
    assert (refused.value.key, refused.value.params) == ("review.other_problems", {"count": 1})
    assert procedure.get_request(demo_ctx, request_id).status == RequestStatus.IN_REVIEW
    assert store.head("main") == bad_main


def test_a_mock_up_a_developer_pushed_first_is_adopted_as_it_is(demo_ctx, as_user):
    store = demo_ctx.store
    request = procedure.file_request(
        demo_ctx, as_user("unit"), title="Dari pengembang", purpose="Rapat.", level=Level.TERBATAS,
        datasets_wanted=["sampling-pengujian"], audience=[])
    template = store.read_file(store.head(store.mockup_branch(IN_REVIEW)),
                               f"specs/{procedure.get_request(demo_ctx, IN_REVIEW).dashboard_id}.yaml")
    own = template.replace(procedure.get_request(demo_ctx, IN_REVIEW).dashboard_id, request.dashboard_id)
    own = own.replace(f"request_id: {IN_REVIEW}", f"request_id: {request.id}")
    pushed = developer_commit(store, store.mockup_branch(request.id),
                              {f"specs/{request.dashboard_id}.yaml": own}, [store.head("main")])
    procedure.state_no_new_data(demo_ctx, as_user("analis"), request.id, "Data sampling sudah diterima.")
    assert procedure.start_mockup(demo_ctx, as_user("analis"), request.id) == pushed
    assert store.head(store.mockup_branch(request.id)) == pushed
    [logged] = [e for e in procedure.events(demo_ctx, request.id) if e.step == 4]
    assert (logged.action, logged.detail) == ("mockup.adopted", pushed)
    assert procedure.get_request(demo_ctx, request.id).status == RequestStatus.MOCKUP


def test_a_pushed_revision_of_another_request_is_not_restored(demo_ctx, as_user):
    store = demo_ctx.store
    request = procedure.file_request(
        demo_ctx, as_user("unit"), title="Pulihkan", purpose="Rapat.", level=Level.TERBATAS,
        datasets_wanted=["sampling-pengujian"], audience=[])
    procedure.state_no_new_data(demo_ctx, as_user("analis"), request.id, "Data sampling sudah diterima.")
    head = procedure.start_mockup(demo_ctx, as_user("analis"), request.id)
    path = f"specs/{request.dashboard_id}.yaml"
    text = store.read_file(head, path)
    assert f"request_id: {request.id}" in text
    stranger = developer_commit(store, store.mockup_branch(request.id),
                                {path: text.replace(f"request_id: {request.id}", "request_id: 1")}, [head])
    with pytest.raises(UserError) as refused:
        procedure.restore_mockup_version(demo_ctx, as_user("analis"), request.id, stranger, stranger)
    assert (refused.value.key, refused.value.params) == (
        "procedure.spec_identity", {"dashboard": request.dashboard_id, "request": request.id})
    assert store.head(store.mockup_branch(request.id)) == stranger


def test_an_update_from_main_keeps_a_problem_the_mock_up_already_had(demo_ctx, as_user):
    store = demo_ctx.store
    analyst = as_user("analis")
    request = procedure.file_request(
        demo_ctx, as_user("unit"), title="Masih rusak", purpose="Rapat.", level=Level.TERBATAS,
        datasets_wanted=["sampling-pengujian"], audience=[])
    procedure.state_no_new_data(demo_ctx, analyst, request.id, "Data sampling sudah diterima.")
    head = procedure.start_mockup(demo_ctx, analyst, request.id)
    path = f"specs/{request.dashboard_id}.yaml"
    broken = developer_commit(store, store.mockup_branch(request.id), {path: BROKEN_SPEC}, [head])
    main = developer_commit(store, "main", {"README.md": "Penyimpanan spesifikasi OCenter.\n"},
                            [store.head("main")])
    # The analyst can still bring main in: the update adds no problem neither side had, and the
    # mock-up's own problem stays for the analyst to fix, named as before.
    updated = procedure.update_mockup_from_main(demo_ctx, analyst, request.id, {}, broken, main)
    assert store.merge_base("main", updated) == main
    assert [p.split(": ", 1)[0] for p in procedure.mockup_problems(demo_ctx, request.id)] == [path]


def test_a_mock_up_pushed_with_a_history_of_its_own_is_refused_by_name(demo_ctx, as_user):
    store = demo_ctx.store
    request_id, path, head = in_review(demo_ctx, as_user)
    # A developer force-pushes a branch that never forked from main (an orphan commit).
    orphan = developer_commit(store, store.mockup_branch(request_id),
                              {path: store.read_file(head, path)}, [])
    with pytest.raises(UserError) as unrelated:
        procedure.mockup_merge_preview(demo_ctx, request_id)
    assert (unrelated.value.key, unrelated.value.params) == ("store.unrelated_history",
                                                             {"request": request_id})
    with pytest.raises(NotFound) as no_base:  # nothing to judge its level by: nothing shown
        procedure.review_access(demo_ctx, as_user("unit"), request_id, orphan)
    assert no_base.value.key == "store.revision_not_found"
