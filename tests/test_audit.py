"""The event log is hash-chained: ``audit verify`` names the first entry changed, inserted or removed,
on SQLite and PostgreSQL, even by someone who drops the append-only triggers first."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ocenter.audit import verify_event_log
from ocenter.database import EVENT_LOG_TRIGGERS, make_engine
from ocenter.events import GENESIS, entry_hash, event_values, record
from ocenter.i18n import t
from ocenter.models import Event, EventLogHead

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh installation's database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ocenter.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    made = make_engine(url)
    yield made
    made.dispose()


def _append(engine: Engine, count: int) -> list[int]:
    """``count`` use cases, one event each; their ids."""
    for number in range(count):
        with Session(engine) as session:
            record(session, "verifikator", "data.received", step=2, submission_id=number + 1,
                   detail=f"kiriman {number + 1}")
            session.commit()
    with Session(engine) as session:
        return list(session.exec(select(Event.id).order_by(col(Event.id))).all())


def _as_attacker(engine: Engine, *statements: str, **params: object) -> None:
    """What someone with the database owner's rights can do: drop the triggers, then edit."""
    with engine.begin() as connection:
        for trigger in EVENT_LOG_TRIGGERS[engine.dialect.name]:
            on_table = " ON event" if engine.dialect.name == "postgresql" else ""
            connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}{on_table}"))
        for statement in statements:
            connection.execute(text(statement), params)


def _finding(engine: Engine) -> str:
    audit = verify_event_log(engine)
    assert audit.finding is not None, audit.summary("en")
    return audit.finding.text("en")


def test_an_intact_log_is_one_chain_and_says_so(engine):
    ids = _append(engine, 5)
    audit = verify_event_log(engine)
    assert audit.intact and audit.finding is None and audit.missing_triggers == []
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(col(Event.id))).all()
        head = session.get(EventLogHead, 1)
    assert [e.chain_seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.entry_hash for e in events[:-1]]
    assert all(entry_hash(event_values(e), e.prev_hash) == e.entry_hash for e in events)
    assert (head.chain_seq, head.entry_hash, head.event_id) == (5, events[-1].entry_hash, ids[-1])
    assert audit.summary("en") == t("audit.intact", "en", entries=5, first=ids[0], last=ids[-1],
                                    head=events[-1].entry_hash[:16])


def test_a_changed_entry_is_named(engine):
    ids = _append(engine, 5)
    _as_attacker(engine, "UPDATE event SET detail = 'kiriman palsu' WHERE id = :id", id=ids[2])
    assert _finding(engine) == t("audit.changed", "en", id=ids[2])


def test_a_changed_entry_with_its_hash_recomputed_is_named(engine):
    ids = _append(engine, 5)
    with Session(engine) as session:
        victim = session.get(Event, ids[1])
        forged = {**event_values(victim), "actor": "orang-lain"}
        forged_hash = entry_hash(forged, victim.prev_hash)
    _as_attacker(engine, "UPDATE event SET actor = 'orang-lain', entry_hash = :h WHERE id = :id",
                 h=forged_hash, id=ids[1])
    assert _finding(engine) == t("audit.rehashed", "en", id=ids[1], next=ids[2])


def test_an_inserted_entry_is_named(engine):
    ids = _append(engine, 4)
    _as_attacker(engine, "INSERT INTO event (at, actor, action, outcome, detail) "
                         "VALUES (:at, 'verifikator', 'data.verified', 'accepted', 'sisipan')",
                 at="2026-11-30 03:00:00.000000")
    with Session(engine) as session:
        inserted = session.exec(select(Event.id).order_by(col(Event.id).desc())).first()
    assert inserted > ids[-1]
    assert _finding(engine) == t("audit.inserted", "en", id=inserted)
    # The log goes on past it: the next entry follows the last real one, and the insertion is
    # still what is named.
    _append(engine, 1)
    assert _finding(engine) == t("audit.inserted", "en", id=inserted)


def test_an_entry_inserted_with_a_valid_looking_chain_is_named(engine):
    """Someone who knows the scheme forges a well-hashed entry after the last one."""
    ids = _append(engine, 3)
    with Session(engine) as session:
        last = session.get(Event, ids[-1])
        forged = {**event_values(last), "chain_seq": 4, "detail": "palsu"}
        forged_hash = entry_hash(forged, last.entry_hash)
    _as_attacker(engine, "INSERT INTO event (at, actor, step, action, submission_id, outcome, detail, "
                         "chain_seq, prev_hash, entry_hash) SELECT at, actor, step, action, "
                         "submission_id, outcome, 'palsu', 4, entry_hash, :h FROM event WHERE id = :id",
                 h=forged_hash, id=ids[-1])
    assert _finding(engine) == t("audit.inserted", "en", id=ids[-1] + 1)


def test_a_removed_entry_is_named(engine):
    ids = _append(engine, 5)
    _as_attacker(engine, "DELETE FROM event WHERE id = :id", id=ids[2])
    assert _finding(engine) == t("audit.removed", "en", positions="3", id=ids[3])


