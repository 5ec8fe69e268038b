"""Partitions of a dataset: which sender and month each row belongs to, and who may send which."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from ocenter.contracts.model import DataContract

#: A partition: (sender code, month YYYY-MM); empty texts where the contract has no such part.
PartitionKey = tuple[str, str]

WHOLE_DATASET: PartitionKey = ("", "")
PERIOD_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class PartitionState:
    """One version of one partition, as integration and completeness need it."""

    id: int  # decisions are numbered in the order they were made
    sender: str
    period: str
    sha256: str | None  # the accepted version holding its rows; None when emptied
    rows: int
    action: str  # a PartitionAction value
    decided_at: datetime


def is_partitioned(contract: DataContract) -> bool:
    """True when senders' files combine by partition; False when each file replaces the whole."""
    return contract.partitioning is not None


def key_columns(contract: DataContract, typed: pa.Table) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """The sender and month of every row of a typed table, as two text columns."""
    rows = typed.num_rows
    parts = contract.partitioning
    if parts is None:
        empty = pa.chunked_array([pa.array([""] * rows, pa.string())])
        return empty, empty
    sender = pc.fill_null(typed.column(parts.sender_field).cast(pa.string()), "")
    if parts.period_field is None:
        return sender, pa.chunked_array([pa.array([""] * rows, pa.string())])
    when = typed.column(parts.period_field)
    year = pc.cast(pc.year(when), pa.string())
    month = pc.utf8_lpad(pc.cast(pc.month(when), pa.string()), 2, "0")
    period = pc.fill_null(pc.binary_join_element_wise(year, month, "-"), "")
    return sender, period


def keys_of(contract: DataContract, typed: pa.Table) -> dict[PartitionKey, int]:
    """The partitions a typed table holds rows of, with their row counts."""
    if typed.num_rows == 0:
        return {}
    sender, period = key_columns(contract, typed)
    counted = pa.table({"s": sender, "p": period}).group_by(["s", "p"]).aggregate([([], "count_all")])
    return {
        (s, p): n
        for s, p, n in zip(
            counted.column("s").to_pylist(),
            counted.column("p").to_pylist(),
            counted.column("count_all").to_pylist(),
            strict=True,
        )
    }


def rows_in(contract: DataContract, typed: pa.Table, keys: Iterable[PartitionKey]) -> pa.Array:
    """Mask of the rows of ``typed`` that belong to one of ``keys``."""
    wanted = sorted({f"{s}\x1f{p}" for s, p in keys})
    sender, period = key_columns(contract, typed)
    joined = pc.binary_join_element_wise(sender, period, "\x1f")
    return pc.is_in(joined, value_set=pa.array(wanted, pa.string()))


def check_period(period: str) -> str:
    """``period`` if it is a month written YYYY-MM; ``ValueError`` otherwise."""
    if not PERIOD_PATTERN.match(period or ""):
        raise ValueError(period)
    return period
