"""How the display is used, for step 9's monitoring: who saw which dashboard on which day, and
which tiles could not be drawn.

A dashboard shown on the display page is counted once per viewer, day (in Jakarta) and minute of
this process: the page runs again on every click and the wall every 5 seconds, and a row per run
would grow without end. One row per (dashboard, viewer, day) is kept and its count increased with
one ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), so replicas of the app add to the
same row. A tile that failed (its data file altered, or unreadable) is counted the same way, one
row per (dashboard, panel, day, kind). Recording never stops the display: ``note_view`` and
``note_failures`` log what went wrong and return.

May import: accounts, models (the clock's time zone), sqlalchemy/sqlmodel.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from ocenter.accounts.authority import Authority
from ocenter.clock import WIB

_log = logging.getLogger(__name__)

#: Keys remembered by the process to write at most once a minute each (a few KB).
MAX_REMEMBERED = 4096
#: How long a count waits for another writer's lock before it gives up (and is tried again at
#: the next run): the wall must not wait for a long write to be counted.
LOCK_WAIT_MS = 500


class FailureKind(StrEnum):
    """Why a tile could not be drawn."""

    ALTERED = "altered"  # its data file no longer matches its recorded digest
    UNREADABLE = "unreadable"  # its data file cannot be read now (gone, unreadable)


class DashboardView(SQLModel, table=True):
    """How often one viewer saw one dashboard on the display on one day."""

    dashboard_id: str = Field(primary_key=True, description="Id of the dashboard spec.")
    username: str = Field(primary_key=True, description="The viewer (the wall screen is one too).")
    day: date = Field(primary_key=True, index=True, description="The day, in Jakarta.")
    tier: str = Field(description="The viewer's stakeholder tier (``Tier`` value) when last seen.")
    views: int = Field(default=1, description="Minutes of the day in which it was shown to them.")
    first_seen_at: datetime = Field(description="When it was first shown that day (UTC).")
    last_seen_at: datetime = Field(description="When it was last counted that day (UTC).")


class TileFailure(SQLModel, table=True):
    """How often one tile of a dashboard could not be drawn on one day, and why."""

    dashboard_id: str = Field(primary_key=True, description="Id of the dashboard spec.")
    panel_id: str = Field(primary_key=True, description="Id of the panel (the tile).")
    day: date = Field(primary_key=True, index=True, description="The day, in Jakarta.")
    kind: FailureKind = Field(primary_key=True, description="Why it could not be drawn.")
    dataset_id: str = Field(description="The dataset the tile reads.")
    failures: int = Field(default=1, description="Minutes of the day in which it failed.")
    first_at: datetime = Field(description="When it first failed that day (UTC).")
    last_at: datetime = Field(description="When it last failed that day (UTC).")


class _Once:
    """The keys written in the current minute, so that a key is written at most once a minute."""

    def __init__(self, size: int = MAX_REMEMBERED) -> None:
        self._minutes: OrderedDict[tuple, datetime] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def claim(self, key: tuple, now: datetime) -> bool:
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            if self._minutes.get(key) == minute:
                return False
            self._minutes[key] = minute
            self._minutes.move_to_end(key)
            while len(self._minutes) > self._size:
                self._minutes.popitem(last=False)
            return True

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._minutes.pop(key, None)


_ONCE = _Once()


@contextmanager
def _counting(engine: Engine) -> Iterator[Connection]:
    """A transaction that waits at most ``LOCK_WAIT_MS`` for a lock (SQLite's write lock, a row
    another replica is counting on PostgreSQL); SQLite's connection gets its usual wait back."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")
            yield connection
            return
        usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        try:
            yield connection
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual)}")


def _insert(connection: Connection, table):  # noqa: ANN001, ANN202 - a Table, a dialect's Insert
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def record_view(engine: Engine, dashboard_id: str, viewer: Authority, now: datetime) -> bool:
    """Count that ``dashboard_id`` was shown to ``viewer`` at ``now`` (UTC); False when it was
    counted already in this minute by this process (nothing written)."""
    day = now.astimezone(WIB).date()
    key = ("view", engine.url.render_as_string(hide_password=True), dashboard_id, viewer.username, day)
    if not _ONCE.claim(key, now):
        return False
    table = DashboardView.__table__  # type: ignore[attr-defined]
    try:
        with _counting(engine) as connection:
            statement = _insert(connection, table).values(
                dashboard_id=dashboard_id,
                username=viewer.username,
                day=day,
                tier=viewer.tier.value,
                views=1,
                first_seen_at=now,
                last_seen_at=now,
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["dashboard_id", "username", "day"],
                    set_={"views": table.c.views + 1, "last_seen_at": now, "tier": viewer.tier.value},
                )
            )
    except BaseException:
        _ONCE.forget(key)  # not written: the next run tries again
        raise
    return True


def record_failures(
    engine: Engine, dashboard_id: str, failed: list[tuple[str, str, FailureKind]], now: datetime
) -> int:
    """Count the tiles of ``dashboard_id`` that could not be drawn at ``now``: (panel id,
    dataset id, kind) each. Returns how many were written (each at most once a minute)."""
    day = now.astimezone(WIB).date()
    where = engine.url.render_as_string(hide_password=True)
    claimed = [
        (p, d, k) for p, d, k in failed if _ONCE.claim(("tile", where, dashboard_id, p, day, k.value), now)
    ]
    if not claimed:
        return 0
    table = TileFailure.__table__  # type: ignore[attr-defined]
    try:
        with _counting(engine) as connection:
            for panel_id, dataset_id, kind in claimed:
                statement = _insert(connection, table).values(
                    dashboard_id=dashboard_id,
                    panel_id=panel_id,
                    day=day,
                    kind=kind,
                    dataset_id=dataset_id,
                    failures=1,
                    first_at=now,
                    last_at=now,
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["dashboard_id", "panel_id", "day", "kind"],
                        set_={"failures": table.c.failures + 1, "last_at": now},
                    )
                )
    except BaseException:
        for panel_id, _dataset, kind in claimed:
            _ONCE.forget(("tile", where, dashboard_id, panel_id, day, kind.value))
        raise
    return len(claimed)


def note_view(engine: Engine, dashboard_id: str, viewer: Authority, now: datetime) -> bool:
    """``record_view``, and when it fails, logged: the display goes on. False when not written."""
    try:
        return record_view(engine, dashboard_id, viewer, now)
    except Exception:  # noqa: BLE001 - whatever failed, the dashboard is still shown
        _log.exception("the view of %s by %s was not recorded", dashboard_id, viewer.username)
        return False


def note_failures(
    engine: Engine, dashboard_id: str, failed: list[tuple[str, str, FailureKind]], now: datetime
) -> int:
    """``record_failures``, and when it fails, logged: the display goes on."""
    try:
        return record_failures(engine, dashboard_id, failed, now)
    except Exception:  # noqa: BLE001 - whatever failed, the dashboard is still shown
        _log.exception("the failed tiles of %s were not recorded", dashboard_id)
        return 0
