"""The inbox (what waits on each person) and the reminders and escalations of the step clocks:
a reminder the working day before a due day, an escalation once a step is overdue, each made
once, and e-mailed through a real SMTP server started here (aiosmtpd)."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.cli import main as cli_main
from ocenter.clock import FixedClock
from ocenter.config import SmtpSettings
from ocenter.i18n import markdown_literal
from ocenter.models import DashboardRequest, Notification, NotificationKind
from ocenter.procedure.inbox import inbox_of
from ocenter.procedure.reminders import send_reminders

NO_NEW_DATA = "Data sampling sudah diterima sebelumnya."


def on(ctx, day: date, hour: int = 9):  # noqa: ANN001, ANN201 - AppContext
    """``ctx`` on ``day`` at ``hour`` in Jakarta."""
    return replace(ctx, clock=FixedClock.wib(day.year, day.month, day.day, hour))


def file_request(ctx, as_user, level: Level = Level.RAHASIA) -> int:  # noqa: ANN001
    return procedure.file_request(
        ctx, as_user("direktur"), title="Temuan per Wilayah", purpose="Rapat pimpinan.",
        datasets_wanted=["sampling-pengujian"], level=level, audience=["kepala"]).id


def mockup_due_monday_19_october(demo_ctx, as_user) -> int:  # noqa: ANN001
    """A request whose step 4 (5 HK) started Monday 12 October 2026: due Monday 19 October."""
    rid = file_request(on(demo_ctx, date(2026, 10, 5)), as_user)
    procedure.state_no_new_data(on(demo_ctx, date(2026, 10, 12)), as_user("analis"), rid,
                                NO_NEW_DATA)
    return rid


def notes(ctx, rid: int) -> list[tuple[str, NotificationKind, int, date]]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        rows = session.exec(select(Notification).where(Notification.request_id == rid)).all()
    # Sorted here: PostgreSQL orders an enum column by declaration, SQLite by its text.
    return sorted((n.recipient, n.kind, n.step, n.due_day) for n in rows)


def tasks(ctx, as_user, username: str, rid: int | None = None) -> list[tuple]:  # noqa: ANN001
    return [(i.task, i.request_id, i.due, i.days_left, i.page)
            for i in inbox_of(ctx, as_user(username)) if rid is None or i.request_id == rid]


def test_the_demo_inbox_gives_each_role_what_waits_on_it(demo_ctx, as_user):
    # The demo's request #1 is displayed (step 9, the analyst's), #2's mock-up is with its unit.
    assert [(i.task, i.request_id) for i in inbox_of(demo_ctx, as_user("analis"))] == [
        ("evaluate", 1)]
    review = inbox_of(demo_ctx, as_user("unit"), "en")
    assert [(i.task, i.request_id, i.due, i.page) for i in review] == [
        (("review", 2, None, "tinjau-mockup"))]
    assert review[0].text == "Review the mock-up of #2 · Tren Temuan Kosmetik (step 5)"
    # Another unit's mock-up is not the director's to review; the Kepala has no step of his own.
    for username in ("direktur", "kepala", "verifikator", "mitra"):
        assert inbox_of(demo_ctx, as_user(username)) == [], username


def test_each_step_waits_on_its_people_with_its_due_day(demo_ctx, as_user):
    ctx = on(demo_ctx, date(2026, 10, 5))  # Monday
    rid = file_request(ctx, as_user)
    # Step 2 (1 HK): the verifier receives the data, due Tuesday.
    assert tasks(ctx, as_user, "verifikator", rid) == [
        ("receive", rid, date(2026, 10, 6), 1, "terima-data")]
    assert tasks(ctx, as_user, "analis", rid) == []
    late = on(ctx, date(2026, 10, 8))
    assert tasks(late, as_user, "verifikator", rid)[0][3] == -2  # two working days overdue
    procedure.state_no_new_data(on(ctx, date(2026, 10, 12)), as_user("analis"), rid, NO_NEW_DATA)
    assert tasks(on(ctx, date(2026, 10, 14)), as_user, "analis", rid) == [
        ("mockup", rid, date(2026, 10, 19), 3, "mockup")]
    assert tasks(ctx, as_user, "verifikator", rid) == []
    # Out for review, the clock waits on the requesting unit's people: no due day.
    procedure.start_mockup(on(ctx, date(2026, 10, 13)), as_user("analis"), rid)
    procedure.send_mockup(on(ctx, date(2026, 10, 14)), as_user("analis"), rid)
    assert tasks(ctx, as_user, "direktur", rid) == [("review", rid, None, None, "tinjau-mockup")]
    assert tasks(ctx, as_user, "unit", rid) == []  # another unit
    assert tasks(ctx, as_user, "analis", rid) == []


def test_a_title_above_the_persons_clearance_is_withheld_in_the_inbox(demo_ctx, as_user):
    ctx = on(demo_ctx, date(2026, 10, 5))
    rid = file_request(ctx, as_user)
    with Session(ctx.engine) as session:  # proposed above the verifier's clearance
        request = session.get(DashboardRequest, rid)
        request.level = Level.SANGAT_RAHASIA
        session.add(request)
        session.commit()
    [item] = inbox_of(ctx, as_user("verifikator"), "en")
    assert item.text == f"Receive the data for Request #{rid} (withheld) (step 2)"
    assert "Temuan" not in item.text


def test_a_reminder_the_working_day_before_and_an_escalation_once_overdue(demo_ctx, as_user):
    rid = mockup_due_monday_19_october(demo_ctx, as_user)
    # Thursday: the due day is two working days away, nothing yet.
    assert send_reminders(demo_ctx, date(2026, 10, 15)).reminders == 0
    # Friday is the working day before Monday: the analysts are reminded.
    friday = send_reminders(demo_ctx, date(2026, 10, 16))
    assert (friday.reminders, friday.escalations) == (1, 0)
    monday = date(2026, 10, 19)
    assert notes(demo_ctx, rid) == [("analis", NotificationKind.REMINDER, 4, monday)]
    # Run again the same day, and on the due day itself: nothing new.
    assert send_reminders(demo_ctx, date(2026, 10, 16)).reminders == 0
    assert send_reminders(demo_ctx, monday).model_dump() == {
        "reminders": 0, "escalations": 0, "emailed": 0, "email_failed": 0}
    # Tuesday it is overdue: Pusdatin's heads (the analysts in demo mode) and the requesting
    # unit's Eselon II (its director) are told, once, whatever day it runs after.
    tuesday = send_reminders(demo_ctx, date(2026, 10, 20))
    assert (tuesday.reminders, tuesday.escalations) == (0, 2)
    assert send_reminders(demo_ctx, date(2026, 10, 21)).escalations == 0
    assert notes(demo_ctx, rid) == [
        ("analis", NotificationKind.ESCALATION, 4, monday),
        ("analis", NotificationKind.REMINDER, 4, monday),
        ("direktur", NotificationKind.ESCALATION, 4, monday),
    ]
    # Another unit's head and Pusdatin's verifier are not told.
    assert {n[0] for n in notes(demo_ctx, rid)} == {"analis", "direktur"}


def test_configured_pusdatin_heads_receive_the_escalation(demo_ctx, as_user):
    rid = mockup_due_monday_19_october(demo_ctx, as_user)
    ctx = replace(demo_ctx, settings=demo_ctx.settings.model_copy(
        update={"pusdatin_heads": ["verifikator", "nobody"]}))
    assert send_reminders(ctx, date(2026, 10, 20)).escalations == 2  # "nobody" has no account
    assert {n[0] for n in notes(ctx, rid)} == {"verifikator", "direktur"}


def test_the_reminder_skips_weekends_and_holidays(demo_ctx, as_user):
    # Step 4 from Thursday 17 December 2026: 18, 21, 22, 23 and (after the cuti bersama of the
    # 24th and Christmas on the 25th) Monday 28 December.
    rid = file_request(on(demo_ctx, date(2026, 12, 14)), as_user)
    procedure.state_no_new_data(on(demo_ctx, date(2026, 12, 17)), as_user("analis"), rid,
                                NO_NEW_DATA)
    # (Counted on this request alone: the demo's own requests started on the day it was made.)
    send_reminders(demo_ctx, date(2026, 12, 22))
    assert notes(demo_ctx, rid) == []
    send_reminders(demo_ctx, date(2026, 12, 23))
    assert notes(demo_ctx, rid) == [("analis", NotificationKind.REMINDER, 4, date(2026, 12, 28))]


def test_a_paused_clock_reminds_no_one(demo_ctx, as_user):
    rid = mockup_due_monday_19_october(demo_ctx, as_user)
    procedure.start_mockup(on(demo_ctx, date(2026, 10, 13)), as_user("analis"), rid)
    procedure.send_mockup(on(demo_ctx, date(2026, 10, 14)), as_user("analis"), rid)
    for day in (date(2026, 10, 16), date(2026, 10, 20), date(2026, 11, 30)):
        run = send_reminders(demo_ctx, day)
        assert notes(demo_ctx, rid) == [], day
        assert run.reminders == 0


class RecordingHandler:
    """An SMTP server's DATA handler that keeps what it is sent, or refuses it while told to."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.refuse:
            return "451 4.3.0 Mailbox busy, try again later"
        self.messages.append((list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


@pytest.fixture
def smtp_server():  # noqa: ANN201
    """A real SMTP server on a free local port, and its handler."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, SmtpSettings(host="127.0.0.1", port=port, from_address="ocenter@pom.go.id",
                                    timeout_seconds=5)
    finally:
        controller.stop()


def test_notifications_are_emailed_in_both_languages_and_failures_retried(
        demo_ctx, as_user, smtp_server):
    handler, smtp = smtp_server
    rid = mockup_due_monday_19_october(demo_ctx, as_user)
    ctx = replace(on(demo_ctx, date(2026, 10, 20)),
                  settings=demo_ctx.settings.model_copy(update={"smtp": smtp}))
    handler.refuse = True
    first = send_reminders(ctx, date(2026, 10, 20))
    assert (first.escalations, first.emailed, first.email_failed) == (2, 0, 2)
    with Session(ctx.engine) as session:
        failed = session.exec(select(Notification).where(Notification.request_id == rid)).all()
    assert all(n.emailed_at is None and n.email_attempts == 1 and "451" in n.email_error
               for n in failed)
    assert handler.messages == []

    handler.refuse = False  # the next run tries them again, and makes nothing new
    second = send_reminders(ctx, date(2026, 10, 21))
    assert (second.escalations, second.emailed, second.email_failed) == (0, 2, 0)
    sent = {tuple(to): message for to, message in handler.messages}
    assert set(sent) == {("analis@demo.pom.go.id",), ("direktur@demo.pom.go.id",)}
    message = sent[("direktur@demo.pom.go.id",)]
    assert message["To"] == "direktur@demo.pom.go.id"
    assert message["From"] == "ocenter@pom.go.id"
    assert message["Subject"] == (
        f"Eskalasi: tahap 4 permintaan #{rid} melewati batas 2026-10-19 / "
        f"Escalation: step 4 of request #{rid} is past its due day 2026-10-19")
    body = message.get_content()
    indonesian = body.index(f"Tahap 4 permintaan dasbor #{rid} belum selesai")
    english = body.index(f"Step 4 of dashboard request #{rid} is not done")
    assert indonesian < english
    assert "Temuan" not in body  # a mail names the request by number only

    assert send_reminders(ctx, date(2026, 10, 21)).emailed == 0  # each is sent once
    assert len(handler.messages) == 2
    with Session(ctx.engine) as session:
        done = session.exec(select(Notification).where(Notification.request_id == rid)).all()
    assert all(n.emailed_at is not None and n.email_error is None for n in done)


def test_an_unreachable_mail_server_is_recorded_not_raised(demo_ctx, as_user):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rid = mockup_due_monday_19_october(demo_ctx, as_user)
    ctx = replace(demo_ctx, settings=demo_ctx.settings.model_copy(update={"smtp": SmtpSettings(
        host="127.0.0.1", port=port, from_address="ocenter@pom.go.id", timeout_seconds=5)}))
    run = send_reminders(ctx, date(2026, 10, 20))
    assert (run.escalations, run.emailed, run.email_failed) == (2, 0, 2)
    with Session(ctx.engine) as session:
        kept = session.exec(select(Notification).where(Notification.request_id == rid)).all()
    assert [n.email_error.split(":")[0] for n in kept] == ["ConnectionRefusedError"] * 2


def test_the_command_line_runs_the_reminders_for_a_day(demo_ctx, demo_home, as_user, monkeypatch,
                                                       capsys):
    mockup_due_monday_19_october(demo_ctx, as_user)
    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    monkeypatch.setenv("OCENTER_MODE", "demo")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("OCENTER_SMTP_HOST", raising=False)
    monkeypatch.delenv("OCENTER_PUSDATIN_HEADS", raising=False)
    assert cli_main(["reminders", "send", "--today", "2026-10-16"]) == 0
    assert capsys.readouterr().out.strip() == (
        "reminders: 1, escalations: 0, e-mailed: 0, e-mail failed: 0")
    assert cli_main(["reminders", "send", "--today", "2026-10-16"]) == 0
    assert capsys.readouterr().out.startswith("reminders: 0, escalations: 0")


def test_beranda_opens_with_the_persons_inbox(app, demo_ctx, as_user):
    from tests.test_app import _login, _texts

    send_reminders(demo_ctx, date(2030, 1, 7))  # long past every demo due day: escalated
    at = _login(app, "analis")
    assert not at.exception, at.exception
    shown = _texts(at)
    assert at.subheader[0].value == "Kotak Masuk"
    # Markdown shows these escaped characters as typed.
    assert markdown_literal(
        "Pantau dan evaluasi dasbor #1 · Pantauan Hasil Sampling dan Pengujian (tahap 9)") in shown
    assert markdown_literal("Eskalasi: tahap 9 permintaan #1 melewati batas") in shown
    assert [link.label for link in at.get("page_link") if link.label == "Buka"] == ["Buka"]
    other = _login(type(app).from_file(app._script_path, default_timeout=app.default_timeout)
                   .run(), "direktur")
    assert "Tidak ada pekerjaan yang menunggu Anda." in _texts(other)


def test_the_administrator_sets_the_address_reminders_go_to(demo_ctx, as_user):
    from ocenter.accounts import admin
    from ocenter.errors import PermissionDenied, UserError
    from ocenter.models import User

    admin.set_email(demo_ctx, as_user("admin"), "direktur", "  dir.pangan@pom.go.id ")
    with Session(demo_ctx.engine) as session:
        assert session.get(User, "direktur").email == "dir.pangan@pom.go.id"
    for bad in ("dir pangan@pom.go.id", "a@b.c\nBcc: x@y.z", "a@b.c, d@e.f", "tanpa-domain"):
        with pytest.raises(UserError) as refused:
            admin.set_email(demo_ctx, as_user("admin"), "direktur", bad)
        assert refused.value.key == "users.bad_email"
    with pytest.raises(PermissionDenied):
        admin.set_email(demo_ctx, as_user("analis"), "direktur", "x@pom.go.id")
    admin.set_email(demo_ctx, as_user("admin"), "direktur", "")  # cleared: no mail for them
    with Session(demo_ctx.engine) as session:
        assert session.get(User, "direktur").email == ""


@pytest.mark.postgres
def test_reminders_are_made_once_on_postgresql(postgres_url, tmp_path):
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import initialise
    from tests.conftest import settings_for

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=FixedClock.wib(2026, 10, 5))
    try:
        rid = mockup_due_monday_19_october(ctx, lambda username: authority_of(
            ctx.engine, username, production=False, today=ctx.clock.today()))
        send_reminders(ctx, date(2026, 10, 16))
        first = send_reminders(ctx, date(2026, 10, 20))
        assert first.escalations >= 2  # the demo's own requests may be overdue too
        assert send_reminders(ctx, date(2026, 10, 20)).model_dump() == {
            "reminders": 0, "escalations": 0, "emailed": 0, "email_failed": 0}
        assert [(n[0], n[1]) for n in notes(ctx, rid)] == [
            ("analis", NotificationKind.ESCALATION), ("analis", NotificationKind.REMINDER),
            ("direktur", NotificationKind.ESCALATION)]
    finally:
        ctx.engine.dispose()
