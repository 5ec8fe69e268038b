"""The spec store in a backup: its refs read once, a ``git bundle`` of exactly those, and back.

The store keeps moving while the application runs, and ``git bundle create --all`` reads the
refs again when it starts. So the refs are read first, into a throw-away bare repository that
borrows the store's objects (``objects/info/alternates``) and holds those refs and nothing else;
the bundle is made there, and it holds exactly the commits read. Objects are never removed from
the store while a ref reaches them, and git keeps unreachable ones for two weeks, so the objects
stay readable while the bundle is written.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ocenter.store.git import _run
from ocenter.store.names import PUSHERS_FILE


def read_refs(store_path: Path) -> dict[str, str]:
    """Every ref of the bare store at ``store_path`` and the commit it points at (none when the
    store does not exist)."""
    if not (store_path / "HEAD").is_file():
        return {}
    out = _run(store_path, ["for-each-ref", "--format=%(refname) %(objectname)"]).stdout.decode()
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def bundle_refs(store_path: Path, refs: dict[str, str], bundle: Path) -> None:
    """Write a bundle of ``refs`` (as read, whatever the store's refs are now) to ``bundle`` and
    check it with ``git bundle verify``."""
    with tempfile.TemporaryDirectory(prefix="ocenter-bundle-") as scratch:
        borrowed = Path(scratch) / "refs.git"
        _run(None, ["init", "--quiet", "--bare", "--initial-branch=main", str(borrowed)])
        (borrowed / "objects" / "info" / "alternates").write_text(
            f"{(store_path / 'objects').resolve()}\n", encoding="utf-8")
        updates = "".join(f"create {ref} {commit}\n" for ref, commit in refs.items())
        _run(borrowed, ["update-ref", "--stdin"], stdin=updates.encode())
        _run(borrowed, ["bundle", "create", "--quiet", str(bundle.resolve()), "--all"])
        verify_bundle(borrowed, bundle)


def verify_bundle(git_dir: Path, bundle: Path) -> dict[str, str]:
    """The refs a bundle holds, once ``git bundle verify`` found it whole (``GitError`` if not)."""
    _run(git_dir, ["bundle", "verify", "--quiet", str(bundle.resolve())])
    out = _run(git_dir, ["bundle", "list-heads", str(bundle.resolve())]).stdout.decode()
    heads = {}
    for line in out.splitlines():
        commit, _, ref = line.partition(" ")
        if ref.startswith("refs/"):
            heads[ref] = commit
    return heads


def copy_pushers(store_path: Path, target: Path) -> bool:
    """Copy the store's record of who pushed which commit to ``target``; False when it has none.
    It only grows, and a push is recorded before its ref moves: read after the refs, it names the
    pusher of every pushed commit they reach (and maybe of a few newer ones)."""
    source = store_path / PUSHERS_FILE
    if not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def unbundle(store_path: Path, bundle: Path) -> dict[str, str]:
    """Fetch every ref of ``bundle`` into the (empty) bare store at ``store_path``, with every
    object checked as it comes in; the store's refs afterwards."""
    _run(store_path, ["-c", "fetch.fsckObjects=true", "fetch", "--quiet", "--no-tags",
                      str(bundle.resolve()), "+refs/*:refs/*"])
    return read_refs(store_path)
