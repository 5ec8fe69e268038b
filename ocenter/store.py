"""Git-backed store of specs and data contracts: mock-ups are branches, approvals are merges."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ocenter.contracts import ID_PATTERN, DataContract, contract_from_yaml, contract_to_yaml
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.specs import DashboardSpec, content_problems, spec_from_yaml, spec_to_yaml

# Layout of the store. main holds the approved state; a mock-up is refs/heads/mockup/req-<id>.
MAIN = "main"
MAIN_REF = "refs/heads/main"
MOCKUP_PREFIX = "mockup/req-"
SPEC_DIR = "specs"
CONTRACT_DIR = "data_contracts"
_OUR_FOLDERS = (f"{SPEC_DIR}/", f"{CONTRACT_DIR}/")
EMAIL_DOMAIN = "users.ocenter.invalid"
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ZERO_OID = "0" * 40
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: A ref lock older than this was left by a killed process: git holds one for milliseconds.
STALE_LOCK_SECONDS = 60.0
# How long update-ref waits for another writer's lock on the same ref before giving up.
_REF_LOCK_TIMEOUT_MS = 3000
# Approvals recompute the merge when another approval moved main meanwhile; this bounds the retries.
_APPROVAL_ATTEMPTS = 50
_SNAPSHOT_CACHE_SIZE = 32
_PARSE_CACHE_SIZE = 200_000

_OID = re.compile(r"[0-9a-f]{40}")
_SHORT_OID = re.compile(r"[0-9a-f]{7,40}")
_ID = re.compile(ID_PATTERN)
_MOCKUP_REF = re.compile(r"refs/heads/mockup/req-([1-9][0-9]{0,17})")
# Path components: no leading dot or dash, so "..", ".git" and option-like names cannot be formed.
_PATH_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
# Revisions a user may name (besides commit ids); checked again with git check-ref-format.
_REV = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")
_TRAILER_KEY = re.compile(r"[A-Z][A-Za-z0-9-]{0,62}")

_PRE_RECEIVE_HOOK = """#!/bin/sh
# Installed by OCenter. main moves only through approvals made in the app, so a plain
# `git push` may only create or fast-forward mock-up branches refs/heads/mockup/req-<number>.
status=0
while read -r old new ref; do
  if ! printf '%s\\n' "$ref" | grep -Eq '^refs/heads/mockup/req-[1-9][0-9]{0,17}$'; then
    echo "ocenter: only refs/heads/mockup/req-<number> may be pushed, not $ref" >&2
    status=1
  fi
done
exit $status
"""

# Repository settings that keep pushed history intact (set once, idempotently).
_REPO_CONFIG = {
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "false",
}


#: One tree entry as ls-tree lists it: (mode, object type, object id).
_Entry = tuple[str, str, str]


class GitError(RuntimeError):
    """Git failed in a way no user can fix: a bug, a broken disk or a missing repository."""


class Author(BaseModel):
    """The logged-in user a commit is written for."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(
        pattern=USERNAME_PATTERN,
        description="Login name; becomes the commit e-mail <username>@users.ocenter.invalid.",
        examples=["analis1"],
    )
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Full name shown in the history.",
        examples=["Siti"],
    )

    @field_validator("name")
    @classmethod
    def _name_fits_git(cls, value: str) -> str:
        # Git drops or mangles these in identities, which would break the authorship record.
        if any(ch in value for ch in "<>\n\r\0") or not value.strip():
            raise ValueError("a name may not be blank or contain <, > or line breaks")
        return value.strip()

    @property
    def email(self) -> str:
        """The e-mail written into commits."""
        return f"{self.username}@{EMAIL_DOMAIN}"


