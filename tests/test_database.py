"""The database: the event log is evidence and cannot be rewritten; PostgreSQL works as SQLite does."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ocenter.database import make_engine
from ocenter.models import Event


def _append_then_tamper(engine) -> None:  # noqa: ANN001
    with Session(engine) as session:
        session.add(Event(actor="verifikator", action="data.received", step=2))
        session.commit()
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
        event.actor = "orang-lain"
        with pytest.raises(RuntimeError, match="append-only"):
            session.commit()
    with Session(engine) as session:
        event = session.exec(select(Event)).one()
        session.delete(event)
        with pytest.raises(RuntimeError, match="append-only"):
            session.commit()
    with Session(engine) as session:
        assert [e.actor for e in session.exec(select(Event))] == ["verifikator"]


def test_the_event_log_is_append_only_on_sqlite(tmp_path):
    _append_then_tamper(make_engine(f"sqlite:///{tmp_path / 'log.db'}"))


@pytest.mark.postgres
def test_the_event_log_is_append_only_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        _append_then_tamper(engine)
    finally:
        engine.dispose()
