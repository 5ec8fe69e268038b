"""Tests of pushing the spec store to a remote (OCENTER_STORE_REMOTE), with real Git repositories."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocenter.config import Settings, check_store_remote, load_settings
from ocenter.context import open_context
from ocenter.errors import UserError
from ocenter.store import mirror as mirror_module
from ocenter.store.mirror import (
    PENDING_MARKER,
    Mirror,
    mirror_status,
    redact,
    retry_delay,
    start_mirror,
    stop_mirror,
)
from ocenter.store.names import MAIN
from ocenter.store.spec_store import SpecStore
from tests.test_store import ANALIS, DIREKTUR, PUSDATIN, git, make_spec, seed_files, wait_until

#: Only against a hang: an event these tests wait for comes within moments.
SAFETY_SECONDS = 300.0
FAST = {"min_backoff": 0.1, "max_backoff": 0.4, "timeout": 30.0}


def branches(git_dir: Path) -> dict[str, str]:
    """Branch name -> commit id, of a bare repository (empty when it does not exist)."""
    if not (git_dir / "HEAD").is_file():
        return {}
    out = git("--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    return dict(line.split(" ") for line in out.stdout.splitlines())


def in_sync(store: SpecStore, remote: Path) -> bool:
    return bool(branches(store.path)) and branches(remote) == branches(store.path)


def init_bare(path: Path) -> Path:
    git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    return path


@pytest.fixture(autouse=True)
def _stop_mirrors(tmp_path: Path) -> Iterator[None]:
    yield
    for path in list(mirror_module._mirrors):
        if path.is_relative_to(tmp_path.resolve()):
            stop_mirror(path)


@pytest.fixture
def store(tmp_path: Path) -> SpecStore:
    return SpecStore.open_or_init(tmp_path / "store.git")


def test_saves_and_an_approval_reach_the_remote(store: SpecStore, tmp_path: Path) -> None:
    remote = init_bare(tmp_path / "remote.git")
    start_mirror(store.path, str(remote), **FAST)
    assert mirror_status(store.path).pending is False  # nothing happened yet

    store.seed(PUSDATIN, seed_files(), "Seed")
    wait_until(lambda: in_sync(store, remote), "the seed on the remote")
    first = store.start_mockup(7, make_spec(title="Draft"), ANALIS)
    saved = store.save_spec(7, make_spec(title="Draft 2"), ANALIS, first, "Second draft")
    wait_until(lambda: branches(remote).get("refs/heads/mockup/req-7") == saved, "the save on the remote")
    merge = store.approve(7, saved, DIREKTUR, dashboard_id="dash-one")
    wait_until(lambda: branches(remote).get("refs/heads/main") == merge, "the approval on the remote")

    assert branches(remote) == branches(store.path)
    body = git("--git-dir", str(remote), "log", "-1", "--format=%an|%B", "main").stdout
    assert body.startswith("Budi Direktur|") and "Approved-by: direktur" in body
    assert git("--git-dir", str(remote), "fsck", "--strict", "--no-dangling", check=False).returncode == 0
    wait_until(lambda: not mirror_status(store.path).pending, "the push to finish")
    status = mirror_status(store.path)
    assert status.last_error is None and status.failures == 0 and status.last_success is not None
    assert not (store.path / PENDING_MARKER).exists()


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_a_remote_that_is_down_delays_the_push_and_loses_nothing(
    store: SpecStore, tmp_path: Path, as_url: bool
) -> None:
    remote = tmp_path / "later.git"  # does not exist yet
    start_mirror(store.path, remote.as_uri() if as_url else str(remote), **FAST)

    store.seed(PUSDATIN, seed_files(), "Seed")
    head = store.start_mockup(3, make_spec(title="Draft"), ANALIS)
    head = store.save_spec(3, make_spec(title="Draft 2"), ANALIS, head, "Second draft")

    wait_until(lambda: mirror_status(store.path).failures >= 2, "two failed pushes")
    status = mirror_status(store.path)
    assert status.pending and status.last_success is None
    assert "does not appear to be a git repository" in status.last_error
    assert (store.path / PENDING_MARKER).exists()

    # A change while the remote is down, then the remote comes up: the next retry has everything.
    store.save_spec(3, make_spec(title="Draft 3"), ANALIS, head, "Third draft")
    init_bare(remote)
    wait_until(lambda: in_sync(store, remote), "everything on the remote once it is up")
    wait_until(lambda: not (store.path / PENDING_MARKER).exists(), "the marker to be cleared")
    status = mirror_status(store.path)
    assert not status.pending and status.last_error is None and status.failures == 0


def test_a_hanging_push_delays_no_save_and_a_change_during_it_is_pushed_again(
    store: SpecStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = init_bare(tmp_path / "remote.git")
    real_push, real_clear = Mirror._push, Mirror._clear_marker
    pushes: list[int] = []
    clears_after: list[int] = []
    hanging, release, gave_up = threading.Event(), threading.Event(), threading.Event()

    def slow_push(self: Mirror) -> str | None:
        pushes.append(len(pushes) + 1)
        if len(pushes) == 1:
            hanging.set()
            if not release.wait(SAFETY_SECONDS):
                gave_up.set()
        return real_push(self)

    def counting_clear(self: Mirror, token: str | None) -> None:
        clears_after.append(len(pushes))
        real_clear(self, token)

    monkeypatch.setattr(Mirror, "_push", slow_push)
    monkeypatch.setattr(Mirror, "_clear_marker", counting_clear)
    start_mirror(store.path, str(remote), **FAST)
    store.seed(PUSDATIN, seed_files(), "Seed")
    assert hanging.wait(SAFETY_SECONDS), "the first push never started"

    head = store.start_mockup(4, make_spec(title="Draft"), ANALIS)
    store.save_spec(4, make_spec(title="Draft 2"), ANALIS, head, "Second draft")
    # Saved while the push still hangs: had the saves waited on it, it would have given up first.
    assert not gave_up.is_set()
    assert mirror_status(store.path).pushing and (store.path / PENDING_MARKER).exists()

    release.set()
    wait_until(lambda: in_sync(store, remote), "everything on the remote")
    wait_until(lambda: not (store.path / PENDING_MARKER).exists(), "the marker to be cleared")
    # The push that was running during the saves did not clear the marker; the next one did.
    assert len(pushes) >= 2 and clears_after and clears_after[0] >= 2


def test_an_unpushed_change_is_pushed_when_the_app_starts_again(tmp_path: Path) -> None:
    home, remote = tmp_path / "home", tmp_path / "remote.git"
    environ = {"OCENTER_HOME": str(home), "OCENTER_STORE_REMOTE": str(remote)}
    ctx = open_context(load_settings(environ))
    ctx.store.seed(PUSDATIN, seed_files(), "Seed")
    wait_until(lambda: ctx.mirror.failures >= 1, "a failed push")
    stop_mirror(ctx.settings.store_path)  # the process ends with the change unpushed
    ctx.engine.dispose()
    assert (ctx.settings.store_path / PENDING_MARKER).exists()

    init_bare(remote)
    ctx = open_context(load_settings(environ))  # a new start: no change, only the marker
    try:
        assert ctx.mirror is not None
        wait_until(lambda: in_sync(ctx.store, remote), "the earlier change on the remote")
        wait_until(lambda: not ctx.mirror.pending, "the marker to be cleared")
        assert not (ctx.settings.store_path / PENDING_MARKER).exists()
    finally:
        ctx.engine.dispose()


class ManualClock:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retries_back_off_from_5_seconds_to_5_minutes(store: SpecStore, tmp_path: Path) -> None:
    """A remote that stays down is tried again after 5 s, then twice as long each time, at most
    every 5 minutes: the mirror's own schedule, read off its clock, without waiting for it."""
    clock = ManualClock()
    mirror = Mirror(store.path, str(tmp_path / "down.git"), clock=clock)
    store.seed(PUSDATIN, seed_files(), "Seed")
    mirror.start()
    try:
        assert mirror.status().next_attempt_in is None
        mirror.notify()
        delays = []
        for failures in range(1, 10):
            wait_until(lambda n=failures: mirror.status().failures >= n, f"failed push number {failures}")
            status = mirror.status()
            assert status.failures == failures, "tried again before the pause was over"
            assert status.next_attempt_in is not None, "no retry scheduled after a failure"
            delays.append(status.next_attempt_in)
            clock.now += status.next_attempt_in
            mirror.notify()  # a change wakes the pusher; by the clock the pause is over
    finally:
        mirror.stop()
    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]
    assert mirror.status().pending and (store.path / PENDING_MARKER).exists()


