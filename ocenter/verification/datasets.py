"""Accepted data: each verified upload stored once as typed Parquet, addressed by its SHA-256.

A stored file is evidence of what was verified: the SHA-256 of its bytes is recorded when it is
written (``file_sha256``, kept in the database row) and checked whenever it is read with that
digest, from the very bytes that are then parsed, so a file edited on disk is refused
(``IntegrityError``), never read.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from ocenter.contracts.model import ID_PATTERN, DataContract
from ocenter.errors import IntegrityError, NotFound, UserError
from ocenter.storage import files_of
from ocenter.verification.typed import typed_table

#: Suffixes an original upload may be kept under; anything else is refused, so a stored name
#: never carries a sender's arbitrary extension.
ORIGINAL_SUFFIXES = (".csv", ".xlsx", ".xls", ".ods", ".xlsb")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(ID_PATTERN)


class DatasetVersionFile(BaseModel):
    """Where one accepted version of a dataset lives on disk."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(description="Contract id of the dataset.")
    sha256: str = Field(description="SHA-256 of the original upload, hex: the version's address.")
    rows: int = Field(ge=0, description="Number of data rows stored.")
    parquet_path: Path = Field(description="Typed Parquet file of the version.")
    file_sha256: str = Field(description="SHA-256 of the Parquet file's bytes, hex.")
    original_path: Path = Field(description="The upload exactly as it was sent.")


def dataset_dir(home: Path, dataset_id: str) -> Path:
    """Folder of a dataset's versions; ``UserError`` for an id that is not a contract id."""
    if not _ID.match(dataset_id):
        raise UserError("dataset.bad_id", value=dataset_id)
    return Path(home) / "datasets" / dataset_id


def store_dataset_version(
    home: Path,
    contract: DataContract,
    table: pa.Table,
    original: bytes,
    original_name: str,
) -> DatasetVersionFile:
    """Keep ``original`` unchanged and ``table`` as typed Parquet, both named by SHA-256.

    Idempotent: storing the same upload again changes nothing and returns the same paths. Each
    file is written to a temporary name in the same folder and renamed into place (and into the
    shared bucket, when there is one, as a whole object), so a reader never sees half a file;
    the Parquet is written last, so its presence means a whole version.
    """
    suffix = Path(original_name).suffix.lower()
    if suffix not in ORIGINAL_SUFFIXES:
        raise UserError("dataset.bad_suffix", filename=original_name, allowed=", ".join(ORIGINAL_SUFFIXES))
    digest = hashlib.sha256(original).hexdigest()
    folder = dataset_dir(home, contract.id)
    folder.mkdir(parents=True, exist_ok=True)
    parquet_path = folder / f"{digest}.parquet"
    original_path = folder / f"{digest}.orig{suffix}"
    files = files_of(folder)
    files.put(original_path, original)
    if files.fetch(parquet_path):
        # The same upload accepted before: the caller compares this with the digest it recorded.
        data = parquet_path.read_bytes()
        files.put(parquet_path, data)  # kept in the bucket too, if an earlier write missed it
        file_digest = hashlib.sha256(data).hexdigest()
    else:
        typed = typed_table(contract, table)
        metadata = {
            **(typed.schema.metadata or {}),
            b"ocenter.dataset": contract.id.encode(),
            b"ocenter.sha256": digest.encode(),
            b"ocenter.original": original_path.name.encode(),
        }
        file_digest = write_parquet(parquet_path, typed.replace_schema_metadata(metadata))
    rows = pq.read_metadata(parquet_path).num_rows
    return DatasetVersionFile(
        dataset_id=contract.id,
        sha256=digest,
        rows=rows,
        parquet_path=parquet_path,
        original_path=original_path,
        file_sha256=file_digest,
    )


def write_parquet(path: Path, table: pa.Table) -> str:
    """Write ``table`` to ``path`` atomically (and to the shared bucket, when there is one) and
    return the SHA-256 of the bytes written."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    files_of(path).put(path, data)
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_dataset(
    home: Path,
    dataset_id: str,
    sha256: str,
    columns: list[str] | None = None,
    *,
    file_sha256: str | None = None,
) -> pa.Table:
    """One stored file (an accepted version or an integrated build, by its address ``sha256``)
    as a typed table, all columns or only ``columns``.

    With ``file_sha256`` (the digest recorded when the file was written) the bytes are checked
    before they are parsed: ``IntegrityError`` when they differ. Without it (files stored before
    digests were recorded) the file is read unchecked.
    """
    source = _checked_source(home, dataset_id, sha256, file_sha256)
    return StoredFile(dataset_id, source if isinstance(source, Path) else pa.py_buffer(source)).read(columns)


class StoredFile:
    """One stored file as read once: its bytes (checked against their recorded digest when one
    was given) and its columns, parsed from those bytes only when asked for.

    A dashboard reads a few of a dataset's columns; parsing only those, from the bytes that were
    checked and never from the disk again, costs a fraction of the whole file and keeps what
    ``load_dataset`` promises: what is parsed is what was checked.
    """

    def __init__(self, dataset_id: str, source: Path | pa.Buffer) -> None:
        self.dataset_id = dataset_id
        self._source = source
        self.schema = pq.read_schema(self._reader())

    @property
    def column_names(self) -> list[str]:
        """The file's columns, in order."""
        return self.schema.names

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """All columns, or only ``columns`` (``UserError`` names any the file lacks)."""
        if columns is not None:
            unknown = [c for c in columns if c not in self.schema.names]
            if unknown:
                raise UserError("dataset.unknown_column", columns=", ".join(unknown),
                                dataset_id=self.dataset_id)
        return pq.read_table(self._reader(), columns=columns)

    def _reader(self) -> Path | pa.BufferReader:
        return self._source if isinstance(self._source, Path) else pa.BufferReader(self._source)


def open_dataset(
    home: Path, dataset_id: str, sha256: str, *, file_sha256: str | None = None
) -> StoredFile:
    """One stored file, its bytes read and checked as ``load_dataset`` checks them, held in
    memory; its columns are parsed when asked for (``StoredFile.read``)."""
    source = _checked_source(home, dataset_id, sha256, file_sha256)
    if isinstance(source, Path):
        source = source.read_bytes()
    return StoredFile(dataset_id, pa.py_buffer(source))


def _checked_source(home: Path, dataset_id: str, sha256: str, file_sha256: str | None) -> Path | bytes:
    """The file's path, or, when ``file_sha256`` is given, its bytes once they matched it."""
    if not _SHA256.match(sha256):
        raise UserError("dataset.bad_id", value=sha256)
    path = dataset_dir(home, dataset_id) / f"{sha256}.parquet"
    files = files_of(path)
    if not files.fetch(path):
        raise NotFound("dataset.not_found", dataset_id=dataset_id, sha256=sha256)
    if file_sha256 is None:
        return path
    data = path.read_bytes()  # hashed and parsed from the same bytes: no window to swap the file
    found = hashlib.sha256(data).hexdigest()
    if found != file_sha256:
        files.forget_cached(path)
        raise IntegrityError("dataset.integrity", dataset_id=dataset_id, address=sha256,
                             expected=file_sha256, found=found)
    return data

