"""Alembic's environment for OCenter: runs the revisions on the connection the app hands over
(``ocenter.migrations.apply``, inside its locked transaction), or, from the ``alembic`` command
line, on the installation's database (OCENTER_HOME / DATABASE_URL, read as the app reads them).

The models' metadata is the target autogenerate compares a database with; its column types are
written into new revisions as plain SQLAlchemy types, so a revision never depends on sqlmodel.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import ocenter.database  # noqa: F401 - every table of the app (models and monitoring)


def _render_item(kind: str, obj: object, _autogen_context: object) -> str | bool:
    """sqlmodel's column types as the SQLAlchemy types they stand for (``False``: Alembic's own
    rendering)."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _note_applied(*, step, **_kwargs) -> None:  # noqa: ANN001 - alembic's MigrationInfo
    """Keep the id of every revision run (not a stamp), for what ``db upgrade`` reports."""
    if not step.is_stamp and step.up_revision_id:
        context.config.attributes.setdefault("applied", []).append(step.up_revision_id)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite alters a table by copying it: autogenerate writes batch ops
        render_item=_render_item,
        on_version_apply=_note_applied,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("OCenter's migrations run on a database, not as SQL text (no --sql)")
_handed_over = context.config.attributes.get("connection")
if _handed_over is not None:
    run_migrations(_handed_over)
else:
    from ocenter.config import load_settings
    from ocenter.database import open_engine
    from ocenter.migrations.apply import locked_transaction

    if context.config.config_file_name:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    engine = open_engine(load_settings().database_url)
    try:
        with locked_transaction(engine) as connection:
            run_migrations(connection)
    finally:
        engine.dispose()
