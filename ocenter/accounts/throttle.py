"""Throttling of failed logins, per name typed and per client, kept in the database.

The rules (README, "Login"):

- A name: every password check is counted as a failure before bcrypt runs (so a crash or
  parallel attempts cannot check a password uncounted) and forgiven when the password is
  right. After ``n`` failures in a row the next check waits ``delay_after(n)`` seconds; the
  ``USER_LOCK_AFTER``-th failure locks the name until an administrator unlocks it. Names that
  are no user are counted and locked the same way, so a lockout does not tell whether a name
  exists.
- A client (an address, or a browser session where none is known): failures are counted after
  the check, since the people of one office may share one address and log in at the same time;
  a login from it ends the run of failures. Delays grow from the ``CLIENT_FREE_FAILURES``-th
  failure on, and ``CLIENT_LOCK_AFTER`` failures in a row refuse the client for ``CLIENT_LOCK``,
  after which it unlocks by itself (an address locked until an administrator acted could
  lock a whole office out).

Every statement that decides is conditional (compare-and-swap on the count), so replicas of
the app and parallel attempts count the same failures.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from ocenter.errors import PermissionDenied
from ocenter.models import LoginThrottle

#: Failures in a row that lock a name until an administrator unlocks it.
USER_LOCK_AFTER = 5
#: Failures in a row from one client that refuse it for ``CLIENT_LOCK``.
CLIENT_LOCK_AFTER = 20
CLIENT_LOCK = timedelta(minutes=15)
#: Failures in a row a client may have before its delays begin (a few typing mistakes in an
#: office sharing one address should not slow its colleagues down).
CLIENT_FREE_FAILURES = 5
#: The longest delay between two checks.
MAX_DELAY_SECONDS = 60
#: Names are stored as typed (lower-case), cut to this length: longer ones are no user anyway.
MAX_NAME_LENGTH = 64
_USER = "user:"
_CLIENT = "client:"


def delay_after(failures: int) -> int:
    """Seconds to wait after ``failures`` failed checks in a row before the next one: none after
    the first, then 1, 2, 4, 8 ... up to ``MAX_DELAY_SECONDS``."""
    if failures < 2:
        return 0
    return min(2 ** (failures - 2), MAX_DELAY_SECONDS)


def client_delay_after(failures: int) -> int:
    """The delay of a client: none for its first ``CLIENT_FREE_FAILURES`` failures, then as a name's."""
    return delay_after(failures - CLIENT_FREE_FAILURES + 1) if failures > CLIENT_FREE_FAILURES else 0


def normalise_name(username: str) -> str:
    """A name as the login form compares it: trimmed, lower-case, at most ``MAX_NAME_LENGTH``."""
    return username.strip().lower()[:MAX_NAME_LENGTH]


def user_key(username: str) -> str:
    """The throttling key of a name typed at the login form."""
    return _USER + normalise_name(username)


def client_key(forwarded: str | None, address: str | None, browser_session: str) -> str:
    """The throttling key of a client: the address a trusted proxy forwarded (the last entry of
    its header), else the address of the connection, else the browser session. An IPv6 address
    counts by its /64 network, which one subscriber usually holds whole."""
    for candidate in ((forwarded or "").split(",")[-1], address or ""):
        try:
            parsed = ipaddress.ip_address(candidate.strip())
        except ValueError:
            continue
        if parsed.version == 6:
            return f"{_CLIENT}{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
        return f"{_CLIENT}{parsed}"
    return f"{_CLIENT}session:{browser_session}"


def _insert_unless_present(connection: Connection):  # noqa: ANN202 - a dialect's Insert
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(LoginThrottle.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]


def _row(session: Session, key: str) -> LoginThrottle:
    """The throttling row of ``key``, made if missing (two replicas making it at once make one)."""
    session.connection().execute(_insert_unless_present(session.connection()).values(key=key))
    row = session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None
    return row


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _client_refusal(row: LoginThrottle, now: datetime) -> PermissionDenied | None:
    if row.locked_until is not None and row.locked_until > now:
        return PermissionDenied("login.client_locked",
                                minutes=math.ceil(_seconds(row.locked_until, now) / 60))
    if row.not_before is not None and row.not_before > now:
        return PermissionDenied("login.wait", seconds=_seconds(row.not_before, now))
    return None


