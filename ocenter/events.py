"""The event log: each use case appends one event, in the caller's transaction, to a hash chain.

Every entry carries the SHA-256 of the entry before it (``prev_hash``) and its own
(``entry_hash``: the hash of its canonical fields and ``prev_hash``), so an entry changed, inserted
or removed behind the application's back breaks the chain where it happened (``ocenter.audit``
finds the place). The database itself refuses UPDATE and DELETE on the table (triggers, see
``ocenter.database``); the chain is what still tells when someone with the owner's rights drops
them.

How concurrent appends form one chain: ``record`` only holds the event back; when the caller's
transaction commits, its other changes are flushed first, then the one row of ``EventLogHead`` is
locked with an UPDATE (a row lock that PostgreSQL holds to the end of the transaction; on SQLite
the first write of a transaction takes the database's write lock, held to the end too), the head
is read under that lock, and the held events are inserted one by one after it. Two transactions
appending at once therefore queue at the head, each sees the other's entries once it holds the
lock, and entry ids grow in chain order. The lock is taken last, after the transaction's own
changes, so it is held only for the commit and every transaction takes it in the same place
(no lock-order deadlocks with the rows a use case updates).

Rows written before the chain existed (an installation upgraded to this version) are not
rewritten: the first chained entry's ``prev_hash`` is the *seal* of all of them, the chain hash
folded over them in id order as they stood when the chain began. ``audit verify`` recomputes the
seal, so a later change to those rows is noticed too, though not which one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from ocenter.i18n import catalogue, t
from ocenter.models import Event, EventLogHead

#: The fields an entry's hash covers, besides ``prev_hash``: all of it except the database id
#: (assigned by the database after the hash is made; the order of ids is checked instead).
CHAINED_FIELDS = (
    "chain_seq", "at", "actor", "step", "action", "request_id", "submission_id", "outcome", "detail",
)
#: The seal of no rows at all: ``prev_hash`` of the first entry of a log that began chained.
GENESIS = "0" * 64
_FORMAT = 1  # bumped if the canonical form ever changes, so old entries stay checkable
_HELD = "ocenter.events.held"
_HEAD_ID = 1


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    step: int | None = None,
    request_id: int | None = None,
    submission_id: int | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Append one event to the log (committed with the caller's transaction, at its end).
    ``action`` is a code the catalogue names (``action.<code>``): a new one is written there too."""
    if f"action.{action}" not in catalogue():
        raise ValueError(f"action {action!r} has no text in the catalogue (messages/actions.yaml)")
    if not session.in_transaction():
        session.begin()  # so that a rollback of this transaction also drops the held event
    session.info.setdefault(_HELD, []).append(
        Event(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            step=step,
            request_id=request_id,
            submission_id=submission_id,
            outcome=outcome,
            detail=detail,
        )
    )


def canonical(values: Mapping[str, object], prev_hash: str) -> bytes:
    """The bytes an entry's hash is made of: its chained fields and ``prev_hash`` as compact JSON
    with sorted keys; the time in UTC to the microsecond, as both databases keep it."""
    document: dict[str, object] = {name: _plain(name, values[name]) for name in CHAINED_FIELDS}
    document["prev_hash"] = prev_hash
    document["v"] = _FORMAT
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(values: Mapping[str, object], prev_hash: str) -> str:
    """SHA-256 (hex) of an entry with the fields ``values`` following ``prev_hash``."""
    return hashlib.sha256(canonical(values, prev_hash)).hexdigest()


def seal(rows: Iterable[Mapping[str, object]], start: str = GENESIS) -> str:
    """The chain hash folded over ``rows`` (entries written before the chain, in id order),
    continuing from ``start``."""
    current = start
    for row in rows:
        current = entry_hash({**row, "chain_seq": None}, current)
    return current


def event_values(event: Event) -> dict[str, object]:
    """The chained fields of an event object."""
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


_NUMBERS = frozenset({"chain_seq", "step", "request_id", "submission_id"})


def _plain(name: str, value: object) -> object:
    """A field as the database gives it back (numbers as int, texts as str, time as UTC text), so
    the hash made before the insert is the hash recomputed from the stored row."""
    if value is None:
        return None
    if name == "at":
        return _instant(value)  # type: ignore[arg-type]
    if name in _NUMBERS:
        return int(value)  # type: ignore[call-overload]
    return str(value)


def _instant(moment: datetime | str) -> str:
    if isinstance(moment, str):  # a driver that hands back text; SQLite keeps UTC
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- appending, at commit ----------------------------------------------------------------------


