"""The event log as each reader may read it (the log page, a request's history): an entry's
detail quotes people's words and their data, so it is withheld on a request whose words are
withheld from the reader, and on a submission above their clearance (the higher of the level its
sender declared and its contract's); the log's lists are newest first and bounded."""

from __future__ import annotations

from sqlmodel import Session

from ocenter.accounts.levels import Level
from ocenter.events import record
from ocenter.models import Evaluation, Submission
from ocenter.procedure import readable_events
from ocenter.procedure.worklists import newest_letters

SECRET_REQUEST, LIMITED_REQUEST = 1, 2  # the demo's Rahasia and Terbatas requests


def _submission(session: Session, level: Level, dataset: str = "sampling-pengujian") -> int:
    sent = Submission(dataset_id=dataset, unit_code="PPPOMN", submitted_by="pppomn", level=level,
                      original_name="a.csv", upload_sha256="0" * 64, upload_suffix=".csv", size_bytes=1)
    session.add(sent)
    session.flush()
    return sent.id


def test_a_detail_is_read_only_where_the_request_and_the_data_are_within_clearance(demo_ctx, as_user):
    with Session(demo_ctx.engine) as session:
        declared_secret = _submission(session, Level.RAHASIA)
        plain = _submission(session, Level.TERBUKA)  # its contract makes it Terbatas
        unknown_contract = _submission(session, Level.TERBATAS, dataset="tidak-ada")
        entries = {
            "secret request": dict(request_id=SECRET_REQUEST),
            "limited request": dict(request_id=LIMITED_REQUEST),
            "secret data": dict(submission_id=declared_secret),
            "plain data": dict(submission_id=plain),
            "data of no contract": dict(submission_id=unknown_contract),
            "gone submission": dict(submission_id=99_999),
            "about nothing": {},
        }
        for detail, about in entries.items():
            record(session, "analis", "data.received", detail=detail, **about)
        session.commit()
    expected = {  # unit: Terbatas clearance, staff of the Terbatas request's unit
        "unit": {"secret request": False, "limited request": True, "secret data": False,
                 "plain data": True, "data of no contract": True, "gone submission": True,
                 "about nothing": True},
        "direktur": {"secret request": True, "limited request": True, "secret data": True,
                     "plain data": True, "data of no contract": True, "gone submission": True,
                     "about nothing": True},
        "mitra": {"secret request": False, "limited request": False, "secret data": False,
                  "plain data": False, "data of no contract": False, "gone submission": True,
                  "about nothing": True},
    }
    for username, readable in expected.items():
        seen = {e.detail: ok for e, ok in readable_events(demo_ctx, as_user(username))
                if e.detail in entries}
        assert seen == readable, username


def test_the_log_is_newest_first_and_bounded(demo_ctx, as_user):
    with Session(demo_ctx.engine) as session:
        for number in range(510):
            record(session, "analis", "data.received", request_id=LIMITED_REQUEST, detail=str(number))
        session.commit()
    found = readable_events(demo_ctx, as_user("analis"), LIMITED_REQUEST)
    assert len(found) == 500
    assert [e.detail for e, _ in found[:3]] == ["509", "508", "507"]
    assert len(readable_events(demo_ctx, as_user("analis"), LIMITED_REQUEST, limit=20)) == 20


def test_a_request_answered_twice_shows_its_newest_letter(demo_ctx):
    with Session(demo_ctx.engine) as session:
        for number in ("B-1/2026", "B-2/2026"):
            session.add(Evaluation(request_id=LIMITED_REQUEST, notes="-", letter_number=number,
                                   letter_text="-", evaluated_by="analis"))
        session.commit()
    assert newest_letters(demo_ctx, [LIMITED_REQUEST])[LIMITED_REQUEST].letter_number == "B-2/2026"
    assert newest_letters(demo_ctx, []) == {}