def test_the_pause_stays_at_its_maximum_however_long_the_remote_is_down() -> None:
    # A remote down for weeks: thousands of failures in a row must not overflow the doubling.
    assert [retry_delay(n) for n in (1, 2, 7, 1_000, 100_000)] == [5.0, 10.0, 300.0, 300.0, 300.0]


def test_main_only_fast_forwards_on_the_remote(store: SpecStore, tmp_path: Path) -> None:
    remote = init_bare(tmp_path / "remote.git")
    start_mirror(store.path, str(remote), **FAST)
    seed = store.seed(PUSDATIN, seed_files(), "Seed")
    wait_until(lambda: in_sync(store, remote), "the seed on the remote")
    # Someone commits on the remote's main directly: the store's main no longer fast-forwards.
    tree = git("--git-dir", str(remote), "rev-parse", "main^{tree}").stdout.strip()
    other = git("--git-dir", str(remote), "commit-tree", tree, "-p", seed, "-m", "elsewhere").stdout.strip()
    git("--git-dir", str(remote), "update-ref", "refs/heads/main", other, seed)

    new_main = store.commit_to_main({"README.md": "# changed\n"}, PUSDATIN, seed, "Readme")
    head = store.start_mockup(5, make_spec(title="Draft"), ANALIS)
    wait_until(lambda: branches(remote).get("refs/heads/mockup/req-5") == head, "the mock-up on the remote")
    wait_until(lambda: mirror_status(store.path).last_error is not None, "main refused")
    assert "refs/heads/main" in mirror_status(store.path).last_error
    assert branches(remote)["refs/heads/main"] == other != new_main  # never overwritten
    assert (store.path / PENDING_MARKER).exists()


