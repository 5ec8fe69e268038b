"""The database engine and session factory; SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import SQLModel, create_engine

from ocenter import models
from ocenter.display import usage  # noqa: F401 - its tables (step 9's monitoring)
from ocenter.errors import Unavailable, disk_full, is_disk_full
from ocenter.events import ensure_head

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
    """An engine for ``database_url`` with the tables created, columns added since an older
    version added, and the event log protected."""
    engine = open_engine(database_url)
    SQLModel.metadata.create_all(engine)
    _add_new_columns(engine)
    _add_new_indexes(engine)
    protect_event_log(engine)
    ensure_head(engine)
    return engine


def open_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` that changes nothing in the database's schema (for
    ``audit verify``, which must see the database as it is)."""
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


def _add_new_columns(engine: Engine) -> None:
    """Add the nullable columns a newer version defines to tables an older one created
    (``create_all`` makes missing tables only). Nothing else is migrated."""
    inspector = inspect(engine)
    quote = engine.dialect.identifier_preparer.quote
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            exists = " IF NOT EXISTS" if engine.dialect.name == "postgresql" else ""
            statement = f"ALTER TABLE {quote(table.name)} ADD COLUMN{exists} {quote(column.name)} {kind}"
            try:
                with engine.begin() as connection:
                    connection.execute(text(statement))
            except OperationalError as error:  # SQLite: another process added it first
                if "duplicate column" not in str(error):
                    raise


def _add_new_indexes(engine: Engine) -> None:
    """Create the indexes a newer version defines on tables an older one created (the work lists
    look requests up by status, unit and number; ``create_all`` indexes new tables only)."""
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not table.indexes or not inspector.has_table(table.name):
            continue
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name in present:
                continue
            try:
                with engine.begin() as connection:
                    index.create(connection, checkfirst=True)
            except (OperationalError, ProgrammingError) as error:  # another process made it first
                if "already exists" not in str(error):
                    raise


def protect_event_log(engine: Engine) -> None:
    """Triggers that make the database itself refuse to change or remove an event (whoever
    connects: the application, a console, a script). Idempotent."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            _protect_on_postgresql(connection)
        elif engine.dialect.name == "sqlite":
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
