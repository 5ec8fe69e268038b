"""The manifest of a backup: what it holds, where, and the SHA-256 of every file in it.

A backup is a folder (see the README, "Backup and restore"):

- ``manifest.json``: this model;
- ``database/<table>.jsonl.gz``: each table's rows, one JSON object a line, in primary-key order;
- ``store.bundle``: the spec store (``git bundle``) and ``store/ocenter-pushers``, the store's
  record of who pushed which commit;
- ``files/datasets/...`` and ``files/uploads/...``: the installation's data files, by the same
  relative paths they have under ``OCENTER_HOME``.

Every path the manifest names is checked against :data:`SAFE_PATH` before it is opened, so a
manifest edited by hand cannot point a restore outside the backup or the installation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocenter.errors import UserError

FORMAT = "ocenter-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BUNDLE = "store.bundle"
PUSHERS = "store/ocenter-pushers"
DATABASE_DIR = "database"
FILES_DIR = "files"
#: A relative path of plain names: no leading dot or dash in any part, so never "..", a hidden
#: file or an option, and nothing but letters, digits, '.', '_' and '-' inside a part.
SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,199}){0,7}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_OID = re.compile(r"[0-9a-f]{40}")


class FileEntry(BaseModel):
    """One file of the backup."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=_SHA256.pattern, description="SHA-256 of the file's bytes, hex.")
    size: int = Field(ge=0, description="Its size in bytes.")


class TableDump(BaseModel):
    """One table of the database dump."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="Path of its JSON Lines file in the backup (gzip).",
                      examples=["database/event.jsonl.gz"])
    rows: int = Field(ge=0, description="How many rows it holds.")
    columns: list[str] = Field(description="The columns each row carries, in the table's order.")
    primary_key: list[str] = Field(description="The columns the rows are ordered by.")


class DatabaseDump(BaseModel):
    """The database as it stood in one transaction."""

    model_config = ConfigDict(extra="forbid")

    dialect: str = Field(description="Where it was taken from: 'sqlite' or 'postgresql'.")
    alembic_revision: str | None = Field(
        default=None, description="The schema's Alembic revision (``alembic_version``) when the "
        "database had one; None when it did not.")
    tables: dict[str, TableDump] = Field(description="Every table of the models, by name.")


class StoreBundle(BaseModel):
    """The spec store as its refs stood when they were read."""

    model_config = ConfigDict(extra="forbid")

    bundle: str | None = Field(description="Path of the bundle in the backup; None when the store "
                                           "had no ref at all (nothing to bundle).")
    refs: dict[str, str] = Field(description="Every ref bundled and its commit, e.g. "
                                             "refs/heads/main -> its 40-hex id.")
    pushers: str | None = Field(default=None, description="Path of the copy of the store's "
                                "record of who pushed which commit; None when it had none.")


class DataFiles(BaseModel):
    """The data files copied: accepted datasets, integrated builds and uploads."""

    model_config = ConfigDict(extra="forbid")

    datasets: int = Field(ge=0, description="Files copied from OCENTER_HOME/datasets.")
    uploads: int = Field(ge=0, description="Files copied from OCENTER_HOME/uploads.")
    problems: list[str] = Field(
        default_factory=list, description="Files the dumped rows name that the installation did not "
        "have when they were copied, or whose bytes differ from the digest their row records "
        "(relative to OCENTER_HOME, with what was wrong); empty in a complete backup.")


class Manifest(BaseModel):
    """What a backup holds; written last, so a folder without it is no backup."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(description=f"Always '{FORMAT}'.")
    format_version: int = Field(description="Version of this layout; a restore reads only its own.")
    created_at: str = Field(description="When the database snapshot was taken (UTC, ISO 8601).")
    app_version: str | None = Field(default=None, description="OCenter's version that made it.")
    app_commit: str | None = Field(default=None, description="OCenter's commit that made it, when "
                                   "it ran from a Git checkout.")
    database: DatabaseDump = Field(description="The database dump.")
    store: StoreBundle = Field(description="The spec store.")
    data: DataFiles = Field(description="The data files.")
    files: dict[str, FileEntry] = Field(description="Every file of the backup but the manifest, "
                                        "by path, with its SHA-256.")


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` into ``folder``."""
    text = json.dumps(manifest.model_dump(mode="json"), indent=1, sort_keys=True)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup in ``folder``, every path it names checked; ``UserError`` when it
    is missing, unreadable, of another format, or names a path that is not a plain relative one."""
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("backup.no_manifest", path=str(folder)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError("backup.bad_manifest", problem=str(error)) from None
    try:
        manifest = Manifest.model_validate(json.loads(text))
    except (ValueError, ValidationError) as error:
        raise UserError("backup.bad_manifest", problem=" ".join(str(error).split())[:300]) from None
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise UserError("backup.format", found=f"{manifest.format} {manifest.format_version}",
                        expected=f"{FORMAT} {FORMAT_VERSION}")
    named = [*manifest.files, *(t.file for t in manifest.database.tables.values()),
             *(p for p in (manifest.store.bundle, manifest.store.pushers) if p)]
    for name in named:
        if not SAFE_PATH.fullmatch(name) or name == MANIFEST:
            raise UserError("backup.bad_path", path=name[:200])
    for name in named[len(manifest.files):]:
        if name not in manifest.files:
            raise UserError("backup.bad_manifest", problem=f"{name} has no digest")
    for ref, commit in manifest.store.refs.items():
        if not _OID.fullmatch(commit) or not SAFE_PATH.fullmatch(ref) or not ref.startswith("refs/"):
            raise UserError("backup.bad_manifest", problem=f"ref {ref[:200]!r}")
    return manifest
