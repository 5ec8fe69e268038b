"""Reminders and escalations of the step clocks, kept as ``Notification`` rows and e-mailed when
a mail server is configured.

Run once or more each working day (``python -m ocenter reminders send``, from cron): a running
clock due the next working day reminds whoever it waits on; an overdue one is escalated to the
heads of Pusdatin and the requesting unit's Eselon II. A paused clock reminds no one. Each
notification is made once (its key: person, kind, request, step, due day), so a second run the
same day makes and sends nothing twice. A mail that fails is recorded and tried again next run.
Mails name a request by number only: a title may be above the reader's clearance.
May import: config, models, procedure.inbox, procedure.step_clocks, procedure.work_calendar,
sqlmodel, smtplib.
"""

from __future__ import annotations

import contextlib
import smtplib
from datetime import date
from email.message import EmailMessage

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session, col, select

from ocenter.accounts.levels import Role
from ocenter.config import SmtpSettings
from ocenter.context import AppContext
from ocenter.i18n import t
from ocenter.models import DashboardRequest, Notification, NotificationKind, StepInterval, User
from ocenter.procedure.inbox import ESELON_2, PUSDATIN_STEP_ROLE, waits_on_role
from ocenter.procedure.step_clocks import interval_clock
from ocenter.procedure.work_calendar import calendar_of

#: The longest reason of a failed mail kept (a server's answer can be long).
MAX_ERROR = 500


class ReminderRun(BaseModel):
    """What one run of the reminders did."""

    reminders: int = Field(default=0, description="Reminders made now (due next working day).")
    escalations: int = Field(default=0, description="Escalations made now (overdue steps).")
    emailed: int = Field(default=0, description="Notifications sent by e-mail in this run.")
    email_failed: int = Field(default=0, description="E-mails that failed (tried again next run).")


def pusdatin_heads(ctx: AppContext, session: Session) -> list[str]:
    """The usernames escalations go to in Pusdatin: ``OCENTER_PUSDATIN_HEADS``, or in demo mode
    without it the analysts."""
    if ctx.settings.pusdatin_heads:
        return list(ctx.settings.pusdatin_heads)
    if not ctx.settings.is_demo:
        return []
    return list(session.exec(
        select(User.username).where(User.role == Role.ANALIS, col(User.active))
        .order_by(col(User.username))).all())


def _users(session: Session, roles: tuple[Role, ...], unit: str | None) -> list[str]:
    if not roles:
        return []
    where = [col(User.role).in_(roles), col(User.active)]
    if unit is not None:
        where.append(User.unit_code == unit)
    return list(session.exec(select(User.username).where(*where).order_by(col(User.username))).all())


def _reminded(session: Session, interval: StepInterval, request: DashboardRequest) -> list[str]:
    roles = waits_on_role(interval)
    pusdatin = bool(roles) and roles[0] in PUSDATIN_STEP_ROLE.values()
    return _users(session, roles, None if pusdatin else request.requesting_unit)