def test_entries_removed_from_the_end_are_named(engine):
    ids = _append(engine, 5)
    _as_attacker(engine, "DELETE FROM event WHERE id >= :id", id=ids[3])
    assert _finding(engine) == t("audit.removed_at_end", "en", positions="4-5", id=ids[2])


def test_dropped_triggers_are_reported_even_when_no_entry_changed(engine):
    _append(engine, 2)
    _as_attacker(engine)
    audit = verify_event_log(engine)
    assert audit.finding is None and not audit.intact
    assert audit.missing_triggers == list(EVENT_LOG_TRIGGERS[engine.dialect.name])


def test_concurrent_appends_form_one_chain(engine):
    """Eight writers at once, each committing its own use cases: one chain, nothing lost."""
    writers, each = 8, 6
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for number in range(each):
                with Session(engine) as session:
                    record(session, f"user{writer}", "data.received", detail=f"{writer}/{number}")
                    record(session, f"user{writer}", "data.checked", detail=f"{writer}/{number}")
                    session.commit()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    audit = verify_event_log(engine)
    assert audit.intact, audit.finding and audit.finding.text("en")
    assert audit.chained == writers * each * 2
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [e.chain_seq for e in events] == list(range(1, writers * each * 2 + 1))
    # The two events of one use case are neighbours: a transaction appends as one.
    pairs = list(zip(events[::2], events[1::2], strict=True))
    assert all(a.detail == b.detail and a.action == "data.received" for a, b in pairs)


# --- an installation that logged before the chain existed ---------------------------------------

_OLD_EVENT_TABLE = """
CREATE TABLE event (
    id INTEGER NOT NULL PRIMARY KEY, at DATETIME NOT NULL, actor VARCHAR NOT NULL, step INTEGER,
    action VARCHAR NOT NULL, request_id INTEGER, submission_id INTEGER, outcome VARCHAR NOT NULL,
    detail TEXT
)"""


def _old_installation(path: Path) -> str:
    """An SQLite database as the version before the chain left it: three events logged."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute(_OLD_EVENT_TABLE)
        connection.executemany(
            "INSERT INTO event (at, actor, step, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [("2026-10-01 02:00:00.000000", "upt", 1, "data.submitted", "ok", "lama 1"),
             ("2026-10-01 03:00:00.000000", "verifikator", 2, "data.received", "ok", "lama 2"),
             ("2026-10-02 04:00:00.000000", "verifikator", 3, "data.verified", "accepted", "lama 3")],
        )
    connection.close()
    return f"sqlite:///{path}"


def test_entries_from_before_the_chain_are_sealed_into_its_first_entry(tmp_path):
    url = _old_installation(tmp_path / "old.db")
    engine = make_engine(url)  # the upgrade: columns added, triggers made, nothing rewritten
    try:
        assert verify_event_log(engine).summary("en") == t("audit.not_started", "en", sealed=3)
        _append(engine, 2)
        audit = verify_event_log(engine)
        assert audit.intact
        assert audit.summary("en") == t("audit.intact_sealed", "en", entries=2, first=4, last=5,
                                        head=audit.head_hash[:16], sealed=3)
        with Session(engine) as session:
            assert [e.entry_hash is None for e in session.exec(select(Event).order_by(col(Event.id)))] \
                == [True, True, True, False, False]
        _as_attacker(engine, "UPDATE event SET detail = 'diubah' WHERE id = 2")
        assert _finding(engine) == t("audit.sealed_changed", "en", id=4)
    finally:
        engine.dispose()


# --- the command ------------------------------------------------------------------------------


def _audit_verify(home: Path, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OCENTER_HOME": str(home), "OCENTER_MODE": "demo"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ocenter", "audit", "verify", "--lang", "en"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_audit_verify_exits_0_when_intact_and_1_naming_the_entry(backend, tmp_path, request):
    home = tmp_path / "home"
    home.mkdir()
    url = (f"sqlite:///{home / 'ocenter.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    try:
        ids = _append(engine, 4)
        intact = _audit_verify(home, url if backend == "postgresql" else None)
        assert (intact.returncode, intact.stderr) == (0, "")
        assert intact.stdout.splitlines() == [verify_event_log(engine).summary("en")]

        _as_attacker(engine, "UPDATE event SET actor = 'orang-lain' WHERE id = :id", id=ids[1])
        broken = _audit_verify(home, url if backend == "postgresql" else None)
        assert broken.returncode == 1
        assert broken.stderr.splitlines() == [
            t("audit.changed", "en", id=ids[1]),
            t("audit.triggers_missing", "en",
              triggers=", ".join(EVENT_LOG_TRIGGERS[engine.dialect.name])),
        ]
        with Session(engine) as session:  # the finding is logged, as the next entry of the chain
            logged = session.exec(select(Event).order_by(col(Event.id).desc())).first()
        assert (logged.actor, logged.action, logged.outcome) == ("system", "audit.log_broken", "broken")
        assert logged.detail.startswith(t("audit.changed", "en", id=ids[1]))
        assert logged.chain_seq == 5
    finally:
        engine.dispose()


def test_audit_verify_on_the_demo_installation(demo_home):
    """Everything the first start and the demo logged is one intact chain."""
    result = _audit_verify(demo_home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Event log intact: ")
