"""The database engine and session factory; SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import SQLModel, create_engine

from ocenter import models


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` with the tables created."""
    connect_args: dict[str, object] = {}
    if database_url.startswith("sqlite"):
        # Streamlit serves sessions from several threads; each uses its own connection.
        connect_args = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(database_url, connect_args=connect_args, pool_pre_ping=True)
    if database_url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    SQLModel.metadata.create_all(engine)
    return engine


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
