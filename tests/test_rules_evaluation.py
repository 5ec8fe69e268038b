"""Steps 9 and 10 on the demo's displayed dashboard (request 1, of the Direktorat Pengawasan
Peredaran Pangan Olahan): the evaluation letter, its number, and who confirms receipt."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ocenter import procedure
from ocenter.clock import FixedClock
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import RequestStatus

DISPLAYED, IN_REVIEW = 1, 2


def test_the_letter_names_its_number_date_unit_dashboard_and_notes(demo_ctx, as_user):
    # 06:30 WIB on 5 March is still 4 March in UTC: the letter is dated in Jakarta.
    on_the_day = replace(demo_ctx, clock=FixedClock.wib(2026, 3, 5, 6, 30))
    evaluation = procedure.evaluate_dashboard(on_the_day, as_user("analis"), DISPLAYED,
                                              "  Dipakai rapat pimpinan.  ")
    assert evaluation.evaluated_at == on_the_day.clock.now()
    assert evaluation.letter_number == "B-1/POM.09.01/03/2026"
    assert evaluation.notes == "Dipakai rapat pimpinan."
    assert evaluation.evaluated_by == "analis"
    letter = evaluation.letter_text
    assert "Jakarta, 5 Maret 2026\n\nNomor    : B-1/POM.09.01/03/2026\n" in letter
    for part in ("Yth. Direktur Pengawasan Peredaran Pangan Olahan",
                 '"Pantauan Hasil Sampling dan Pengujian"', "kode pantauan-sampling-pengujian",
                 "nomor 1 ", "Dipakai rapat pimpinan.", "Kepala Pusdatin (Demo)"):
        assert part in letter, part
    assert "Analis Data Pusdatin" not in letter  # signed by the head of Pusdatin
    assert procedure.get_request(demo_ctx, DISPLAYED).status == RequestStatus.EVALUATED
    [logged] = [e for e in procedure.events(demo_ctx, DISPLAYED) if e.action == "dashboard.evaluated"]
    assert (logged.step, logged.actor, logged.detail) == (9, "analis", evaluation.letter_number)
    assert [e.id for e in procedure.evaluations_of(demo_ctx, DISPLAYED)] == [evaluation.id]


def test_an_evaluation_needs_notes_and_a_displayed_dashboard(demo_ctx, as_user):
    analyst = as_user("analis")
    with pytest.raises(UserError) as no_notes:
        procedure.evaluate_dashboard(demo_ctx, analyst, DISPLAYED, "   ")
    assert no_notes.value.key == "procedure.evaluation_needs_notes"
    with pytest.raises(Conflict) as not_shown:
        procedure.evaluate_dashboard(demo_ctx, analyst, IN_REVIEW, "Catatan.")
    assert not_shown.value.key == "procedure.wrong_status"
    with pytest.raises(NotFound) as missing:
        procedure.evaluate_dashboard(demo_ctx, analyst, 99, "Catatan.")
    assert missing.value.key == "procedure.request_missing"
    assert procedure.evaluations_of(demo_ctx, DISPLAYED) == []


def test_only_the_requesting_unit_confirms_receipt_of_the_letter(demo_ctx, as_user):
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 1))
    with pytest.raises(Conflict) as too_early:  # nothing evaluated yet
        procedure.acknowledge_letter(ctx, as_user("direktur"), DISPLAYED)
    assert too_early.value.key == "procedure.wrong_status"
    procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    with pytest.raises(PermissionDenied) as other_unit:
        procedure.acknowledge_letter(ctx, as_user("unit"), DISPLAYED)
    assert other_unit.value.key == "procedure.not_your_unit"
    received = procedure.acknowledge_letter(ctx, as_user("direktur"), DISPLAYED,
                                            "  " + "Terima kasih. " * 100)
    assert received.acknowledged_by == "direktur" and received.acknowledged_at == ctx.clock.now()
    assert received.acknowledgement_note.startswith("Terima kasih.")
    assert len(received.acknowledgement_note) == 1000
    assert procedure.get_request(demo_ctx, DISPLAYED).status == RequestStatus.RECEIVED
    [logged] = [e for e in procedure.events(demo_ctx, DISPLAYED) if e.action == "letter.received"]
    assert (logged.step, logged.actor) == (10, "direktur")


def test_the_event_log_is_newest_first_and_filters_by_request(demo_ctx, as_user):
    procedure.evaluate_dashboard(demo_ctx, as_user("analis"), DISPLAYED, "Baik.")
    everything = procedure.events(demo_ctx)
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    assert everything[0].action == "dashboard.evaluated"
    assert {e.request_id for e in procedure.events(demo_ctx, IN_REVIEW)} == {IN_REVIEW}
    assert len(procedure.events(demo_ctx, limit=2)) == 2


# --- a decision already made: the same person sending again, or someone else first --------------


def _second_person(ctx, username: str, role, unit_code: str | None, name: str) -> None:
    from ocenter.accounts.admin import add_user
    from ocenter.accounts.levels import Level, ScopeKind

    scope = ScopeKind.UNIT if unit_code else ScopeKind.BPOM
    add_user(ctx, None, username=username, name=name, role=role, clearance=Level.RAHASIA,
             scope=scope, unit_code=unit_code, password="kata-sandi-panjang")


def _evaluations_and_events(ctx, request_id: int) -> tuple[list, list]:
    return ([(e.id, e.notes, e.acknowledged_by) for e in procedure.evaluations_of(ctx, request_id)],
            [e.id for e in procedure.events(ctx, request_id)])


def test_an_evaluation_sent_again_by_its_analyst_with_the_same_notes_is_the_same_letter(
    demo_ctx, as_user
):
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 1, 9))
    first = procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    before = _evaluations_and_events(ctx, DISPLAYED)
    again = procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "  Baik. ")
    assert (again.id, again.letter_number) == (first.id, first.letter_number)
    assert _evaluations_and_events(ctx, DISPLAYED) == before


@pytest.mark.parametrize("who, notes", [("analis", "Catatan lain."), ("analis2", "Baik.")])
def test_a_second_evaluation_is_refused_naming_who_evaluated_and_when(
    demo_ctx, as_user, who, notes
):
    from ocenter.accounts.levels import Role

    _second_person(demo_ctx, "analis2", Role.ANALIS, None, "Analis Kedua")
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 1, 9, 15))
    procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    before = _evaluations_and_events(ctx, DISPLAYED)
    with pytest.raises(Conflict) as second:
        procedure.evaluate_dashboard(ctx, as_user(who), DISPLAYED, notes)
    assert second.value.key == "decided.evaluated"
    assert second.value.params == {"name": "Analis Data Pusdatin", "username": "analis",
                                   "when": "2026-12-01 09:15 WIB", "request": DISPLAYED}
    assert _evaluations_and_events(ctx, DISPLAYED) == before


def test_a_request_never_evaluated_names_its_number_and_status(demo_ctx, as_user):
    with pytest.raises(Conflict) as not_shown:
        procedure.evaluate_dashboard(demo_ctx, as_user("analis"), IN_REVIEW, "Catatan.")
    assert not_shown.value.params == {"request": IN_REVIEW, "status": "in_review"}
    with pytest.raises(Conflict) as not_evaluated:
        procedure.acknowledge_letter(demo_ctx, as_user("direktur"), DISPLAYED)
    assert not_evaluated.value.params == {"request": DISPLAYED, "status": "displayed"}


def test_a_receipt_sent_again_is_kept_once_and_a_colleague_is_told_who_received(
    demo_ctx, as_user
):
    from ocenter.accounts.levels import Role

    _second_person(demo_ctx, "direktur2", Role.DIREKTUR, "DIT-WAS-EDAR-PANGAN", "Direktur Kedua")
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 2, 14, 5))
    procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    received = procedure.acknowledge_letter(ctx, as_user("direktur"), DISPLAYED)
    assert received.acknowledgement_note == ""
    before = _evaluations_and_events(ctx, DISPLAYED)
    again = procedure.acknowledge_letter(ctx, as_user("direktur"), DISPLAYED, "lagi")
    assert (again.id, again.acknowledged_by, again.acknowledgement_note) == (
        received.id, "direktur", "")
    with pytest.raises(Conflict) as colleague:
        procedure.acknowledge_letter(ctx, as_user("direktur2"), DISPLAYED)
    assert colleague.value.key == "decided.letter_received"
    assert colleague.value.params == {"name": "Direktur Pengawasan Peredaran Pangan Olahan",
                                      "username": "direktur", "when": "2026-12-02 14:05 WIB",
                                      "request": DISPLAYED}
    assert _evaluations_and_events(ctx, DISPLAYED) == before


def test_a_request_marked_evaluated_without_a_letter_is_refused_by_number(demo_ctx, as_user):
    from sqlmodel import Session

    from ocenter.models import DashboardRequest

    with Session(demo_ctx.engine) as session:
        request = session.get(DashboardRequest, DISPLAYED)
        request.status = RequestStatus.EVALUATED
        session.add(request)
        session.commit()
    with pytest.raises(NotFound) as missing:
        procedure.acknowledge_letter(demo_ctx, as_user("direktur"), DISPLAYED)
    assert (missing.value.key, missing.value.params) == ("procedure.letter_missing",
                                                         {"request": DISPLAYED})
    assert procedure.get_request(demo_ctx, DISPLAYED).status == RequestStatus.EVALUATED
