"""Database migrations: every start brings a database to the models' schema, on SQLite and
PostgreSQL. The revisions make exactly what ``create_all`` made, models and migrations never
differ, a database made before migrations is adopted with its rows and its event log's chain,
upgrading twice changes nothing, and two processes starting at once migrate only once."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, select

from ocenter.audit import verify_event_log
from ocenter.bootstrap import initialise
from ocenter.database import (
    APPEND_ONLY,
    EVENT_LOG_TRIGGERS,
    make_engine,
    open_engine,
    protect_event_log,
    upgrade_database,
)
from ocenter.errors import UserError
from ocenter.events import record
from ocenter.migrations import BASELINE, HEAD, VERSION_TABLE, known_revisions, stored_revision
from ocenter.migrations.apply import alembic_config, head_revision
from ocenter.models import Event, User
from tests.conftest import fresh_postgres_database, settings_for
from tests.test_backup import _ocenter

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes fresh, empty databases of one kind (SQLite files, or PostgreSQL databases dropped
    after the test): ``new_database()`` gives the URL of another one."""
    with contextlib.ExitStack() as stack:
        made = []

        def new() -> str:
            made.append(None)
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / f'ocenter-{len(made)}.db'}"
            return stack.enter_context(fresh_postgres_database())

        yield new


