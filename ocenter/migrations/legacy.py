"""Adopting a database made before migrations: the versions before them created the schema with
``create_all`` (which makes missing tables only) and, at every start, added the nullable columns
and the indexes that newer models had to tables an older version had made. Done once here,
against the frozen baseline instead of the models, that patching brings such a database to
revision 0001, which is then stamped on it (``ocenter.migrations.apply``).
"""

from __future__ import annotations

from sqlalchemy import Enum, inspect, text
from sqlalchemy.engine import Connection

from ocenter.database import create_event_log_triggers
from ocenter.migrations.baseline import METADATA


def made_before_migrations(connection: Connection) -> bool:
    """Whether a database without a revision holds tables of the app (else it is empty, or
    holds only tables of others, and the revisions make everything)."""
    return bool(set(inspect(connection).get_table_names()) & set(METADATA.tables))


def bring_to_baseline(connection: Connection) -> list[str]:
    """Add what the baseline has and the database lacks: tables, then nullable columns, then
    indexes, then the event log's triggers. What was added, as ``table``, ``table.column`` and
    ``index`` names; nothing is changed or removed."""
    present = set(inspect(connection).get_table_names())
    added = [name for name in METADATA.tables if name not in present]
    METADATA.create_all(connection, tables=[METADATA.tables[name] for name in added])
    added += _add_new_columns(connection)
    added += _add_new_indexes(connection)
    create_event_log_triggers(connection)
    return added


def _add_new_columns(connection: Connection) -> list[str]:
    """The nullable columns of the baseline that a table made by an older version lacks. A column
    that may not be null never was added this way, and is not now."""
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    added = []
    for table in METADATA.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable or column.primary_key:
                continue
            if isinstance(column.type, Enum) and connection.dialect.name == "postgresql":
                column.type.create(connection, checkfirst=True)  # its type, if no table had it yet
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(text(
                f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"
            ))
            added.append(f"{table.name}.{column.name}")
    return added


def _add_new_indexes(connection: Connection) -> list[str]:
    """The indexes of the baseline that a table made by an older version lacks (the work lists
    look requests up by status, unit and number; the step clocks allow one open interval)."""
    inspector = inspect(connection)
    added = []
    for table in METADATA.sorted_tables:
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(connection)
                added.append(str(index.name))
    return added
