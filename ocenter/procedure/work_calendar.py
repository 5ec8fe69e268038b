"""The working-day calendar an installation keeps: the national holidays of the ``holidays``
package, plus the cuti bersama and corrections its administrator enters from each year's joint
decree (SKB 3 Menteri), each with the decree's reference. The page Kalender Kerja and ``python -m
ocenter calendar`` use these; every due day of the procedure is counted on ``calendar_of(ctx)``.

- An entry (``WorkCalendarEntry``) is a cuti bersama, a holiday the package lacks
  (``extra_holiday``) or a package holiday that is a working day after all (``working_day``, e.g.
  a holiday the government moved). One entry counts per date. A removed entry is kept, with who
  removed it, when and why; adding and removing are each an entry of the event log.
- A cuti bersama or extra holiday on a Saturday or Sunday is refused: it would change no working
  day, the SKB never sets one there, and a weekend date is most often a wrong year or month. So is
  one on a date that already is a national holiday, and a working-day correction of a date the
  package has no holiday on (to undo a cuti bersama, remove its entry).
- The seed (``ocenter/reference/hari_libur.csv``: the cuti bersama of the years decreed when this
  version was made) is taken into the database at first start, once per date: an entry removed
  later stays removed, and a newer version's seed adds only the dates it adds.
- Every change rewrites the one row of ``WorkCalendarRevision`` in its own transaction, holding it
  to the end, so two changes queue; each process keeps the calendar it computed under that row's
  token, and one indexed read a use case tells whether it is still current.

Who: the administrator enters and removes entries; Pusdatin's analysts may look, and Pusdatin
(who counts the due days) is warned on Beranda when a year has no cuti bersama yet. ``actor``
None is the server's operator on the command line, logged as "cli".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from uuid import uuid4

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.errors import Conflict, NotFound, UserError
from ocenter.events import record
from ocenter.i18n import DEFAULT_LANGUAGE, Term
from ocenter.models import CalendarEntryKind, WorkCalendarEntry, WorkCalendarRevision
from ocenter.procedure.workdays import (
    DAYS_OFF_KINDS,
    WorkCalendar,
    calendar_of_entries,
    national_holidays,
)
from ocenter.reference import CALENDAR_SEED, calendar_seed_rows

#: Who enters and removes entries.
EDITORS = (Role.ADMIN,)
#: Who may see a year's calendar with its sources: the administrator and Pusdatin's analysts.
READERS = (Role.ADMIN, Role.ANALIS)
#: Who is warned on Beranda when a year has no cuti bersama: Pusdatin, who counts the due days.
WARNED = (Role.ANALIS, Role.VERIFIKATOR)
#: The actor the event log names for the server's operator, and for the seed taken in at start.
CLI_ACTOR = "cli"
SEED_ACTOR = "system"
#: The years a calendar may be asked for or changed in.
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: From this day (month, day) on, the coming year's cuti bersama are expected to be entered.
NEXT_YEAR_EXPECTED_FROM = (12, 1)
MAX_NAME_LENGTH = 200
MAX_DECREE_LENGTH = 300
MAX_REASON_LENGTH = 500

_DATE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REVISION_ID = 1
#: Calendars kept per process, by revision token (a change makes a new one; older ones linger).
_KEPT = 8
_calendars: dict[str, WorkCalendar] = {}


class CalendarDay(BaseModel):
    """One day of a year's calendar as the page and ``calendar list`` show it."""

    day: date = Field(description="The date.", examples=["2027-03-09"])
    name: str = Field(description="A national holiday's name from the package (in the reader's "
                                  "language), or an entry's name as entered.")
    kind: CalendarEntryKind | None = Field(
        description="The entry's kind; None for a national holiday of the holidays package.")
    entry_id: int | None = Field(default=None, description="The entry's number; None for the package.")
    decree: str = Field(default="", description="The decree an entry comes from.")
    entered_by: str | None = Field(default=None, description="Who entered it: a user, 'cli' or "
                                                             "'system' (the seed).")
    entered_at: datetime | None = Field(default=None, description="When it was entered (UTC).")
    in_effect: bool = Field(description="False for a removed entry, and for a national holiday "
                                        "that a working-day correction cancels.")
    removed_by: str | None = Field(default=None, description="Who removed it, or 'cli'.")
    removed_at: datetime | None = Field(default=None, description="When it was removed (UTC).")
    remove_reason: str | None = Field(default=None, description="Why it was removed (plain text).")


