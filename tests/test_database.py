"""The database: the event log is evidence and cannot be rewritten; PostgreSQL works as SQLite does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from ocenter.database import APPEND_ONLY, make_engine
from ocenter.events import record
from ocenter.models import Event


def _append_then_tamper(engine) -> None:  # noqa: ANN001
    with Session(engine) as session:
        record(session, "verifikator", "data.received", step=2)
        session.commit()
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
        event.actor = "orang-lain"
        with pytest.raises(RuntimeError, match=APPEND_ONLY):
            session.commit()
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
        session.delete(event)
        with pytest.raises(RuntimeError, match=APPEND_ONLY):
            session.commit()
    with Session(engine) as session:  # an event added past ``record`` would skip the chain
        session.add(Event(actor="verifikator", action="data.checked"))
        with pytest.raises(RuntimeError, match="ocenter.events.record"):
            session.commit()
    # Plain SQL, as from a database console: the database itself refuses.
    statements = ["UPDATE event SET actor = 'orang-lain'", "DELETE FROM event"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE event")
    for statement in statements:
        with pytest.raises(DBAPIError, match=APPEND_ONLY), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as session:
        assert [e.actor for e in session.exec(select(Event))] == ["verifikator"]


def test_the_event_log_is_append_only_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        _append_then_tamper(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_event_log_is_append_only_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        _append_then_tamper(engine)
    finally:
        engine.dispose()


def test_a_rolled_back_use_case_leaves_no_event(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        with Session(engine) as session:
            record(session, "verifikator", "data.verified")
            session.rollback()
            record(session, "verifikator", "data.returned")
            session.commit()
        with Session(engine) as session:
            assert [e.action for e in session.exec(select(Event))] == ["data.returned"]
    finally:
        engine.dispose()