def _name_refusal(row: LoginThrottle, now: datetime) -> PermissionDenied | None:
    if row.locked_at is not None:
        return PermissionDenied("login.locked", limit=USER_LOCK_AFTER)
    if row.not_before is not None and row.not_before > now:
        return PermissionDenied("login.wait", seconds=_seconds(row.not_before, now))
    return None


def claim_check(session: Session, name_key: str, client: str, now: datetime) -> int:
    """Count a password check of ``name_key`` from ``client`` as a failure before it is made, or
    refuse it (``PermissionDenied``: the client or the name locked, or a delay not over yet).
    Returns the name's failures in a row, this check included. Commits."""
    refusal = _client_refusal(_row(session, client), now)
    row = _row(session, name_key)
    refusal = refusal or _name_refusal(row, now)
    if refusal is not None:
        session.rollback()
        raise refusal
    failures = row.failures + 1
    claimed = session.connection().execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == name_key, col(LoginThrottle.failures) == row.failures,
               col(LoginThrottle.locked_at).is_(None))
        .values(failures=failures, not_before=now + timedelta(seconds=delay_after(failures)))
    )
    if claimed.rowcount != 1:  # another check of this name was claimed in between: it goes first
        session.rollback()
        raise PermissionDenied("login.wait", seconds=1)
    session.commit()
    return failures


def forgive(session: Session, name_key: str, client: str) -> bool:
    """The password was right: the name's and the client's runs of failures end (their rows go:
    a row without failures says nothing, and the table keeps only names and clients that failed).
    False when the name was locked meanwhile (the check then does not count as a login)."""
    cleared = session.connection().execute(
        delete(LoginThrottle)
        .where(col(LoginThrottle.key) == name_key, col(LoginThrottle.locked_at).is_(None))
    )
    session.connection().execute(delete(LoginThrottle).where(col(LoginThrottle.key) == client))
    return cleared.rowcount == 1


def count_failure(session: Session, name_key: str, failures: int, client: str,
                  now: datetime) -> tuple[bool, bool]:
    """The password was wrong (the name's failure was counted by ``claim_check``): lock the name
    at ``USER_LOCK_AFTER`` failures, and count the failure of the client, delaying or locking
    it. Returns whether the name and the client were locked by this failure."""
    name_locked = False
    if failures >= USER_LOCK_AFTER:
        name_locked = session.connection().execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.key) == name_key, col(LoginThrottle.locked_at).is_(None))
            .values(locked_at=now, last_failure_at=now)
        ).rowcount == 1
    else:
        session.connection().execute(
            update(LoginThrottle).where(col(LoginThrottle.key) == name_key)
            .values(last_failure_at=now)
        )
    # The increment takes the row's lock first (PostgreSQL; SQLite's write lock), so the count
    # read back is this transaction's own and the delay follows from it. The row is made again
    # if a login from the same client removed it meanwhile.
    _row(session, client)
    session.connection().execute(
        update(LoginThrottle).where(col(LoginThrottle.key) == client)
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
    )
    row = session.get(LoginThrottle, client, populate_existing=True)
    assert row is not None
    client_locked = row.failures >= CLIENT_LOCK_AFTER
    row.not_before = now + timedelta(seconds=client_delay_after(row.failures))
    if client_locked:
        row.locked_until = now + CLIENT_LOCK
        row.failures = 0
    session.add(row)
    return name_locked, client_locked


def locked_names(session: Session) -> list[LoginThrottle]:
    """The names locked now, most recently locked first."""
    rows = session.exec(
        select(LoginThrottle).where(col(LoginThrottle.key).startswith(_USER),
                                    col(LoginThrottle.locked_at).is_not(None))
        .order_by(col(LoginThrottle.locked_at).desc())
    ).all()
    return list(rows)


def name_of(key: str) -> str:
    """The name a ``user:`` key stands for."""
    return key.removeprefix(_USER)


def unlock_name(session: Session, username: str) -> bool:
    """Unlock a locked name and forget its failures; False when it was not locked."""
    return session.connection().execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == user_key(username), col(LoginThrottle.locked_at).is_not(None))
        .values(failures=0, not_before=None, locked_at=None)
    ).rowcount == 1
