"""Tests of the Git-backed spec store: mock-up branches, saves, approvals, plain Git, crashes."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocenter.contracts.model import ContractField, DataContract, FieldType, contract_to_yaml
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import DashboardSpec, Panel, spec_to_yaml
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.store.models import Author
from ocenter.store.names import MAIN, mockup_branch
from ocenter.store.spec_store import SpecStore
from ocenter.store.validation import validate_store

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_ID = "sampling-pengujian"

ANALIS = Author(username="analis", name="Siti Analis")
ANALIS2 = Author(username="analis2", name="Rudi Analis")
DIREKTUR = Author(username="direktur", name="Budi Direktur")
PUSDATIN = Author(username="pusdatin", name="Admin Pusdatin")


def make_contract(extra_field: bool = True) -> DataContract:
    """A small contract: a category and a count (and a province code unless told otherwise)."""
    fields = [
        ContractField(name="kategori_produk", label="Kategori"),
        ContractField(name="jumlah", type=FieldType.INTEGER),
    ]
    if extra_field:
        fields.append(ContractField(name="kode_provinsi"))
    return DataContract(id=CONTRACT_ID, title="Sampling", owner_unit="DIT-X", fields=fields)


def make_spec(dashboard_id: str = "dash-one", title: str = "Dasbor", **extra: object) -> DashboardSpec:
    """A small spec with one bar panel over the contract above."""
    panel = Panel(
        id="per-kategori",
        title="Per kategori",
        kind="bar",
        dataset=CONTRACT_ID,
        dimension=extra.pop("dimension", "kategori_produk"),
    )
    return DashboardSpec(
        id=dashboard_id,
        title=title,
        owner_unit="DIT-X",
        datasets=[CONTRACT_ID],
        panels=[panel],
        **extra,
    )


def seed_files() -> dict[str, str]:
    return {
        f"data_contracts/{CONTRACT_ID}.yaml": contract_to_yaml(make_contract()),
        "specs/dash-one.yaml": spec_to_yaml(make_spec()),
        "README.md": "# store\n",
    }


def git(
    *args: str, cwd: Path | None = None, check: bool = True, pusher: str | None = None
) -> subprocess.CompletedProcess:
    """Plain git as a person would run it, with a clean configuration; ``pusher`` is who the
    hosting server says is pushing (``REMOTE_USER``, as a web server in front of git sets it)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Dewi Plain",
        "GIT_AUTHOR_EMAIL": "dewi@pom.go.id",
        "GIT_COMMITTER_NAME": "Dewi Plain",
        "GIT_COMMITTER_EMAIL": "dewi@pom.go.id",
        "LC_ALL": "C",
        **({"REMOTE_USER": pusher} if pusher else {}),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check)


#: Checks of a condition, 0.05 s apart: far more than any wait here needs on a busy machine.
POLL_ATTEMPTS = 6000


