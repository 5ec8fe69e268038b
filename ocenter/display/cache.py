"""What the display keeps between page runs: each stored dataset version typed once, and each
panel's aggregate once per viewer cut, in memory bounded by bytes and shared by every session of
the process.

A key holds exactly what decides the value: the version of the data (the SHA-256 of its file's
bytes), the contract, the panel's query and, for an aggregate, the viewer's cut
(``filtering.ViewerCut``, made by the same function that cuts the rows). Viewers whose cuts are
equal share an aggregate; viewers whose authority lets different rows or fields through have
different cuts, so they never do. Nothing here reads who is asking from anywhere else.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import pandas as pd
import pyarrow as pa

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import PanelData, aggregate, panel_refusal
from ocenter.display.filtering import ViewerCut, cut_rows, display_table
from ocenter.display.spec import Panel

Value = TypeVar("Value")

#: What a panel's aggregate depends on besides the rows: its title, id and width do not count,
#: so two dashboards asking the same question of the same data share the answer.
_PANEL_QUERY = {"kind", "dataset", "dimension", "measure", "aggregate", "series", "filters",
                "sort", "limit"}


class ByteBudgetCache(Generic[Value]):
    """A least-recently-used map bounded by the bytes its values hold; safe across threads.

    Sessions of a Streamlit server run on threads of one process: when several ask for the same
    missing key at once, one computes it and the others wait for that value, so ten viewers
    opening a dashboard together cost one computation and one copy in memory, not ten.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: dict[Hashable, _Pending[Value]] = {}

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], Value], size: Callable[[Value], int]
    ) -> Value:
        """The value kept under ``key``, or ``compute()``'s, kept when ``size`` of it fits.

        An exception from ``compute`` reaches its caller and nothing is kept; a thread that was
        waiting for that value then computes it itself.
        """
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = _Pending()
                    break
            pending.done.wait()
            if pending.ok:
                return pending.value  # type: ignore[return-value] - set whenever ok is
        try:
            value = compute()
        except BaseException:
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
        nbytes = size(value)
        with self._lock:
            del self._pending[key]
            pending.value, pending.ok = value, True
            if nbytes <= self.max_bytes:
                self._entries[key] = (value, nbytes)
                self._bytes += nbytes
                while self._bytes > self.max_bytes:
                    _, (_, freed) = self._entries.popitem(last=False)
                    self._bytes -= freed
        pending.done.set()
        return value

    @property
    def bytes(self) -> int:
        """Bytes the kept values hold, as their sizes were counted when they were kept."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def clear(self) -> None:
        """Forget every kept value."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class _Pending(Generic[Value]):
    """A value one thread is computing while others wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Value | None = None


@dataclass(frozen=True)
class VersionedTable:
    """A stored dataset file as read for the display, with what identifies its content.

    Attributes:
        table: the file's rows, as stored (typed by the contract when it was accepted).
        version: the content's identity (``stored_version``): equal versions hold equal rows.
    """

    table: pa.Table
    version: str


def stored_version(
    home: str, dataset_id: str, sha256: str, file_sha256: str | None, stamp: Iterable[int]
) -> str:
    """The identity of a stored file's content: the SHA-256 of its bytes, which every read for
    the display checks before parsing. A file stored before digests were recorded (none yet) is
    named by its address, its installation and its file's inode, size and times instead."""
    if file_sha256:
        return f"sha256:{file_sha256}"
    return f"unsealed:{home}:{dataset_id}:{sha256}:{':'.join(str(n) for n in stamp)}"


#: Typed tables of stored versions. Most of a typed table's buffers are those of the table as
#: read (a stored file is typed already), but they are counted whole: 5,000,000 demo rows
#: count about 0.5 GB.
TYPED_TABLES: ByteBudgetCache[pa.Table] = ByteBudgetCache(2 * 1024**3)
#: Panel aggregates, at most ``MAX_PANEL_ROWS`` rows each: a few KB, so thousands of them.
PANEL_DATA: ByteBudgetCache[PanelData] = ByteBudgetCache(128 * 1024**2)


def clear() -> None:
    """Forget every typed table and aggregate this process keeps."""
    TYPED_TABLES.clear()
    PANEL_DATA.clear()


def contract_key(contract: DataContract) -> str:
    """The contract as a short digest: types, missing values, levels and scope field decide how
    rows are typed and cut."""
    return hashlib.sha256(contract.model_dump_json().encode()).hexdigest()


def panel_key(panel: Panel) -> str:
    """The panel's query as canonical text (without its title, id or width)."""
    return panel.model_dump_json(include=_PANEL_QUERY)


def typed_version(contract: DataContract, source: VersionedTable) -> pa.Table:
    """``source`` typed for display by ``contract``, once per version and contract."""
    return TYPED_TABLES.get_or_compute(
        ("typed", source.version, contract_key(contract)),
        lambda: display_table(contract, source.table),
        lambda table: table.get_total_buffer_size(),
    )


def _panel_bytes(data: PanelData) -> int:
    return int(data.frame.memory_usage(index=True, deep=True).sum()) + 512


class DatasetView:
    """One dataset as one viewer's cut lets it through, for the panels of one dashboard run.

    A panel of a stored version (``VersionedTable``) is taken from ``PANEL_DATA``, computed at
    most once per process for its version, contract, query and cut; any other table (a test's,
    a preview's) is aggregated on every call. The cut rows are made at most once per run, and
    only when an aggregate is missing.
    """

    def __init__(
        self,
        contract: DataContract,
        source: VersionedTable | pa.Table | pd.DataFrame,
        cut: ViewerCut,
        fields: Collection[str] = (),
    ) -> None:
        self.contract, self.source, self.cut = contract, source, cut
        self._fields = set(fields)  # the fields the dashboard's panels on this dataset use
        self._rows: pa.Table | None = None

    def panel(self, panel: Panel) -> PanelData:
        """The aggregate ``panel`` shows this viewer (or why it shows nothing)."""
        if not isinstance(self.source, VersionedTable):
            return self._computed(panel)
        key = ("panel", self.source.version, contract_key(self.contract), self.cut.key,
               panel_key(panel))
        data = PANEL_DATA.get_or_compute(key, lambda: self._computed(panel), _panel_bytes)
        # A frame of its own for each run over the shared values (pandas copies on write).
        return replace(data, frame=data.frame.copy(deep=False))

    def _computed(self, panel: Panel) -> PanelData:
        source = self.source.table if isinstance(self.source, VersionedTable) else self.source
        names = source.column_names if isinstance(source, pa.Table) else list(source.columns)
        refused = panel_refusal(panel, self.contract, self.cut,
                                [n for n in names if n in self.cut.fields])
        if refused is not None:
            return refused
        return aggregate(panel, self.contract, self._cut_rows(panel.fields_used()))

    def _cut_rows(self, used: list[str]) -> pa.Table:
        if self._rows is None or not self._fields.issuperset(used):
            self._fields.update(used)
            if isinstance(self.source, VersionedTable):
                typed = typed_version(self.contract, self.source)
            else:
                typed = display_table(self.contract, self.source)
            self._rows = cut_rows(self.contract, typed, self.cut, self._fields)
        return self._rows
