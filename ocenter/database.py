"""The database engine and session factory; SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import SQLModel, create_engine

from ocenter import models
from ocenter.errors import Unavailable, disk_full, is_disk_full

#: How long a SQLite write waits for another writer's lock before the use case gives up with
#: "database busy" (``?timeout=`` in DATABASE_URL overrides it). Writers hold it for one use case.
SQLITE_BUSY_SECONDS = 30


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` with the tables created."""
    connect_args: dict[str, object] = {}
    sqlite = database_url.startswith("sqlite")
    if sqlite:
        # Streamlit serves sessions from several threads; each uses its own connection.
        connect_args = {"check_same_thread": False}
        if "timeout" not in make_url(database_url).query:
            connect_args["timeout"] = SQLITE_BUSY_SECONDS
    engine = create_engine(database_url, connect_args=connect_args, pool_pre_ping=True)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", _machine_failures)
    SQLModel.metadata.create_all(engine)
    return engine


def _machine_failures(context) -> None:  # noqa: ANN001 - sqlalchemy ExceptionContext
    """A full disk and a database held too long by another writer are conditions of the machine
    a user can be told about, not bugs: they become messages (``Unavailable``). The transaction
    they interrupted is rolled back, so nothing of it is kept."""
    error = context.original_exception
    if is_disk_full(error):
        raise disk_full() from context.sqlalchemy_exception
    if context.dialect.name == "sqlite" and "database is locked" in str(error):
        raise Unavailable("system.database_busy") from context.sqlalchemy_exception


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API connection
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@event.listens_for(OrmSession, "before_flush")
def _event_log_is_append_only(session: OrmSession, _context, _instances) -> None:  # noqa: ANN001
    """The event log is evidence of the procedure (the SOP's records): never edited, never deleted."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, models.Event):
            raise RuntimeError("the event log is append-only")
