"""Pushing the spec store to a remote Git server (OCENTER_STORE_REMOTE), off the request path.

After every ref the store moves, a marker file in the bare repository records that the remote is
behind (so a restart does not forget it) and one background thread per store path and process
pushes ``main`` (fast-forward only) and ``mockup/*`` (as they are). A remote that is down or slow
only delays the push: the marker stays and the thread retries with a growing pause; a push clears
the marker only when no change happened while it ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from ocenter.config import check_store_remote
from ocenter.store.git import _git_env, _run
from ocenter.store.listeners import add_ref_listener, remove_ref_listener
from ocenter.store.names import MAIN_REF

#: File in the bare repository that exists while the remote lacks a change.
PENDING_MARKER = "ocenter-push-pending"
#: Longest one push may take before it is killed and retried.
PUSH_TIMEOUT_SECONDS = 300.0
#: Pause after the first failed push; it doubles after each further failure up to the maximum.
MIN_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
# Doubling beyond this many failures only overflows a float; the pause is long at its maximum by then.
_MAX_DOUBLINGS = 64
_MAX_ERROR_CHARS = 2000
#: main only fast-forwards; mock-up branches are mirrored as they are.
_MAIN_REFSPEC = f"{MAIN_REF}:{MAIN_REF}"
_MOCKUP_REFSPEC = "+refs/heads/mockup/*:refs/heads/mockup/*"
_PASSWORD = re.compile(r"(?<=://)([^/@:\s]*):([^/@\s]*)@")

_log = logging.getLogger(__name__)


class MirrorStatus(BaseModel):
    """How far the remote is behind the store, for an administrator."""

    remote: str = Field(description="The remote, with any password in it replaced by ***.")
    pending: bool = Field(description="True while a change has not reached the remote yet.")
    pushing: bool = Field(description="True while a push is running.")
    last_attempt: datetime | None = Field(description="When the last push ended (UTC).")
    last_success: datetime | None = Field(description="When a push last succeeded (UTC).")
    last_error: str | None = Field(
        description="What git said when the last push failed; None after a success."
    )
    failures: int = Field(description="Failed pushes since the last success.")
    next_attempt_in: float | None = Field(
        default=None,
        description="Seconds until the push is tried again after a failure; None when no retry waits.",
    )


def retry_delay(
    failures: int,
    min_backoff: float = MIN_BACKOFF_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
) -> float:
    """The pause before the next push after ``failures`` failed pushes in a row: ``min_backoff``
    after the first, doubled after each further one, never more than ``max_backoff``."""
    return min(max_backoff, min_backoff * 2.0 ** min(max(failures - 1, 0), _MAX_DOUBLINGS))


def redact(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@`` replaced by ***."""
    return _PASSWORD.sub(r"\1:***@", text)


