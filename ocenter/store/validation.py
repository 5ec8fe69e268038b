"""Validating a whole store at one revision, for developers' clones and shared servers' hooks."""

from __future__ import annotations

from pathlib import Path

from ocenter.store.git import _run
from ocenter.store.models import StoreProblem
from ocenter.store.names import MAIN
from ocenter.store.spec_store import SpecStore


def validate_store(path: Path, rev: str | None = None) -> list[StoreProblem]:
    """Every problem of the specs and contracts at ``rev`` of a bare store or a clone.

    The default revision is main in a bare repository and HEAD in a clone.
    """
    path = Path(path).resolve()
    proc = (
        _run(None, ["rev-parse", "--absolute-git-dir", "--is-bare-repository"], cwd=path)
        .stdout.decode()
        .split()
    )
    git_dir, bare = Path(proc[0]), proc[1] == "true"
    snap = SpecStore(git_dir).snapshot(rev or (MAIN if bare else "HEAD"))
    return [
        StoreProblem(path=file, message=msg) for file, msgs in sorted(snap.problems.items()) for msg in msgs
    ]
