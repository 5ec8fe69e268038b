"""Keys that must not repeat (a unique field, the primary key, a quality rule's columns),
gathered part by part as the engine records them, and their repeats found once at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ocenter.verification.judging import _repeats


@dataclass
class _KeyPart:
    """The cells of one part that take part in a uniqueness check."""

    values: list[Any]
    at: np.ndarray | None  # positions within the part, None for every row
    eligible: np.ndarray | None


@dataclass
class _Keys:
    """Values that must not repeat (a unique field or the primary key), gathered part by part.

    Only rows where every key cell is present take part. ``eligible`` (unique fields only) says
    which of those cells passed every other check and may therefore report ``unique``.
    """

    names: tuple[str, ...]
    columns: list[list[pa.Array]] = field(default_factory=list)
    parts: list[tuple[int, int, np.ndarray | None]] = field(default_factory=list)
    eligible: list[np.ndarray] = field(default_factory=list)
    types: list[pa.DataType] = field(default_factory=list)
    result: tuple[np.ndarray, np.ndarray] | None = None

    def column(self, i: int) -> pa.ChunkedArray:
        return pa.chunked_array(self.columns[i], self.types[i] if self.types else pa.string())

    def add(self, part: _KeyPart, offset: int) -> None:
        if not self.columns:
            self.columns = [[] for _ in part.values]
            self.types = [col.type for col in part.values]
        for store, col in zip(self.columns, part.values, strict=True):
            store.extend(col.chunks if isinstance(col, pa.ChunkedArray) else [col])
        self.parts.append((offset, len(part.values[0]), part.at))
        if part.eligible is not None:
            self.eligible.append(part.eligible)

    def positions(self) -> np.ndarray:
        """Row (0-based record) of each gathered cell, increasing."""
        pieces = [
            np.arange(offset, offset + count, dtype=np.int64) if at is None else at + offset
            for offset, count, at in self.parts
        ]
        return np.concatenate(pieces) if pieces else np.empty(0, np.int64)

    def duplicates(self) -> tuple[np.ndarray, np.ndarray]:
        """(position of each repeat, position of the first row with the same key)."""
        if self.result is None:
            count = sum(count for _, count, _ in self.parts)
            repeat, first = _repeats([self.column(i) for i in range(len(self.columns))], count)
            if len(repeat):
                positions = self.positions()
                repeat, first = positions[repeat], positions[first]
            self.result = repeat, first
        return self.result