def send_reminders(ctx: AppContext, today: date | None = None) -> ReminderRun:
    """Make today's reminders and escalations, then e-mail every notification not yet e-mailed
    (when a mail server is configured). Idempotent for a day."""
    today = today or ctx.clock.today()
    calendar = calendar_of(ctx)
    next_working_day = calendar.add_working_days(today, 1)
    run = ReminderRun()
    with Session(ctx.engine) as session:
        heads = pusdatin_heads(ctx, session)
        rows = session.exec(
            select(StepInterval, DashboardRequest)
            .where(col(StepInterval.ended_at).is_(None), col(StepInterval.waiting_on).is_(None),
                   col(StepInterval.request_id) == col(DashboardRequest.id))
            .order_by(col(StepInterval.request_id))
        ).all()
        wanted: list[tuple[str, NotificationKind, int, int, date]] = []
        for interval, request in rows:
            clock = interval_clock(interval, today, calendar)
            if clock.due is None:
                continue
            if clock.overdue:
                kind = NotificationKind.ESCALATION
                people = heads + _users(session, ESELON_2, request.requesting_unit)
            elif clock.due == next_working_day:
                kind = NotificationKind.REMINDER
                people = _reminded(session, interval, request)
            else:
                continue
            for person in dict.fromkeys(people):
                wanted.append((person, kind, request.id, interval.step, clock.due))
        known = set(session.exec(select(User.username)).all())
        for person, kind, request_id, step, due in wanted:
            if person not in known:  # a head named in the settings who has no account
                continue
            present = session.exec(select(Notification.id).where(
                Notification.recipient == person, Notification.kind == kind,
                Notification.request_id == request_id, Notification.step == step,
                Notification.due_day == due)).first()
            if present is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(Notification(recipient=person, kind=kind, request_id=request_id,
                                             step=step, due_day=due, created_at=ctx.clock.now()))
            except DatabaseIntegrityError:  # another run made it at the same moment
                continue
            if kind == NotificationKind.REMINDER:
                run.reminders += 1
            else:
                run.escalations += 1
        session.commit()
    if ctx.settings.smtp is not None:
        run.emailed, run.email_failed = email_pending(ctx, ctx.settings.smtp)
    return run


def notification_text(notification: Notification, lang: str) -> tuple[str, str]:
    """The subject and body of ``notification`` in ``lang`` (plain text)."""
    params = dict(request=notification.request_id, step=notification.step,
                  due=notification.due_day.isoformat())
    kind = notification.kind.value
    return (t(f"notification.{kind}.subject", lang, **params),
            t(f"notification.{kind}.body", lang, **params))


def email_message(notification: Notification, to: str, from_address: str) -> EmailMessage:
    """The mail of ``notification``: Bahasa Indonesia first, then English, in one message."""
    subject_id, body_id = notification_text(notification, "id")
    subject_en, body_en = notification_text(notification, "en")
    message = EmailMessage()
    message["Subject"] = f"{subject_id} / {subject_en}"
    message["From"] = from_address
    message["To"] = to
    message.set_content(f"{body_id}\n\n---\n\n{body_en}\n")
    return message


def email_pending(ctx: AppContext, smtp: SmtpSettings) -> tuple[int, int]:
    """Send every notification not yet e-mailed whose person has an e-mail address, over one
    connection. A failure is recorded on the notification (tried again next run), never raised.
    Returns (sent, failed)."""
    with Session(ctx.engine) as session:
        pending = session.exec(
            select(Notification, User.email)
            .where(col(Notification.emailed_at).is_(None),
                   col(Notification.recipient) == col(User.username), User.email != "")
            .order_by(col(Notification.id))
        ).all()
        if not pending:
            return 0, 0
        sent = failed = 0
        try:
            server = _connect(smtp)
        except (OSError, smtplib.SMTPException) as error:
            for notification, _ in pending:
                _failed(notification, error)
                session.add(notification)
            session.commit()
            return 0, len(pending)
        try:
            for notification, address in pending:
                notification.email_attempts += 1
                try:
                    server.send_message(email_message(notification, address, smtp.from_address))
                except (OSError, smtplib.SMTPException) as error:
                    _failed(notification, error, counted=True)
                    failed += 1
                else:
                    notification.emailed_at, notification.email_error = ctx.clock.now(), None
                    sent += 1
                session.add(notification)
                session.commit()  # each mail's outcome kept, whatever happens to the next
        finally:
            # The mails are sent or recorded as failed: a lost goodbye changes nothing.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                server.quit()
        return sent, failed


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        if smtp.starttls:
            server.starttls()
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
    except (OSError, smtplib.SMTPException):
        server.close()
        raise
    return server


def _failed(notification: Notification, error: Exception, *, counted: bool = False) -> None:
    if not counted:
        notification.email_attempts += 1
    notification.email_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
