"""The installation's data files in a backup: accepted datasets, integrated builds and uploads.

Every data file is written once under a name of its own (its SHA-256, or that of its partitions)
and renamed into place whole, and is never changed after; only an integrated build no one reads
any more is ever removed. So the files can be copied while the application runs, after the
database snapshot: every file a dumped row names was in place before that row was committed, and
a file newer than the snapshot is only an extra, which no restored row names.

``copy_data_files`` is the one function that lists and reads them (in the installation's bucket,
through its local cache, when it keeps them in one), and ``put_data_files`` the one that writes
them back; the rest of the backup knows them only by the relative paths they use.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Collection, Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ocenter.models import DatasetVersion, IntegratedDataset, Submission
from ocenter.operations.manifest import SAFE_PATH, FileEntry
from ocenter.storage import files_of
from ocenter.storage.files import write_atomically

#: The folders of OCENTER_HOME that hold data files, as relative paths start.
DATA_FOLDERS = ("datasets", "uploads")
_CHUNK = 1 << 20


def copy_data_files(
    home: Path, target: Path, only: Collection[str] | None = None, done: Collection[str] = ()
) -> dict[str, FileEntry]:
    """Copy every file under ``home/datasets`` and ``home/uploads`` (or ``only`` those, by path
    relative to ``home``; never those ``done``) to the same relative path under ``target``,
    hashing it on the way; each copied file's digest, by its path relative to ``home``.

    With a bucket attached to ``home`` (``context.attach_storage``), the bucket is the truth and
    the folders only a cache: the files are listed in the bucket, and each is fetched into the
    cache (when it is not there yet) before it is copied.

    Temporaries (names beginning with a dot: a writer's file not yet renamed into place) are left
    out, and so is a file removed between listing and reading (an integrated build replaced).
    """
    copied: dict[str, FileEntry] = {}
    for folder in DATA_FOLDERS:
        shared = files_of(home / folder)
        if only is not None:
            listed = [name for name in sorted(only) if name.startswith(f"{folder}/")]
        elif shared.bucket is not None:
            listed = shared.bucket.list(folder)
        else:
            root = home / folder
            listed = [path.relative_to(home).as_posix() for path in sorted(root.rglob("*"))] \
                if root.is_dir() else []
        for relative in listed:
            path = home / relative
            if not SAFE_PATH.fullmatch(relative) or relative in done:
                continue  # a temporary (".name.part") or a name the app never makes
            if shared.bucket is not None and not shared.fetch(path):
                continue  # removed from the bucket since it was listed or named
            if not path.is_file():
                continue  # a folder
            try:
                copied[relative] = copy_file(path, target / relative)
            except FileNotFoundError:
                continue
    return copied


def put_data_files(source: Path, home: Path, names: Iterable[str]) -> int:
    """Put the files ``names`` (relative to ``home``, as ``copy_data_files`` gave them) from
    ``source`` into the installation, each under a temporary name first and renamed into place
    whole, as the application writes them; how many were put.

    With a bucket attached to ``home``, each goes into the bucket first, as the application
    puts it (``SharedFiles.put``), so every replica reads it, whatever its cache holds."""
    count = 0
    for relative in names:
        if relative.split("/", 1)[0] not in DATA_FOLDERS or not SAFE_PATH.fullmatch(relative):
            raise ValueError(f"not a data file's path: {relative!r}")
        destination = home / relative
        shared = files_of(destination)
        if shared.bucket is not None:
            shared.put(destination, (source / relative).read_bytes())
            count += 1
            continue
        with (source / relative).open("rb") as original:
            write_atomically(destination, lambda handle, original=original: shutil.copyfileobj(
                original, handle, _CHUNK))
        count += 1
    return count


def copy_file(source: Path, destination: Path) -> FileEntry:
    """Copy one file, returning the SHA-256 and size of the bytes written."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as original, destination.open("xb") as copy:
        while chunk := original.read(_CHUNK):
            digest.update(chunk)
            copy.write(chunk)
            size += len(chunk)
    return FileEntry(sha256=digest.hexdigest(), size=size)


def sha256_of(path: Path) -> FileEntry:
    """SHA-256 and size of one file."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(sha256=digest.hexdigest(), size=size)


def named_files(connection: Connection) -> dict[str, str | None]:
    """The data files the database's rows name, relative to OCENTER_HOME, each with the SHA-256
    its row records for its bytes (None where the row records none): every submission's upload,
    every accepted version's Parquet and original, and the newest integrated build of each
    dataset (``newest_builds``)."""
    named: dict[str, str | None] = {}
    uploads = connection.execute(select(Submission.upload_sha256, Submission.upload_suffix))
    for digest, suffix in uploads:
        named[f"uploads/{digest}{suffix}"] = None
    versions = connection.execute(
        select(DatasetVersion.dataset_id, DatasetVersion.sha256, DatasetVersion.file_sha256,
               Submission.upload_suffix)
        .join(Submission, Submission.id == DatasetVersion.submission_id)
    )
    for dataset_id, digest, file_digest, suffix in versions:
        named[f"datasets/{dataset_id}/{digest}.parquet"] = file_digest
        named[f"datasets/{dataset_id}/{digest}.orig{suffix}"] = None
    return named | newest_builds(connection)


def newest_builds(connection: Connection) -> dict[str, str | None]:
    """The integrated build dashboards read for each dataset, as ``named_files`` names files.
    Older builds are not named: the application removes them once a newer one replaced them."""
    newest = select(func.max(IntegratedDataset.id)).group_by(IntegratedDataset.dataset_id)
    builds = connection.execute(
        select(IntegratedDataset.dataset_id, IntegratedDataset.sha256, IntegratedDataset.file_sha256)
        .where(IntegratedDataset.id.in_(newest))  # type: ignore[union-attr]
    )
    return {f"datasets/{dataset_id}/{address}.parquet": file_digest
            for dataset_id, address, file_digest in builds}


def missing_or_altered(named: dict[str, str | None], copied: dict[str, FileEntry]) -> list[str]:
    """The named files that were not copied, or whose bytes are not those their row records."""
    problems = []
    for relative, recorded in sorted(named.items()):
        entry = copied.get(relative)
        if entry is None:
            problems.append(f"{relative} (missing)")
        elif recorded is not None and entry.sha256 != recorded:
            problems.append(f"{relative} (sha256 {entry.sha256}, its row records {recorded})")
    return problems
