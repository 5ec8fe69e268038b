"""What a plain `git push` may bring into the spec store, and who it counts as written by.

Real bare stores, real clones, real pushes through the store's own pre-receive hook; the hosting
server's word on who pushes is ``REMOTE_USER``, as a web server in front of git sets it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ocenter import procedure
from ocenter.display.spec import spec_to_yaml
from ocenter.errors import Conflict, PermissionDenied, UserError
from ocenter.i18n import markdown_literal, t
from ocenter.store.hook import pre_receive_hook
from ocenter.store.models import Author
from ocenter.store.names import PUSHERS_FILE
from ocenter.store.spec_store import SpecStore
from ocenter.yamlfiles import MAX_YAML_BYTES, MAX_YAML_DEPTH
from tests.test_app import _button, _login
from tests.test_store import ANALIS, ANALIS2, DIREKTUR, PUSDATIN, fsck, git, make_spec, pushed

ROOT = Path(__file__).resolve().parent.parent
DEEP = "specs/deep-spec.yaml"
DEEP_TEXT = "id: deep-spec\ntitle: Dalam\npanels: " + "[" * 80_000 + "\n"  # about 80 KB
TOO_DEEP = t("yaml.too_deep", "en", limit=MAX_YAML_DEPTH)
REJECTED = " ! [remote rejected] HEAD -> mockup/req-6 (pre-receive hook declined)"
NO_PUSHER = "remote: ocenter: " + t("hook.no_pusher", "en")


def _clone(store: SpecStore, where: Path, branch: str = "mockup/req-6") -> Path:
    git("clone", "--quiet", str(store.path), str(where))
    git("checkout", "--quiet", "-b", branch, cwd=where)
    return where


def _commit(clone: Path, files: dict[str, str], message: str = "Perubahan", author: str | None = None) -> str:
    """Write ``files``, commit everything (as ``author`` when given, "Name <e-mail>"), and
    return the new commit id."""
    for path, text in files.items():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(text, encoding="utf-8")
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", message, *(["--author", author] if author else []), cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def _refs(store: SpecStore) -> str:
    return git("--git-dir", str(store.path), "for-each-ref").stdout


def _validate(target: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocenter", "validate-store", str(target), *args],
                          cwd=ROOT, capture_output=True, text=True)


# --- content that would hurt the server ------------------------------------------------------


def test_a_deeply_nested_spec_is_a_problem_of_that_file_never_a_crash(store, tmp_path):
    clone = _clone(store, tmp_path / "clone")
    _commit(clone, {DEEP: DEEP_TEXT})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6") == (0, [])

    for target, rev in ((store.path, ["--rev", "mockup/req-6"]), (clone, [])):
        checked = _validate(target, *rev)
        assert checked.returncode == 1, checked.stderr  # an answer, not a signal
        assert checked.stdout.splitlines() == [f"{DEEP}: {TOO_DEEP}"]
        assert checked.stderr.strip() == "1 file(s) broken"

    [info] = store.list_mockups()
    assert info.problems == {DEEP: [TOO_DEEP]}
    with pytest.raises(UserError) as refused:
        store.approve(6, info.head, DIREKTUR, dashboard_id="deep-spec")
    assert refused.value.key == "store.mockup_invalid"


def test_files_that_do_not_belong_make_validate_store_exit_1_naming_each(store, tmp_path):
    clone = _clone(store, tmp_path / "clone")
    _commit(clone, {
        "catatan/rapat.txt": "bukan spec\n",
        "specs/besar-sekali.yaml": "title: " + "x" * MAX_YAML_BYTES + "\n",
        "specs/dash-jalan.yaml": spec_to_yaml(make_spec("dash-jalan")),
    })
    (clone / "specs" / "tautan.yaml").symlink_to("dash-jalan.yaml")
    (clone / "specs" / "dash-jalan.yaml").chmod(0o755)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "Berkas yang tidak pada tempatnya", cwd=clone)

    checked = _validate(clone)
    assert checked.returncode == 1
    size = MAX_YAML_BYTES + len("title: \n")
    assert checked.stdout.splitlines() == [
        f"catatan/rapat.txt: {t('store.file_outside', 'en')}",
        f"specs/besar-sekali.yaml: {t('yaml.too_large', 'en', size=size, limit=MAX_YAML_BYTES)}",
        f"specs/dash-jalan.yaml: {t('store.file_executable', 'en', mode='100755')}",
        f"specs/tautan.yaml: {t('store.file_symlink', 'en', mode='120000')}",
    ]


def test_a_20_mb_spec_is_named_by_its_size_without_being_read(store, tmp_path):
    clone = _clone(store, tmp_path / "clone")
    big = "panels:\n" + "- {id: panel, title: Panel yang cukup panjang}\n" * 440_000
    _commit(clone, {"specs/dua-puluh-mb.yaml": big})
    # A fresh process runs validate-store and reports the peak memory of it and its git children.
    wrapper = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(done.returncode)\n"
        "print(done.stdout, end='')\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    )
    run = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "ocenter",
                          "validate-store", str(clone)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    code, line, peak_mb = run.stdout.splitlines()
    assert code == "1"
    assert line == "specs/dua-puluh-mb.yaml: " + t("yaml.too_large", "en", size=len(big),
                                                    limit=MAX_YAML_BYTES)
    assert int(peak_mb) < 300  # it was 3.5 GB when the file was parsed


def test_the_review_page_shows_the_problem_of_a_deep_spec_and_keeps_running(app, demo_ctx, tmp_path):
    """Opening the review page on such a mock-up used to make the whole server exit."""
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--branch", "mockup/req-2", str(demo_ctx.settings.store_path), str(clone))
    _commit(clone, {DEEP: DEEP_TEXT})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-2", pusher="analis")[0] == 0
    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    assert not at.exception, at.exception
    assert markdown_literal(f"{DEEP}: {TOO_DEEP}") in [e.value for e in at.error]
    assert _button(at, "Setujui mock-up (merge)").disabled


# --- the store's hook --------------------------------------------------------------------------


def _symlink(clone: Path) -> str:
    (clone / "specs" / "tautan.yaml").symlink_to("dash-one.yaml")
    return _commit(clone, {}, "Tautan")


def _submodule(clone: Path) -> str:
    other = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    git("update-index", "--add", "--cacheinfo", f"160000,{other},specs/modul", cwd=clone)
    git("commit", "--quiet", "-m", "Submodul", cwd=clone)
    return other


def _executable(clone: Path) -> str:
    (clone / "specs" / "dash-one.yaml").chmod(0o755)
    return _commit(clone, {}, "Dapat dieksekusi")


def _large_then_removed(clone: Path) -> str:
    _commit(clone, {"specs/besar.yaml": "a: " + "x" * MAX_YAML_BYTES + "\n"}, "Besar")
    (clone / "specs" / "besar.yaml").unlink()
    return _commit(clone, {}, "Dihapus lagi")  # still in the history the push brings


def _as_the_app(clone: Path) -> str:
    return _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two"))}, "Menyamar",
                   author="Siti Analis <analis@users.ocenter.invalid>")


def _app_trailer(clone: Path) -> str:
    return _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two"))},
                   "Menyamar\n\nChange-kind: mockup-save")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: _commit(c, {"catatan.md": "x\n"}), "catatan.md refused: only files in specs/ and "
         "data_contracts/ (and README.md) may be pushed"),
        (lambda c: _commit(c, {"docs/a.yaml": "x: 1\n"}), "docs/a.yaml refused: only files in specs/ and "
         "data_contracts/ (and README.md) may be pushed"),
        (_symlink, "specs/tautan.yaml refused: a symbolic link; only regular files may be pushed"),
        (_submodule, "specs/modul refused: a submodule; only regular files may be pushed"),
        (_executable, "specs/dash-one.yaml refused: an executable file; only plain files (mode 100644) "
         "may be pushed"),
        (_large_then_removed, f"specs/besar.yaml refused: {MAX_YAML_BYTES + 4} bytes, at most "
         f"{MAX_YAML_BYTES} bytes per file"),
        (_as_the_app, "commit {commit} refused: it carries a mark only the app writes (e-mail "
         "analis@users.ocenter.invalid); commit as yourself"),
        (_app_trailer, "commit {commit} refused: it carries a mark only the app writes (trailer "
         "Change-kind); commit as yourself"),
    ],
    ids=["root-file", "other-folder", "symlink", "submodule", "executable", "too-large",
         "app-e-mail", "app-trailer"],
)
def test_the_hook_refuses_each_kind_of_bad_push_naming_it(store, tmp_path, make, message):
    clone = _clone(store, tmp_path / "clone")
    refs_before = _refs(store)
    commit = make(clone)

    code, said = pushed(clone, "HEAD:refs/heads/mockup/req-6")

    assert code == 1
    assert said == [f"remote: ocenter: {message.format(commit=commit)}", REJECTED]
    assert _refs(store) == refs_before
    assert not (store.path / PUSHERS_FILE).exists()
    fsck(store.path)


def test_a_push_records_who_pushed_each_new_commit(store, tmp_path):
    clone = _clone(store, tmp_path / "clone")
    first = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two"))})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher="dewi") == (0, [])
    second = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two", "v2"))})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher="rudi") == (0, [])
    # The same commits under another branch bring nothing new: nothing more is recorded.
    assert pushed(clone, "HEAD:refs/heads/mockup/req-7", pusher="tamu") == (0, [])

    records = (store.path / PUSHERS_FILE).read_text(encoding="utf-8").splitlines()
    assert records == [f"{first} dewi", f"{second} rudi"]
    assert [m.authors for m in store.list_mockups()] == [["dewi", "rudi"]] * 2

    # An identity that is not a username is no identity: nothing recorded, and the pusher is told.
    third = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two", "v3"))})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher="dewi\n" + third + " direktur") == (
        0, [NO_PUSHER])
    assert (store.path / PUSHERS_FILE).read_text(encoding="utf-8").splitlines() == records
    assert store.participants(6).unattributed == [third]


# --- separation of duties --------------------------------------------------------------------


def test_a_reviewer_who_pushes_work_claiming_another_author_cannot_approve_it(store, tmp_path):
    """The author line says the analyst wrote it; the server says the director pushed it."""
    clone = _clone(store, tmp_path / "clone")
    main_before = store.head()
    head = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two"))},
                   "Karya analis", author="Siti Analis <analis@pom.go.id>")
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher="direktur") == (0, [])
    assert store.participants(6).people == ["direktur"]

    with pytest.raises(PermissionDenied) as refused:
        store.approve(6, head, DIREKTUR, dashboard_id="dash-two")
    assert refused.value.key == "store.approver_is_author"
    assert str(refused.value) == "direktur contributed to the mock-up of request 6 and so may not " \
        "approve it (separation of duties)."
    assert store.head() == main_before
    # someone who took no part may
    assert store.approve(6, head, PUSDATIN, dashboard_id="dash-two") == store.head()


def test_a_pusher_stays_a_participant_beside_the_analysts_saves(store, tmp_path):
    start = store.start_mockup(6, make_spec("dash-two"), ANALIS)
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--branch", "mockup/req-6", str(store.path), str(clone))
    head = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two", "v2"))},
                   "Dari git", author="Budi Direktur <direktur@users.ocenter.example>")
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher="dewi") == (0, [])
    assert git("rev-parse", "HEAD~1", cwd=clone).stdout.strip() == start
    assert store.participants(6).people == ["analis", "dewi"]
    for approver in (ANALIS, Author(username="dewi", name="Dewi Plain")):
        with pytest.raises(PermissionDenied) as refused:
            store.approve(6, head, approver, dashboard_id="dash-two")
        assert refused.value.key == "store.approver_is_author"
    # the name on the pushed commit was his; he took no part
    store.approve(6, head, DIREKTUR, dashboard_id="dash-two")


def test_commits_of_an_unknown_pusher_block_every_approval_until_an_analyst_takes_them_over(
    store, tmp_path
):
    clone = _clone(store, tmp_path / "clone")
    head = _commit(clone, {"specs/dash-two.yaml": spec_to_yaml(make_spec("dash-two"))})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-6", pusher=None) == (0, [NO_PUSHER])
    [info] = store.list_mockups()
    assert info.authors == [] and info.unattributed == [head]

    for approver in (DIREKTUR, PUSDATIN, ANALIS):
        with pytest.raises(PermissionDenied) as refused:
            store.approve(6, head, approver, dashboard_id="dash-two")
        assert refused.value.key == "store.approval_unattributed"
        assert refused.value.params["commits"] == head[:12]

    with pytest.raises(Conflict) as stale:
        store.take_over(6, ANALIS2, store.head())  # not the revision whose commits were read
    assert stale.value.key == "store.stale_head"
    taken = store.take_over(6, ANALIS2, head)
    assert git("--git-dir", str(store.path), "log", "-1", "--format=%P%n%(trailers:key=Taken-over,"
               "valueonly)", taken).stdout.split() == [head, head]
    assert store.participants(6).people == ["analis2"] and store.participants(6).unattributed == []
    with pytest.raises(UserError) as nothing:
        store.take_over(6, ANALIS2, taken)
    assert nothing.value.key == "store.nothing_to_take_over"

    with pytest.raises(PermissionDenied) as own:
        store.approve(6, taken, ANALIS2, dashboard_id="dash-two")
    assert own.value.key == "store.approver_is_author"
    store.approve(6, taken, DIREKTUR, dashboard_id="dash-two")
    fsck(store.path)


def test_the_analyst_takes_over_pushed_commits_on_the_mockup_page(app, demo_ctx, tmp_path):
    ctx = demo_ctx
    request = procedure.get_request(ctx, 2)
    head = ctx.store.head("mockup/req-2")
    procedure.request_changes(ctx, _authority(ctx, "unit"), 2, head, "Ubah judulnya.")
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--branch", "mockup/req-2", str(ctx.settings.store_path), str(clone))
    spec = ctx.store.snapshot(head).specs[request.dashboard_id].model_copy(update={"title": "Dari Git"})
    pushed_head = _commit(clone, {f"specs/{request.dashboard_id}.yaml": spec_to_yaml(spec)})
    assert pushed(clone, "HEAD:refs/heads/mockup/req-2", pusher=None)[0] == 0
    with pytest.raises(UserError) as unsent:
        procedure.send_mockup(ctx, _authority(ctx, "analis"), 2)
    assert unsent.value.key == "procedure.mockup_unattributed"

    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    assert not at.exception, at.exception
    assert t("mockup.unattributed", "id", commits=pushed_head[:8]) in [w.value for w in at.warning]
    _button(at, t("mockup.take_over", "id")).click()
    at.run()
    assert not at.exception, at.exception
    taken = ctx.store.head("mockup/req-2")
    assert t("mockup.taken_over", "id", head=taken[:8]) in [s.value for s in at.success]
    assert ctx.store.participants(2).unattributed == []
    assert "analis" in ctx.store.participants(2).people
    assert [e.action for e in procedure.events(ctx, request_id=2)][:1] == ["mockup.taken_over"]
    procedure.send_mockup(ctx, _authority(ctx, "analis"), 2)  # now it may go to the unit


def _authority(ctx, username: str):  # noqa: ANN001, ANN202
    from ocenter.accounts.login import authority_of

    return authority_of(ctx.engine, username, production=False)


# --- the hook on a shared server, and the hook's own updates ---------------------------------


def _readme_recipe() -> str:
    """The pre-receive hook the README gives for a shared server, as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("As a pre-receive hook on a shared server", 1)[1]
    return re.search(r"```sh\n(.*?)```", after, re.DOTALL).group(1)


