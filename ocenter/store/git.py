"""Running git: a clean environment, plumbing commands, and blob ids computed the way git does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ocenter.errors import UserError, disk_full, is_disk_full

if TYPE_CHECKING:  # the author model imports names, which run git here
    from ocenter.store.models import Author


class GitError(RuntimeError):
    """Git failed in a way no user can fix: a bug, a broken disk or a missing repository."""


# Running git


#: HOME and XDG_CONFIG_HOME for every git we run. Nothing can ever exist below the null device
#: (a path under it fails with "not a directory", which git reads as "no such file"), so no user's
#: ignore or attribute files can reach our calls, and no process has to create, or leave behind,
#: an empty folder for them.
_NO_HOME = os.devnull


def _git_env(author: Author | None) -> dict[str, str]:
    """A clean environment: no user or system config, no inherited GIT_* variables, and the
    author and committer (with one timestamp) fixed for this call only."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": _NO_HOME,
        "XDG_CONFIG_HOME": _NO_HOME,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        # A pushed refs/replace/* must not change what we read.
        "GIT_NO_REPLACE_OBJECTS": "1",
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
    }
    if author is not None:
        date = f"{int(time.time())} +0000"
        env |= {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
            "GIT_COMMITTER_DATE": date,
        }
    return env


def _run(
    git_dir: Path | None,
    args: list[str],
    *,
    stdin: bytes | None = None,
    author: Author | None = None,
    ok_codes: tuple[int, ...] = (0,),
    cwd: Path | None = None,
    objects: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git; ``objects`` adds the object folders of a push still in quarantine (see
    ``quarantine_objects``), so a pre-receive hook can read what is being pushed."""
    cmd = ["git", *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]
    proc = subprocess.run(
        cmd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=_git_env(author) | (objects or {}),
        cwd=cwd or git_dir or "/",
        check=False,
    )
    if proc.returncode not in ok_codes:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise _failure(f"git {' '.join(args[:3])} failed ({proc.returncode}): {detail}")
    return proc


def _no_space_left(path: Path) -> bool:
    """True when the file system holding ``path`` has no block left for us. git does not always
    say why a write failed ("couldn't write '...lock'" when a ref cannot be written), so a failed
    ref update asks the file system itself."""
    try:
        stats = os.statvfs(path)
    except OSError:
        return False
    return stats.f_bavail == 0


def _failure(detail: str) -> Exception:
    """What a failed git call raises: a message when the disk is full (the user can be told, and
    git wrote nothing visible: objects are written before the ref moves), else a ``GitError``."""
    error = GitError(detail)
    if is_disk_full(detail):
        full = disk_full()
        full.__cause__ = error
        return full
    return error


#: What git's receive-pack tells a pre-receive hook about the objects being pushed: until the push
#: is accepted they live in a quarantine folder, visible only through these two variables.
_QUARANTINE_VARIABLES = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")


def quarantine_objects(environ: dict[str, str]) -> dict[str, str]:
    """The object folders of a push in quarantine when ``environ`` is a pre-receive hook's
    (git sets ``GIT_QUARANTINE_PATH`` there), else nothing."""
    if not environ.get("GIT_QUARANTINE_PATH"):
        return {}
    found = {name: environ[name] for name in _QUARANTINE_VARIABLES if environ.get(name)}
    # Absolute folders only, as git gives them; anything else is not receive-pack's doing.
    if all(os.path.isabs(part) for value in found.values() for part in value.split(os.pathsep)):
        return found
    return {}


def _popen(git_dir: Path, args: list[str]) -> subprocess.Popen[bytes]:
    """git as a long-running child of one call (never shared), in the same clean environment."""
    return subprocess.Popen(
        ["git", f"--git-dir={git_dir}", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_git_env(None),
        cwd=git_dir,
    )


# ---------------------------------------------------------------------------------------------
# Blob ids computed in Python (checked against what git writes)


def _blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _check_ref_format(name: str, allow_onelevel: bool = False) -> None:
    if name.startswith("-") or not _ref_format_ok(name, allow_onelevel):
        raise UserError("store.invalid_name", name=name)


@lru_cache(maxsize=4096)
def _ref_format_ok(name: str, allow_onelevel: bool) -> bool:
    # Names are generated from validated ids, so the cache stays small and saves skip a process.
    args = ["check-ref-format", *(["--allow-onelevel"] if allow_onelevel else []), name]
    return _run(None, args, ok_codes=(0, 1, 128)).returncode == 0
