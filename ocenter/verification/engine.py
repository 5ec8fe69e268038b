"""The parallel engine: a table checked against its contract part by part, on every processor."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ocenter import reference
from ocenter.accounts.levels import Level
from ocenter.clock import SYSTEM_CLOCK
from ocenter.contracts.model import ContractField, DataContract, FieldType, header_key
from ocenter.textformats import anchored
from ocenter.verification.judging import (
    _OK,
    _REQUIRED,
    _cut,
    _Failures,
    _failures,
    _judge,
    _newest,
    _num,
    _Plan,
    _text_column,
    _worth_distinct,
)
from ocenter.verification.kernels import _fixed_ranges, _take
from ocenter.verification.keys import _KeyPart, _Keys
from ocenter.verification.pool import _Pool
from ocenter.verification.report import (
    _CELL_ERRORS,
    CELL_CHECKS,
    DEFAULT_MAX_ERRORS,
    DatasetIssue,
    SummaryEntry,
    VerificationReport,
)
from ocenter.verification.rules import QualityMeasures

#: Rows judged together by one worker: large enough that per-call overhead vanishes, small
#: enough that the parts in flight are a small share of memory.
_PART_ROWS = 1 << 16
_PK_EXAMPLES = 10
_PRINTED_ERRORS = 5  # failing cells the command prints; the JSON report has them all


# --- the engine ----------------------------------------------------------------------------------


def verify_table(
    contract: DataContract,
    table_or_batches: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    *,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    sender_codes: Collection[str] | None = None,
    require_rows: bool = False,
) -> VerificationReport:
    """Every failure of the table (or stream of batches) against ``contract``, in one pass.

    Cells are text as :mod:`ocenter.intake.read` reads them. Each cell reports at most one error, the
    first check it fails in :data:`CELL_CHECKS` order; missing cells (empty or a
    ``missing_values`` marker) fail only ``required``. ``max_errors`` caps the detailed entries
    (the summary counts all); ``progress`` is called with the number of rows done so far.
    ``today``, the day freshness is judged on, is by default today in Jakarta.

    For a partitioned contract, ``sender_codes`` are the codes the sender may send rows for (its
    own unit code); a row naming another sender fails ``partition``. None: any sender's rows (a
    central unit). ``require_rows``: a file without data rows is an issue (``no_rows``), as it
    is in the procedure unless the sender states it has nothing to report.

    Parts of the input are judged on worker threads while the next part is read (Arrow and
    numpy release the GIL); their results are recorded in order on the calling thread, which
    alone waits for the workers (a worker never waits for anything), so nothing can deadlock.
    """
    return _verified(
        contract, table_or_batches, today, progress, max_errors,
        sender_codes=sender_codes, require_rows=require_rows,
    ).finish()


def _verified(
    contract: DataContract,
    table_or_batches: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
    max_errors: int | None = DEFAULT_MAX_ERRORS,
    reading: bool | Callable[[], bool] | None = None,
    *,
    sender_codes: Collection[str] | None = None,
    require_rows: bool = False,
) -> _Engine:
    """The engine once every part is judged and recorded, ready to finish. ``reading``: whether
    this thread reads the batches as it takes them (by default, when they are not a table), or
    when a thread of its own reads them, whether it still is (see :class:`_Pool`)."""
    engine = _Engine(contract, today or SYSTEM_CLOCK.today(), max_errors, sender_codes, require_rows)
    if reading is None:
        reading = not isinstance(table_or_batches, pa.Table | pa.RecordBatch)
    pool = _Pool(reading=reading)
    try:
        pending: deque[Future[_Judged]] = deque()
        for part in _parts(table_or_batches):
            if not engine.started:
                engine.start(part)
            pending.append(pool.submit(engine.judge, part, engine.cut_row is None))
            part = None  # the worker holds it now; the next part may be read meanwhile
            while len(pending) > pool.window():
                engine.record(pending.popleft().result())
                if progress is not None:
                    progress(engine.rows)
        while pending:
            engine.record(pending.popleft().result())
            if progress is not None:
                progress(engine.rows)
    finally:
        pool.close()
    return engine


def _parts(source: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """The input as tables of a good size: big enough that per-call overhead vanishes, small
    enough that a few of them in flight stay a small share of memory."""
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        if source.num_rows == 0:
            yield source
        for start in range(0, source.num_rows, _PART_ROWS):
            yield source.slice(start, _PART_ROWS)
        return
    group: list[pa.RecordBatch] = []
    rows = 0
    schema = None
    for batch in source:
        if schema is None:
            schema = batch.schema
        group.append(batch)
        rows += batch.num_rows
        if rows >= _PART_ROWS // 2:  # a streamed piece of a few MB is a part of its own
            yield pa.Table.from_batches(group, schema=schema)
            group, rows = [], 0
    if group or schema is None:
        yield pa.Table.from_batches(group, schema=schema or pa.schema([]))




@dataclass
class _Group:
    """Failing cells of one field and check, found in one part."""

    index: int
    check: str
    rows: np.ndarray
    values: pa.Array | pa.ChunkedArray
    params: dict[str, Any]
    per_row: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class _Judged:
    """What a worker found in one part."""

    rows: int
    failures: list[_Failures]
    keys: dict[tuple[str, ...], _KeyPart]
    newest: str | None
    rule_counts: list[int] = field(default_factory=list)  # rows failing each column rule


def _check_params(f: ContractField, contract: DataContract) -> dict[str, dict[str, Any]]:
    type_params: dict[str, Any] = {"type": f.type.value}
    if f.type == FieldType.NUMBER:
        type_params["decimal"] = contract.decimal_separator
    allowed = f.allowed_values or []
    shown = ", ".join(allowed[:20]) + (", …" if len(allowed) > 20 else "")
    return {
        "required": {},
        "type": type_params,
        "allowed_values": {"allowed": shown},
        "minimum": {"minimum": _num(f.minimum) if f.minimum is not None else ""}
        if f.earliest is None else {"minimum": f.earliest.isoformat(), "bound": "date"},
        "maximum": {"maximum": _num(f.maximum) if f.maximum is not None else ""}
        if f.latest is None else {"maximum": f.latest.isoformat(), "bound": "date"},
        "pattern": {"pattern": f.pattern or ""},
        "min_length": {"min_length": f.min_length},
        "max_length": {"max_length": f.max_length},
        "reference": {"list": f.reference or ""},
        "partition": {"senders": ""},
        "unique": {},
    }


class _Engine:
    """State of one verification: parts judged (on any thread), recorded in order, finished."""

    def __init__(
        self,
        contract: DataContract,
        today: dt.date,
        max_errors: int | None,
        sender_codes: Collection[str] | None = None,
        require_rows: bool = False,
    ) -> None:
        self.contract = contract
        self.sender_codes = sorted(sender_codes) if sender_codes is not None else None
        self.require_rows = require_rows
        self.today = today
        self.max_errors = max_errors
        self.rows = 0
        self.started = False
        self.plans: list[_Plan] = []
        self.issues: list[DatasetIssue] = []
        self.counts: dict[tuple[int, str], int] = {}
        self.groups: list[_Group] = []
        self.stored = 0
        self.cut_row: int | None = None  # detail is complete up to this row only
        self.keys: dict[tuple[str, ...], _Keys] = {}
        self.newest: str | None = None
        self.quality: QualityMeasures | None = None
        self._error_rows: list[tuple[int, str, str, str | None, dict[str, Any], Level]] | None = None
        self._error_rows_of = 0  # how many groups the rows above were laid out from

    # header -------------------------------------------------------------------------------------

    def start(self, first_part: pa.Table | None) -> None:
        """Check the header; prepare every field's checks, judging from ``first_part`` which
        fields are worth judging once per distinct value."""
        self.started = True
        names = first_part.column_names if first_part is not None else []
        contract = self.contract
        # Headers are matched as the contract says (exact, or without case and spacing);
        # problems are named by the headers the sender sees.
        keys = [header_key(n, contract.header_matching) for n in names]
        first = contract.column_positions(names)
        used = set(first.values())
        missing = [f.header_text() for f in contract.fields if f.name not in first]
        unexpected = [n for i, n in enumerate(names) if i not in used and keys.index(keys[i]) == i]
        duplicate = sorted({n for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
        present = sorted(first, key=first.__getitem__)  # the file's order
        in_contract_order = [n for n in contract.field_names() if n in first]
        for kind, columns in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("duplicate", duplicate),
        ):
            if columns:
                self.issues.append(
                    DatasetIssue(
                        check="header",
                        params={"kind": kind, "columns": ", ".join(f'"{c}"' for c in columns)},
                    )
                )
        if present != in_contract_order:
            expected = ", ".join(f.header_text() for f in contract.fields)
            params = {"kind": "reordered", "expected": expected}
            self.issues.append(DatasetIssue(check="header", params=params))
        for index, f in enumerate(contract.fields):
            plan = _Plan(
                field=f,
                index=index,
                position=first.get(f.name),
                markers=[m for m in contract.missing_values if m != ""],
                allowed=f.allowed_values,
                codes=sorted(reference.reference_codes(f.reference)) if f.reference else None,
                pattern=anchored(f.pattern) if f.pattern is not None else None,
                params=_check_params(f, contract),
                fixed=_fixed_ranges(f.pattern) if f.pattern is not None else None,
            )
            if (
                self.sender_codes is not None
                and contract.partitioning is not None
                and f.name == contract.partitioning.sender_field
            ):
                plan.partition = self.sender_codes
                plan.params["partition"] = {"senders": ", ".join(self.sender_codes)}
            if plan.position is not None and first_part is not None:
                plan.distinct = _worth_distinct(plan, first_part.column(plan.position))
            self.plans.append(plan)
            if f.unique and first.get(f.name) is not None:
                self.keys[(f.name,)] = _Keys(names=(f.name,))
        key = tuple(contract.primary_key)
        if key and all(n in first for n in key) and key not in self.keys:
            self.keys[key] = _Keys(names=key)
        self.quality = QualityMeasures(contract, set(first))
        rules = [(r, f.name) for f in contract.fields for r in f.quality]
        for rule, name in rules + [(r, None) for r in contract.quality]:
            names = self.quality.prepare(rule, name)
            if names is not None and names not in self.keys:
                self.keys[names] = _Keys(names=names)

    # cells: judged on a worker thread, reading only what start() prepared -----------------------

    def judge(self, part: pa.Table, detail: bool) -> _Judged:
        """Every check of every field on one part; ``detail`` keeps failing values."""
        decimal = self.contract.decimal_separator
        failures: list[_Failures] = []
        codes: dict[str, np.ndarray] = {}
        columns: dict[str, pa.ChunkedArray] = {}
        newest = None
        for plan in self.plans:
            if plan.position is None:
                continue
            col = _text_column(part.column(plan.position))
            outcome, values, distinct = _judge(plan, col, decimal)
            name = plan.field.name
            columns[name] = col
            codes[name] = outcome
            failures.extend(_failures(plan, col, outcome, detail))
            if self.contract.time_field == name:
                newest = _newest(plan, values, None if distinct else outcome, decimal)
        keys = {names: self._key_part(names, codes, columns) for names in self.keys}
        assert self.quality is not None
        counts = self.quality.part_counts(columns)
        return _Judged(rows=part.num_rows, failures=failures, keys=keys, newest=newest, rule_counts=counts)

    def _key_part(
        self, names: tuple[str, ...], codes: dict[str, np.ndarray], columns: dict[str, pa.ChunkedArray]
    ) -> _KeyPart:
        present = None
        for name in names:
            outcome = codes[name]
            here = (outcome == _OK) | (outcome > _REQUIRED)
            present = here if present is None else present & here
        assert present is not None
        eligible = None
        if len(names) == 1 and self.contract.field(names[0]).unique:
            eligible = codes[names[0]][present] == _OK
        if present.all():  # nothing missing: no copy
            return _KeyPart(values=[columns[n] for n in names], at=None, eligible=eligible)
        at = np.flatnonzero(present)
        return _KeyPart(values=[_take(columns[n], at) for n in names], at=at, eligible=eligible)

    # recording: on the calling thread, part after part in order -------------------------------

    def record(self, judged: _Judged) -> None:
        offset = self.rows
        for found in judged.failures:
            plan = self.plans[found.index]
            key = (found.index, found.check)
            self.counts[key] = self.counts.get(key, 0) + len(found.at)
            if self.cut_row is not None or found.values is None:
                continue
            per_row = {} if found.lengths is None else {"length": found.lengths}
            self.groups.append(
                _Group(
                    index=found.index,
                    check=found.check,
                    rows=found.at.astype(np.int64) + offset + 2,
                    values=found.values,
                    params=plan.params[found.check],
                    per_row=per_row,
                )
            )
            self.stored += len(found.at)
        for names, part in judged.keys.items():
            self.keys[names].add(part, offset)
        assert self.quality is not None
        self.quality.add(judged.rule_counts)
        if judged.newest is not None and (self.newest is None or judged.newest > self.newest):
            self.newest = judged.newest
        self.rows += judged.rows
        if self.cut_row is None and self.max_errors is not None and self.stored >= self.max_errors:
            self.cut_row = self.rows + 1  # spreadsheet row of the last record seen

    # end ----------------------------------------------------------------------------------------

    def finish(self, detail: int | None = None) -> VerificationReport:
        """The report; ``detail`` keeps only that many failing cells in ``errors`` (the command
        writes the rest from :meth:`error_rows` without making a ``CellError`` of each)."""
        if not self.started:
            self.start(None)
        contract = self.contract
        for plan in self.plans:
            keys = self.keys.get((plan.field.name,))
            if plan.field.unique and keys is not None:
                self._finish_unique(plan, keys)
        issues = list(self.issues)
        key_issue = self._finish_primary_key()
        if key_issue is not None:
            issues.append(key_issue)
        if self.require_rows and self.rows == 0:
            issues.append(DatasetIssue(check="no_rows", params={}))
        if contract.min_rows is not None and self.rows < contract.min_rows:
            params = {"rows": self.rows, "min_rows": contract.min_rows}
            issues.append(DatasetIssue(check="min_rows", params=params))
        if contract.max_rows is not None and self.rows > contract.max_rows:
            params = {"rows": self.rows, "max_rows": contract.max_rows}
            issues.append(DatasetIssue(check="max_rows", params=params))
        stale = self._freshness()
        if stale is not None:
            issues.append(stale)
        assert self.quality is not None
        issues.extend(self.quality.issues(self.rows, lambda names: len(self.keys[names].duplicates()[0])))
        ordered = sorted(self.counts.items(), key=lambda kv: (kv[0][0], CELL_CHECKS.index(kv[0][1])))
        summary = [
            SummaryEntry(column=self.plans[index].field.name, check=check, count=count)
            for (index, check), count in ordered
        ]
        valid = not self.counts and not any(i.severity == "error" for i in issues)
        rows = self.error_rows()
        entries = [
            {"row": r, "column": c, "check": k, "value": v, "params": p, "level": lv}
            for r, c, k, v, p, lv in (rows if detail is None else rows[:detail])
        ]
        return VerificationReport(
            valid=valid,
            rows=self.rows,
            errors=_CELL_ERRORS.validate_python(entries),  # one validation for all (copies params)
            dataset_issues=issues,
            summary=summary,
        )

    def _finish_unique(self, plan: _Plan, keys: _Keys) -> None:
        repeat, first = keys.duplicates()
        if not len(repeat):
            return
        positions = keys.positions()
        eligible = np.concatenate(keys.eligible)
        # Positions are increasing, so a repeat's index among the gathered cells is a search.
        at = np.searchsorted(positions, repeat)
        chosen = eligible[at]
        at, repeat, first = at[chosen], repeat[chosen], first[chosen]
        if not len(at):
            return
        key = (plan.index, "unique")
        self.counts[key] = self.counts.get(key, 0) + len(at)
        order = np.argsort(at, kind="stable")
        at, repeat, first = at[order], repeat[order], first[order]
        rows = repeat + 2
        if self.cut_row is not None:
            keep = rows <= self.cut_row
            at, rows, first = at[keep], rows[keep], first[keep]
        if len(at):
            self.groups.append(
                _Group(
                    index=plan.index,
                    check="unique",
                    rows=rows,
                    values=_take(keys.column(0), at),
                    params={},
                    per_row={"first_row": first + 2},
                )
            )

    def _finish_primary_key(self) -> DatasetIssue | None:
        names = tuple(self.contract.primary_key)
        keys = self.keys.get(names)
        if not names or keys is None:
            return None
        repeat, _ = keys.duplicates()
        if not len(repeat):
            return None
        rows = np.sort(repeat + 2)
        shown = ", ".join(str(r) for r in rows[:_PK_EXAMPLES].tolist())
        return DatasetIssue(
            check="primary_key",
            params={
                "columns": ", ".join(names),
                "count": len(rows),
                "rows": shown + (", …" if len(rows) > _PK_EXAMPLES else ""),
            },
        )

    def _freshness(self) -> DatasetIssue | None:
        contract = self.contract
        if not contract.time_field or not contract.cadence_days or self.newest is None:
            return None
        newest = dt.date.fromisoformat(self.newest)
        days_old = (self.today - newest).days
        if days_old <= contract.cadence_days:
            return None
        # A warning: old data may be a deliberate back-fill; the sender and Pusdatin decide.
        return DatasetIssue(
            check="freshness",
            severity="warning",
            level=contract.field(contract.time_field).level,
            params={
                "column": contract.time_field,
                "newest": self.newest,
                "days_old": days_old,
                "cadence_days": contract.cadence_days,
            },
        )

    def find_repeats(self) -> None:
        """Find the repeated keys of unique fields and of the primary key (kept for :meth:`finish`):
        Arrow's sorts and lookups, which leave the interpreter free for other work meanwhile."""
        for keys in self.keys.values():
            keys.duplicates()

    def error_rows(self) -> list[tuple[int, str, str, str | None, dict[str, Any], Level]]:
        """The detailed failing cells, by row then contract column, capped: (row, column, check,
        value, params, level) each. Computed once for the groups found so far: :meth:`finish` adds
        the repeats of unique fields, after which they are laid out again if there are any."""
        if self._error_rows is not None and self._error_rows_of == len(self.groups):
            return self._error_rows
        self._error_rows_of = len(self.groups)
        if not self.groups:
            self._error_rows = []
            return self._error_rows
        rows = np.concatenate([g.rows for g in self.groups])
        fields = np.concatenate([np.full(len(g.rows), g.index) for g in self.groups])
        group_of = np.concatenate([np.full(len(g.rows), n) for n, g in enumerate(self.groups)])
        within = np.concatenate([np.arange(len(g.rows)) for g in self.groups])
        order = np.lexsort((fields, rows))
        if self.cut_row is not None:
            order = order[rows[order] <= self.cut_row]
        if self.max_errors is not None:
            order = order[: self.max_errors]
        chosen = group_of[order].tolist()
        texts: dict[int, list[str | None]] = {}
        extras: dict[int, list[dict[str, Any]]] = {}
        for n in set(chosen):
            group = self.groups[n]
            texts[n] = [_cut(text) for text in group.values.to_pylist()]
            if group.per_row:
                columns = {name: values.tolist() for name, values in group.per_row.items()}
                extras[n] = [
                    {**group.params, **dict(zip(columns, numbers, strict=True))}
                    for numbers in zip(*columns.values(), strict=True)
                ]
        names = [plan.field.name for plan in self.plans]
        levels = [plan.field.level for plan in self.plans]
        groups = self.groups
        # Cells of one group share its params dict: read them, never change them.
        self._error_rows = [
            (
                row,
                names[groups[n].index],
                groups[n].check,
                texts[n][i],
                extras[n][i] if n in extras else groups[n].params,
                levels[groups[n].index],
            )
            for row, n, i in zip(rows[order].tolist(), chosen, within[order].tolist(), strict=True)
        ]
        return self._error_rows