def test_the_readmes_hook_recipe_refuses_a_push_on_any_failure(tmp_path):
    shared = tmp_path / "shared.git"
    git("init", "--quiet", "--bare", str(shared))
    hook = shared / "hooks" / "pre-receive"
    hook.write_text(_readme_recipe(), encoding="utf-8")
    hook.chmod(0o755)
    work = tmp_path / "work"
    git("init", "--quiet", "--initial-branch=main", str(work))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}

    def push(refspec: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "push", str(shared), refspec], cwd=work, env=env,
                              capture_output=True, text=True)

    _commit(work, {DEEP: DEEP_TEXT})
    deep = push("HEAD:refs/heads/main")
    assert deep.returncode == 1
    assert f"remote: {DEEP}: {TOO_DEEP}" in [line.rstrip() for line in deep.stderr.splitlines()]

    # validate-store exits 2 when it cannot read the revision at all: refused too.
    blob = git("rev-parse", f"HEAD:{DEEP}", cwd=work).stdout.strip()
    assert push(f"{blob}:refs/tags/bukan-komit").returncode == 1

    (work / DEEP).unlink()
    _commit(work, {f"specs/{s.name}": s.read_text(encoding="utf-8") for s in ROOT.glob("specs/*.yaml")}
               | {f"data_contracts/{c.name}": c.read_text(encoding="utf-8")
                  for c in ROOT.glob("data_contracts/*.yaml")})
    good = push("HEAD:refs/heads/main")
    assert good.returncode == 0, good.stderr
    assert "remote: store is valid" in [line.rstrip() for line in good.stderr.splitlines()]
    assert git("--git-dir", str(shared), "rev-parse", "main").stdout.strip() == git(
        "rev-parse", "HEAD", cwd=work).stdout.strip()


OLDER_HOOK = """#!/bin/sh
# Installed by OCenter. main moves only through approvals made in the app, so a plain
# `git push` may only create or fast-forward mock-up branches refs/heads/mockup/req-<number>.
status=0
while read -r old new ref; do
  case "$ref" in refs/heads/mockup/req-*) ;; *) status=1 ;; esac
done
exit $status
"""


def test_an_older_hook_of_ours_is_brought_up_to_date_and_anyone_elses_is_left_alone(store):
    hook = store.path / "hooks" / "pre-receive"
    assert hook.read_text(encoding="utf-8") == pre_receive_hook()
    hook.write_text(OLDER_HOOK, encoding="utf-8")
    SpecStore.open_or_init(store.path)
    assert hook.read_text(encoding="utf-8") == pre_receive_hook()
    assert os.access(hook, os.X_OK)

    theirs = "#!/bin/sh\n# the server administrator's own hook\nexit 0\n"
    hook.write_text(theirs, encoding="utf-8")
    SpecStore.open_or_init(store.path)
    assert hook.read_text(encoding="utf-8") == theirs