def wait_until(condition: Callable[[], bool], what: str, attempts: int = POLL_ATTEMPTS) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` if it still does not after ``attempts``."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"still not so after {attempts} checks: {what}")


def fsck(store_path: Path) -> None:
    out = git("--git-dir", str(store_path), "fsck", "--strict", "--no-dangling", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower()


def object_count(store_path: Path) -> int:
    out = git("--git-dir", str(store_path), "count-objects", "-v").stdout
    fields = dict(line.split(": ") for line in out.splitlines())
    return int(fields["count"]) + int(fields["in-pack"])


def commit_fields(store_path: Path, rev: str, fmt: str) -> str:
    return git("--git-dir", str(store_path), "log", "-1", f"--format={fmt}", rev).stdout.strip()


# ------------------------------------------------------------------------------------------------


def test_open_or_init_is_idempotent(store_path: Path) -> None:
    first = SpecStore.open_or_init(store_path)
    assert first.head() is None
    seeded = first.seed(PUSDATIN, seed_files(), "Seed")
    again = SpecStore.open_or_init(store_path)
    assert again.head(MAIN) == seeded
    assert again.seed(PUSDATIN, seed_files(), "Seed again") is None
    snap = again.snapshot()
    assert set(snap.specs) == {"dash-one"} and set(snap.contracts) == {CONTRACT_ID}
    assert snap.problems == {}
    assert again.read_file("main", "README.md") == "# store\n"


def test_save_and_approve_round_trip(store: SpecStore, store_path: Path) -> None:
    main_before = store.head()
    start = store.start_mockup(7, make_spec("dash-two", "Baru"), ANALIS)
    assert store.head("mockup/req-7") == start == store.head(mockup_branch(7))
    saved = store.save_spec(7, make_spec("dash-two", "Baru v2"), ANALIS, start, "Judul baru")
    assert store.snapshot(mockup_branch(7)).specs["dash-two"].title == "Baru v2"
    assert store.snapshot().specs.keys() == {"dash-one"}  # main untouched until approval

    assert commit_fields(store_path, saved, "%an|%ae") == "Siti Analis|analis@users.ocenter.invalid"
    [info] = store.list_mockups()
    assert (info.request_id, info.head, info.base, info.merged) == (7, saved, main_before, False)
    assert info.authors == ["analis"] and info.problems == {}

    assert "+title: Baru v2" in store.mockup_diff(7)
    merge = store.approve(7, saved, DIREKTUR, dashboard_id="dash-two")
    assert store.head() == merge
    parents = commit_fields(store_path, merge, "%P").split()
    assert parents == [main_before, saved]
    assert commit_fields(store_path, merge, "%an|%ae") == ("Budi Direktur|direktur@users.ocenter.invalid")
    body = commit_fields(store_path, merge, "%B")
    assert "Approved-by: direktur" in body and "Request: 7" in body
    assert f"Reviewed-commit: {saved}" in body
    snap = store.snapshot()
    assert snap.commit == merge and snap.specs["dash-two"].title == "Baru v2"
    assert snap.valid_specs().keys() == {"dash-one", "dash-two"}

    # The branch is kept as the record of the review.
    [info] = store.list_mockups()
    assert info.merged and info.head == saved
    with pytest.raises(UserError) as exc:
        store.approve(7, saved, DIREKTUR, dashboard_id="dash-two")
    assert exc.value.key == "store.nothing_to_approve"

    history = store.history("specs/dash-two.yaml")
    assert [h.sha for h in history] == [merge, saved, start]
    assert history[0].trailers["Approved-by"] == "direktur"
    assert history[0].author_username == "direktur"
    assert history[1].author_username == "analis"
    diff = store.diff(start, saved, "specs/dash-two.yaml")
    assert "-title: Baru" in diff and "+title: Baru v2" in diff
    assert store.mockup_diff(7) == ""  # everything on it is approved now
    assert validate_store(store_path) == []
    fsck(store_path)


def test_a_contract_change_is_proposed_on_its_own_branch(store: SpecStore, store_path: Path) -> None:
    main_before = store.head()
    contract = make_contract().model_copy(update={"title": "Sampling v2"})
    head = store.propose_contract(3, contract, ANALIS2, "Kontrak")
    assert store.contract_change_head(CONTRACT_ID, 3) == head
    assert git("--git-dir", str(store_path), "rev-parse", f"contract/{CONTRACT_ID}-3").stdout.strip() == head
    assert store.snapshot(head).contracts[CONTRACT_ID].title == "Sampling v2"
    assert store.head() == main_before and store.list_mockups() == []  # not a mock-up
    assert commit_fields(store_path, head, "%P") == main_before
    assert commit_fields(store_path, head, "%(trailers:key=Contract-change,valueonly)") == "3"
    with pytest.raises(UserError) as exc:  # a proposal must change the contract
        store.propose_contract(4, make_contract(), ANALIS2, "Sama")
    assert exc.value.key == "store.no_changes" and store.contract_change_head(CONTRACT_ID, 4) is None


def test_start_twice_is_a_conflict(store: SpecStore) -> None:
    store.start_mockup(5, make_spec("dash-five"), ANALIS)
    with pytest.raises(Conflict) as exc:
        store.start_mockup(5, make_spec("dash-five", "Lagi"), ANALIS2)
    assert exc.value.key == "store.mockup_exists"
    with pytest.raises(NotFound) as missing:
        store.save_spec(6, make_spec("dash-six"), ANALIS, store.head(), "no branch")
    assert missing.value.key == "store.mockup_not_found"


def test_stale_expected_head_is_refused(store: SpecStore) -> None:
    start = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    first = store.save_spec(7, make_spec("dash-two", "Versi A"), ANALIS, start, "A")
    with pytest.raises(Conflict) as exc:
        store.save_spec(7, make_spec("dash-two", "Versi B"), ANALIS2, start, "B")
    assert exc.value.key == "store.stale_head"
    assert "mockup/req-7" in exc.value.text("en") and "disimpan" not in exc.value.text("en")
    assert store.head("mockup/req-7") == first
    assert store.snapshot("mockup/req-7").specs["dash-two"].title == "Versi A"


def test_approval_is_bound_to_the_reviewed_commit(store: SpecStore) -> None:
    main_before = store.head()
    reviewed = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    later = store.save_spec(7, make_spec("dash-two", "Diam-diam"), ANALIS, reviewed, "after review")
    with pytest.raises(Conflict) as exc:
        store.approve(7, reviewed, DIREKTUR, dashboard_id="dash-two")
    assert exc.value.key == "store.review_outdated"
    assert store.head() == main_before
    assert store.approve(7, later, DIREKTUR, dashboard_id="dash-two") == store.head()


def test_an_author_cannot_approve(store: SpecStore) -> None:
    main_before = store.head()
    start = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    head = store.save_spec(7, make_spec("dash-two", "v2"), ANALIS2, start, "second author")
    for approver in (ANALIS, ANALIS2):
        with pytest.raises(PermissionDenied) as exc:
            store.approve(7, head, approver, dashboard_id="dash-two")
        assert exc.value.key == "store.approver_is_author"
    assert store.head() == main_before
    # Accounts take part, not display names: another account named alike is someone else.
    store.approve(7, head, Author(username="rudi2", name="Rudi Analis"), dashboard_id="dash-two")


def test_three_way_merge_when_main_moved(store: SpecStore, store_path: Path) -> None:
    a = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    b = store.start_mockup(8, make_spec("dash-three"), ANALIS)
    first = store.approve(8, b, DIREKTUR, dashboard_id="dash-three")
    # main moved since req-7 forked: a real merge
    second = store.approve(7, a, DIREKTUR, dashboard_id="dash-two")
    assert commit_fields(store_path, second, "%P").split() == [first, a]
    assert store.snapshot().specs.keys() == {"dash-one", "dash-two", "dash-three"}
    assert validate_store(store_path) == []
    fsck(store_path)


def test_conflicting_merge_is_refused_with_file_names(store: SpecStore) -> None:
    a = store.start_mockup(7, make_spec("dash-one", "Judul A"), ANALIS)
    b = store.start_mockup(8, make_spec("dash-one", "Judul B"), ANALIS)
    merged = store.approve(8, b, DIREKTUR, dashboard_id="dash-one")
    with pytest.raises(Conflict) as exc:
        store.approve(7, a, DIREKTUR, dashboard_id="dash-one")
    assert exc.value.key == "store.merge_conflict"
    assert exc.value.params["files"] == "specs/dash-one.yaml"
    assert "specs/dash-one.yaml" in exc.value.text("id")
    assert store.head() == merged
    assert store.snapshot().specs["dash-one"].title == "Judul B"


def test_invalid_spec_is_refused_and_nothing_written(store: SpecStore, store_path: Path) -> None:
    start = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    objects = object_count(store_path)
    broken = make_spec("dash-two", dimension="tidak_ada")
    with pytest.raises(UserError) as exc:
        store.save_spec(7, broken, ANALIS, start, "broken")
    assert exc.value.key == "store.invalid_content"
    assert "tidak_ada" in exc.value.params["reasons"]
    assert store.head("mockup/req-7") == start
    assert object_count(store_path) == objects  # validation runs before any object is written
    with pytest.raises(UserError) as exc:
        store.start_mockup(9, broken, ANALIS)
    assert exc.value.key == "store.invalid_content" and store.head("mockup/req-9") is None

    # A contract change that breaks a dashboard on main is refused too.
    narrow = DataContract(
        id=CONTRACT_ID,
        title="Sampling",
        owner_unit="DIT-X",
        fields=[ContractField(name="jumlah", type=FieldType.INTEGER)],
    )
    with pytest.raises(UserError) as exc:  # dash-one on main reads kategori_produk
        store.propose_contract(1, narrow, ANALIS, "narrow")
    assert exc.value.key == "store.invalid_content"
    assert "kategori_produk" in exc.value.params["reasons"]
    assert store.contract_change_head(CONTRACT_ID, 1) is None
    with pytest.raises(UserError) as exc:
        store.save_spec(7, make_spec("dash-two"), ANALIS, start, "same")
    assert exc.value.key == "store.no_changes"


def test_commit_to_main_and_restore(store: SpecStore, store_path: Path) -> None:
    seed = store.head()
    built = store.commit_to_main(
        {
            "specs/dash-one.yaml": spec_to_yaml(make_spec(title="Dibangun")),
            "lifecycle/dash-one.yaml": lifecycle_to_yaml(DashboardLifecycle(id="dash-one", built=True)),
        },
        PUSDATIN,
        seed,
        "Bangun dasbor",
        {"Request": "1", "Step": "6"},
    )
    assert store.snapshot().lifecycle_of("dash-one").built
    assert not store.snapshot(seed).lifecycle_of("dash-one").built
    assert store.history("lifecycle/dash-one.yaml")[0].trailers["Step"] == "6"
    with pytest.raises(Conflict) as stale:
        store.commit_to_main(
            {"specs/dash-one.yaml": spec_to_yaml(make_spec(title="Lain"))}, PUSDATIN, seed, "x"
        )
    assert stale.value.key == "store.stale_head" and store.head() == built
    with pytest.raises(UserError) as exc:
        store.commit_to_main(
            {"specs/dash-one.yaml": spec_to_yaml(make_spec(dimension="nope"))}, PUSDATIN, built, "x"
        )
    assert exc.value.key == "store.invalid_content" and store.head() == built

    restored = store.restore("main", "specs/dash-one.yaml", seed, PUSDATIN, built)
    assert commit_fields(store_path, restored, "%P") == built  # a new commit, history kept
    assert store.read_file(restored, "specs/dash-one.yaml") == store.read_file(seed, "specs/dash-one.yaml")
    assert [h.sha for h in store.history("specs/dash-one.yaml")] == [restored, built, seed]
    assert store.history("specs/dash-one.yaml")[0].trailers["Restored-from"] == seed

    start = store.start_mockup(4, make_spec("dash-four", "v1"), ANALIS)
    v2 = store.save_spec(4, make_spec("dash-four", "v2"), ANALIS, start, "v2")
    back = store.restore(4, "specs/dash-four.yaml", start, ANALIS, v2)
    assert store.snapshot(back).specs["dash-four"].title == "v1"
    with pytest.raises(NotFound) as absent:
        store.restore(4, "specs/nope-nope.yaml", start, ANALIS, back)
    assert absent.value.key == "store.file_not_found"
    assert store.read_file("main", "specs/nope-nope.yaml") is None


def test_plain_git_push_shows_up_with_errors_and_cannot_be_approved(
    store: SpecStore, store_path: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(store_path), str(clone))
    git("checkout", "--quiet", "-b", "mockup/req-9", cwd=clone)
    (clone / "specs" / "dash-nine.yaml").write_text(
        spec_to_yaml(make_spec("dash-nine")).replace("kategori_produk", "kolom_hilang"),
        encoding="utf-8",
    )
    (clone / "specs" / "bad-name.yaml").write_text("id: other-name\ntitle: x\nowner_unit: X\n")
    (clone / "specs" / "garbage.yaml").write_text("{not yaml: [\n")
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "Mock-up dari git", cwd=clone)
    git("push", "--quiet", "origin", "mockup/req-9", cwd=clone, pusher="dewi")

    [info] = store.list_mockups()
    assert info.request_id == 9 and info.branch == "mockup/req-9"
    assert info.authors == ["dewi"] and info.unattributed == [] and not info.merged
    assert info.head == git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    assert set(info.problems) == {
        "specs/dash-nine.yaml",
        "specs/bad-name.yaml",
        "specs/garbage.yaml",
    }
    assert "kolom_hilang" in info.problems["specs/dash-nine.yaml"][0]
    assert "does not match" in info.problems["specs/bad-name.yaml"][0]
    with pytest.raises(UserError) as exc:  # two files besides its own spec: refused for that first
        store.approve(9, info.head, DIREKTUR, dashboard_id="dash-nine")
    assert exc.value.key == "store.mockup_outside_scope"
    assert exc.value.params["files"] == "specs/bad-name.yaml, specs/garbage.yaml"
    assert store.history("specs/dash-nine.yaml", "mockup/req-9")[0].author_username == ("dewi@pom.go.id")

    # The same checks from the command line's function, on the clone and on the bare store.
    problems = validate_store(clone)  # HEAD of the clone: the mock-up branch
    assert {p.path for p in problems} == set(info.problems)
    assert {p.path for p in validate_store(store_path, "mockup/req-9")} == set(info.problems)
    assert validate_store(store_path) == []

    # Without the stray files, its own spec's error still refuses it.
    (clone / "specs" / "bad-name.yaml").unlink()
    (clone / "specs" / "garbage.yaml").unlink()
    git("commit", "--quiet", "-a", "-m", "Hapus berkas lain", cwd=clone)
    git("push", "--quiet", "origin", "mockup/req-9", cwd=clone, pusher="dewi")
    with pytest.raises(UserError) as exc:
        store.approve(9, store.head("mockup/req-9"), DIREKTUR, dashboard_id="dash-nine")
    assert exc.value.key == "store.mockup_invalid" and "kolom_hilang" in exc.value.params["reasons"]

    # Fixed with plain git, it can be approved (by someone who did not write it).
    (clone / "specs" / "dash-nine.yaml").write_text(spec_to_yaml(make_spec("dash-nine")))
    git("commit", "--quiet", "-a", "-m", "Perbaiki", cwd=clone)
    git("push", "--quiet", "origin", "mockup/req-9", cwd=clone, pusher="dewi")
    head = store.head("mockup/req-9")
    with pytest.raises(PermissionDenied) as own:
        store.approve(9, head, Author(username="dewi", name="Dewi Plain"), dashboard_id="dash-nine")
    assert own.value.key == "store.approver_is_author"
    store.approve(9, head, DIREKTUR, dashboard_id="dash-nine")
    assert "dash-nine" in store.snapshot().specs
    fsck(store_path)


def test_a_mockup_may_not_delete_its_own_approved_spec(
    store: SpecStore, store_path: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(store_path), str(clone))
    git("checkout", "--quiet", "-b", "mockup/req-7", cwd=clone)
    git("rm", "--quiet", "specs/dash-one.yaml", cwd=clone)
    git("commit", "--quiet", "-m", "Hapus dasbor", cwd=clone)
    git("push", "--quiet", "origin", "mockup/req-7", cwd=clone)
    main_before = store.head()
    deleted = [("specs/dash-one.yaml", "deleted")]
    assert [(c.path, c.change) for c in store.mockup_scope(7, "dash-one")] == deleted
    with pytest.raises(UserError) as exc:
        store.approve(7, store.head("mockup/req-7"), DIREKTUR, dashboard_id="dash-one")
    assert exc.value.key == "store.mockup_outside_scope"
    assert exc.value.params == {
        "request": 7, "allowed": "specs/dash-one.yaml", "files": "specs/dash-one.yaml"
    }
    assert store.head() == main_before


def pushed(clone: Path, refspec: str, pusher: str | None = "dewi") -> tuple[int, list[str]]:
    """``git push origin refspec`` from ``clone`` as ``pusher``: its exit code and the lines
    about refs refused, the remote's words included (without the padding git puts after them)."""
    result = git("push", "origin", refspec, cwd=clone, check=False, pusher=pusher)
    said = [line.rstrip() for line in result.stderr.splitlines() if line.startswith(("remote:", " ! "))]
    return result.returncode, said


def clone_with_a_commit_on_main(store: SpecStore, store_path: Path, clone: Path) -> str:
    """A clone of the store whose main is one commit ahead: pushing it is a fast-forward."""
    git("clone", "--quiet", str(store_path), str(clone))
    (clone / "README.md").write_text("# changed with plain git\n", encoding="utf-8")
    git("commit", "--quiet", "-a", "-m", "Straight to main", cwd=clone)
    assert git("rev-parse", "HEAD~1", cwd=clone).stdout.strip() == store.head()
    return git("rev-parse", "HEAD", cwd=clone).stdout.strip()


HOOK_REFUSAL = "remote: ocenter: only refs/heads/mockup/req-<number> may be pushed, not {ref}"


@pytest.mark.parametrize(
    ("refspec", "ref", "report"),
    [
        ("main", "refs/heads/main", "main -> main"),  # a fast-forward: only the hook stops it
        (":main", "refs/heads/main", "main"),  # deleting main
        ("HEAD:refs/heads/sneaky", "refs/heads/sneaky", "HEAD -> sneaky"),
        ("HEAD:refs/tags/v1", "refs/tags/v1", "HEAD -> v1"),
        ("HEAD:refs/heads/mockup/evil", "refs/heads/mockup/evil", "HEAD -> mockup/evil"),
        ("HEAD:refs/heads/mockup/req-007", "refs/heads/mockup/req-007", "HEAD -> mockup/req-007"),
    ],
    ids=["fast-forward-main", "delete-main", "new-branch", "tag", "mockup-not-a-request", "leading-zero"],
)
def test_the_hook_refuses_pushes_outside_mockup_branches(
    store: SpecStore, store_path: Path, tmp_path: Path, refspec: str, ref: str, report: str
) -> None:
    """main moves only through approvals in the app, and no ref but a mock-up branch is created."""
    clone_with_a_commit_on_main(store, store_path, tmp_path / "clone")
    refs_before = git("--git-dir", str(store_path), "for-each-ref").stdout

    code, said = pushed(tmp_path / "clone", refspec)

    assert code == 1
    assert said == [
        HOOK_REFUSAL.format(ref=ref),
        f" ! [remote rejected] {report} (pre-receive hook declined)",
    ]
    assert git("--git-dir", str(store_path), "for-each-ref").stdout == refs_before
    fsck(store_path)


def test_mockup_branches_pushed_with_git_keep_their_history(
    store: SpecStore, store_path: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    commit = clone_with_a_commit_on_main(store, store_path, clone)
    assert pushed(clone, "HEAD:refs/heads/mockup/req-4") == (0, [])
    assert store.head("mockup/req-4") == commit

    # Neither rewritten nor deleted: the branch is the record of a review.
    git("commit", "--quiet", "--amend", "-m", "Rewritten", cwd=clone)
    assert pushed(clone, "+HEAD:refs/heads/mockup/req-4") == (
        1,
        [
            "remote: error: denying non-fast-forward refs/heads/mockup/req-4 (you should pull first)",
            " ! [remote rejected] HEAD -> mockup/req-4 (non-fast-forward)",
        ],
    )
    assert pushed(clone, ":refs/heads/mockup/req-4") == (
        1,
        [
            "remote: error: denying ref deletion for refs/heads/mockup/req-4",
            " ! [remote rejected] mockup/req-4 (deletion prohibited)",
        ],
    )
    assert store.head("mockup/req-4") == commit
    fsck(store_path)


@pytest.mark.parametrize(
    ("key", "call"),
    [
        (
            "store.invalid_name",
            lambda s: mockup_branch("--upload-pack=touch /tmp/pwned"),  # type: ignore[arg-type]
        ),
        ("store.invalid_name", lambda s: mockup_branch(-1)),
        ("store.invalid_name", lambda s: mockup_branch(True)),
        ("store.invalid_name", lambda s: mockup_branch("7")),  # type: ignore[arg-type]
        ("store.invalid_name", lambda s: s.head("--upload-pack")),
        ("store.invalid_name", lambda s: s.head("../x")),
        ("store.invalid_name", lambda s: s.head("refs/../main")),
        ("store.invalid_name", lambda s: s.head("mockup/req-007")),
        ("store.invalid_revision", lambda s: s.snapshot("--output=/tmp/pwned")),
        ("store.invalid_revision", lambda s: s.snapshot("-x")),
        ("store.invalid_revision", lambda s: s.snapshot("refs/../config")),
        ("store.invalid_revision", lambda s: s.snapshot("main@{1}")),
        ("store.invalid_path", lambda s: s.read_file("main", "../config")),
        ("store.invalid_path", lambda s: s.read_file("main", "specs/../config")),
        ("store.invalid_path", lambda s: s.read_file("main", "-p")),
        ("store.invalid_path", lambda s: s.read_file("main", ".git/config")),
        ("store.invalid_revision", lambda s: s.diff("main", "--output=/tmp/pwned")),
        ("store.invalid_path", lambda s: s.history("--output=/tmp/pwned")),
        ("store.invalid_revision", lambda s: s.save_spec(7, make_spec(), ANALIS, "--upload-pack", "x")),
        ("store.invalid_revision", lambda s: s.approve(7, "HEAD", DIREKTUR, dashboard_id="dash-two")),
        (
            "store.invalid_path",
            lambda s: s.commit_to_main({"specs/../x.yaml": "id: x"}, ANALIS, s.head(), "x"),
        ),
        (
            "store.invalid_path",
            lambda s: s.commit_to_main({"specs/Evil_Name.yaml": "id: x"}, ANALIS, s.head(), "x"),
        ),
        ("store.invalid_path", lambda s: s.commit_to_main({"/etc/passwd": "x"}, ANALIS, s.head(), "x")),
        (
            "store.invalid_name",
            lambda s: s.start_mockup(
                7, DashboardSpec.model_construct(id="../../x", datasets=[], panels=[]), ANALIS
            ),
        ),
        (
            "store.invalid_trailer",
            lambda s: s.commit_to_main(
                {"specs/dash-one.yaml": spec_to_yaml(make_spec())},
                ANALIS,
                s.head(),
                "x",
                {"Bad key": "v"},
            ),
        ),
    ],
)
def test_evil_names_are_refused_before_git(store: SpecStore, store_path: Path, key: str, call) -> None:
    refs_before = git("--git-dir", str(store_path), "for-each-ref").stdout
    with pytest.raises(UserError) as exc:
        call(store)
    assert exc.value.key == key
    assert not Path("/tmp/pwned").exists()
    assert git("--git-dir", str(store_path), "for-each-ref").stdout == refs_before


def test_the_users_own_git_setup_never_reaches_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever runs the app may have git hooks, templates, settings and attributes of their own:
    the store's git sees none of them, so its commits and merges are only what the app makes."""
    user, ran = tmp_path / "user", tmp_path / "user-hook-ran"
    hook = f"#!/bin/sh\ncat >/dev/null\necho \"$0\" >> {shlex.quote(str(ran))}\n"
    for hooks in (user / "hooks", user / "template" / "hooks"):
        hooks.mkdir(parents=True)
        (hooks / "reference-transaction").write_text(hook, encoding="utf-8")
        (hooks / "reference-transaction").chmod(0o755)
    (user / ".gitconfig").write_text(
        f"[core]\n\thooksPath = {user / 'hooks'}\n[init]\n\ttemplateDir = {user / 'template'}\n",
        encoding="utf-8",
    )
    # Without this, a three-way merge of two changes to one file would conflict.
    (user / ".config" / "git").mkdir(parents=True)
    (user / ".config" / "git" / "attributes").write_text("* merge=binary\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / ".config"))
    for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.hooksPath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(user / "hooks"))

    store = SpecStore.open_or_init(tmp_path / "store.git")
    seed = store.seed(PUSDATIN, seed_files(), "Seed")
    head = store.start_mockup(7, make_spec(title="Judul baru"), ANALIS)
    on_main = make_spec()
    on_main.panels[0] = on_main.panels[0].model_copy(update={"title": "Per produk"})
    store.commit_to_main({"specs/dash-one.yaml": spec_to_yaml(on_main)}, PUSDATIN, seed, "Panel")
    store.approve(7, head, DIREKTUR, dashboard_id="dash-one")

    merged = store.snapshot().specs["dash-one"]
    assert (merged.title, merged.panels[0].title) == ("Judul baru", "Per produk")
    assert not ran.exists()
    assert not (store.path / "hooks" / "reference-transaction").exists()  # not from the template


def test_author_rejects_unsafe_identities() -> None:
    for username in ("-x", "a b"):
        with pytest.raises(ValueError, match="username\n  String should match pattern"):
            Author(username=username, name="A")
    for name in ("Evil <x@y>", "a\nb", " "):
        with pytest.raises(ValueError, match="a name may not be blank or contain <, > or line breaks"):
            Author(username="ok", name=name)


def test_snapshot_is_cached_by_commit(store: SpecStore) -> None:
    first = store.snapshot()
    assert store.snapshot("main") is first and store.snapshot(first.commit) is first
    fresh = SpecStore(store.path).snapshot()  # another process would see the same
    assert fresh.specs == first.specs and fresh is not first


def test_a_stale_lock_of_a_killed_writer_is_cleared(store: SpecStore, store_path: Path) -> None:
    start = store.start_mockup(7, make_spec("dash-two"), ANALIS)
    # What update-ref leaves behind when it is killed between taking and committing its lock.
    lock = store_path / "refs" / "heads" / "mockup" / "req-7.lock"
    lock.write_text(start + "\n")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    head = store.save_spec(7, make_spec("dash-two", "v2"), ANALIS, start, "after a crash")
    assert store.head("mockup/req-7") == head and not lock.exists()
    # Moving main also locks HEAD (it points at main).
    head_lock = store_path / "HEAD.lock"
    head_lock.write_text("ref: refs/heads/main\n")
    os.utime(head_lock, (an_hour_ago, an_hour_ago))
    store.approve(7, head, DIREKTUR, dashboard_id="dash-two")
    assert not head_lock.exists()
    store.maintenance()
    fsck(store_path)


# --- concurrency and crashes ---------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.test_store import writer_loop
    writer_loop({path!r}, int(sys.argv[1]), int(sys.argv[2]))
    """
)


def writer_loop(path: str, index: int, increments: int) -> None:
    """One writer: ``increments`` read-modify-write saves of the shared counter spec, each retried
    after a Conflict, then its own mock-up, approved by someone else."""
    store = SpecStore(Path(path))
    author = Author(username=f"w{index}", name=f"Writer {index}")
    _increment(store, author, increments, random.Random(index))
    head = store.start_mockup(100 + index, make_spec(f"dash-w{index}"), author)
    store.approve(100 + index, head, Author(username=f"a{index}", name=f"Approver {index}"),
                  dashboard_id=f"dash-w{index}")


def _increment(store: SpecStore, author: Author, increments: int, rng: random.Random) -> None:
    done = 0
    while done < increments:
        head = store.head("mockup/req-1")
        assert head is not None
        spec = store.snapshot(head).specs["counter"]
        bumped = spec.model_copy(update={"description": str(int(spec.description) + 1)})
        try:
            store.save_spec(1, bumped, author, head, f"{author.username} +1")
        except Conflict:
            # Writers that lost the race at once would collide again at once: each waits its own
            # little while (seeded, so every run draws the same ones) before it rereads.
            time.sleep(rng.uniform(0, 0.02))
            continue
        done += 1


def test_concurrent_writers_lose_no_update(store: SpecStore, store_path: Path) -> None:
    store.start_mockup(1, make_spec("counter", description="0"), PUSDATIN)
    increments, threads_n, processes_n = 3, 10, 10
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    script = WRITER.format(root=str(PROJECT_ROOT), path=str(store_path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), str(increments)],
            env=env,
            stderr=subprocess.PIPE,
        )
        for i in range(threads_n, threads_n + processes_n)
    ]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            writer_loop(str(store_path), i, increments)
        except BaseException as exc:  # reported below, with the failing thread's error
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert not errors, errors

    writers = threads_n + processes_n
    counter = store.snapshot("mockup/req-1").specs["counter"]
    assert int(counter.description) == writers * increments
    log = git("--git-dir", str(store_path), "log", "--format=%an", "main..mockup/req-1").stdout
    assert len(log.splitlines()) == writers * increments + 1  # every save is one commit
    for i in range(writers):
        assert log.splitlines().count(f"Writer {i}") == increments
    main = store.snapshot()
    assert {f"dash-w{i}" for i in range(writers)} <= set(main.specs)
    merges = git(
        "--git-dir", str(store_path), "rev-list", "--first-parent", "--merges", "main"
    ).stdout.split()
    assert len(merges) == writers
    assert validate_store(store_path) == []
    fsck(store_path)


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from ocenter.errors import UserError
    from ocenter.store.models import Author
    from ocenter.store.spec_store import SpecStore
    from tests.test_store import make_spec
    store = SpecStore(Path({path!r}))
    author = Author(username="killer", name="Killed Writer")
    approver = Author(username="approver", name="Approver")
    base = int(sys.argv[1])
    i = 0
    while True:
        i += 1
        rid = base + i
        try:
            print("start", rid, flush=True)
            head = store.start_mockup(rid, make_spec(f"k-{{rid}}"), author)
            print("save", rid, flush=True)
            head = store.save_spec(rid, make_spec(f"k-{{rid}}", "v2"), author, head, "v2")
            print("approve", rid, flush=True)
            store.approve(rid, head, approver, dashboard_id=f"k-{{rid}}")
        except UserError:
            pass
    """
)

# Installed in the store for the test below: it lets ``countdown`` ref transactions through and
# stops the writer inside the next one, after git took the ref's lock and before it moved the ref,
# and says so by creating ``held``.
LOCK_HOLDING_HOOK = """#!/bin/sh
cat >/dev/null
[ "$1" = prepared ] && [ -f {countdown} ] || exit 0
left=$(cat {countdown})
if [ "$left" -gt 0 ]; then echo $((left - 1)) > {countdown}; exit 0; fi
rm {countdown}
: > {held}
kill -s STOP $$
"""

# Where each writer is killed: inside the ref transaction of its n-th write (its lock held), or
# as soon as it says it begins its n-th write. A writer writes start, save, approve, start, ...
KILL_POINTS = [
    *(("holding the lock", n) for n in range(1, 7)),
    *(("beginning", n) for n in (4, 5, 6)),
]


def kill_writer(proc: subprocess.Popen, where: str, n: int, held: Path) -> None:
    """Kill the writer ``proc`` (and its git) at its ``n``-th write, ``where`` KILL_POINTS say."""
    try:
        if where == "holding the lock":
            wait_until(lambda: held.exists() or proc.poll() is not None, "the writer holding a lock")
            assert proc.poll() is None, proc.stderr.read()
        else:
            for _ in range(n):
                line = proc.stdout.readline()
                assert line, f"the writer ended: {proc.stderr.read()}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_killed_writers_leave_a_valid_store(store: SpecStore, store_path: Path, tmp_path: Path) -> None:
    """A writer killed in the middle of a write leaves objects fsck accepts, refs moved by whole
    commits only, and at most its ref lock, which clearing stale locks removes."""
    script = KILLED_WRITER.format(root=str(PROJECT_ROOT), path=str(store_path))
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    countdown, held = tmp_path / "countdown", tmp_path / "held"
    hook = store_path / "hooks" / "reference-transaction"
    hook.write_text(
        LOCK_HOLDING_HOOK.format(countdown=shlex.quote(str(countdown)), held=shlex.quote(str(held))),
        encoding="utf-8",
    )
    hook.chmod(0o755)
    approved_before = store.head()
    for round_no, (where, n) in enumerate(KILL_POINTS, start=1):
        before = store.head()
        base = round_no * 10_000
        if where == "holding the lock":
            countdown.write_text(f"{n - 1}\n", encoding="utf-8")
        writer = subprocess.Popen(
            [sys.executable, "-c", script, str(base)],
            env=env,
            start_new_session=True,  # its own process group, so git children die with it
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        kill_writer(writer, where, n, held)

        fsck(store_path)
        after = store.head()
        ancestor = git(
            "--git-dir", str(store_path), "merge-base", "--is-ancestor", before, after, check=False
        )
        assert ancestor.returncode == 0  # main is as before, or moved forward by whole commits
        assert validate_store(store_path) == []
        for info in store.list_mockups():
            assert info.problems == {}
        # A lock left by the killed writer is cleared once it is old; nothing else is needed.
        removed = store.clear_stale_locks(max_age_seconds=0)
        if where == "holding the lock":
            held.unlink()
            # Killed before its ref moved: that write never happened, and only its lock was left.
            rid = base + (n - 1) // 3 + 1
            branch_lock = f"refs/heads/mockup/req-{rid}.lock"
            if n % 3 == 1:  # start
                assert removed == [branch_lock] and store.head(mockup_branch(rid)) is None
            elif n % 3 == 2:  # save
                assert removed == [branch_lock]
                assert store.snapshot(mockup_branch(rid)).specs[f"k-{rid}"].title == "Dasbor"
            else:  # approve: moving main locks HEAD too, the symbolic ref pointing at it
                assert sorted(removed) == ["HEAD.lock", "refs/heads/main.lock"]
                assert f"k-{rid}" not in store.snapshot().specs
    assert store.head() != approved_before, "the writer never got an approval in"
    head = store.start_mockup(99, make_spec("after-kill"), ANALIS)
    store.approve(99, head, DIREKTUR, dashboard_id="after-kill")
    assert store.clear_stale_locks(max_age_seconds=0) == []
    fsck(store_path)
