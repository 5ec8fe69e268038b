"""Building the integrated dataset: the newest version of every partition, as one Parquet file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ocenter.contracts.model import DataContract
from ocenter.errors import IntegrityError
from ocenter.integration.partitions import (
    WHOLE_DATASET,
    PartitionKey,
    PartitionState,
    is_partitioned,
    key_columns,
    rows_in,
)
from ocenter.storage import files_of
from ocenter.verification.datasets import dataset_dir, load_dataset, sha256_of_file, write_parquet


@dataclass(frozen=True)
class IntegratedFile:
    """One built integrated dataset."""

    sha256: str  # its address: the digest of the partition list it was built from
    rows: int
    partitions: int  # partitions with rows
    file_sha256: str | None  # SHA-256 of the file's bytes (None: an unsealed older version)


def current_partitions(versions: Iterable[PartitionState]) -> dict[PartitionKey, PartitionState]:
    """The newest version of each partition (decisions are numbered in the order they were made)."""
    latest: dict[PartitionKey, PartitionState] = {}
    for version in sorted(versions, key=lambda v: v.id or 0):
        latest[(version.sender, version.period)] = version
    return latest


def manifest_digest(dataset_id: str, current: Mapping[PartitionKey, PartitionState]) -> str:
    """The address of the integrated dataset: the same partitions from the same versions give the
    same address, whatever order the files were accepted in."""
    items = sorted((s, p, v.sha256) for (s, p), v in current.items() if v.sha256)
    return hashlib.sha256(json.dumps([dataset_id, items]).encode()).hexdigest()


def build_integrated(
    home: Path,
    contract: DataContract,
    current: Mapping[PartitionKey, PartitionState],
    previous: str | None,
    changed: Iterable[PartitionKey],
    file_digests: Mapping[str, str] | None = None,
) -> IntegratedFile:
    """Write the integrated dataset for ``current`` and return it.

    ``file_digests`` maps the address of every stored file (accepted versions, earlier builds) to
    the SHA-256 recorded for its bytes: each file read here is checked against it
    (``IntegrityError``), so an altered file never passes into a new build with a fresh digest.

    From the ``previous`` integrated file only the partitions in ``changed`` are replaced (their
    rows read from the versions that now hold them), so a UPT's monthly file costs a read of one
    integrated file and of its own version, not of every sender's. Rows are ordered by sender and
    month, each partition keeping the order of its file, so the result does not depend on the
    order in which senders' files were accepted.
    """
    digests = dict(file_digests or {})
    with_rows = {key: v for key, v in current.items() if v.sha256}
    if not is_partitioned(contract):
        whole = with_rows.get(WHOLE_DATASET)
        if whole is None:
            raise ValueError("an unpartitioned dataset has no accepted version")
        # The accepted file is the dataset.
        return IntegratedFile(whole.sha256, whole.rows, 1, digests.get(whole.sha256))
    digest = manifest_digest(contract.id, current)
    path = dataset_dir(home, contract.id) / f"{digest}.parquet"
    files = files_of(path)
    if files.fetch(path):
        # Built before from the same partitions (e.g. a partition restored): still the bytes
        # recorded then, or refused.
        found, recorded = sha256_of_file(path), digests.get(digest)
        if recorded is not None and found != recorded:
            files.forget_cached(path)
            raise IntegrityError("dataset.integrity", dataset_id=contract.id, address=digest,
                                 expected=recorded, found=found)
        return IntegratedFile(digest, pq.read_metadata(path).num_rows, len(with_rows), found)
    changed = set(changed)
    pieces: list[pa.Table] = []
    if previous is not None and files.exists(dataset_dir(home, contract.id) / f"{previous}.parquet"):
        before = load_dataset(home, contract.id, previous, file_sha256=digests.get(previous))
        pieces.append(before.filter(pc.invert(rows_in(contract, before, changed))))
    else:
        changed = set(with_rows)
    by_version: dict[str, list[PartitionKey]] = {}
    for key in sorted(changed):
        version = with_rows.get(key)
        if version is not None:
            by_version.setdefault(version.sha256, []).append(key)
    for sha256, keys in sorted(by_version.items()):
        table = load_dataset(home, contract.id, sha256, file_sha256=digests.get(sha256))
        pieces.append(table.filter(rows_in(contract, table, keys)))
    if not pieces:
        raise ValueError("nothing to integrate: no partition has rows and there is no earlier build")
    schema = pieces[0].schema.remove_metadata()
    table = _ordered(contract, pa.concat_tables([p.replace_schema_metadata(None).cast(schema)
                                                 for p in pieces]))
    metadata = {
        **(table.schema.metadata or {}),
        b"ocenter.dataset": contract.id.encode(),
        b"ocenter.integrated": digest.encode(),
    }
    table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    return IntegratedFile(digest, table.num_rows, len(with_rows), write_parquet(path, table))


def remove_builds(home: Path, dataset_id: str, shas: set[str]) -> None:
    """Delete integrated builds no one reads any more (never an accepted version: those are
    named by their upload's digest and carry no integration mark)."""
    folder = dataset_dir(home, dataset_id)
    files = files_of(folder)
    # ``shas`` holds every build ever superseded: one listing of the bucket, not a request each.
    present = {p.name for p in files.list(folder)} if files.bucket is not None else None
    for sha256 in shas:
        path = folder / f"{sha256}.parquet"
        if (present is not None and path.name not in present) or not files.fetch(path):
            continue
        if b"ocenter.integrated" in (pq.read_schema(path).metadata or {}):
            files.delete(path)  # from the shared bucket too; other replicas' copies are a cache


def _ordered(contract: DataContract, table: pa.Table) -> pa.Table:
    """Rows by sender, then month; a stable sort keeps each partition's own row order."""
    sender, period = key_columns(contract, table)
    keys = pa.table({"s": sender, "p": period})
    order = pc.sort_indices(keys, sort_keys=[("s", "ascending"), ("p", "ascending")])
    return table.take(order)