# --- the calendar the procedure counts on ------------------------------------------------------


def calendar_of(ctx: AppContext) -> WorkCalendar:
    """The installation's calendar as it stands: the package's holidays with the entries that
    count, computed once per change of the entries and kept by this process."""
    with ctx.engine.connect() as connection:
        # The token first, then the entries: what is kept under a token is never older than it.
        token = connection.execute(
            select(WorkCalendarRevision.token).where(WorkCalendarRevision.id == _REVISION_ID)
        ).scalar()
        if token is not None and (kept := _calendars.get(token)) is not None:
            return kept
        rows = connection.execute(
            select(WorkCalendarEntry.day, WorkCalendarEntry.kind)
            .where(col(WorkCalendarEntry.removed_at).is_(None))
        ).all()
    calendar = calendar_of_entries((day, CalendarEntryKind(kind)) for day, kind in rows)
    if token is not None:  # a database never changed has no token, and nothing to keep
        while len(_calendars) >= _KEPT:
            _calendars.pop(next(iter(_calendars)), None)
        _calendars[token] = calendar
    return calendar


def years_without_cuti_bersama(ctx: AppContext, viewer: Authority) -> list[int]:
    """The years Pusdatin should be told have no cuti bersama entered: this year, and from
    1 December the coming year. Empty for the roles that do not count due days."""
    if viewer.role not in WARNED:
        return []
    today = ctx.clock.today()
    years = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_EXPECTED_FROM:
        years.append(today.year + 1)
    with Session(ctx.engine) as session:
        days = session.exec(
            select(WorkCalendarEntry.day).where(
                WorkCalendarEntry.kind == CalendarEntryKind.CUTI_BERSAMA,
                col(WorkCalendarEntry.removed_at).is_(None),
                col(WorkCalendarEntry.day) >= date(years[0], 1, 1),
                col(WorkCalendarEntry.day) <= date(years[-1], 12, 31),
            )
        ).all()
    entered = {day.year for day in days}
    return [year for year in years if year not in entered]


# --- reading and changing it -------------------------------------------------------------------


def calendar_year(
    ctx: AppContext, actor: Authority | None, year: int, *, include_removed: bool = False,
    lang: str = DEFAULT_LANGUAGE,
) -> list[CalendarDay]:
    """The national holidays of ``year`` (named in ``lang``) and the entries counting in it (with
    ``include_removed`` also the removed ones), by date, the package's first."""
    _require(actor, READERS)
    _check_year(year)
    query = select(WorkCalendarEntry).where(col(WorkCalendarEntry.day) >= date(year, 1, 1),
                                            col(WorkCalendarEntry.day) <= date(year, 12, 31))
    if not include_removed:
        query = query.where(col(WorkCalendarEntry.removed_at).is_(None))
    with Session(ctx.engine) as session:
        entries = session.exec(query.order_by(col(WorkCalendarEntry.day), col(WorkCalendarEntry.id))).all()
    corrected = {e.day for e in entries if e.removed_at is None and e.kind == CalendarEntryKind.WORKING_DAY}
    days = [CalendarDay(day=holiday.day, name=holiday.name, kind=None,
                        in_effect=holiday.day not in corrected)
            for holiday in national_holidays(year, lang)]
    days += [CalendarDay(day=e.day, name=e.name, kind=e.kind, entry_id=e.id, decree=e.decree,
                         entered_by=e.entered_by, entered_at=e.entered_at,
                         in_effect=e.removed_at is None, removed_by=e.removed_by,
                         removed_at=e.removed_at, remove_reason=e.remove_reason)
             for e in entries]
    return sorted(days, key=lambda d: (d.day, d.kind is not None, d.entry_id or 0))