class StoreSnapshot(BaseModel):
    """Everything in the store at one commit: parsed specs and contracts and what is wrong.

    Snapshots are cached and shared between threads: treat them (and their dicts) as read-only.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    commit: str = Field(description="Commit id the snapshot was read from.")
    tree: str = Field(description="Id of the commit's root tree.")
    specs: dict[str, DashboardSpec] = Field(
        description="Dashboards that parse and whose file name matches their id, by id."
    )
    contracts: dict[str, DataContract] = Field(
        description="Data contracts that parse and whose file name matches their id, by id."
    )
    problems: dict[str, list[str]] = Field(
        description="What is wrong, by file path (parse errors and content problems, in English)."
    )
    _entries: dict[str, _Entry] = PrivateAttr(default_factory=dict)
    _spec_oids: dict[str, str] = PrivateAttr(default_factory=dict)
    _contract_oids: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        """True when no file has a problem (a mock-up must be valid to be approved)."""
        return not self.problems

    def valid_specs(self) -> dict[str, DashboardSpec]:
        """Specs without any problem, by id: what can safely be shown."""
        return {k: v for k, v in self.specs.items() if f"{SPEC_DIR}/{k}.yaml" not in self.problems}


class MockupInfo(BaseModel):
    """One mock-up branch, made in the app or pushed with plain Git."""

    request_id: int = Field(description="Number of the dashboard request.")
    branch: str = Field(description="Branch name, mockup/req-<request_id>.")
    head: str = Field(description="Commit id at the tip of the branch.")
    base: str | None = Field(description="Merge base with main; None for an unrelated history.")
    authors: list[str] = Field(
        description="Usernames (or e-mails, for plain Git commits) of everyone who authored or "
        "committed on the branch since it forked from main."
    )
    updated_at: datetime = Field(description="Commit time of the head.")
    merged: bool = Field(description="True when the head is already contained in main (approved).")
    problems: dict[str, list[str]] = Field(description="Problems of the files at the head.")


class CommitInfo(BaseModel):
    """One entry of a file's history."""

    sha: str = Field(description="Commit id.")
    parents: list[str] = Field(description="Parent commit ids; two for an approval.")
    author_username: str = Field(description="Username, or the e-mail for commits made outside the app.")
    author_name: str = Field(description="Author's full name.")
    date: datetime = Field(description="Author date.")
    subject: str = Field(description="First line of the message.")
    trailers: dict[str, str] = Field(
        description="Trailers of the message (Approved-by, Request, Reviewed-commit, ...)."
    )


class ConflictVersions(BaseModel):
    """One file that main and a mock-up both changed in ways git cannot combine, three ways."""

    path: str = Field(description="File path inside the store.", examples=["specs/dasbor-0003.yaml"])
    base: str | None = Field(
        description="The file where the mock-up forked from main (None: it did not exist there)."
    )
    main: str | None = Field(description="The file on main now (None: main deleted it).")
    mockup: str | None = Field(description="The file at the mock-up's head (None: deleted there).")


class MergePreview(BaseModel):
    """What merging main into a mock-up branch would give, computed without writing any ref."""

    request_id: int = Field(description="Number of the dashboard request.")
    head: str = Field(description="Commit id at the tip of the mock-up branch.")
    main: str = Field(description="Commit id at the tip of main.")
    base: str = Field(description="Merge base of the two.")
    up_to_date: bool = Field(description="True when main has nothing the mock-up lacks (no update needed).")
    clean: bool = Field(description="True when git merges the two without a conflict.")
    conflicts: list[ConflictVersions] = Field(
        description="Each conflicting file with its base, main and mock-up versions, by path."
    )

    @property
    def conflict_paths(self) -> list[str]:
        """The conflicting files, sorted."""
        return [c.path for c in self.conflicts]


class StoreProblem(BaseModel):
    """One broken file found by ``validate_store``."""

    path: str = Field(description="File path inside the store.")
    message: str = Field(description="What is wrong, in English.")


@dataclass(frozen=True)
class _Parsed:
    """The result of parsing one blob as a spec or a contract."""

    model: DashboardSpec | DataContract | None
    errors: tuple[str, ...]


@dataclass
class _State:
    """What the files of one tree parse into, with the blob ids needed to update it cheaply."""

    specs: dict[str, DashboardSpec]
    contracts: dict[str, DataContract]
    problems: dict[str, list[str]]
    spec_oids: dict[str, str]
    contract_oids: dict[str, str]


class _RefMovedError(Exception):
    """update-ref refused because the ref is not at the expected commit."""

    def __init__(self, current: str | None) -> None:
        super().__init__(current)
        self.current = current


# ---------------------------------------------------------------------------------------------
# Names and paths


def spec_path(dashboard_id: str) -> str:
    """Path of a dashboard spec in the store."""
    return f"{SPEC_DIR}/{_check_id(dashboard_id)}.yaml"


def contract_path(dataset_id: str) -> str:
    """Path of a data contract in the store."""
    return f"{CONTRACT_DIR}/{_check_id(dataset_id)}.yaml"


def mockup_branch(request_id: int) -> str:
    """Branch name of the mock-up of request ``request_id``, checked by git check-ref-format."""
    # bool is an int subclass; True must not become mockup/req-1.
    if type(request_id) is not int or not 0 < request_id < 10**18:
        raise UserError("store.invalid_name", name=repr(request_id)[:80])
    name = f"{MOCKUP_PREFIX}{request_id}"
    _check_ref_format(f"refs/heads/{name}")
    return name


