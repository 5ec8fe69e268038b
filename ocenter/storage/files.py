"""Content-addressed files under OCENTER_HOME, kept in a shared bucket too when one is attached.

Callers keep working with the paths they always used (``home/datasets/<id>/<sha256>.parquet``,
``home/uploads/<sha256><suffix>``); :func:`files_of` gives the :class:`SharedFiles` those paths
belong to. Without a bucket it is the folder alone, as before. With one, the bucket is the truth
shared by every replica and the folder a cache of it, which may be emptied at any time.

Derived files (a spreadsheet's ``.arrow`` table beside its upload) are written with
:func:`write_atomically` and stay local: any replica derives them again from the upload.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ocenter.storage.bucket import Bucket

#: The suffix of a file being written in a folder, before it is renamed into place.
TEMPORARY_SUFFIX = ".part"

_buckets: dict[Path, Bucket] = {}
_buckets_lock = threading.Lock()


def attach_bucket(home: Path, bucket: Bucket) -> None:
    """Keep the files under ``home`` in ``bucket`` too, for this process."""
    with _buckets_lock:
        _buckets[Path(home).resolve()] = bucket


def detach_bucket(home: Path) -> None:
    """Keep the files under ``home`` in its folders only (the default)."""
    with _buckets_lock:
        _buckets.pop(Path(home).resolve(), None)


def files_of(path: Path) -> SharedFiles:
    """The shared files ``path`` (a file under some OCENTER_HOME) belongs to."""
    path = Path(path).resolve()
    with _buckets_lock:
        for home, bucket in _buckets.items():
            if path.is_relative_to(home):
                return SharedFiles(home, bucket)
    return SharedFiles(None, None)


class SharedFiles:
    """Files named by their content under one home: put once, read through the local folder."""

    def __init__(self, home: Path | None, bucket: Bucket | None) -> None:
        self.home = home
        self.bucket = bucket

    def _key(self, path: Path) -> str | None:
        if self.bucket is None or self.home is None:
            return None
        return Path(path).resolve().relative_to(self.home).as_posix()

    def put(self, path: Path, data: bytes) -> None:
        """Keep ``data`` as the file ``path`` unless it is there already (its name is its
        content): first in the bucket, then in the folder, each seen only whole."""
        key = self._key(path)
        if key is not None and self.bucket.size(key) != len(data):
            self.bucket.put(key, data)
        if not Path(path).exists():
            write_atomically(Path(path), lambda handle: handle.write(data))

    def fetch(self, path: Path) -> bool:
        """True when the file is in the folder, fetched from the bucket first if only there."""
        path = Path(path)
        if path.exists():
            return True
        key = self._key(path)
        if key is None:
            return False
        data = self.bucket.get(key)
        if data is None:
            return False
        # Not checked here: whoever reads it checks it against the digest the database holds.
        write_atomically(path, lambda handle: handle.write(data))
        return True

    def exists(self, path: Path) -> bool:
        """True when the file is in the folder or in the bucket."""
        if Path(path).exists():
            return True
        key = self._key(path)
        return key is not None and self.bucket.size(key) is not None

    def forget_cached(self, path: Path) -> None:
        """Drop the folder's copy of a file that failed its check, when a bucket holds the truth:
        the next read fetches it again (and is refused again while the bucket's copy is bad).
        Without a bucket the folder is the truth and keeps the evidence."""
        if self._key(path) is not None:
            Path(path).unlink(missing_ok=True)

    def delete(self, path: Path) -> None:
        """Remove the file from the folder and the bucket (a build no one reads any more)."""
        key = self._key(path)
        if key is not None:
            self.bucket.delete(key)
        Path(path).unlink(missing_ok=True)

    def list(self, folder: Path) -> list[Path]:
        """The files under ``folder``: in the bucket when there is one, else in the folder."""
        key = self._key(folder)
        if key is not None:
            return [self.home / name for name in self.bucket.list(key)]
        return sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith("."))


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a temporary file beside it, renamed into place once whole and
    flushed, so a reader sees all of it or nothing; a failed write (a full disk) leaves nothing.

    The temporary name is dot-prefixed and ends in :data:`TEMPORARY_SUFFIX` (two writers of the
    same file write at once without meeting); the bootstrap sweeps those a killed writer left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, before the rename
        dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, delete=False
    )
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
