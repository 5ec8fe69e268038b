"""Checking the event log's hash chain: the first entry changed, inserted or removed, or a summary.

The chain is made by ``ocenter.events``. Reading it in id order, each chained entry must hash to
its ``entry_hash``, follow the entry before it (``prev_hash`` and the next position), and the last
one must be the head row's. The first entry that does not is judged by its neighbours:

- the next entry links to the one before it, at its position: it was **inserted** (so is a row
  without a hash after the chain began, or one beyond the head);
- it links properly but no longer hashes to its hash: it was **changed**;
- it hashes properly but stands at a later position than expected: the entries in between were
  **removed** (at the end: the head row names more entries than there are);
- it hashes properly at the right position but does not link to the one before: that one was
  changed and its hash recomputed; for the first chained entry, the rows written before the chain
  (sealed into it) were changed, inserted or removed.

What it cannot see: someone with the database owner's rights who rewrites the whole chain from
a point on and the head row with it. Keeping the head's hash that ``audit verify`` prints
somewhere else (a ticket, a letter) closes that too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine, Row

from ocenter.database import missing_event_log_triggers, read_snapshot
from ocenter.events import CHAINED_FIELDS, GENESIS, entry_hash, seal
from ocenter.i18n import t
from ocenter.models import Event, EventLogHead


@dataclass(frozen=True)
class Finding:
    """Where the chain breaks: a catalogue key and its values."""

    key: str
    params: dict[str, object]

    def text(self, lang: str) -> str:
        """The finding in ``lang``."""
        return t(self.key, lang, **self.params)


@dataclass
class LogAudit:
    """What ``verify_event_log`` found."""

    chained: int = 0  # entries in the chain, up to the first finding
    sealed: int = 0  # entries written before the chain began, sealed into its first entry
    first_id: int | None = None
    last_id: int | None = None
    head_hash: str | None = None
    finding: Finding | None = None
    missing_triggers: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """No entry changed, inserted or removed, and the database still refuses changes."""
        return self.finding is None and not self.missing_triggers

    def summary(self, lang: str) -> str:
        """One line saying what was checked (for an intact log)."""
        if not self.chained:
            return t("audit.not_started", lang, sealed=self.sealed)
        key = "audit.intact_sealed" if self.sealed else "audit.intact"
        return t(key, lang, entries=self.chained, first=self.first_id, last=self.last_id,
                 head=(self.head_hash or "")[:16], sealed=self.sealed)


def verify_event_log(engine: Engine) -> LogAudit:
    """Check the whole event log, in one consistent snapshot of the database (appends that
    happen meanwhile are neither seen nor blocked)."""
    with read_snapshot(engine) as connection:
        if "entry_hash" not in {c["name"] for c in inspect(connection).get_columns("event")}:
            # A database this version has not opened yet: nothing is chained so far.
            count = connection.execute(select(func.count()).select_from(Event)).scalar_one()
            return LogAudit(sealed=count, missing_triggers=missing_event_log_triggers(connection))
        audit = _walk(connection)
        audit.missing_triggers = missing_event_log_triggers(connection)
    return audit


def _walk(connection: Connection) -> LogAudit:
    audit = LogAudit()
    head = connection.execute(
        select(EventLogHead.chain_seq, EventLogHead.entry_hash, EventLogHead.event_id)
    ).first()
    columns = [Event.id, *(getattr(Event, name) for name in CHAINED_FIELDS), Event.prev_hash,
               Event.entry_hash]
    rows = connection.execution_options(yield_per=2000).execute(select(*columns).order_by(Event.id))
    sealed_so_far = GENESIS
    expected_prev: str | None = None  # None while still among the rows written before the chain
    previous_id: int | None = None
    for row, after in _with_next(iter(rows)):
        if expected_prev is None:
            if row.entry_hash is None:
                sealed_so_far = seal([_values(row)], sealed_so_far)
                audit.sealed += 1
                continue
            expected_prev = sealed_so_far
            audit.first_id = row.id
        finding = _judge(row, after, expected_prev, audit.chained + 1, previous_id,
                         head.chain_seq if head is not None else None)
        if finding is not None:
            audit.finding = finding
            return audit
        expected_prev, previous_id = row.entry_hash, row.id
        audit.chained += 1
        audit.last_id, audit.head_hash = row.id, row.entry_hash
    audit.finding = _judge_end(audit, head)
    return audit


def _judge(
    row: Row, after: Row | None, expected_prev: str, expected_seq: int, previous_id: int | None,
    head_seq: int | None,
) -> Finding | None:
    """None when ``row`` is the next entry of the chain, else what happened at it."""
    if row.entry_hash is None:
        return Finding("audit.inserted", {"id": row.id})
    hashes = entry_hash(_values(row), row.prev_hash or "") == row.entry_hash
    links = row.prev_hash == expected_prev and row.chain_seq == expected_seq
    if after is not None and after.prev_hash == expected_prev and after.chain_seq == expected_seq:
        return Finding("audit.inserted", {"id": row.id})  # the chain goes around it
    if hashes and links:
        if head_seq is not None and row.chain_seq > head_seq:
            return Finding("audit.inserted", {"id": row.id})  # beyond the newest entry written
        return None
    if links:
        return Finding("audit.changed", {"id": row.id})
    if hashes and isinstance(row.chain_seq, int):
        if row.chain_seq > expected_seq:
            return Finding("audit.removed", {"positions": _span(expected_seq, row.chain_seq - 1),
                                             "id": row.id})
        if row.chain_seq < expected_seq:
            return Finding("audit.inserted", {"id": row.id})  # a position already taken
        if previous_id is None:
            return Finding("audit.sealed_changed", {"id": row.id})
        return Finding("audit.rehashed", {"id": previous_id, "next": row.id})
    return Finding("audit.changed", {"id": row.id})


def _judge_end(audit: LogAudit, head: Row | None) -> Finding | None:
    """The end of the chain against the head row."""
    if head is None:
        return Finding("audit.head_missing", {}) if audit.chained else None
    if head.chain_seq > audit.chained:
        if audit.last_id is None:
            return Finding("audit.removed_all", {"positions": _span(1, head.chain_seq)})
        return Finding("audit.removed_at_end", {"positions": _span(audit.chained + 1, head.chain_seq),
                                                "id": audit.last_id})
    if head.chain_seq == audit.chained and audit.chained and head.entry_hash != audit.head_hash:
        return Finding("audit.changed", {"id": audit.last_id})
    return None


def _values(row: Row) -> dict[str, object]:
    return {name: getattr(row, name) for name in CHAINED_FIELDS}


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _with_next(rows: Iterator[Row]) -> Iterator[tuple[Row, Row | None]]:
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        yield current, following
        current = following


def audit_lines(audit: LogAudit, lang: str) -> list[str]:
    """What ``audit verify`` prints: the summary of an intact log, else every problem."""
    if audit.intact:
        return [audit.summary(lang)]
    lines = [audit.finding.text(lang)] if audit.finding else []
    if audit.missing_triggers:
        lines.append(t("audit.triggers_missing", lang, triggers=", ".join(audit.missing_triggers)))
    return lines