def add_calendar_entry(
    ctx: AppContext,
    actor: Authority | None,
    day: str | date,
    name: str,
    decree: str,
    kind: CalendarEntryKind = CalendarEntryKind.CUTI_BERSAMA,
) -> WorkCalendarEntry:
    """Enter ``kind`` on ``day`` (YYYY-MM-DD), named ``name``, from the decree ``decree``; logged,
    and counted by every due day from the next look on. Refused, with nothing stored, when the
    actor may not, the date is not a date of the form YYYY-MM-DD or lies outside 2000-2099, the
    name or decree is empty or too long, the date is a Saturday or Sunday, a cuti bersama or extra
    holiday falls on a national holiday, a working-day correction on a day the package has no
    holiday on, or the date already has an entry."""
    _require(actor, EDITORS)
    day = parse_day(day)
    kind = CalendarEntryKind(kind)
    name = _text(name, "calendar.name_required", "calendar.name_too_long", MAX_NAME_LENGTH)
    decree = _text(decree, "calendar.decree_required", "calendar.decree_too_long", MAX_DECREE_LENGTH)
    if day.weekday() >= 5:
        raise UserError("calendar.weekend" if kind in DAYS_OFF_KINDS else "calendar.weekend_never_working",
                        day=day.isoformat(), weekday=Term(f"calendar.weekday.{day.weekday()}"))
    holiday = _national_holiday(day)
    if kind in DAYS_OFF_KINDS and holiday is not None:
        raise UserError("calendar.already_national", day=day.isoformat(), name=holiday)
    if kind == CalendarEntryKind.WORKING_DAY and holiday is None:
        raise UserError("calendar.nothing_to_correct", day=day.isoformat())
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        _new_revision(session, now)  # first: a second administrator waits here, then sees this one
        existing = _entry_on(session, day)
        if existing is not None:
            raise Conflict("calendar.duplicate", day=day.isoformat(), name=existing.name,
                           kind=Term(f"calendar.kind.{existing.kind.value}"))
        entry = WorkCalendarEntry(day=day, name=name, kind=kind, decree=decree,
                                  entered_by=_actor_name(actor), entered_at=now)
        session.add(entry)
        session.flush()  # its number, for the log
        record(session, entry.entered_by, "calendar.entry_added",
               detail=f"entry {entry.id}: {day.isoformat()} {kind.value} '{name}'; decree: {decree}")
        session.commit()
        session.refresh(entry)
        return entry


def remove_calendar_entry(
    ctx: AppContext, actor: Authority | None, day: str | date, reason: str
) -> WorkCalendarEntry:
    """Remove the entry counting on ``day`` for ``reason``; logged, and kept with who removed it.
    Refused, with nothing stored, when the actor may not, the date or reason is not given right,
    or the date has no entry (a national holiday of the package is corrected with a working-day
    entry, not removed)."""
    _require(actor, EDITORS)
    day = parse_day(day)
    reason = _text(reason, "calendar.reason_required", "calendar.reason_too_long", MAX_REASON_LENGTH)
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        _new_revision(session, now)
        entry = _entry_on(session, day)
        if entry is None:
            holiday = _national_holiday(day)
            if holiday is not None:
                raise NotFound("calendar.national_not_removable", day=day.isoformat(), name=holiday)
            raise NotFound("calendar.no_entry", day=day.isoformat())
        entry.removed_at, entry.removed_by, entry.remove_reason = now, _actor_name(actor), reason
        session.add(entry)
        record(session, _actor_name(actor), "calendar.entry_removed",
               detail=f"entry {entry.id}: {day.isoformat()} {entry.kind.value} '{entry.name}'; "
                      f"reason: {reason}")
        session.commit()
        session.refresh(entry)
        return entry


