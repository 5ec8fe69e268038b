"""Database migrations (Alembic): the revisions in ``versions/`` take any database of the app to
the schema of ``ocenter/models.py``, on SQLite and PostgreSQL.

Every start runs ``upgrade`` (through ``ocenter.database.make_engine``), and so does ``python -m
ocenter db upgrade``. A database already at ``HEAD`` costs one query and no import of Alembic;
anything else is migrated by ``ocenter.migrations.apply`` under a lock, so two processes starting
at once never both migrate. Every change to the models comes with a revision here (README,
"Migrations"); tests/test_migrations.py fails while models and migrations differ.

This package may import SQLAlchemy, Alembic (in ``apply`` and the revisions only), the models and
``ocenter.database``; never Streamlit or the pages. ``ocenter.database`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

#: The newest revision in ``versions/``: what this version of the app needs its database at.
#: Written here so a start need not load Alembic to know it; a new revision moves it (a test
#: compares it with Alembic's own view of ``versions/``).
HEAD = "0001"
#: The revision that creates the schema as it was when the database came under migrations; a
#: database made before then is brought to it and stamped with it.
BASELINE = "0001"
#: Where the migration environment lives (env.py, versions/, alembic.ini for the command line).
FOLDER = Path(__file__).resolve().parent
#: The table in which Alembic keeps the revision a database is at (Alembic's default name).
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Upgrade:
    """What bringing a database up to date did."""

    before: str | None  # the revision it was at; None: empty, or made before migrations
    after: str | None  # the revision it is at now
    #: Made before migrations: what was added to bring it to the baseline (empty: nothing was
    #: missing); None for a database that had a revision or was empty.
    adopted: tuple[str, ...] | None = None
    applied: tuple[str, ...] = ()  # the revisions run, oldest first

    @property
    def changed(self) -> bool:
        """Whether anything was done to the database."""
        return self.adopted is not None or bool(self.applied)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database of ``engine`` to ``HEAD``: one query when it is there already."""
    try:
        with engine.connect() as connection:
            before = _version(connection)
    except (OperationalError, ProgrammingError):  # no revision table (yet): looked at under the lock
        before = None
    if before == HEAD:
        return Upgrade(before=HEAD, after=HEAD)
    from ocenter.migrations.apply import apply_migrations  # Alembic is loaded only to migrate

    return apply_migrations(engine)


def known_revisions() -> frozenset[str]:
    """Every revision this version of the app has in ``versions/`` (files named ``NNNN_*.py``),
    read without loading Alembic."""
    return frozenset(path.name.split("_", 1)[0] for path in (FOLDER / "versions").glob("[0-9]*_*.py"))


def stored_revision(connection: Connection) -> str | None:
    """The revision the database says it is at; None when it has no revision table (an empty
    database, or one made before migrations)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return _version(connection)


def _version(connection: Connection) -> str | None:
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(sorted(rows)) or None  # one row, as long as the history has no branches