def _check_id(value: object) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise UserError("store.invalid_name", name=repr(value)[:80])
    return value


def _check_path(path: object) -> str:
    if not isinstance(path, str) or not 0 < len(path) <= 400:
        raise UserError("store.invalid_path", path=repr(path)[:80])
    if not all(_PATH_PART.fullmatch(part) for part in path.split("/")):
        raise UserError("store.invalid_path", path=path)
    return path


def _check_oid(value: object) -> str:
    if not isinstance(value, str) or not _OID.fullmatch(value):
        raise UserError("store.invalid_revision", rev=repr(value)[:80])
    return value


def _check_rev(rev: object) -> str:
    if not isinstance(rev, str):
        raise UserError("store.invalid_revision", rev=repr(rev)[:80])
    if _SHORT_OID.fullmatch(rev) or rev in ("HEAD", MAIN):
        return rev
    if not _REV.fullmatch(rev) or ".." in rev or "//" in rev:
        raise UserError("store.invalid_revision", rev=rev)
    _check_ref_format(rev, allow_onelevel=True)
    return rev


def _check_ref_format(name: str, allow_onelevel: bool = False) -> None:
    if name.startswith("-") or not _ref_format_ok(name, allow_onelevel):
        raise UserError("store.invalid_name", name=name)


@lru_cache(maxsize=4096)
def _ref_format_ok(name: str, allow_onelevel: bool) -> bool:
    # Names are generated from validated ids, so the cache stays small and saves skip a process.
    args = ["check-ref-format", *(["--allow-onelevel"] if allow_onelevel else []), name]
    return _run(None, args, ok_codes=(0, 1, 128)).returncode == 0


def _file_kind(path: str) -> tuple[Literal["spec", "contract", "stray"] | None, str]:
    """What a path is: a spec, a contract, a misplaced file, or none of our business."""
    top, _, rest = path.partition("/")
    if top not in (SPEC_DIR, CONTRACT_DIR) or not rest or rest.startswith("."):
        return None, ""
    if "/" in rest or not rest.endswith(".yaml"):
        return "stray", ""
    return ("spec" if top == SPEC_DIR else "contract"), rest[: -len(".yaml")]


def load_folder(root: Path) -> dict[str, str]:
    """The specs/*.yaml and data_contracts/*.yaml files under ``root``, as ``seed`` takes them."""
    files: dict[str, str] = {}
    for folder in (SPEC_DIR, CONTRACT_DIR):
        for file in sorted((root / folder).glob("*.yaml")):
            files[f"{folder}/{file.name}"] = file.read_text(encoding="utf-8")
    return files


# ---------------------------------------------------------------------------------------------
# Listeners told after a ref moved (ocenter/mirror.py pushes to a remote), by store path


_ref_listeners: dict[Path, list[Callable[[str], None]]] = {}
_ref_listeners_lock = threading.Lock()


def add_ref_listener(path: Path, listener: Callable[[str], None]) -> None:
    """Call ``listener(ref)`` after any SpecStore of this process moved a ref of the store at ``path``.

    It runs in the writer's thread right after the compare-and-swap succeeded, so it must be
    quick and must not wait on anything slow; an exception it raises is logged, never re-raised
    (the write has already happened).
    """
    with _ref_listeners_lock:
        _ref_listeners.setdefault(Path(path).resolve(), []).append(listener)


def remove_ref_listener(path: Path, listener: Callable[[str], None]) -> None:
    """Undo ``add_ref_listener`` (nothing happens if it was not added)."""
    with _ref_listeners_lock:
        listeners = _ref_listeners.get(Path(path).resolve(), [])
        if listener in listeners:
            listeners.remove(listener)


def _ref_moved(path: Path, ref: str) -> None:
    with _ref_listeners_lock:
        listeners = list(_ref_listeners.get(path, ()))
    for listener in listeners:
        try:
            listener(ref)
        except Exception:
            logging.getLogger(__name__).exception("a listener failed after %s moved in %s", ref, path)


# ---------------------------------------------------------------------------------------------
# Running git


_home_lock = threading.Lock()
_home_dir: str | None = None


def _empty_home() -> str:
    global _home_dir
    with _home_lock:
        if _home_dir is None or not os.path.isdir(_home_dir):
            _home_dir = tempfile.mkdtemp(prefix="ocenter-git-home-")
        return _home_dir


