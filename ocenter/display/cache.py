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
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import pandas as pd
import pyarrow as pa

from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import PanelData, panel_refusal, summarise
from ocenter.display.filtering import ViewerCut, cut_rows, display_column, display_table, rows_filter
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
            nbytes = size(value)
        except BaseException:
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
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

    def in_order(self) -> list[Hashable]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._entries)

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


class ColumnSource(Protocol):
    """Rows whose columns are read when asked for (``verification.datasets.StoredFile``)."""

    @property
    def column_names(self) -> list[str]: ...

    def read(self, columns: list[str] | None = None) -> pa.Table: ...


@dataclass(frozen=True)
class VersionedTable:
    """A stored dataset as the display reads it, with what identifies its content.

    Attributes:
        table: its rows: a table, or the stored file, whose columns are parsed when a dashboard
            first needs them (typed by the contract when the data was accepted).
        version: the content's identity (``stored_version``): equal versions hold equal rows.
    """

    table: pa.Table | ColumnSource
    version: str

    @property
    def column_names(self) -> list[str]:
        """The columns the rows have."""
        return list(self.table.column_names)

    def read(self, names: list[str]) -> pa.Table:
        """Columns ``names`` as stored (parsed together, on as many threads as the reader uses)."""
        if isinstance(self.table, pa.Table):
            return self.table.select(names)
        return self.table.read(names)


def stored_version(
    home: str, dataset_id: str, sha256: str, file_sha256: str | None, stamp: Iterable[int]
) -> str:
    """The identity of a stored file's content: the SHA-256 of its bytes, which every read for
    the display checks before parsing. A file stored before digests were recorded (none yet) is
    named by its address, its installation and its file's inode, size and times instead."""
    if file_sha256:
        return f"sha256:{file_sha256}"
    return f"unsealed:{home}:{dataset_id}:{sha256}:{':'.join(str(n) for n in stamp)}"


#: Typed columns of stored versions, each parsed from its file once, when a dashboard first
#: reads it (a dashboard reads a few of a dataset's columns): 5,000,000 demo rows take about
#: 40 MB for a date, 0.1 GB for a code.
TYPED_COLUMNS: ByteBudgetCache[pa.ChunkedArray] = ByteBudgetCache(2 * 1024**3)
#: Panel aggregates, at most ``MAX_PANEL_ROWS`` rows each: a few KB, so thousands of them.
PANEL_DATA: ByteBudgetCache[PanelData] = ByteBudgetCache(128 * 1024**2)
#: Panels drawn from those aggregates in one language (``render.RenderedPanel``: the chart with
#: its inline values, the labelled table, the formatted number); building an Altair chart
#: costs more than a page run may.
DRAWN: ByteBudgetCache[Any] = ByteBudgetCache(256 * 1024**2)


def clear() -> None:
    """Forget every typed column, aggregate and drawn panel this process keeps."""
    TYPED_COLUMNS.clear()
    PANEL_DATA.clear()
    DRAWN.clear()


def contract_key(contract: DataContract) -> str:
    """The contract as a short digest: types, missing values, levels and scope field decide how
    rows are typed and cut."""
    return hashlib.sha256(contract.model_dump_json().encode()).hexdigest()


def panel_key(panel: Panel) -> str:
    """The panel's query as canonical text (without its title, id or width)."""
    return panel.model_dump_json(include=_PANEL_QUERY)


def typed_columns(contract: DataContract, source: VersionedTable, names: Iterable[str]) -> pa.Table:
    """The fields ``names`` of ``source`` that it has, typed for display by ``contract``
    (``filtering.display_column``), each column once per version and contract."""
    wanted = set(names)
    present = [n for n in contract.field_names() if n in wanted and n in source.column_names]
    fingerprint = contract_key(contract)

    def typed(name: str, stored: pa.Table | None = None) -> pa.ChunkedArray:
        def compute() -> pa.ChunkedArray:
            column = (stored if stored is not None else source.read([name])).column(name)
            return _chunked(display_column(column, contract.field(name), contract))

        return TYPED_COLUMNS.get_or_compute(("typed", source.version, fingerprint, name), compute,
                                            lambda column: column.get_total_buffer_size())

    # The columns not typed yet are parsed together, by one session while the others wait:
    # ten viewers opening a new version at once parse it once.
    with _READING:
        missing = [n for n in present if ("typed", source.version, fingerprint, n) not in TYPED_COLUMNS]
        if missing:
            stored = source.read(missing)
            for name in missing:
                typed(name, stored)
            del stored
            # Parsing took about as much memory again as the columns hold, freed now; give it
            # back rather than let the allocator keep it for a next file that may never come.
            pa.default_memory_pool().release_unused()
    if present:
        return pa.Table.from_arrays([typed(name) for name in present], names=present)
    # No field asked for (a dashboard that only counts rows): no column, but every row.
    first = next((n for n in contract.field_names() if n in source.column_names), None)
    return pa.table({}) if first is None else pa.table({first: typed(first)}).select([])


_READING = threading.Lock()
_COMPUTING = threading.Lock()


def _chunked(column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


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
        self._by_filters: dict[str, pa.Table] = {}
        self._contract_key: str | None = None

    def key(self, panel: Panel) -> tuple[str, ...] | None:
        """What decides ``panel``'s aggregate for this viewer: the version, the contract, the
        viewer's cut and the panel's query; None for a table that is not a stored version."""
        if not isinstance(self.source, VersionedTable):
            return None
        if self._contract_key is None:
            self._contract_key = contract_key(self.contract)
        return (self.source.version, self._contract_key, self.cut.key, panel_key(panel))

    def panel(self, panel: Panel) -> PanelData:
        """The aggregate ``panel`` shows this viewer (or why it shows nothing)."""
        key = self.key(panel)
        if key is None:
            return self._computed(panel)
        data = PANEL_DATA.get_or_compute(key, lambda: self._computed_alone(panel), _panel_bytes)
        # A frame of its own for each run over the shared values (pandas copies on write).
        return replace(data, frame=data.frame.copy(deep=False))

    def _computed_alone(self, panel: Panel) -> PanelData:
        """``_computed``, one at a time in the process: viewers of many different cuts opening
        a new version together would otherwise each hold their cut rows at once, for little
        gain on a server of two processors (an aggregate takes milliseconds once its columns
        are parsed)."""
        with _COMPUTING:
            return self._computed(panel)

    def _computed(self, panel: Panel) -> PanelData:
        source = self.source
        names = source.column_names if not isinstance(source, pd.DataFrame) else list(source.columns)
        refused = panel_refusal(panel, self.contract, self.cut,
                                [n for n in names if n in self.cut.fields])
        if refused is not None:
            return refused
        return summarise(panel, self.contract, self._filtered(panel))

    def _filtered(self, panel: Panel) -> pa.Table:
        """The cut rows that pass the panel's filters; panels with the same filters (five of
        the demo's seven ask for TMS findings) share one pass over the rows."""
        used = panel.fields_used()
        if self._rows is None or not self._fields.issuperset(used):
            self._fields.update(used)
            if isinstance(self.source, VersionedTable):
                typed = typed_columns(self.contract, self.source, self._fields | self.cut.reads())
            else:
                typed = display_table(self.contract, self.source)
            self._rows = cut_rows(self.contract, typed, self.cut, self._fields)
            self._by_filters = {}
        key = json.dumps([f.model_dump(mode="json") for f in panel.filters], sort_keys=True)
        if key not in self._by_filters:
            self._by_filters[key] = rows_filter(self._rows, panel.filters, self.contract)
        return self._by_filters[key]