def test_without_a_remote_nothing_is_mirrored(tmp_path: Path) -> None:
    ctx = open_context(load_settings({"OCENTER_HOME": str(tmp_path / "home")}))
    try:
        assert ctx.settings.store_remote is None and ctx.mirror is None
        ctx.store.seed(PUSDATIN, seed_files(), "Seed")
        assert ctx.store.head(MAIN) is not None
        assert not (ctx.settings.store_path / PENDING_MARKER).exists()
    finally:
        ctx.engine.dispose()


@pytest.mark.parametrize(
    "value",
    [
        "--upload-pack=evil",
        "-oProxyCommand=evil:x",
        "ext::sh -c evil",
        "fd::3",
        "ssh://-oProxyCommand=evil/x",
        "git@-oProxyCommand=evil:x",
        "ftp://host/specs.git",
        "https://host/specs.git\n--upload-pack=evil",
    ],
)
def test_an_unsafe_remote_is_refused_at_settings_load(tmp_path: Path, value: str) -> None:
    with pytest.raises(UserError) as caught:
        load_settings({"OCENTER_HOME": str(tmp_path), "OCENTER_STORE_REMOTE": value})
    assert caught.value.key == "mirror.bad_remote"
    with pytest.raises(UserError) as caught:
        Settings(home=tmp_path, database_url="sqlite://", mode="demo", cookie_key="k", store_remote=value)
    assert caught.value.key == "mirror.bad_remote"
    with pytest.raises(UserError) as caught:
        start_mirror(tmp_path / "store.git", value)
    assert caught.value.key == "mirror.bad_remote"


def test_remote_values_that_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_store_remote("") is None and check_store_remote("  ") is None
    assert check_store_remote("mirror.git") == str(tmp_path.resolve() / "mirror.git")
    for value in (
        "https://gitlab.pom.go.id/pusdatin/specs.git",
        "ssh://git@gitea.pom.go.id:2222/pusdatin/specs.git",
        "git@gitea.pom.go.id:pusdatin/specs.git",
        "file:///srv/git/specs.git",
    ):
        assert check_store_remote(value) == value


def test_a_password_in_the_remote_is_never_shown() -> None:
    assert redact("fatal: https://oauth2:s3cret@gitlab.pom.go.id/x.git failed") == (
        "fatal: https://oauth2:***@gitlab.pom.go.id/x.git failed"
    )
    assert redact("git@gitea:specs.git") == "git@gitea:specs.git"