class Mirror:
    """The pusher of one store: ``notify`` after a ref moved; a daemon thread does the rest."""

    def __init__(
        self,
        store_path: Path,
        remote: str,
        *,
        timeout: float = PUSH_TIMEOUT_SECONDS,
        min_backoff: float = MIN_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` is the monotonic time, in seconds, that retries are scheduled by."""
        checked = check_store_remote(remote)
        if checked is None:
            raise ValueError("a mirror needs a remote")
        self.store_path = Path(store_path).resolve()
        self.remote = checked
        self.marker = self.store_path / PENDING_MARKER
        self.timeout = timeout
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._clock = clock
        self._cond = threading.Condition()
        self._generation = 0  # counts changes; a push clears the marker only if it did not move
        self._wanted = self.marker.exists()  # a change of an earlier run not yet pushed
        self._pushing = False
        self._stopped = False
        self._retry_at: float | None = None
        self._failures = 0
        self._last_attempt: datetime | None = None
        self._last_success: datetime | None = None
        self._last_error: str | None = None
        self._thread = threading.Thread(
            target=self._loop, name=f"ocenter-mirror-{self.store_path.name}", daemon=True
        )

    # -- called by the store and the app --------------------------------------------------------

    def start(self) -> None:
        """Start the pusher thread (it pushes at once when an earlier run left the marker)."""
        self._thread.start()

    def notify(self, ref: str = MAIN_REF) -> None:
        """A ref moved: record that the remote is behind and wake the pusher. Never waits on it."""
        with self._cond:
            self._generation += 1
            self._wanted = True
            try:
                self._write_marker()
            except OSError:  # the push still happens in this run; only a restart would forget it
                _log.exception("cannot write %s", self.marker)
            self._cond.notify_all()

    request_push = notify

    def status(self) -> MirrorStatus:
        """The current state, for an administrator."""
        with self._cond:
            return MirrorStatus(
                remote=redact(self.remote),
                pending=self._wanted or self._pushing or self.marker.exists(),
                pushing=self._pushing,
                last_attempt=self._last_attempt,
                last_success=self._last_success,
                last_error=self._last_error,
                failures=self._failures,
                next_attempt_in=(
                    None if self._retry_at is None else max(0.0, self._retry_at - self._clock())
                ),
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after the push it is running (if any); the marker stays as it is."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the pusher thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = self._clock()
                    if self._wanted and (self._retry_at is None or now >= self._retry_at):
                        break
                    wait = None if not self._wanted or self._retry_at is None else self._retry_at - now
                    self._cond.wait(wait)
                if self._stopped:
                    return
                generation = self._generation
                self._wanted = False
                self._pushing = True
            token = self._read_marker()
            try:
                error = self._push()
            except Exception as exc:  # a bug or a broken disk: keep the thread alive and retry
                _log.exception("pushing %s failed", self.store_path)
                error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self._pushing = False
                self._last_attempt = datetime.now(UTC)
                if error is None:
                    self._failures = 0
                    self._retry_at = None
                    self._last_success = self._last_attempt
                    self._last_error = None
                    if self._generation == generation:
                        self._clear_marker(token)
                else:
                    self._failures += 1
                    self._last_error = redact(error)[:_MAX_ERROR_CHARS]
                    self._wanted = True
                    pause = retry_delay(self._failures, self.min_backoff, self.max_backoff)
                    self._retry_at = self._clock() + pause
                    _log.warning(
                        "pushing the store to %s failed (%d in a row, next try in %.0f s): %s",
                        redact(self.remote),
                        self._failures,
                        pause,
                        self._last_error,
                    )

    def _push(self) -> str | None:
        """One push of main and the mock-up branches; None on success, else git's words."""
        refs = _run(
            self.store_path, ["for-each-ref", "--format=%(refname)", MAIN_REF, "refs/heads/mockup/"]
        ).stdout.decode().split()
        if not refs:
            return None  # an empty store: nothing to push yet
        # (A refspec that matches nothing makes git push fail, so only those that match.)
        refspecs = [_MAIN_REFSPEC] if MAIN_REF in refs else []
        if any(ref != MAIN_REF for ref in refs):
            refspecs.append(_MOCKUP_REFSPEC)
        env = _git_env(None) | {"GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=30"}
        cmd = [
            "git",
            f"--git-dir={self.store_path}",
            # The remote comes from configuration only, and after "--" it is never an option;
            # transport helpers are refused twice (see check_store_remote).
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "protocol.fd.allow=never",
            "-c",
            "credential.helper=",
            "push",
            "--porcelain",
            "--",
            self.remote,
            *refspecs,
        ]
        # Its own session: no terminal to prompt on, and a timeout kills ssh or curl helpers too.
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.store_path,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return f"no answer within {self.timeout:g} s"
        if proc.returncode == 0:
            return None
        rejected = [
            line for line in out.decode("utf-8", "replace").splitlines() if line.startswith("!\t")
        ]
        words = [*rejected, *err.decode("utf-8", "replace").splitlines()]
        return " ".join(" ".join(words).split()) or f"git push exited with {proc.returncode}"

    # -- the marker ---------------------------------------------------------------------------------

    def _write_marker(self) -> None:
        # A new token per change: a push clears the marker only if it still holds the token read
        # before the push, so a change by another process meanwhile is not forgotten.
        tmp = self.marker.with_name(f".{PENDING_MARKER}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(f"{uuid.uuid4().hex}\n", encoding="utf-8")
        os.replace(tmp, self.marker)

    def _read_marker(self) -> str | None:
        try:
            return self.marker.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _clear_marker(self, token: str | None) -> None:
        if token is None:
            return  # it appeared during the push (another process): the next push clears it
        claimed = self.marker.with_name(f".{PENDING_MARKER}.clear.{os.getpid()}")
        try:
            os.rename(self.marker, claimed)  # atomic: a marker written after this stays
        except FileNotFoundError:
            return
        try:
            if claimed.read_text(encoding="utf-8") == token:
                claimed.unlink()
            else:  # another process changed the store during the push
                os.replace(claimed, self.marker)
                self._wanted = True
                self._cond.notify_all()
        except OSError:
            _log.exception("cannot clear %s", self.marker)


# ---------------------------------------------------------------------------------------------
# One mirror per store path and process

_mirrors: dict[Path, Mirror] = {}
_mirrors_lock = threading.Lock()


def start_mirror(
    store_path: Path,
    remote: str,
    *,
    timeout: float = PUSH_TIMEOUT_SECONDS,
    min_backoff: float = MIN_BACKOFF_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
) -> Mirror:
    """Push the store at ``store_path`` to ``remote`` after every change, in the background.

    Idempotent per store path: a second call with the same remote returns the running mirror
    (its timing unchanged); with another remote it replaces it. When an earlier run left a
    change unpushed, the new mirror pushes at once.
    """
    path = Path(store_path).resolve()
    remote = check_store_remote(remote) or ""
    with _mirrors_lock:
        running = _mirrors.get(path)
        if running is not None and running.remote == remote:
            return running
        mirror = Mirror(path, remote, timeout=timeout, min_backoff=min_backoff, max_backoff=max_backoff)
        if running is not None:
            _stop(path, running)
        _mirrors[path] = mirror
        add_ref_listener(path, mirror.notify)
        mirror.start()
        return mirror


def stop_mirror(store_path: Path) -> None:
    """Stop mirroring the store at ``store_path`` in this process (unpushed changes keep the marker)."""
    path = Path(store_path).resolve()
    with _mirrors_lock:
        running = _mirrors.get(path)
        if running is not None:
            _stop(path, running)


def _stop(path: Path, mirror: Mirror) -> None:
    remove_ref_listener(path, mirror.notify)
    _mirrors.pop(path, None)
    mirror.stop()


def mirror_status(store_path: Path) -> MirrorStatus | None:
    """How the push of the store at ``store_path`` stands; None when this process does not mirror it."""
    with _mirrors_lock:
        mirror = _mirrors.get(Path(store_path).resolve())
    return None if mirror is None else mirror.status()