def _git_env(author: Author | None) -> dict[str, str]:
    """A clean environment: no user or system config, no inherited GIT_* variables, and the
    author and committer (with one timestamp) fixed for this call only."""
    home = _empty_home()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": home,
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
) -> subprocess.CompletedProcess[bytes]:
    cmd = ["git", *([f"--git-dir={git_dir}"] if git_dir is not None else []), *args]
    proc = subprocess.run(
        cmd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=_git_env(author),
        cwd=cwd or git_dir or "/",
        check=False,
    )
    if proc.returncode not in ok_codes:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args[:3])} failed ({proc.returncode}): {detail}")
    return proc


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


def _parse(kind: str, data: bytes) -> _Parsed:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _Parsed(None, ("the file is not UTF-8 text",))
    try:
        model = spec_from_yaml(text) if kind == "spec" else contract_from_yaml(text)
    except ValidationError as exc:
        reasons = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(part) for part in err["loc"])
            reasons.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return _Parsed(None, tuple(reasons))
    except yaml.YAMLError as exc:
        return _Parsed(None, (f"YAML: {_one_line(exc)}",))
    except ValueError as exc:
        return _Parsed(None, (_one_line(exc),))
    return _Parsed(model, ())


def _identity(name: str, email: str) -> str:
    """Username of an app commit, or the lower-cased e-mail of a commit made elsewhere."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    return local if domain == EMAIL_DOMAIN else email or name.strip().casefold()


def _short(oid: str | None) -> str:
    return (oid or "-")[:12]


_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7}|\|{7})( |$)|^={7}$", re.MULTILINE)


def _has_conflict_markers(text: str) -> bool:
    """True when ``text`` still holds a line git writes around a conflict."""
    return _CONFLICT_MARKER.search(text) is not None


# ---------------------------------------------------------------------------------------------
# The store


class SpecStore:
    """Specs and contracts in a bare Git repository, written only through plumbing.

    Every method may be called from many threads and processes at once: nothing here holds a
    working tree, an index or a git process between calls, every write creates new objects and
    then moves one ref with a compare-and-swap ``update-ref REF NEW OLD``. The caches are keyed
    by object ids, which are immutable, and guarded by one lock.

    Approved mock-up branches are kept after their merge (as history of the review); a kept
    branch shows ``merged=True`` in ``list_mockups`` and may receive a new round of changes.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, StoreSnapshot] = OrderedDict()
        self._parsed: dict[tuple[str, str], _Parsed] = {}
        self._checked: dict[tuple[str, tuple[tuple[str, str | None], ...]], list[str]] = {}

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
        hook = path / "hooks" / "pre-receive"
        if not hook.exists():
            hook.parent.mkdir(exist_ok=True)
            tmp = hook.with_name(f".pre-receive.{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(_PRE_RECEIVE_HOOK, encoding="utf-8")
            tmp.chmod(0o755)
            os.replace(tmp, hook)
        store.clear_stale_locks()
        return store

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
            mockups.append(
                MockupInfo(
                    request_id=int(match.group(1)),
                    branch=refname.removeprefix("refs/heads/"),
                    head=head,
                    base=base,
                    authors=sorted(self._participants(main, head)[0]),
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

    def mockup_diff(self, request_id: int) -> str:
        """What the mock-up changes: diff from its merge base with main to its head."""
        head = self._mockup_head(request_id)
        base = self._merge_base(self._ref_oid(MAIN_REF), head)
        if base is None:
            raise UserError("store.unrelated_history", request=request_id)
        return self.diff(base, head)

    def history(self, path: str, rev: str = MAIN) -> list[CommitInfo]:
        """Commits that changed ``path`` up to ``rev``, newest first, approvals included."""
        commit, _ = self._resolve(rev)
        _check_path(path)
        fmt = "%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%s%x1f%(trailers:only,unfold)%x1e"
        # --full-history keeps approval merges, which the default simplification would hide.
        out = self._git(
            ["log", "--full-history", "--no-color", f"--format={fmt}", commit, "--", path]
        ).stdout.decode("utf-8", "replace")
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

    def save_contract(
        self,
        request_id: int,
        contract: DataContract,
        author: Author,
        expected_head: str,
        message: str,
    ) -> str:
        """Commit ``contract`` on the mock-up branch; Conflict if it moved from expected_head."""
        files = {contract_path(contract.id): contract_to_yaml(contract)}
        return self._save_on_mockup(request_id, files, author, expected_head, message)

    def commit_to_main(
        self,
        files: dict[str, str | None],
        author: Author,
        expected_head: str,
        message: str,
        trailers: dict[str, str] | None = None,
    ) -> str:
        """Commit files (None deletes) directly on main: Pusdatin's steps 6-8 after approval.

        The same validation as on a mock-up applies; Conflict if main moved from expected_head.
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

    def merge_preview(self, request_id: int) -> MergePreview:
        """What bringing main's newer commits into the mock-up would give: up to date, a clean
        three-way merge, or conflicts with the base, main and mock-up version of each file.

        Nothing is written but unreachable objects (``git merge-tree --write-tree``).
        """
        head = self._mockup_head(request_id)
        main, base = self._main_and_base(request_id, head)
        up_to_date = base == main
        clean, conflicts = True, []
        if not up_to_date:
            _, clean, stages = self._merge_stages(head, main)
            blobs = self._cat_blobs({oid for by_stage in stages.values() for oid in by_stage.values()})

            def text(oid: str | None) -> str | None:
                return None if oid is None else blobs[oid].decode("utf-8", "replace")

            conflicts = [
                ConflictVersions(path=path, base=text(s.get(1)), mockup=text(s.get(2)), main=text(s.get(3)))
                for path, s in sorted(stages.items())
            ]
        return MergePreview(
            request_id=request_id,
            head=head,
            main=main,
            base=base,
            up_to_date=up_to_date,
            clean=clean,
            conflicts=conflicts,
        )

    def update_mockup_from_main(
        self,
        request_id: int,
        resolved: dict[str, str | None],
        author: Author,
        expected_head: str,
        expected_main: str | None = None,
    ) -> str:
        """Merge main into the mock-up branch: a merge commit ON THE BRANCH, parents (head, main).

        Its tree is git's three-way merge with each conflicting file replaced by the analyst's
        resolution in ``resolved`` (path -> text; None deletes). Every conflicting file must be
        resolved, and only those; no conflict marker may be left; the result is validated like
        any save and the branch ref moves by compare-and-swap from ``expected_head``. With
        ``expected_main``, the merge is refused when main moved since the analyst looked, so a
        resolution is never applied to versions nobody saw.
        """
        branch = mockup_branch(request_id)
        _check_oid(expected_head)
        head = self._mockup_head(request_id)
        if head != expected_head:
            raise self._moved_error(branch, expected_head, head, request_id)
        main, base = self._main_and_base(request_id, head)
        if expected_main is not None and main != _check_oid(expected_main):
            raise self._moved_error(MAIN, expected_main, main)
        if base == main:
            raise UserError("history.already_current", request=request_id)
        tree, clean, stages = self._merge_stages(head, main)
        if not clean and not stages:  # a conflict git reports without a file to resolve
            raise Conflict("store.merge_conflict", request=request_id, files="?")
        unresolved = sorted(set(stages) - set(resolved))
        if unresolved:
            raise Conflict("history.unresolved", request=request_id, files=", ".join(unresolved))
        unexpected = sorted(set(resolved) - set(stages))
        if unexpected:
            raise UserError("history.not_conflicting", files=", ".join(unexpected)[:400])
        marked = sorted(p for p, t in resolved.items() if t is not None and _has_conflict_markers(t))
        if marked:
            raise UserError("history.markers_left", files=", ".join(marked))

        head_snap = self.snapshot(head)
        main_snap = self.snapshot(main)
        entries = self._list_tree(tree)
        merged = self._make_snapshot(tree, tree, entries, self._derive(head_snap, entries))
        # The update may not add a problem that neither side had.
        baseline = {
            path: [*main_snap.problems.get(path, []), *head_snap.problems.get(path, [])]
            for path in main_snap.problems.keys() | head_snap.problems.keys()
        }
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=head,
                parents=[head, main],
                base=merged,
                baseline=baseline,
                changes={p: (t.encode() if t is not None else None) for p, t in resolved.items()},
                author=author,
                message=f"Update mock-up of request {request_id} from main",
                trailers={
                    "Request": str(request_id),
                    "Merged-main": main,
                    **({"Resolved": ", ".join(sorted(resolved))} if resolved else {}),
                    "Change-kind": "mockup-update",
                },
                allow_empty=True,
            )
        except _RefMovedError as exc:
            raise self._moved_error(branch, expected_head, exc.current, request_id) from None

    def approve(self, request_id: int, reviewed_commit: str, approver: Author) -> str:
        """Merge the mock-up into main, bound to exactly the commit the approver reviewed.

        Refused when the branch moved since the review (Conflict), when the approver wrote any
        commit on it (PermissionDenied), when a file on it is invalid (UserError), or when the
        three-way merge with main conflicts (Conflict, naming the files).
        """
        _check_oid(reviewed_commit)
        head = self._mockup_head(request_id)
        if head != reviewed_commit:
            raise Conflict(
                "store.review_outdated",
                request=request_id,
                reviewed=_short(reviewed_commit),
                current=_short(head),
            )
        for _ in range(_APPROVAL_ATTEMPTS):
            main, base = self._main_and_base(request_id, head)
            if base == head:
                raise UserError("store.nothing_to_approve", request=request_id)
            if self._is_participant(approver, self._participants(main, head)):
                raise PermissionDenied(
                    "store.approver_is_author", username=approver.username, request=request_id
                )
            branch_snap = self.snapshot(head)
            if branch_snap.problems:
                raise UserError(
                    "store.mockup_invalid",
                    request=request_id,
                    reasons=self._reasons(branch_snap.problems),
                )
            main_snap = self.snapshot(main)
            if base == main:
                tree, entries = branch_snap.tree, branch_snap._entries
            else:
                tree = self._merge_tree(main, head, request_id)
                entries = self._list_tree(tree)
            state = self._derive(main_snap, entries)
            new = self._new_problems(main_snap.problems, state.problems)
            if new:
                raise UserError("store.merge_invalid", request=request_id, reasons=new)
            message = self._message(
                f"Approve mock-up of request {request_id}",
                {
                    "Approved-by": approver.username,
                    "Request": str(request_id),
                    "Reviewed-commit": reviewed_commit,
                    "Change-kind": "approval",
                },
            )
            commit = self._commit_tree(tree, [main, head], approver, message)
            try:
                self._move_ref(MAIN_REF, commit, main)
            except _RefMovedError:
                continue  # another approval landed first: merge again with the new main
            self._cache_put(commit, self._make_snapshot(commit, tree, entries, state))
            return commit
        raise UserError("store.busy")

    # -- internals: writing -------------------------------------------------------------------

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
                    raise GitError(f"git mktree failed: {proc.stderr.read().decode()[:500]}")
                if folder:
                    entries[folder] = children[parent][name] = ("040000", "tree", oid)
                else:
                    root = oid
            proc.stdin.close()
            if proc.wait() != 0:
                raise GitError("git mktree failed")
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
        # The cause keeps git's words for the log; the user gets the catalogue message.
        raise UserError("store.busy") from GitError(proc.stderr.decode("utf-8", "replace").strip())

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

    # -- internals: reading -------------------------------------------------------------------

    def _git(
        self,
        args: list[str],
        *,
        stdin: bytes | None = None,
        author: Author | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        return _run(self.path, args, stdin=stdin, author=author, ok_codes=ok_codes)

    @staticmethod
    def _store_path(path: str) -> str:
        """``path`` if the store may hold it: specs/<id>.yaml, data_contracts/<id>.yaml, or a
        file outside those folders (such as README.md), which is kept but never read."""
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

    def _mockup_head(self, request_id: int) -> str:
        head = self._ref_oid(f"refs/heads/{mockup_branch(request_id)}")
        if head is None:
            raise NotFound("store.mockup_not_found", request=request_id)
        return head

    def _merge_base(self, a: str | None, b: str) -> str | None:
        if a is None:
            return None
        proc = self._git(["merge-base", a, b], ok_codes=(0, 1))
        return proc.stdout.decode().strip() or None

    def _participants(self, main: str | None, head: str) -> tuple[set[str], set[str]]:
        """Identities and names of everyone who authored or committed on the branch since it
        forked from main. Committers count too: whoever ran ``git commit`` took part."""
        revs = [head, "--not", main] if main else [head]
        out = self._git(["log", "--format=%an%x1f%ae%x1f%cn%x1f%ce", *revs]).stdout.decode()
        identities: set[str] = set()
        names: set[str] = set()
        for line in out.splitlines():
            an, ae, cn, ce = line.split("\x1f")
            identities.update({_identity(an, ae), _identity(cn, ce)})
            names.update({an.strip().casefold(), cn.strip().casefold()})
        return identities, names

    @staticmethod
    def _is_participant(approver: Author, people: tuple[set[str], set[str]]) -> bool:
        # Plain-Git commits carry no username, so a matching e-mail or full name also counts.
        identities, names = people
        return (
            approver.username.lower() in identities
            or approver.email.lower() in identities
            or approver.name.casefold() in names
        )

    def _main_and_base(self, request_id: int, head: str) -> tuple[str, str]:
        """main's head and its merge base with a mock-up's ``head``."""
        main = self._ref_oid(MAIN_REF)
        if main is None:
            raise NotFound("store.main_missing")
        base = self._merge_base(main, head)
        if base is None:
            raise UserError("store.unrelated_history", request=request_id)
        return main, base

    def _merge_stages(self, ours: str, theirs: str) -> tuple[str, bool, dict[str, dict[int, str]]]:
        """git's three-way merge of two commits: the merged tree (conflicting files hold
        conflict markers), whether it is clean, and for each conflicting path the blob id of
        each stage present (1 base, 2 ours, 3 theirs)."""
        proc = self._git(["merge-tree", "--write-tree", "-z", "--no-messages", ours, theirs], ok_codes=(0, 1))
        tree, *records = [f for f in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
        stages: dict[str, dict[int, str]] = {}
        for entry in records:
            meta, _, path = entry.partition("\t")
            _, oid, stage = meta.split(" ")
            stages.setdefault(path, {})[int(stage)] = _check_oid(oid)
        return _check_oid(tree), proc.returncode == 0, stages

    def _merge_tree(self, main: str, head: str, request_id: int) -> str:
        proc = self._git(
            ["merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", main, head],
            ok_codes=(0, 1),
        )
        fields = [f for f in proc.stdout.decode("utf-8", "replace").split("\0") if f]
        if proc.returncode == 1:
            files = ", ".join(sorted(set(fields[1:]))) or "?"
            raise Conflict("store.merge_conflict", request=request_id, files=files)
        return _check_oid(fields[0])

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

    def _evaluate(self, entries: dict[str, _Entry]) -> _State:
        """Parse and check every spec and contract listed in ``entries``."""
        state = _State({}, {}, {}, {}, {})
        self._apply(state, entries, [p for p in entries if p.startswith(_OUR_FOLDERS)], set())
        return state

    def _derive(self, base: StoreSnapshot | None, entries: dict[str, _Entry]) -> _State:
        """The state of ``entries``, re-reading only the files that differ from ``base``.

        A save on a store of 10,000 specs re-parses one file and re-checks only the specs that
        file can affect, instead of everything.
        """
        if base is None:
            return self._evaluate(entries)
        old = base._entries
        changed = [
            p
            for p in old.keys() | entries.keys()
            if old.get(p) != entries.get(p) and p.startswith(_OUR_FOLDERS)
        ]
        state = _State(
            dict(base.specs),
            dict(base.contracts),
            dict(base.problems),
            dict(base._spec_oids),
            dict(base._contract_oids),
        )
        self._apply(state, entries, changed, set(base.specs))
        return state

    def _apply(self, state: _State, entries: dict[str, _Entry], paths: list[str], known: set[str]) -> None:
        """Bring ``state`` up to date for ``paths`` (as they are in ``entries``), then re-check
        the specs those files can affect. ``known`` holds the spec ids already checked."""
        wanted: dict[str, tuple[str, str, str]] = {}
        recheck: set[str] = set()
        touched_contracts: set[str] = set()
        for path in paths:
            file_kind, stem = _file_kind(path)
            state.problems.pop(path, None)
            if file_kind == "spec":
                state.specs.pop(stem, None)
                state.spec_oids.pop(stem, None)
                recheck.add(stem)
            elif file_kind == "contract":
                state.contracts.pop(stem, None)
                state.contract_oids.pop(stem, None)
                touched_contracts.add(stem)
            entry = entries.get(path)
            if file_kind is None or entry is None or entry[1] == "tree":
                continue
            mode, _, oid = entry
            if file_kind == "stray":
                state.problems[path] = ["not read: only specs/<id>.yaml and data_contracts/<id>.yaml are"]
            elif mode not in ("100644", "100755"):
                state.problems[path] = ["not a regular file"]
            else:
                wanted[path] = (file_kind, stem, oid)

        results: dict[tuple[str, str], _Parsed] = {}
        with self._lock:
            for file_kind, _, oid in wanted.values():
                hit = self._parsed.get((file_kind, oid))
                if hit is not None:
                    results[(file_kind, oid)] = hit
        missing = {(k, o) for k, _, o in wanted.values() if (k, o) not in results}
        if missing:
            blobs = self._cat_blobs({o for _, o in missing})
            for key in missing:
                results[key] = _parse(key[0], blobs[key[1]])
                self._parsed_put(key, results[key])

        for path, (file_kind, stem, oid) in sorted(wanted.items()):
            parsed = results[(file_kind, oid)]
            if parsed.errors or parsed.model is None:
                state.problems[path] = list(parsed.errors)
            elif parsed.model.id != stem:
                state.problems[path] = [f"the file name {stem}.yaml does not match the id {parsed.model.id}"]
            elif isinstance(parsed.model, DashboardSpec):
                state.specs[stem], state.spec_oids[stem] = parsed.model, oid
            else:
                state.contracts[stem], state.contract_oids[stem] = parsed.model, oid

        if touched_contracts and known:
            recheck.update(
                spec_id
                for spec_id, spec in state.specs.items()
                if not touched_contracts.isdisjoint(spec.datasets)
            )
        elif not known:
            recheck = set(state.specs)
        if not known.issuperset(state.specs):
            state.specs = dict(sorted(state.specs.items()))  # the same order as a fresh read
        if touched_contracts:
            state.contracts = dict(sorted(state.contracts.items()))
        self._check_content(state, recheck)

    def _check_content(self, state: _State, spec_ids: set[str]) -> None:
        # Content problems depend only on the spec and the contracts it reads, so they are
        # cached by those blob ids: a save re-checks only what it touched.
        keys = {}
        for spec_id in spec_ids:
            spec = state.specs.get(spec_id)
            if spec is not None:  # (a spec that does not parse keeps its parse errors)
                state.problems.pop(f"{SPEC_DIR}/{spec_id}.yaml", None)
                used = tuple((d, state.contract_oids.get(d)) for d in spec.datasets)
                keys[spec_id] = (state.spec_oids[spec_id], used)
        with self._lock:
            found = {spec_id: self._checked.get(key) for spec_id, key in keys.items()}
        fresh = {}
        for spec_id, hit in found.items():
            if hit is None:
                spec = state.specs[spec_id]
                used = {d: state.contracts[d] for d in spec.datasets if d in state.contracts}
                found[spec_id] = fresh[keys[spec_id]] = content_problems(spec, used)
        if fresh:
            with self._lock:
                if len(self._checked) + len(fresh) > _PARSE_CACHE_SIZE:
                    self._checked.clear()
                self._checked.update(fresh)
        for spec_id, spec_problems in found.items():
            if spec_problems:
                state.problems[f"{SPEC_DIR}/{spec_id}.yaml"] = list(spec_problems)

    @staticmethod
    def _new_problems(before: dict[str, list[str]], after: dict[str, list[str]]) -> str:
        """Problems in ``after`` that ``before`` did not have, as one readable text."""
        new = [
            f"{path}: {msg}"
            for path, msgs in sorted(after.items())
            for msg in msgs
            if msg not in before.get(path, ())
        ]
        return "; ".join(new)

    @staticmethod
    def _reasons(problems: dict[str, list[str]]) -> str:
        return "; ".join(f"{p}: {msg}" for p, msgs in sorted(problems.items()) for msg in msgs)

    @staticmethod
    def _make_snapshot(commit: str, tree: str, entries: dict[str, _Entry], state: _State) -> StoreSnapshot:
        # model_construct: the models inside are validated already; re-validating 10,000 specs
        # would cost seconds for nothing.
        snap = StoreSnapshot.model_construct(
            commit=commit,
            tree=tree,
            specs=state.specs,
            contracts=state.contracts,
            problems=dict(sorted(state.problems.items())),
        )
        snap._entries = entries
        snap._spec_oids = state.spec_oids
        snap._contract_oids = state.contract_oids
        return snap

    def _cache_get(self, commit: str) -> StoreSnapshot | None:
        with self._lock:
            snap = self._snapshots.get(commit)
            if snap is not None:
                self._snapshots.move_to_end(commit)
            return snap

    def _cache_put(self, commit: str, snap: StoreSnapshot) -> None:
        with self._lock:
            self._snapshots[commit] = snap
            self._snapshots.move_to_end(commit)
            while len(self._snapshots) > _SNAPSHOT_CACHE_SIZE:
                self._snapshots.popitem(last=False)

    def _parsed_put(self, key: tuple[str, str], parsed: _Parsed) -> None:
        with self._lock:
            if len(self._parsed) >= _PARSE_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = parsed


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
