"""A contract's quality rules measured on a file: cells counted part by part, thresholds as written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ocenter.contracts.model import DataContract
from ocenter.contracts.quality import QualityRule, measure
from ocenter.textformats import anchored, pc
from ocenter.verification.judging import _cut, _member, _missing_mask, _num
from ocenter.verification.kernels import _byte_lengths, _np
from ocenter.verification.report import DatasetIssue


@dataclass
class _Measured:
    """One library rule and how it is measured: cells of a column counted part by part
    (``column`` set), the file's rows (rowCount), or repeated keys (``keys`` set)."""

    rule: QualityRule
    where: str  # the column's header, the fields of a table's key, or "" for the table
    column: str | None = None  # field whose cells are counted
    markers: list[str] = field(default_factory=list)  # texts that count as missing
    valid: list[str] | None = None
    pattern: str | None = None
    keys: tuple[str, ...] | None = None
    count: int = 0


class QualityMeasures:
    """Every quality rule of one verification, prepared once, counted on every part (on any
    thread: :meth:`part_counts` reads only what :meth:`prepare` set), judged at the end."""

    def __init__(self, contract: DataContract, present: set[str]) -> None:
        """``present``: the fields whose column the file has."""
        self.contract = contract
        self.present = present
        self.measured: list[_Measured] = []
        self.counted: list[_Measured] = []  # those counted cell by cell, in part_counts' order
        self.unchecked: list[DatasetIssue] = []

    def prepare(self, rule: QualityRule, name: str | None) -> tuple[str, ...] | None:
        """Make ready one rule of field ``name`` (None: of the table); returns the fields whose
        repeated values the engine must gather for it (duplicateValues), else None."""
        where = self.contract.field(name).header_text() if name is not None else ""
        if rule.type != "library":
            # SQL and other tools' rules are kept with the contract and named in the report:
            # the Operational Center measures ODCS's library metrics only.
            shown = rule.name or rule.description or rule.query or rule.engine or ""
            params = {"type": rule.type, "rule": _cut(shown), "column": where or "-"}
            issue = DatasetIssue(check="quality_not_checked", severity="warning", params=params)
            self.unchecked.append(issue)
            return None
        names = (name,) if name is not None else tuple(rule.properties)
        if not all(n in self.present for n in names):
            return None  # a column is missing: the header is already an error
        if rule.metric == "rowCount":
            self.measured.append(_Measured(rule, ""))
            return None
        if rule.metric == "duplicateValues":
            self.measured.append(_Measured(rule, where or ", ".join(names), keys=names))
            return names
        markers = list(self.contract.missing_values)
        if rule.metric == "missingValues" and rule.missing_values is not None:
            markers = ["" if m is None else m for m in rule.missing_values]
        valid = None if rule.valid_values is None else [v for v in rule.valid_values if v is not None]
        pattern = anchored(rule.pattern) if rule.pattern is not None else None
        entry = _Measured(rule, where, column=name, markers=markers, valid=valid, pattern=pattern)
        self.measured.append(entry)
        self.counted.append(entry)
        return None

    def part_counts(self, columns: dict[str, pa.ChunkedArray]) -> list[int]:
        """How many cells of one part fail each counted rule (``columns``: text by field name)."""
        return [_count(entry, columns[entry.column]) for entry in self.counted]  # type: ignore[index]

    def add(self, counts: list[int]) -> None:
        """Add one part's counts (on the thread that records parts, in order)."""
        for entry, count in zip(self.counted, counts, strict=True):
            entry.count += count

    def issues(self, rows: int, repeats: Callable[[tuple[str, ...]], int]) -> list[DatasetIssue]:
        """The rules that fail, in the contract's order, then those not checked; ``repeats``
        gives how many rows repeat an earlier row's key."""
        found = []
        for entry in self.measured:
            rule = entry.rule
            count = rows if rule.metric == "rowCount" else entry.count
            if entry.keys is not None:
                count = repeats(entry.keys)
            measured = measure(count, rows, rule.unit)
            if rule.passes(measured):
                continue
            shown = f"{_num(round(measured, 4))}% ({count})" if rule.unit == "percent" else str(count)
            params: dict[str, Any] = {
                "metric": rule.metric,
                "column": entry.where,
                "measured": shown,
                "condition": rule.condition(),
            }
            check = "quality" if entry.where else "quality_table"
            found.append(DatasetIssue(check=check, severity=rule.severity, params=params))
        return found + self.unchecked


def _count(entry: _Measured, col: pa.ChunkedArray) -> int:
    """How many cells of one part fail a column's rule (Arrow kernels, no loop per row).

    nullValues counts empty cells; missingValues cells that count as missing; invalidValues
    present cells outside ``validValues`` or not matching ``pattern`` (each given one must hold).
    """
    metric = entry.rule.metric
    if metric == "nullValues":
        return int(np.count_nonzero(_byte_lengths(col) == 0))
    missing = _missing_mask(col, [m for m in entry.markers if m != ""])
    if metric == "missingValues":
        return int(np.count_nonzero(missing))
    bad = np.zeros(len(col), bool)
    if entry.valid is not None:
        bad |= ~_member(col, entry.valid) if entry.valid else True
    if entry.pattern is not None:
        bad |= ~_np(pc.match_substring_regex(col, pattern=entry.pattern)).astype(bool)
    return int(np.count_nonzero(~missing & bad))
