"""The database as portable rows: every table of the models to JSON Lines and back, on SQLite or
PostgreSQL alike.

Rows are read through SQLAlchemy from the models' metadata and written as one JSON object a
line, in primary-key order, each value in a form that does not depend on the dialect: times as
ISO 8601 in UTC, dates as ISO dates, bytes as base64, enums by the name the database stores.
Read back, each value is turned into what its column takes, so a dump of the SQLite demo loads
into PostgreSQL and the other way round.

The whole dump is read in one transaction (``snapshot``): REPEATABLE READ and READ ONLY on
PostgreSQL, one read transaction on SQLite (WAL mode, so the application's writers go on). The
load is one transaction too: either every row is in, or none.
"""

from __future__ import annotations

import base64
import enum
import gzip
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, Table, TypeDecorator, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from ocenter import database  # noqa: F401 - every table of the models is in the metadata
from ocenter.database import read_snapshot as snapshot  # noqa: F401 - the backup's one point in time
from ocenter.operations.manifest import DATABASE_DIR, TableDump

#: Rows read from the database, and inserted, at a time.
BATCH_ROWS = 2000
#: The gzip level of the dump: 6 (zlib's default) made the demo's 3,000 rows 5x smaller in
#: 0.1 s; 9 saved another 2% for twice the time.
GZIP_LEVEL = 6


def tables() -> list[Table]:
    """Every table of the models, parents before the tables that refer to them."""
    return list(SQLModel.metadata.sorted_tables)


def alembic_revision(connection: Connection) -> str | None:
    """The schema's Alembic revision, when the database has an ``alembic_version`` table."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def dump_table(connection: Connection, table: Table, folder: Path) -> TableDump:
    """Write ``table``'s rows, in primary-key order, to ``folder/database/<table>.jsonl.gz``."""
    relative = f"{DATABASE_DIR}/{table.name}.jsonl.gz"
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(table.columns)
    encoders = [_encoder(column) for column in columns]
    names = [column.name for column in columns]
    rows = 0
    query = select(table).order_by(*(_bytewise(column, connection) for column in table.primary_key.columns))
    # No name and no time in the gzip header: the same rows make the same bytes, whichever
    # database and whenever they were dumped from.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                               compresslevel=GZIP_LEVEL) as packed, \
            io.TextIOWrapper(packed, encoding="utf-8", newline="\n") as out:
        for row in connection.execution_options(yield_per=BATCH_ROWS).execute(query):
            values = {name: encode(value) for name, encode, value in zip(names, encoders, row, strict=True)}
            out.write(json.dumps(values, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            rows += 1
    return TableDump(file=relative, rows=rows, columns=names,
                     primary_key=[column.name for column in table.primary_key.columns])


def _bytewise(column: Column, connection: Connection):  # noqa: ANN202 - an order-by clause
    """A key column ordered by its bytes: PostgreSQL's own collation would order names as its
    locale does, SQLite orders them bytewise, and a dump should not depend on where it came from."""
    if connection.dialect.name == "postgresql" and _kind(column) is str:
        return column.collate("C")
    return column


def read_dump(path: Path, table: Table, dump: TableDump) -> Iterator[dict[str, Any]]:
    """The rows of one table's dump, each value as its column takes it."""
    decoders = {name: _decoder(table.columns[name]) for name in dump.columns}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield {name: decoders[name](row.get(name)) for name in dump.columns}


def load_tables(
    connection: Connection,
    folder: Path,
    dumps: dict[str, TableDump],
    progress: Callable[[str], None],
) -> dict[str, int]:
    """Insert every dumped table's rows (parents first) in the caller's transaction, keeping their
    primary keys, and move PostgreSQL's id counters past them; rows inserted, by table.

    Events go in as they were: the log's triggers refuse only UPDATE and DELETE, and the rows
    carry their chain (``prev_hash``, ``entry_hash``) unchanged, so the chain verifies after.
    The head row the schema's creation made is replaced by the dumped one.
    """
    by_name = {table.name: table for table in tables()}
    head = by_name["eventloghead"]
    connection.execute(head.delete())  # not the event log: the head row is updated at every append
    loaded: dict[str, int] = {}
    for table in tables():
        dump = dumps.get(table.name)
        if dump is None:
            continue
        count = 0
        batch: list[dict[str, Any]] = []
        for row in read_dump(folder / dump.file, table, dump):
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                connection.execute(table.insert(), batch)
                count, batch = count + len(batch), []
        if batch:
            connection.execute(table.insert(), batch)
            count += len(batch)
        if count != dump.rows:
            raise ValueError(f"{dump.file} holds {count} rows, the manifest says {dump.rows}")
        loaded[table.name] = count
        if count:
            progress(f"database: {table.name}: {count} rows")
    if connection.dialect.name == "postgresql":
        reset_sequences(connection)
    return loaded


def reset_sequences(connection: Connection) -> None:
    """Move each PostgreSQL id counter past the highest id in its table (ids were inserted as they
    were, so the counters never moved); an empty table's counter starts again at 1."""
    quote = connection.dialect.identifier_preparer.quote
    for table in tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, Integer):
            continue
        sequence = func.pg_get_serial_sequence(quote(table.name), key[0].name)
        highest = select(func.max(key[0])).scalar_subquery()
        connection.execute(select(func.setval(sequence, func.coalesce(highest, 1), highest.is_not(None)))
                           .where(sequence.is_not(None)))


def rows_in(connection: Connection) -> dict[str, int]:
    """How many rows each table of the models holds (tables not created yet are left out)."""
    present = set(inspect(connection).get_table_names())
    return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in tables() if table.name in present}


# --- values ------------------------------------------------------------------------------------


def _kind(column: Column) -> type | None:
    """The Python type a column's values come as (a decorated type's, such as sqlmodel's
    UTCDateTime, from the type it decorates)."""
    kind = column.type
    while isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _encoder(column: Column) -> Callable[[Any], Any]:
    kind = _kind(column)
    if kind is datetime:
        return lambda v: None if v is None else _utc(v).isoformat()
    if kind is date:
        return lambda v: None if v is None else v.isoformat()
    if kind is bytes:
        return lambda v: None if v is None else base64.b64encode(v).decode("ascii")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        # SQLAlchemy's Enum stores the member's name; that is what goes into the dump.
        return lambda v: None if v is None else (v.name if isinstance(v, enum.Enum) else v)
    return lambda v: v


def _decoder(column: Column) -> Callable[[Any], Any]:
    kind = _kind(column)
    if kind is datetime:
        return lambda v: None if v is None else _utc(datetime.fromisoformat(v))
    if kind is date:
        return lambda v: None if v is None else date.fromisoformat(v)
    if kind is bytes:
        return lambda v: None if v is None else base64.b64decode(v, validate=True)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return lambda v: None if v is None else kind[v]
    return lambda v: v


def _utc(moment: datetime) -> datetime:
    """A time in UTC with its zone; a time without one is UTC already (as SQLite keeps them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