@sa_event.listens_for(OrmSession, "before_flush")
def _events_go_through_record(session: OrmSession, _context, _instances) -> None:  # noqa: ANN001
    """An event added to a session directly would skip the chain: it is refused."""
    for obj in session.new:
        if isinstance(obj, Event) and obj.entry_hash is None:
            raise RuntimeError("append events with ocenter.events.record, which chains them")


@sa_event.listens_for(OrmSession, "before_commit")
def _append_held_events(session: OrmSession) -> None:
    held: list[Event] = session.info.pop(_HELD, [])
    if not held:
        return
    session.flush()  # the transaction's own changes first: the chain's lock is taken last
    connection = session.connection()
    seq, prev = _lock_head(connection)
    if seq == 0:  # the first chained entry: seal whatever was written before the chain
        prev = seal(_unchained_rows(connection))
    for event in held:
        seq += 1
        event.at = event.at.astimezone(UTC)
        event.chain_seq = seq
        event.prev_hash = prev
        event.entry_hash = entry_hash(event_values(event), prev)
        session.add(event)
        session.flush()  # one at a time, so ids grow in chain order
        prev = event.entry_hash
    connection.execute(
        update(EventLogHead).where(EventLogHead.id == _HEAD_ID)
        .values(chain_seq=seq, entry_hash=prev, event_id=held[-1].id)
    )


@sa_event.listens_for(OrmSession, "after_transaction_end")
def _forget_held_events(session: OrmSession, transaction) -> None:  # noqa: ANN001
    if transaction.parent is None:  # the whole transaction ended (committed or rolled back)
        session.info.pop(_HELD, None)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Lock the chain's head row for the rest of the transaction and return its position and hash."""
    for _attempt in range(2):
        locked = connection.execute(
            update(EventLogHead).where(EventLogHead.id == _HEAD_ID)
            .values(chain_seq=EventLogHead.chain_seq)
        )
        if locked.rowcount == 1:
            row = connection.execute(
                select(EventLogHead.chain_seq, EventLogHead.entry_hash)
                .where(EventLogHead.id == _HEAD_ID)
            ).one()
            return row.chain_seq, row.entry_hash or GENESIS
        _create_head(connection)
    raise RuntimeError("the event log's head row cannot be created")


def _unchained_rows(connection: Connection) -> list[dict[str, object]]:
    columns = [getattr(Event, name) for name in CHAINED_FIELDS]
    rows = connection.execute(
        select(*columns).where(Event.entry_hash.is_(None)).order_by(Event.id)  # type: ignore[union-attr]
    )
    return [dict(row._mapping) for row in rows]


def _create_head(connection: Connection) -> None:
    """Create the head row: at the newest chained entry if there is one (a head row lost by
    accident), else at the start (the next append begins the chain)."""
    newest = connection.execute(
        select(Event.chain_seq, Event.entry_hash, Event.id)
        .where(Event.entry_hash.is_not(None))  # type: ignore[union-attr]
        .order_by(Event.id.desc()).limit(1)  # type: ignore[union-attr]
    ).first()
    values = {"id": _HEAD_ID, "chain_seq": 0, "entry_hash": None, "event_id": None}
    if newest is not None:
        values.update(chain_seq=newest.chain_seq, entry_hash=newest.entry_hash, event_id=newest.id)
    connection.execute(_insert_unless_present(connection).values(**values))


def _insert_unless_present(connection: Connection):  # noqa: ANN202 - a dialect's Insert
    """INSERT ... ON CONFLICT DO NOTHING: two processes starting at once create one head row."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(EventLogHead.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]


def ensure_head(engine: Engine) -> None:
    """Make sure the chain's head row exists (at start-up, before anyone appends)."""
    with engine.begin() as connection:
        present = connection.execute(
            select(EventLogHead.id).where(EventLogHead.id == _HEAD_ID)
        ).first()
        if present is None:
            _create_head(connection)


def action_text(action: str, lang: str) -> str:
    """What an event's action code means, in ``lang``; an older code the catalogue no longer
    has is shown as it was written."""
    key = f"action.{action}"
    return t(key, lang) if key in catalogue() else action


def outcome_text(outcome: str, lang: str) -> str:
    """An event's outcome in ``lang`` (as written when the catalogue has no text for it)."""
    key = f"outcome.{outcome}"
    return t(key, lang) if key in catalogue() else outcome
