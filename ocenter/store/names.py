"""Names in the store (branches, paths, revisions), made from our own ids and checked before git sees them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from ocenter.contracts.model import ID_PATTERN
from ocenter.errors import UserError
from ocenter.store.git import _check_ref_format

# Layout of the store. main holds the approved state; a mock-up is refs/heads/mockup/req-<id>.
MAIN = "main"
MAIN_REF = "refs/heads/main"
MOCKUP_PREFIX = "mockup/req-"
#: A proposed change to a data contract is refs/heads/contract/<dataset-id>-<number>.
CONTRACT_CHANGE_PREFIX = "contract/"
SPEC_DIR = "specs"
CONTRACT_DIR = "data_contracts"
#: Steps 6-8 of each dashboard, written only by those steps on main (display/lifecycle.py).
LIFECYCLE_DIR = "lifecycle"
_OUR_FOLDERS = (f"{SPEC_DIR}/", f"{CONTRACT_DIR}/", f"{LIFECYCLE_DIR}/")
_KIND_OF_FOLDER = {SPEC_DIR: "spec", CONTRACT_DIR: "contract", LIFECYCLE_DIR: "lifecycle"}
#: The store's own description: the one file kept outside the two folders (never read as YAML).
STORE_README = "README.md"
#: Inside the bare store: each commit a push brought, with the identity of who pushed it, one
#: "<commit> <username>" line each, appended by the store's pre-receive hook.
PUSHERS_FILE = "ocenter-pushers"
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


# Names and paths


def spec_path(dashboard_id: str) -> str:
    """Path of a dashboard spec in the store."""
    return f"{SPEC_DIR}/{_check_id(dashboard_id)}.yaml"


def contract_path(dataset_id: str) -> str:
    """Path of a data contract in the store."""
    return f"{CONTRACT_DIR}/{_check_id(dataset_id)}.yaml"


def lifecycle_path(dashboard_id: str) -> str:
    """Path of a dashboard's lifecycle record (steps 6-8) in the store."""
    return f"{LIFECYCLE_DIR}/{_check_id(dashboard_id)}.yaml"


def mockup_branch(request_id: int) -> str:
    """Branch name of the mock-up of request ``request_id``, checked by git check-ref-format."""
    name = f"{MOCKUP_PREFIX}{_check_number(request_id)}"
    _check_ref_format(f"refs/heads/{name}")
    return name


def contract_change_branch(dataset_id: str, number: int) -> str:
    """Branch of change ``number`` to the contract of ``dataset_id``, checked by git check-ref-format."""
    name = f"{CONTRACT_CHANGE_PREFIX}{_check_id(dataset_id)}-{_check_number(number)}"
    _check_ref_format(f"refs/heads/{name}")
    return name


def _check_number(value: object) -> int:
    """A request's or a change's number as a branch may carry it: a positive int of at most 18
    digits (bool is an int subclass; True must not become ``req-1``)."""
    if type(value) is not int or not 0 < value < 10**18:
        raise UserError("store.invalid_name", name=repr(value)[:80])
    return value


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


def _file_kind(
    path: str,
) -> tuple[Literal["spec", "contract", "lifecycle", "stray", "outside"] | None, str]:
    """What a path is: a spec, a contract, a lifecycle record, a misplaced file in our folders,
    a file outside them, or none of our business (the folders themselves, the store's README,
    hidden files in them)."""
    top, _, rest = path.partition("/")
    if top not in _KIND_OF_FOLDER:
        return (None if path == STORE_README else "outside"), ""
    if not rest or rest.startswith("."):
        return None, ""
    if "/" in rest or not rest.endswith(".yaml"):
        return "stray", ""
    return _KIND_OF_FOLDER[top], rest[: -len(".yaml")]  # type: ignore[return-value]


def load_folder(root: Path) -> dict[str, str]:
    """The specs/, data_contracts/ and lifecycle/ YAML files under ``root``, as ``seed`` takes them."""
    files: dict[str, str] = {}
    for folder in (SPEC_DIR, CONTRACT_DIR, LIFECYCLE_DIR):
        for file in sorted((root / folder).glob("*.yaml")):
            files[f"{folder}/{file.name}"] = file.read_text(encoding="utf-8")
    return files


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
