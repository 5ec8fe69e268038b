"""The spec store: specs and contracts in a bare Git repository; mock-ups are branches, approvals merges."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ocenter.display.spec import DashboardSpec, spec_to_yaml
from ocenter.errors import Conflict, NotFound, UserError
from ocenter.store.authorship import Authorship
from ocenter.store.contract_changes import ContractChanges
from ocenter.store.git import GitError, _run
from ocenter.store.hook import HOOK_MARKER, pre_receive_hook
from ocenter.store.merges import Merges
from ocenter.store.models import (
    Author,
    CommitInfo,
    MockupInfo,
    StoreSnapshot,
    _Entry,
    _Parsed,
    _RefMovedError,
)
from ocenter.store.names import (
    _ID,
    _MOCKUP_REF,
    _OID,
    MAIN,
    MAIN_REF,
    MOCKUP_PREFIX,
    STALE_LOCK_SECONDS,
    ZERO_OID,
    _check_oid,
    _check_path,
    _check_rev,
    _file_kind,
    _identity,
    _short,
    mockup_branch,
    spec_path,
)
from ocenter.store.snapshots import Snapshots
from ocenter.store.writing import Writes

# Repository settings that keep pushed history intact (set once, idempotently).
_REPO_CONFIG = {
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "false",
}


class SpecStore(ContractChanges, Merges, Writes, Snapshots, Authorship):
    """Specs and contracts in a bare Git repository, written only through plumbing.

    Every method may be called from many threads and processes at once: nothing here holds a
    working tree, an index or a git process between calls, every write creates new objects and
    then moves one ref with a compare-and-swap ``update-ref REF NEW OLD``. The caches are keyed
    by object ids, which are immutable, and guarded by one lock.

    Approved mock-up branches are kept after their merge (as history of the review); a kept
    branch shows ``merged=True`` in ``list_mockups`` and may receive a new round of changes.
    """

    def __init__(self, path: Path, objects: dict[str, str] | None = None) -> None:
        self.path = Path(path).resolve()
        # Extra object folders to read from: a push in quarantine, for validate-store in a hook.
        self._objects = dict(objects or {})
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, StoreSnapshot] = OrderedDict()
        self._parsed: dict[tuple[str, str], _Parsed] = {}
        self._checked: dict[tuple[str, tuple[tuple[str, str | None], ...]], list[str]] = {}
        self._pushers_cache: tuple[tuple[int, int], dict[str, frozenset[str]]] | None = None

    # -- setting up ---------------------------------------------------------------------------

    @classmethod
    def open_or_init(cls, path: Path) -> SpecStore:
        """Open the bare store at ``path``, creating it (with branch main unborn) if needed."""
        path = Path(path).resolve()
        if not (path / "HEAD").is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _run(None, ["init", "--quiet", "--bare", "--initial-branch=main", str(path)])
        store = cls(path)
        current = store._git(["config", "--list", "--local"]).stdout.decode()
        present = {line.split("=", 1)[0].lower() for line in current.splitlines()}
        for key, value in _REPO_CONFIG.items():
            if key.lower() not in present:
                store._git(["config", key, value])
        store._install_hook()
        store.clear_stale_locks()
        return store

    def _install_hook(self) -> None:
        """Install the store's pre-receive hook, or bring an older one of ours up to date; a
        hook someone else put there is left alone."""
        hook = self.path / "hooks" / "pre-receive"
        text = pre_receive_hook()
        try:
            current = hook.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            current = None
        ours = current is None or current.startswith(f"#!/bin/sh\n{HOOK_MARKER}")
        if current == text or not ours:
            return
        hook.parent.mkdir(exist_ok=True)
        tmp = hook.with_name(f".pre-receive.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, hook)

    def seed(self, author: Author, files: dict[str, str], message: str = "Seed the store") -> str | None:
        """Make the first commit on main from ``files`` (path -> YAML); None if main exists."""
        if self._ref_oid(MAIN_REF) is not None:
            return None
        changes = {self._store_path(path): text.encode() for path, text in files.items()}
        try:
            return self._write_commit(
                ref=MAIN_REF,
                old=ZERO_OID,
                parents=[],
                base=None,
                changes=changes,
                author=author,
                message=message,
                trailers={"Change-kind": "seed"},
            )
        except _RefMovedError:
            return None  # another process seeded first
        finally:
            self.maintenance()

    def maintenance(self) -> None:
        """Pack loose objects once there are many (``git gc --auto``, in the foreground).

        Plumbing never triggers gc itself, and thousands of loose objects make every tree write
        slow (mktree opens each entry's object). Safe while others write: gc keeps unreachable
        objects for two weeks, so objects of a save in progress are never pruned. Call it after
        a seed (done here) and from time to time, for example after approvals.
        """
        self._git(["-c", "gc.autoDetach=false", "gc", "--auto", "--quiet"])

    def clear_stale_locks(self, max_age_seconds: float = STALE_LOCK_SECONDS) -> list[str]:
        """Remove ref lock files left by killed processes; returns their paths.

        A killed writer cannot damage objects or refs, but a ``.lock`` it held blocks that ref.
        """
        now = time.time()
        removed = []
        # HEAD.lock too: moving main also locks HEAD, the symbolic ref that points at it.
        candidates = [
            *(self.path / "refs").rglob("*.lock"),
            self.path / "packed-refs.lock",
            self.path / "HEAD.lock",
        ]
        for lock in candidates:
            try:
                age = now - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if age >= max_age_seconds:
                lock.unlink(missing_ok=True)
                removed.append(str(lock.relative_to(self.path)))
        return removed

    # -- reading ------------------------------------------------------------------------------

    def head(self, branch: str = MAIN) -> str | None:
        """Commit id at the tip of ``branch`` (main or mockup/req-<id>); None if it is absent."""
        if branch != MAIN:
            match = re.fullmatch(r"mockup/req-([1-9][0-9]{0,17})", branch or "")
            if not match or mockup_branch(int(match.group(1))) != branch:
                raise UserError("store.invalid_name", name=str(branch)[:80])
        return self._ref_oid(f"refs/heads/{branch}")

    mockup_branch = staticmethod(mockup_branch)

    def list_mockups(self) -> list[MockupInfo]:
        """Every mock-up branch (refs/heads/mockup/req-<id>), however it was made."""
        out = self._git(
            [
                "for-each-ref",
                "--format=%(refname)%00%(objectname)%00%(committerdate:unix)",
                "refs/heads/mockup/",
            ]
        ).stdout.decode()
        main = self._ref_oid(MAIN_REF)
        mockups = []
        for line in out.splitlines():
            refname, head, stamp = line.split("\0")
            match = _MOCKUP_REF.fullmatch(refname)
            if not match:
                continue  # not a name we generate, so not a mock-up (and never read further)
            base = self._merge_base(main, head) if main else None
            people = self._participants(main, head)
            mockups.append(
                MockupInfo(
                    request_id=int(match.group(1)),
                    branch=refname.removeprefix("refs/heads/"),
                    head=head,
                    base=base,
                    authors=people.people,
                    unattributed=people.unattributed,
                    updated_at=datetime.fromtimestamp(int(stamp or 0), UTC),
                    merged=base == head,
                    problems=self.snapshot(head).problems,
                )
            )
        return sorted(mockups, key=lambda m: m.request_id)

    def snapshot(self, rev: str = MAIN) -> StoreSnapshot:
        """Specs, contracts and problems at ``rev``; cached by commit id, so warm calls are fast."""
        if isinstance(rev, str) and _OID.fullmatch(rev):
            cached = self._cache_get(rev)
            if cached is not None:
                return cached
        commit, tree = self._resolve(rev)
        cached = self._cache_get(commit)
        if cached is not None:
            return cached
        entries = self._list_tree(commit)
        snap = self._make_snapshot(commit, tree, entries, self._evaluate(entries))
        self._cache_put(commit, snap)
        return snap

    def read_file(self, rev: str, path: str) -> str | None:
        """Text of ``path`` at ``rev``; None if the file does not exist there."""
        commit, _ = self._resolve(rev)
        _check_path(path)
        proc = self._git(["cat-file", "--batch"], stdin=f"{commit}:{path}\n".encode())
        header, _, rest = proc.stdout.partition(b"\n")
        parts = header.decode().split(" ")
        if len(parts) != 3 or parts[1] != "blob":
            return None
        return rest[: int(parts[2])].decode("utf-8", "replace")

    def diff(self, base_rev: str, head_rev: str, path: str | None = None) -> str:
        """Unified diff of the YAML from ``base_rev`` to ``head_rev`` (optionally of one path)."""
        base, _ = self._resolve(base_rev)
        head, _ = self._resolve(head_rev)
        args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M", base, head]
        if path is not None:
            args += ["--", _check_path(path)]
        return self._git(args).stdout.decode("utf-8", "replace")

    def history(self, path: str, rev: str = MAIN) -> list[CommitInfo]:
        """Commits that changed ``path`` up to ``rev``, newest first, approvals included."""
        commit, _ = self._resolve(rev)
        _check_path(path)
        # --full-history keeps approval merges, which the default simplification would hide.
        return self._log(["--full-history", commit, "--", path])

    def trail(self, rev: str = MAIN, since: str | None = None) -> list[CommitInfo]:
        """The commits of ``rev``'s first-parent line, newest first: on main, the seed, every
        approval merge and every commit of steps 6-8, each with its trailers (the record of
        those decisions). With ``since`` (a commit id), only the commits after it."""
        commit, _ = self._resolve(rev)
        args = ["--first-parent", commit]
        if since is not None:
            args.append(f"^{_check_oid(since)}")
        return self._log(args)

    def _log(self, args: list[str]) -> list[CommitInfo]:
        fmt = "%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%s%x1f%(trailers:only,unfold)%x1e"
        out = self._git(["log", "--no-color", f"--format={fmt}", *args]).stdout.decode(
            "utf-8", "replace"
        )
        result = []
        for record in out.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, parents, name, email, stamp, subject, trailer_text = record.split("\x1f")
            trailers = {}
            for line in trailer_text.splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    trailers[key.strip()] = value.strip()
            result.append(
                CommitInfo(
                    sha=sha,
                    parents=parents.split(),
                    author_username=_identity(name, email),
                    author_name=name,
                    date=datetime.fromtimestamp(int(stamp), UTC),
                    subject=subject,
                    trailers=trailers,
                )
            )
        return result

    # -- writing ------------------------------------------------------------------------------

    def start_mockup(
        self, request_id: int, spec: DashboardSpec, author: Author, message: str | None = None
    ) -> str:
        """Create the mock-up branch from main with ``spec``; Conflict if it already exists."""
        branch = mockup_branch(request_id)
        main = self._ref_oid(MAIN_REF)
        if main is None:
            raise NotFound("store.main_missing")
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=ZERO_OID,
                parents=[main],
                base=self.snapshot(main),
                changes={spec_path(spec.id): spec_to_yaml(spec).encode()},
                author=author,
                message=message or f"Start mock-up {spec.id} for request {request_id}",
                trailers={"Request": str(request_id), "Change-kind": "mockup-start"},
                allow_empty=True,
            )
        except _RefMovedError:
            raise Conflict("store.mockup_exists", request=request_id) from None

    def save_spec(
        self,
        request_id: int,
        spec: DashboardSpec,
        author: Author,
        expected_head: str,
        message: str,
    ) -> str:
        """Commit ``spec`` on the mock-up branch; Conflict if it moved from expected_head."""
        return self._save_on_mockup(
            request_id, {spec_path(spec.id): spec_to_yaml(spec)}, author, expected_head, message
        )

    def commit_to_main(
        self,
        files: dict[str, str | None],
        author: Author,
        expected_head: str,
        message: str,
        trailers: dict[str, str] | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Commit files (None deletes) directly on main: Pusdatin's steps 6-8 after approval.

        The same validation as on a mock-up applies; Conflict if main moved from expected_head.
        With ``allow_empty`` a commit that changes no file is written too: a step whose record on
        main is its commit (its trailers) even when the spec already said what the step sets.
        """
        changes = {self._store_path(p): (t.encode() if t is not None else None) for p, t in files.items()}
        try:
            return self._write_commit(
                ref=MAIN_REF,
                old=_check_oid(expected_head),
                parents=[expected_head],
                base=self._snapshot_at(expected_head),
                changes=changes,
                author=author,
                message=message,
                trailers={**(trailers or {}), "Change-kind": "main"},
                allow_empty=allow_empty,
            )
        except _RefMovedError as exc:
            raise self._moved_error(MAIN, expected_head, exc.current) from None

    def restore(
        self,
        target: int | Literal["main"],
        path: str,
        from_commit: str,
        author: Author,
        expected_head: str,
    ) -> str:
        """Bring back ``path`` as it was at ``from_commit`` as a NEW commit on main or a mock-up."""
        source, _ = self._resolve(from_commit)
        text = self.read_file(source, self._store_path(path))
        if text is None:
            raise NotFound("store.file_not_found", path=path, rev=_short(source))
        is_main = target == MAIN
        branch = MAIN if is_main else mockup_branch(target)  # type: ignore[arg-type]
        trailers = {"Restored-from": source, "Change-kind": "restore"}
        if not is_main:
            trailers = {"Request": str(target), **trailers}
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=_check_oid(expected_head),
                parents=[expected_head],
                base=self._snapshot_at(expected_head),
                changes={path: text.encode()},
                author=author,
                message=f"Restore {path} from {_short(source)}",
                trailers=trailers,
            )
        except _RefMovedError as exc:
            raise self._moved_error(branch, expected_head, exc.current, target) from None


    # -- internals: reading -------------------------------------------------------------------

    def _git(
        self,
        args: list[str],
        *,
        stdin: bytes | None = None,
        author: Author | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        return _run(self.path, args, stdin=stdin, author=author, ok_codes=ok_codes, objects=self._objects)

    @staticmethod
    def _store_path(path: str) -> str:
        """``path`` if the store may hold it: specs/<id>.yaml, data_contracts/<id>.yaml, or the
        store's README.md, which is kept but never read."""
        kind, stem = _file_kind(_check_path(path))
        if kind == "stray" or (kind is not None and not _ID.fullmatch(stem)):
            raise UserError("store.invalid_path", path=path)
        return path

    def _ref_oid(self, ref: str) -> str | None:
        proc = self._git(["rev-parse", "--verify", "-q", "--end-of-options", ref], ok_codes=(0, 1))
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

    def _resolve(self, rev: str) -> tuple[str, str]:
        """(commit id, tree id) of ``rev``; NotFound if it names no commit."""
        name = _check_rev(rev)
        if name == MAIN or name.startswith(MOCKUP_PREFIX):
            name = f"refs/heads/{name}"  # never a same-named tag
        # cat-file reads the names on stdin, where nothing can be taken as an option.
        out = (
            self._git(
                ["cat-file", "--batch-check"],
                stdin=f"{name}^{{commit}}\n{name}^{{tree}}\n".encode(),
            )
            .stdout.decode()
            .splitlines()
        )
        found = [line.split(" ") for line in out]
        if [f[1:2] for f in found] != [["commit"], ["tree"]]:
            raise NotFound("store.revision_not_found", rev=rev)
        return found[0][0], found[1][0]

    def _snapshot_at(self, oid: str) -> StoreSnapshot:
        return self.snapshot(_check_oid(oid))


    def _list_tree(self, treeish: str) -> dict[str, _Entry]:
        out = self._git(["ls-tree", "-r", "-t", "-z", "--full-tree", treeish]).stdout
        entries = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, kind, oid = meta.decode().split(" ")
            entries[path.decode("utf-8", "surrogateescape")] = (mode, kind, oid)
        return entries

    def _blob_sizes(self, oids: set[str]) -> dict[str, int]:
        """The size in bytes of each blob, read without reading the blobs."""
        request = "".join(o + "\n" for o in oids).encode()
        out = self._git(["cat-file", "--batch-check"], stdin=request).stdout.decode()
        sizes = {}
        for line in out.splitlines():
            fields = line.split(" ")
            if len(fields) != 3:
                raise GitError(f"object {fields[0]} is missing")
            sizes[fields[0]] = int(fields[2])
        return sizes

    def _cat_blobs(self, oids: set[str]) -> dict[str, bytes]:
        request = "".join(o + "\n" for o in oids).encode()
        out = self._git(["cat-file", "--batch"], stdin=request).stdout
        blobs = {}
        pos = 0
        while pos < len(out):
            end = out.index(b"\n", pos)
            header = out[pos:end].decode().split(" ")
            pos = end + 1
            if len(header) != 3:
                raise GitError(f"object {header[0]} is missing")
            size = int(header[2])
            blobs[header[0]] = out[pos : pos + size]
            pos += size + 1
        return blobs
