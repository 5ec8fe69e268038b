"""Validating a whole store at one revision, for developers' clones and shared servers' hooks."""

from __future__ import annotations

import os
from pathlib import Path

from ocenter.store.git import _run, quarantine_objects
from ocenter.store.models import StoreProblem
from ocenter.store.names import MAIN
from ocenter.store.spec_store import SpecStore


def validate_store(
    path: Path, rev: str | None = None, environ: dict[str, str] | None = None
) -> list[StoreProblem]:
    """Every problem of the specs and contracts at ``rev`` of a bare store or a clone: files
    that do not parse or check, and files that do not belong (outside specs/ and
    data_contracts/, not a plain file, over the size limit).

    The default revision is main in a bare repository and HEAD in a clone. ``environ`` (the
    process's own by default) matters only in a pre-receive hook, where the pushed commits are
    still in git's quarantine and are read from there.
    """
    path = Path(path).resolve()
    proc = (
        _run(None, ["rev-parse", "--absolute-git-dir", "--is-bare-repository"], cwd=path)
        .stdout.decode()
        .split()
    )
    git_dir, bare = Path(proc[0]), proc[1] == "true"
    objects = quarantine_objects(dict(os.environ) if environ is None else environ)
    snap = SpecStore(git_dir, objects).snapshot(rev or (MAIN if bare else "HEAD"))
    return [
        StoreProblem(path=file, message=msg) for file, msgs in sorted(snap.problems.items()) for msg in msgs
    ]