def seed_work_calendar(ctx: AppContext) -> int:
    """Take the seed's entries into the database, each of a date that never had an entry; logged
    as one event. Idempotent; returns how many were taken in."""
    rows = calendar_seed_rows()
    with Session(ctx.engine) as session:
        if not _unknown(session, rows):
            return 0
        now = ctx.clock.now()
        _new_revision(session, now)
        new = _unknown(session, rows)  # again under the lock: another process may have seeded
        if not new:
            session.rollback()
            return 0
        for row in new:
            session.add(WorkCalendarEntry(day=date.fromisoformat(row["date"]), name=row["name"],
                                          kind=CalendarEntryKind(row["kind"]), decree=row["decree"],
                                          entered_by=SEED_ACTOR, entered_at=now))
        record(session, SEED_ACTOR, "calendar.seeded",
               detail=f"{len(new)} entries from {CALENDAR_SEED}: "
                      + ", ".join(f"{row['date']} {row['kind']}" for row in new))
        session.commit()
        return len(new)


def may_edit(viewer: Authority) -> bool:
    """Whether ``viewer`` may enter and remove entries (the page shows its forms to them only)."""
    return viewer.role in EDITORS


def parse_day(typed: str | date) -> date:
    """The date ``typed`` as YYYY-MM-DD, within 2000-2099; what a person typed wrong is a
    refusal in their language."""
    if isinstance(typed, date):
        day = typed
    else:
        text = (typed or "").strip()
        if not _DATE_FORM.match(text):
            raise UserError("calendar.bad_date_format", text=text)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise UserError("calendar.not_a_date", text=text) from None
    _check_year(day.year)
    return day


# --- inside ------------------------------------------------------------------------------------


def _new_revision(session: Session, now: datetime) -> None:
    """Give the calendar a new token in this transaction, holding its row to the end (a row lock
    on PostgreSQL, the write lock on SQLite): changes queue here, and every process computes the
    calendar again at its next look. The row is made by the first change."""
    for _attempt in range(2):
        moved = session.exec(
            update(WorkCalendarRevision).where(col(WorkCalendarRevision.id) == _REVISION_ID)
            .values(token=uuid4().hex, changed_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:
            return
        session.exec(_insert_unless_present(session).values(id=_REVISION_ID, token="", changed_at=now))
    raise RuntimeError("the calendar's revision row cannot be made")


def _insert_unless_present(session: Session):  # noqa: ANN202 - a dialect's Insert
    """INSERT ... ON CONFLICT DO NOTHING: two processes making the row at once make one."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(WorkCalendarRevision.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]


def _entry_on(session: Session, day: date) -> WorkCalendarEntry | None:
    return session.exec(
        select(WorkCalendarEntry).where(WorkCalendarEntry.day == day,
                                        col(WorkCalendarEntry.removed_at).is_(None))
    ).first()


def _unknown(session: Session, rows: tuple[dict[str, str], ...]) -> list[dict[str, str]]:
    """The seed rows of dates that never had an entry."""
    known = set(session.exec(select(WorkCalendarEntry.day)).all())
    return [row for row in rows if date.fromisoformat(row["date"]) not in known]


def _national_holiday(day: date) -> str | None:
    """The package's name of the national holiday on ``day`` (Indonesian), if there is one."""
    return next((holiday.name for holiday in national_holidays(day.year) if holiday.day == day), None)


def _require(actor: Authority | None, roles: tuple[Role, ...]) -> None:
    if actor is not None:
        require_role(actor, *roles)


def _actor_name(actor: Authority | None) -> str:
    return actor.username if actor is not None else CLI_ACTOR


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UserError("calendar.year_out_of_range", year=year, first=FIRST_YEAR, last=LAST_YEAR)


def _text(typed: str, empty_key: str, long_key: str, limit: int) -> str:
    text = " ".join((typed or "").split())  # one line: it is shown in tables and the log
    if not text:
        raise UserError(empty_key)
    if len(text) > limit:
        raise UserError(long_key, limit=limit)
    return text
