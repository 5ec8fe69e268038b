"""Writing to the store: new objects by plumbing, then one compare-and-swap ref update."""

from __future__ import annotations

import os
import tempfile

from ocenter.errors import Conflict, NotFound, UserError, disk_full
from ocenter.store.git import GitError, _blob_oid, _check_ref_format, _failure, _no_space_left, _popen
from ocenter.store.listeners import _ref_moved
from ocenter.store.models import Author, StoreSnapshot, _Entry, _RefMovedError
from ocenter.store.names import (
    _EMPTY_TREE,
    _OID,
    _REF_LOCK_TIMEOUT_MS,
    _TRAILER_KEY,
    MAIN,
    ZERO_OID,
    _check_oid,
    _file_kind,
    _short,
    mockup_branch,
)
from ocenter.store.snapshots import _parse


class Writes:
    """Commits written through plumbing and refs moved by compare-and-swap; mixed into SpecStore."""

    def _save_on_mockup(
        self,
        request_id: int,
        files: dict[str, str],
        author: Author,
        expected_head: str,
        message: str,
    ) -> str:
        branch = mockup_branch(request_id)
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=_check_oid(expected_head),
                parents=[expected_head],
                base=self._snapshot_at(expected_head),
                changes={path: text.encode() for path, text in files.items()},
                author=author,
                message=message,
                trailers={"Request": str(request_id), "Change-kind": "mockup-save"},
            )
        except _RefMovedError as exc:
            raise self._moved_error(branch, expected_head, exc.current, request_id) from None

    def _moved_error(
        self, branch: str, expected: str, current: str | None, request_id: object = None
    ) -> UserError:
        if current is None:
            if branch == MAIN:
                return NotFound("store.main_missing")
            return NotFound("store.mockup_not_found", request=request_id)
        return Conflict("store.stale_head", branch=branch, expected=_short(expected), current=_short(current))

    def _write_commit(
        self,
        *,
        ref: str,
        old: str,
        parents: list[str],
        base: StoreSnapshot | None,
        changes: dict[str, bytes | None],
        author: Author,
        message: str,
        trailers: dict[str, str],
        allow_empty: bool = False,
        baseline: dict[str, list[str]] | None = None,
    ) -> str:
        """Validate, write objects, commit, then compare-and-swap ``ref`` from ``old``.

        A problem the result has and ``baseline`` (default: ``base``'s problems) lacks refuses
        the commit. Nothing is visible until the final update-ref: a process killed earlier
        leaves only unreachable objects behind, which git's gc removes.
        """
        text = self._message(message, trailers)  # refuses bad trailers before any work
        entries = dict(base._entries) if base is not None else {}
        new_blobs: dict[str, bytes] = {}
        for path, data in changes.items():
            kind = _file_kind(self._store_path(path))[0]
            # A pushed tree might hold a file where we need a folder (or the reverse).
            parts = path.split("/")
            folders = ("/".join(parts[:i]) for i in range(1, len(parts)))
            if any(entries.get(f, ("", "tree", ""))[1] != "tree" for f in folders):
                raise UserError("store.invalid_path", path=path)
            if entries.get(path, ("", "blob", ""))[1] != "blob":
                raise UserError("store.invalid_path", path=path)
            if data is None:
                entries.pop(path, None)
                continue
            oid = _blob_oid(data)
            entries[path] = ("100644", "blob", oid)
            new_blobs[oid] = data
            with self._lock:
                known = (kind, oid) in self._parsed
            if not known and kind is not None:
                self._parsed_put((kind, oid), _parse(kind, data))

        state = self._derive(base, entries)
        if baseline is None:
            baseline = base.problems if base is not None else {}
        new = self._new_problems(baseline, state.problems)
        if new:
            raise UserError("store.invalid_content", reasons=new)

        before = base._entries if base is not None else {}
        changed = [p for p in changes if before.get(p) != entries.get(p)]
        if not changed and not allow_empty:
            raise UserError("store.no_changes")
        self._write_blobs(new_blobs)
        root = self._write_trees(entries, changed) if changed or base is None else base.tree
        commit = self._commit_tree(root, parents, author, text)
        self._move_ref(ref, commit, old)
        self._cache_put(commit, self._make_snapshot(commit, root, entries, state))
        return commit

    def _write_blobs(self, blobs: dict[str, bytes]) -> None:
        if len(blobs) == 1:
            ((oid, data),) = blobs.items()
            out = self._git(["hash-object", "-w", "--stdin"], stdin=data)
            written = [out.stdout.decode().strip()]
            expected = [oid]
        elif blobs:
            # Many blobs (a seed): one process reading files, not one process per blob.
            with tempfile.TemporaryDirectory(prefix="ocenter-blobs-") as tmp:
                names = []
                for i, data in enumerate(blobs.values()):
                    name = os.path.join(tmp, str(i))
                    with open(name, "wb") as fh:
                        fh.write(data)
                    names.append(name)
                out = self._git(
                    ["hash-object", "-w", "--no-filters", "--stdin-paths"],
                    stdin="".join(n + "\n" for n in names).encode(),
                )
            written = out.stdout.decode().split()
            expected = list(blobs)
        else:
            return
        if written != expected:
            raise GitError("git wrote different blob ids than computed")

    def _write_trees(self, entries: dict[str, _Entry], changed: list[str]) -> str:
        """Write the trees above the ``changed`` paths, deepest first, and return the root tree.

        One ``mktree --batch`` process writes them all: it answers each tree's id as soon as
        that tree is read, and the id goes into its parent. ``entries`` gets the new tree ids.
        """
        dirty = {""}
        for path in changed:
            parts = path.split("/")
            dirty.update("/".join(parts[:i]) for i in range(1, len(parts)))
        children: dict[str, dict[str, _Entry]] = {d: {} for d in dirty}
        for path, entry in entries.items():
            parent, _, name = path.rpartition("/")
            kids = children.get(parent)
            if kids is not None:
                kids[name] = entry
        # --missing skips opening each entry's object (10,000 for a big specs/ folder): every
        # entry is from a tree already in the store, a blob written just before, or a tree
        # written earlier in this batch.
        proc = _popen(self.path, ["mktree", "-z", "--missing", "--batch"])
        assert proc.stdin is not None and proc.stdout is not None
        root = _EMPTY_TREE
        try:
            for folder in sorted(dirty, key=lambda d: d.count("/") + (d != ""), reverse=True):
                kids = children[folder]
                parent, _, name = folder.rpartition("/")
                if not kids:
                    if folder:
                        entries.pop(folder, None)  # git has no empty folders
                        children[parent].pop(name, None)
                    continue
                lines = [f"{mode} {kind} {oid}\t{name}\0" for name, (mode, kind, oid) in kids.items()]
                proc.stdin.write("".join(lines).encode() + b"\0")  # empty record: tree ends
                proc.stdin.flush()
                oid = proc.stdout.readline().decode().strip()
                if not _OID.fullmatch(oid):
                    raise _failure(f"git mktree failed: {proc.stderr.read().decode()[:500]}")
                if folder:
                    entries[folder] = children[parent][name] = ("040000", "tree", oid)
                else:
                    root = oid
            proc.stdin.close()
            if proc.wait() != 0:
                raise _failure(f"git mktree failed: {proc.stderr.read().decode()[:500]}")
        except BrokenPipeError:
            # git ended before reading all trees (a full disk, for one): say why, in its words.
            proc.wait()
            raise _failure(f"git mktree failed: {proc.stderr.read().decode()[:500]}") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if root == _EMPTY_TREE:
            self._git(["mktree"], stdin=b"")  # an empty store: the empty tree must exist
        return root

    def _commit_tree(self, tree: str, parents: list[str], author: Author, message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", _check_oid(parent)]
        out = self._git(args, stdin=message.encode(), author=author).stdout.decode().strip()
        return _check_oid(out)

    def _move_ref(self, ref: str, new: str, old: str) -> None:
        """Compare-and-swap: point ``ref`` at ``new`` only if it is at ``old`` (zero: absent)."""
        _check_ref_format(ref)
        for _ in range(3):
            proc = self._git(
                [
                    "-c",
                    f"core.filesRefLockTimeout={_REF_LOCK_TIMEOUT_MS}",
                    "update-ref",
                    "--no-deref",
                    ref,
                    new,
                    old,
                ],
                ok_codes=(0, 1, 128),
            )
            if proc.returncode == 0:
                _ref_moved(self.path, ref)
                return
            current = self._ref_oid(ref)
            if current != (None if old == ZERO_OID else old):
                raise _RefMovedError(current)
            # Still at old but not lockable: a lock left by a killed writer, once it is stale.
            self.clear_stale_locks()
        # The cause keeps git's words for the log; the user gets the catalogue message. A ref
        # git could not lock because the disk is full is not busy: waiting would not help.
        failure = _failure(proc.stderr.decode("utf-8", "replace").strip())
        if isinstance(failure, UserError):
            raise failure
        if _no_space_left(self.path):
            raise disk_full() from failure
        raise UserError("store.busy") from failure

    @staticmethod
    def _message(message: str, trailers: dict[str, str]) -> str:
        # Our trailers always form the last paragraph, so text a user writes can never pose as one.
        body = "\n".join(line.rstrip() for line in message.replace("\0", "").splitlines()).strip()
        lines = []
        for key, value in trailers.items():
            if not _TRAILER_KEY.fullmatch(key) or "\n" in value or "\r" in value:
                raise UserError("store.invalid_trailer", name=key)
            lines.append(f"{key}: {value.strip()}")
        return f"{body or '(no message)'}\n\n" + "\n".join(lines) + "\n"
