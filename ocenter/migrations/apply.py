"""Running the migrations on a database that is not at ``HEAD``: Alembic configured in code, one
transaction holding a lock (PostgreSQL: an advisory lock; SQLite: the write lock, ``BEGIN
IMMEDIATE``), a database made before migrations adopted at the baseline, then ``upgrade head``.

Both databases keep DDL inside the transaction, so a migration that fails leaves the database
as it was; a second process that starts meanwhile waits for the lock and then finds the work done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ocenter.database import open_migration_engine
from ocenter.errors import UserError
from ocenter.migrations import BASELINE, FOLDER, HEAD, Upgrade, stored_revision
from ocenter.migrations.legacy import bring_to_baseline, made_before_migrations

#: The advisory lock that queues processes migrating the same PostgreSQL database.
_LOCK_NAME = "ocenter.migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration: this package's alembic.ini (what the ``alembic`` command line
    reads too), and the connection the revisions are to run on, if any."""
    config = Config(str(FOLDER / "alembic.ini"))
    config.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision as Alembic reads ``versions/`` (``HEAD`` must say the same)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no revision in ocenter/migrations/versions"
    return head


def apply_migrations(engine: Engine) -> Upgrade:
    """Bring the database of ``engine`` to the newest revision, under the lock."""
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    with locked_transaction(engine) as connection:
        before = stored_revision(connection)
        if before == HEAD:  # another process did it while this one waited for the lock
            return Upgrade(before=before, after=before)
        if before is not None and before not in known:
            raise UserError("migration.newer_than_app", revision=before, head=HEAD)
        config = alembic_config(connection)
        adopted = None
        if before is None and made_before_migrations(connection):
            adopted = tuple(bring_to_baseline(connection))
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        after = stored_revision(connection)
    return Upgrade(before=before, after=after, adopted=adopted,
                   applied=tuple(config.attributes.get("applied", ())))


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on the database of ``engine`` that no other process migrating it can run
    beside; committed when the block ends without an error."""
    if engine.dialect.name == "sqlite" and not _in_memory(engine):
        migrating = open_migration_engine(engine.url.render_as_string(hide_password=False))
        try:
            with migrating.begin() as connection:
                yield connection
        finally:
            migrating.dispose()
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # released with the transaction
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": _LOCK_NAME})
        yield connection


def _in_memory(engine: Engine) -> bool:
    """An SQLite database in this process's memory: no other process can reach it, and another
    engine would open another, empty one."""
    return engine.url.database in (None, "", ":memory:") or engine.url.query.get("mode") == "memory"
