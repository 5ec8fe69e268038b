"""An S3-compatible bucket (AWS S3, MinIO, Ceph) reached through pyarrow's filesystem layer.

Credentials come from the standard ``AWS_*`` variables (or the SDK's other sources: a profile,
an instance role); nothing here has a default secret. An object becomes visible only whole: it
is written under a temporary key, then copied to its name (one atomic ``CopyObject``) and the
temporary key deleted, so a writer killed mid-upload leaves only a temporary key, which
:meth:`Bucket.remove_stale_temporaries` sweeps.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from ocenter.errors import Unavailable, UserError

#: Folder of the bucket prefix where objects are written before they are copied to their name.
TEMPORARY_FOLDER = "tmp"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
#: Keys are made only from our own ids and hex digests; anything else is a bug.
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True)
class BucketLocation:
    """Where the shared files are: a bucket, a prefix inside it, and how to reach it."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    region: str | None = None


def parse_bucket_url(url: str, endpoint_url: str | None = None, region: str | None = None) -> BucketLocation:
    """``s3://bucket/prefix`` as a location; ``UserError`` for anything else.

    The endpoint (for MinIO or another S3-compatible server) must be an http(s) URL of a host,
    without a path or credentials.
    """
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not _BUCKET_NAME.match(parts.netloc or "") or parts.query or parts.fragment:
        raise UserError("storage.bad_url", value=url)
    prefix_parts = [p for p in parts.path.split("/") if p]
    if any(not _PREFIX_PART.match(p) or p in {".", ".."} for p in prefix_parts):
        raise UserError("storage.bad_url", value=url)
    endpoint = (endpoint_url or "").strip() or None
    if endpoint is not None:
        end = urlsplit(endpoint)
        if end.scheme not in {"http", "https"} or not end.hostname or end.username or end.password \
                or end.path not in {"", "/"} or end.query:
            raise UserError("storage.bad_endpoint", value=endpoint)
    return BucketLocation(parts.netloc, "/".join(prefix_parts), endpoint, (region or "").strip() or None)


class Bucket:
    """Objects under one prefix of one bucket, by key (``datasets/<id>/<sha256>.parquet``)."""

    def __init__(self, location: BucketLocation) -> None:
        from pyarrow import fs

        self.location = location
        options: dict = {"allow_delayed_open": True, "connect_timeout": 10, "request_timeout": 60}
        if location.region:
            options["region"] = location.region
        if location.endpoint_url:
            end = urlsplit(location.endpoint_url)
            options["endpoint_override"] = end.netloc
            options["scheme"] = end.scheme
        self._fs = fs.S3FileSystem(**options)
        self._fs_module = fs
        self._root = "/".join(p for p in (location.bucket, location.prefix) if p) + "/"

    def _path(self, key: str) -> str:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self._root + key

    def describe(self) -> str:
        """The bucket and prefix, for logs and the status page (no credentials in it)."""
        return f"s3://{self.location.bucket}/{self.location.prefix}".rstrip("/")

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is none under ``key``."""
        # Opening asks for the object alone (one HEAD); file info would also list a "folder".
        try:
            with _unavailable(self), self._fs.open_input_file(self._path(key)) as handle:
                return handle.size()
        except FileNotFoundError:
            return None

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            with _unavailable(self), self._fs.open_input_stream(self._path(key)) as stream:
                return stream.read()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, visible only once whole (temporary key, then a copy)."""
        temporary = f"{TEMPORARY_FOLDER}/{uuid.uuid4().hex}.part"
        with _unavailable(self):
            try:
                with self._fs.open_output_stream(self._path(temporary)) as stream:
                    stream.write(data)
                self._fs.move(self._path(temporary), self._path(key))
            except BaseException:
                self._delete_quietly(temporary)
                raise

    def delete(self, key: str) -> None:
        """Remove the object under ``key`` (nothing when there is none)."""
        with _unavailable(self), contextlib.suppress(FileNotFoundError):
            self._fs.delete_file(self._path(key))

    def list(self, folder: str) -> list[str]:
        """Keys of the objects under ``folder`` (recursively), relative to the prefix."""
        base = self._path(folder)
        selector = self._fs_module.FileSelector(base, allow_not_found=True, recursive=True)
        with _unavailable(self):
            infos = self._fs.get_file_info(selector)
        return sorted(i.path[len(self._root):] for i in infos if i.type == self._fs_module.FileType.File)

    def probe(self) -> None:
        """Write, read back and delete a small object (``Unavailable`` when any of it fails)."""
        key = f"{TEMPORARY_FOLDER}/{uuid.uuid4().hex}.probe"
        try:
            self.put(key, b"ocenter health probe\n")
            if self.get(key) != b"ocenter health probe\n":
                raise Unavailable("storage.unavailable", bucket=self.describe())
        finally:
            self.delete(key)

    def remove_stale_temporaries(self, older_than: float) -> list[str]:
        """Delete temporary objects older than ``older_than`` seconds (left by killed writers;
        another replica may be writing the younger ones); returns their keys."""
        base = self._path(TEMPORARY_FOLDER)
        selector = self._fs_module.FileSelector(base, allow_not_found=True, recursive=True)
        limit = time.time() - older_than
        with _unavailable(self):
            infos = self._fs.get_file_info(selector)
        removed = []
        for info in infos:
            if info.type == self._fs_module.FileType.File and info.mtime is not None \
                    and info.mtime.timestamp() < limit:
                key = f"{TEMPORARY_FOLDER}/{info.base_name}"
                self.delete(key)
                removed.append(key)
        return removed

    def _delete_quietly(self, key: str) -> None:
        # Never written, or the bucket is gone: the sweep removes what is left.
        with contextlib.suppress(OSError):
            self._fs.delete_file(self._path(key))


class _unavailable:
    """An unreachable or refusing bucket becomes the message that says so (the cause is logged
    with the exception); a missing object stays ``FileNotFoundError`` for the caller."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if error is None or isinstance(error, FileNotFoundError) or not isinstance(error, OSError):
            return False
        raise Unavailable("storage.unavailable", bucket=self.bucket.describe()) from error