def _schema(engine: Engine, *, column_order: bool = True) -> dict[str, object]:
    """Everything of a database's schema that the app relies on, as the database reports it:
    tables, columns (type, nullability, default), keys, indexes (with a partial index's
    condition), unique and check constraints, foreign keys, the event log's triggers and, on
    PostgreSQL, the enum types. Alembic's own revision table is left out."""
    inspector = inspect(engine)
    tables: dict[str, object] = {}
    for name in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
        columns = [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                   for c in inspector.get_columns(name)]
        tables[name] = {
            "columns": columns if column_order else sorted(columns),
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"],
                 sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()))
                for i in inspector.get_indexes(name)),
            "unique": sorted((u["name"], tuple(u["column_names"]))
                             for u in inspector.get_unique_constraints(name)),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(name)),
            "foreign_keys": sorted((f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"]))
                                   for f in inspector.get_foreign_keys(name)),
        }
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            triggers = sorted(connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
            enums: list[object] = []
        else:
            triggers = sorted(connection.execute(text(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")).all())
            triggers += connection.execute(text(
                "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'ocenter%'")).all()
            enums = sorted(connection.execute(text(
                "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
                "JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname")).all())
    return {"tables": tables, "triggers": [tuple(t) for t in triggers],
            "enums": [(name, list(labels)) for name, labels in enums]}


def _sqlite_ddl(engine: Engine) -> list[tuple[str, str, str]]:
    """SQLite's own text of every table, index and trigger (what ``.schema`` prints)."""
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(text(
            "SELECT type, name, sql FROM sqlite_master WHERE name != :version "
            "AND name NOT LIKE 'sqlite_autoindex_%' AND name != 'sqlite_sequence'"),
            {"version": VERSION_TABLE}))


def _differences(engine: Engine, metadata: MetaData = SQLModel.metadata) -> list[object]:
    """What Alembic's autogenerate finds between the models and the database (empty: nothing
    a new revision would have to do)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def _made_by_create_all(url: str) -> Engine:
    """A database as the versions before migrations made an empty one: ``create_all`` of the
    models, then the event log's triggers (the columns and indexes they added at each start
    were for tables an older version had made; an empty database has none)."""
    engine = open_engine(url)
    SQLModel.metadata.create_all(engine)
    protect_event_log(engine)
    return engine


# --- the revisions ------------------------------------------------------------------------------


def test_head_is_the_newest_revision_alembic_finds():
    """``HEAD`` lets a start skip loading Alembic; a new revision must move it."""
    assert head_revision() == HEAD
    # The revisions health and restore know without Alembic are Alembic's own.
    script = ScriptDirectory.from_config(alembic_config())
    assert known_revisions() == {revision.revision for revision in script.walk_revisions()}
    assert BASELINE == "0001"


def test_the_migrations_make_what_create_all_made(new_database):
    made_before = _made_by_create_all(new_database())
    migrated = make_engine(new_database())
    try:
        with migrated.connect() as connection:
            assert stored_revision(connection) == HEAD
        schema = _schema(migrated, column_order=False)  # a later revision adds a column at the end
        assert _schema(made_before, column_order=False) == schema
        assert len(schema["tables"]) == len(SQLModel.metadata.tables) > 20
        one_open = next(i for i in schema["tables"]["stepinterval"]["indexes"]
                        if i[0] == "ix_stepinterval_one_open")
        assert one_open[2] and "ended_at IS NULL" in str(one_open[3]).replace('"', "")
        assert ("uq_letter_year_sequence", ("year", "sequence")) in schema["tables"]["letter"]["unique"]
        assert len(schema["triggers"]) >= 2
        if HEAD == BASELINE:  # the baseline alone: the very statements, in the same order
            assert _schema(made_before) == _schema(migrated)
            if migrated.dialect.name == "sqlite":
                assert _sqlite_ddl(made_before) == _sqlite_ddl(migrated)
    finally:
        made_before.dispose()
        migrated.dispose()


def test_models_and_migrations_agree(new_database):
    """The guard of "every model change comes with a revision": a change to ocenter/models.py
    without one makes this fail, naming what differs."""
    engine = make_engine(new_database())
    try:
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_change_to_the_models_without_a_revision_is_noticed(tmp_path):
    """The guard above can fail: models with a column no revision makes differ from the database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ocenter.db'}")
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["user"].append_column(Column("nickname", String(), nullable=True))
    try:
        assert [(d[0], d[3].name) for d in _differences(engine, changed)] == [("add_column", "nickname")]
    finally:
        engine.dispose()


def test_the_baseline_can_be_taken_back_and_made_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'ocenter.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {VERSION_TABLE}
        assert upgrade_database(url).applied == (BASELINE,)
        assert _differences(engine) == []
    finally:
        engine.dispose()


# --- starting and upgrading ---------------------------------------------------------------------


def test_an_empty_database_gets_every_revision_and_a_second_upgrade_does_nothing(new_database):
    url = new_database()
    first = upgrade_database(url)
    assert (first.before, first.after, first.adopted, first.applied) == (None, HEAD, None, (BASELINE,))
    engine = open_engine(url)
    try:
        schema = _schema(engine)
        second = upgrade_database(url)
        assert (second.before, second.after, second.changed) == (HEAD, HEAD, False)
        assert _schema(engine) == schema
    finally:
        engine.dispose()


def test_a_database_of_a_newer_version_is_refused_not_touched(tmp_path):
    url = f"sqlite:///{tmp_path / 'ocenter.db'}"
    make_engine(url).dispose()
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        with pytest.raises(UserError) as refused:
            make_engine(url)
        assert refused.value.key == "migration.newer_than_app"
        with engine.connect() as connection:
            assert stored_revision(connection) == "9999"
    finally:
        engine.dispose()


def test_db_upgrade_and_db_current_on_the_command_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = _ocenter("db", "current", "--lang", "en", home=home)
    assert before.returncode == 1
    assert before.stdout.startswith("The database has no revision yet")
    first = _ocenter("db", "upgrade", "--lang", "en", home=home)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.splitlines() == [
        f"Database upgraded from revision (none) to {HEAD} (run: {BASELINE})."]
    second = _ocenter("db", "upgrade", "--lang", "en", home=home)
    assert second.stdout.splitlines() == [
        f"The database is at the newest revision {HEAD} already; nothing was changed."]
    current = _ocenter("db", "current", home=home)
    assert (current.returncode, current.stdout.strip()) == (
        0, f"Basis data pada revisi {HEAD}; revisi terbaru versi ini: {HEAD}.")


_RACER = """
import json, pathlib, sys, time
from ocenter.database import upgrade_database
folder = pathlib.Path(sys.argv[2])
(folder / f"ready-{sys.argv[3]}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
done = upgrade_database(sys.argv[1])
print(json.dumps({"before": done.before, "after": done.after, "applied": list(done.applied)}))
"""


def test_two_processes_starting_at_once_migrate_once(new_database, tmp_path):
    """Both wait at the same line with everything imported, then start together: one migrates,
    the other waits for its lock and finds the database at the newest revision."""
    url = new_database()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, url, str(tmp_path), str(n)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
              for n in (1, 2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{n}").exists() for n in (1, 2)):
        assert time.monotonic() < deadline and all(r.poll() is None for r in racers)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(r["applied"] for r in results) == [[], [BASELINE]]
    assert {r["after"] for r in results} == {HEAD}
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert _differences(engine) == []
    finally:
        engine.dispose()


# --- a database made before migrations ----------------------------------------------------------


def _age(engine: Engine) -> None:
    """Make an up-to-date database look like one an older version left and the version before
    migrations then opened: no revision table, a table, a column and two indexes of today's
    schema missing, and the event log's triggers not made yet."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM tilefailure")).scalar_one() == 0
        statements = [
            f"DROP TABLE {VERSION_TABLE}",
            "DROP TABLE tilefailure",
            'ALTER TABLE "user" DROP COLUMN language',
            "DROP INDEX ix_dashboardrequest_status",
            "DROP INDEX ix_stepinterval_one_open",
        ]
        statements += [f"DROP TRIGGER {name}{' ON event' if postgresql else ''}"
                       for name in EVENT_LOG_TRIGGERS[engine.dialect.name]]
        if postgresql:
            statements.append("DROP TYPE failurekind")
        for statement in statements:
            connection.execute(text(statement))


def _rows(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text, in primary-key order."""
    inspector = inspect(engine)
    rows = {}
    with engine.connect() as connection:
        for name in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
            columns = [c["name"] for c in inspector.get_columns(name)]
            order = ", ".join(f'"{c}"' for c in inspector.get_pk_constraint(name)["constrained_columns"])
            listed = ", ".join(f'"{c}"' for c in columns)
            result = connection.execute(text(f'SELECT {listed} FROM "{name}" ORDER BY {order}'))  # noqa: S608 - names from the database itself
            rows[name] = [tuple(str(value) for value in row) for row in result]
    return rows


def test_a_database_made_before_migrations_is_adopted_with_its_rows_and_its_chain(new_database, tmp_path):
    url = new_database()
    home = tmp_path / "home"
    initialise(settings_for(home, url), demo=True, progress=lambda _message: None).engine.dispose()
    engine = open_engine(url)
    try:
        _age(engine)
        kept = _rows(engine)
        assert len(kept["event"]) > 100 and len(kept["dashboardrequest"]) >= 2  # the demo's work

        done = upgrade_database(url)
        assert (done.before, done.after, done.applied) == (None, HEAD, ())
        assert sorted(done.adopted) == ["ix_dashboardrequest_status", "ix_stepinterval_one_open",
                                        "tilefailure", "user.language"]
        with engine.connect() as connection:
            assert stored_revision(connection) == BASELINE
        now = _rows(engine)
        language = [c["name"] for c in inspect(engine).get_columns("user")].index("language")
        assert {row[language] for row in now["user"]} == {"None"}
        now["user"] = [row[:language] + row[language + 1:] for row in now["user"]]
        assert now == {**kept, "tilefailure": []}

        fresh = make_engine(new_database())
        try:
            assert _schema(engine, column_order=False) == _schema(fresh, column_order=False)
        finally:
            fresh.dispose()
        assert _differences(engine) == []

        # The event log: one intact chain, and the database refuses to change it again.
        assert verify_event_log(engine).intact
        audit = _ocenter("audit", "verify", "--lang", "en", home=home, database_url=url)
        assert (audit.returncode, audit.stderr) == (0, ""), audit.stdout
        opened = make_engine(url)
        with Session(opened) as session:
            record(session, "analis", "audit.log_broken", outcome="broken", detail="uji")
            session.commit()
        assert verify_event_log(opened).intact
        opened.dispose()
        for statement in ["UPDATE event SET actor = 'orang-lain'", "DELETE FROM event"]:
            with pytest.raises(DBAPIError, match=APPEND_ONLY), engine.begin() as connection:
                connection.execute(text(statement))
        with Session(engine) as session:
            assert len(session.exec(select(Event)).all()) == len(kept["event"]) + 1
            assert session.exec(select(User).where(User.username == "analis")).one().language is None
    finally:
        engine.dispose()
