"""The database engine and session factory; SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import NullPool
from sqlmodel import create_engine

from ocenter import migrations, models
from ocenter.display import usage  # noqa: F401 - its tables (step 9's monitoring)
from ocenter.errors import Unavailable, disk_full, is_disk_full
from ocenter.events import ensure_head
from ocenter.migrations import Upgrade

#: What the database answers to an UPDATE or DELETE of an event (its triggers' message).
APPEND_ONLY = "the event log is append-only"
#: The triggers that keep the event log append-only, by dialect (``audit verify`` checks them).
EVENT_LOG_TRIGGERS = {
    "sqlite": ("event_append_only_update", "event_append_only_delete"),
    "postgresql": ("event_append_only", "event_append_only_truncate"),
}

#: How long a SQLite write waits for another writer's lock before the use case gives up with
#: "database busy" (``?timeout=`` in DATABASE_URL overrides it). Writers hold it for one use case.
SQLITE_BUSY_SECONDS = 30


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` with the database brought to the models' schema by the
    migrations (``ocenter.migrations``: an empty database gets every revision, one made before
    migrations is recognised and adopted), and the event log protected and its chain's head made.
    On a database already up to date this is a few small queries."""
    engine, _upgrade = _open_up_to_date(database_url)
    return engine


def upgrade_database(database_url: str) -> Upgrade:
    """Bring the database at ``database_url`` to the newest revision (``python -m ocenter db
    upgrade``; every start does the same): what it was at, what it is at now, what was added to a
    database made before migrations."""
    engine, upgrade = _open_up_to_date(database_url)
    engine.dispose()
    return upgrade


def database_revision(database_url: str) -> str | None:
    """The revision the database at ``database_url`` is at, changing nothing (``python -m ocenter
    db current``); None for an empty database or one made before migrations."""
    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            return migrations.stored_revision(connection)
    finally:
        engine.dispose()


def _open_up_to_date(database_url: str) -> tuple[Engine, Upgrade]:
    engine = open_engine(database_url)
    upgrade = migrations.upgrade(engine)
    protect_event_log(engine)  # puts back a trigger someone dropped (``audit verify`` reports it)
    ensure_head(engine)
    return engine, upgrade


def open_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` that changes nothing in the database's schema (for
    ``audit verify``, which must see the database as it is)."""
    sqlite = database_url.startswith("sqlite")
    connect_args = _sqlite_connect_args(database_url) if sqlite else {}
    engine = create_engine(database_url, connect_args=connect_args, pool_pre_ping=True)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", _machine_failures)
    return engine


def open_migration_engine(database_url: str) -> Engine:
    """An engine whose transactions hold the database's write lock from their first statement
    and keep DDL inside them, for migrating an SQLite file: a second process starting at the
    same moment waits (up to the busy timeout) and then finds the work done. Python's sqlite3
    module would otherwise begin no transaction before DDL, so each statement would commit on
    its own and two processes could interleave. One connection, closed when the engine is."""
    engine = create_engine(database_url, connect_args=_sqlite_connect_args(database_url),
                           poolclass=NullPool)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "connect", _sqlite_transactions_by_statement)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    event.listen(engine, "handle_error", _machine_failures)
    return engine


def _sqlite_connect_args(database_url: str) -> dict[str, object]:
    # Streamlit serves sessions from several threads; each uses its own connection.
    connect_args: dict[str, object] = {"check_same_thread": False}
    if "timeout" not in make_url(database_url).query:
        connect_args["timeout"] = SQLITE_BUSY_SECONDS
    return connect_args


def _sqlite_transactions_by_statement(dbapi_connection, _record) -> None:  # noqa: ANN001
    dbapi_connection.isolation_level = None  # no implicit BEGIN: the "begin" listener emits it


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


def protect_event_log(engine: Engine) -> None:
    """Triggers that make the database itself refuse to change or remove an event (whoever
    connects: the application, a console, a script), put back if one is missing. Idempotent;
    one query when they are all there."""
    with engine.begin() as connection:
        if missing_event_log_triggers(connection):
            create_event_log_triggers(connection)


def create_event_log_triggers(connection: Connection) -> None:
    """Create the event log's append-only triggers those missing (the baseline revision makes
    them; ``protect_event_log`` puts back one that was dropped)."""
    if connection.dialect.name == "postgresql":
        _protect_on_postgresql(connection)
    elif connection.dialect.name == "sqlite":
        for name, operation in zip(EVENT_LOG_TRIGGERS["sqlite"], ("UPDATE", "DELETE"), strict=True):
            connection.execute(text(
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {operation} ON event "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            ))


def _protect_on_postgresql(connection: Connection) -> None:
    present = set(connection.execute(text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'event'::regclass AND NOT tgisinternal"
    )).scalars())
    if set(EVENT_LOG_TRIGGERS["postgresql"]) <= present:
        return  # creating a trigger locks the table against writes: only when one is missing
    # Two processes starting at once would otherwise replace the function under each other.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('ocenter.event_log_triggers'))"))
    connection.execute(text(
        "CREATE OR REPLACE FUNCTION ocenter_event_log_is_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    ))
    update_delete, truncate = EVENT_LOG_TRIGGERS["postgresql"]
    connection.execute(text(
        f"CREATE OR REPLACE TRIGGER {update_delete} BEFORE UPDATE OR DELETE ON event "
        "FOR EACH ROW EXECUTE FUNCTION ocenter_event_log_is_append_only()"
    ))
    connection.execute(text(
        f"CREATE OR REPLACE TRIGGER {truncate} BEFORE TRUNCATE ON event "
        "FOR EACH STATEMENT EXECUTE FUNCTION ocenter_event_log_is_append_only()"
    ))


def missing_event_log_triggers(connection: Connection) -> list[str]:
    """The append-only triggers of the event log that are not in the database."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'event'::regclass AND NOT tgisinternal"
    elif dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'event'"
    else:
        return []
    present = set(connection.execute(text(query)).scalars())
    return [name for name in EVENT_LOG_TRIGGERS.get(dialect, ()) if name not in present]


@event.listens_for(OrmSession, "before_flush")
def _event_log_is_append_only(session: OrmSession, _context, _instances) -> None:  # noqa: ANN001
    """The event log is evidence of the procedure (the SOP's records): never edited, never deleted
    (the triggers refuse it in the database too; this says so before a statement is sent)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, models.Event):
            raise RuntimeError(APPEND_ONLY)


@contextlib.contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees the database as it stood at its first read, whatever commits later,
    without blocking anyone (PostgreSQL: REPEATABLE READ, READ ONLY; SQLite: one read transaction,
    WAL mode, so writers go on): ``audit verify`` and backups read through it."""
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**options) as connection:
            yield connection
            connection.rollback()
        return
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # The driver begins transactions only before writes; an explicit BEGIN keeps one
            # snapshot of the file for every read below.
            connection.exec_driver_sql("BEGIN")
        yield connection
        connection.rollback()
