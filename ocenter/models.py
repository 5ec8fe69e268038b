"""Database tables (SQLModel): units, users, dashboard grants, logins, dashboard requests, data
submissions, evaluations, the working-day calendar's entries, events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ocenter.accounts.levels import Level, Role, ScopeKind


def utcnow() -> datetime:
    """Now, in UTC, with its time zone (SQLModel stores datetimes as UTC)."""
    return datetime.now(UTC)


class UnitKind(StrEnum):
    """What kind of organisation a unit is."""

    PUSAT = "pusat"  # a central work unit (Unit Kerja Pusat)
    PUSDATIN = "pusdatin"  # the data and information centre that runs the procedure
    UPT = "upt"  # a regional technical unit
    KL = "kl"  # another ministry or agency (K/L)


class Unit(SQLModel, table=True):
    """A data sender or dashboard owner: a central unit, a UPT or another agency."""

    code: str = Field(primary_key=True, description="Unit code, e.g. PPPOMN or UPT-3101.")
    name: str = Field(description="Official name of the unit.")
    kind: UnitKind = Field(description="Central unit, Pusdatin, UPT or external agency.")
    province_code: str | None = Field(default=None, description="Province (BPS code) of a UPT.")


class User(SQLModel, table=True):
    """A person (or the wall screen) that logs in, with their authority."""

    username: str = Field(primary_key=True, description="Login name, lower-case.")
    name: str = Field(description="Full name shown in the app and in Git history.")
    email: str = Field(default="", description="Work e-mail address.")
    password_hash: str = Field(description="bcrypt hash of the password.")
    role: Role = Field(description="Role in the procedure; decides the pages.")
    unit_code: str | None = Field(default=None, foreign_key="unit.code", description="Own unit.")
    clearance: Level = Field(description="Highest confidentiality level the user may see.")
    scope: ScopeKind = Field(description="How much of BPOM the user's authority covers.")
    active: bool = Field(default=True, description="Inactive users cannot log in.")
    is_demo: bool = Field(default=False, description="Made by demo mode; refused in production.")
    language: str | None = Field(
        default=None, description="Language the user reads the app in ('id' or 'en'), as they last "
                                  "chose it; None until they choose (Bahasa Indonesia).")


class DashboardGrant(SQLModel, table=True):
    """One named dashboard granted to one user beyond their scope: the SOP's "pihak-pihak yang
    diberikan otoritasi" (authorised parties). It says why, who granted it and until when; it
    counts on the days before ``expires_on`` (in Jakarta) unless revoked, and then simply stops
    counting. Rows are never deleted: an ended grant is the record of who could see what."""

    id: int | None = Field(default=None, primary_key=True, description="Grant number.")
    username: str = Field(foreign_key="user.username", index=True, description="Who receives it.")
    dashboard_id: str = Field(description="Id of the approved dashboard (on main) it opens.")
    reason: str = Field(sa_column=Column(Text), description="Why, in the granter's words (plain text).")
    granted_by: str = Field(description="Administrator or Pusdatin analyst who granted it, or 'cli'.")
    granted_at: datetime = Field(default_factory=utcnow, description="When it was granted (UTC).")
    expires_on: date = Field(
        description="The day it ends (Jakarta): it counts on the days before, not on this one."
    )
    revoked_at: datetime | None = Field(default=None, description="When it was revoked (UTC).")
    revoked_by: str | None = Field(default=None, description="Who revoked it, or 'cli'.")
    revoke_reason: str | None = Field(
        default=None, sa_column=Column(Text), description="Why it was revoked (plain text)."
    )


class WallSlot(SQLModel, table=True):
    """One dashboard in a wall screen's playlist: Pusdatin decides which approved dashboards each
    screen of the Operational Center shows, in what order and for how long."""

    id: int | None = Field(default=None, primary_key=True, description="Slot number.")
    screen: str = Field(foreign_key="user.username", index=True,
                        description="The wall screen's account (role layar).")
    position: int = Field(description="Place in the playlist, from 1.")
    dashboard_id: str = Field(description="Id of the approved dashboard on display (on main).")
    seconds: int = Field(description="How long it stays on the screen each round.")
    set_by: str = Field(description="Pusdatin analyst who set the playlist.")
    set_at: datetime = Field(default_factory=utcnow, description="When the playlist was set (UTC).")


class LoginThrottle(SQLModel, table=True):
    """Failed logins in a row for one name typed at the login form or for one client (an
    address, or a browser session where no address is known). Kept in the database so that
    every replica of the app counts the same failures. A name that is no user is counted the
    same way, so a lockout says nothing about whether the name exists."""

    key: str = Field(primary_key=True, description="'user:<name as typed, lower-case>' or "
                     "'client:<address or browser session>'.")
    failures: int = Field(default=0, description="Failed password checks in a row; a login resets it.")
    last_failure_at: datetime | None = Field(default=None, description="When the last one was (UTC).")
    not_before: datetime | None = Field(
        default=None, description="No password is checked for this key before then (UTC): the "
        "delay that grows with each failure.")
    locked_at: datetime | None = Field(
        default=None, description="A name: locked since then until an administrator unlocks it.")
    locked_until: datetime | None = Field(
        default=None, description="A client: refused until then (UTC); it unlocks by itself.")


class LoginSession(SQLModel, table=True):
    """One login, from the password to logout: every page run checks it, so ending it here
    ends it at once wherever its id is held (the browser's cookie, a copy of it, a page)."""

    id_sha256: str = Field(primary_key=True, description="SHA-256 (hex) of the session id; the "
                           "id itself is only in the signed cookie and the page's session.")
    username: str = Field(foreign_key="user.username", index=True, description="Who logged in.")
    client: str = Field(default="", description="The client it was opened from, as throttling names it.")
    created_at: datetime = Field(default_factory=utcnow, description="When the password was checked.")
    last_seen_at: datetime = Field(default_factory=utcnow, description="Last page run (UTC, to the minute).")
    ended_at: datetime | None = Field(default=None, description="When it ended; None while open.")
    end_reason: str = Field(default="", description="logout, deactivated, idle or not_allowed.")


class RequestStatus(StrEnum):
    """Where a dashboard request stands in the procedure."""

    REQUESTED = "requested"  # form filed, data being sent and verified (steps 1-3)
    MOCKUP = "mockup"  # Pusdatin is making the mock-up (step 4)
    IN_REVIEW = "in_review"  # the unit is reviewing the mock-up (step 5)
    CHANGES_REQUESTED = "changes_requested"  # the unit asked for changes; step 4 starts again
    APPROVED = "approved"  # merged into main; Pusdatin builds it (step 6)
    BUILT = "built"  # built; default data to classify (step 7)
    CLASSIFIED = "classified"  # defaults set; to be shown (step 8)
    DISPLAYED = "displayed"  # on the Operational Center display; monitoring (step 9)
    EVALUATED = "evaluated"  # evaluated, letter sent; the unit receives it (step 10)
    RECEIVED = "received"  # the unit received the letter: the procedure is complete


class DashboardRequest(SQLModel, table=True):
    """A *Formulir Permintaan Dashboard*: a unit's request for an Operational Center dashboard."""

    id: int | None = Field(default=None, primary_key=True, description="Request number.")
    title: str = Field(description="Working title of the dashboard.")
    purpose: str = Field(sa_column=Column(Text), description="What the unit needs to see and why.")
    requesting_unit: str = Field(foreign_key="unit.code", index=True, description="Unit that asks for it.")
    requested_by: str = Field(foreign_key="user.username", description="Who filed the form.")
    datasets: list[str] = Field(
        default_factory=list, sa_column=Column(JSON), description="Dataset ids it will show."
    )
    level: Level = Field(description="Confidentiality level the unit proposes for the dashboard.")
    audience: list[str] = Field(
        default_factory=list, sa_column=Column(JSON),
        description="Tiers of stakeholders it is meant for (``Tier`` values; requests filed before "
        "tiers hold older words, read by ``accounts.levels.audience_tiers``).",
    )
    dashboard_id: str = Field(description="Id of the dashboard spec, generated from the request.")
    status: RequestStatus = Field(default=RequestStatus.REQUESTED, index=True, description="Current step.")
    created_at: datetime = Field(default_factory=utcnow, description="When the form was filed.")
    step_started_at: datetime = Field(
        default_factory=utcnow, description="When the current step's clock started (UTC)."
    )
    review_rounds: int = Field(default=0, description="How often the unit asked for changes.")
    no_new_data_reason: str | None = Field(
        default=None, sa_column=Column(Text),
        description="Pusdatin's statement that the request needs no new data (the data it shows "
                    "is accepted already), in the analyst's words; None while not stated. With it "
                    "the mock-up may start without data sent for this request.")
    no_new_data_by: str | None = Field(default=None, description="Pusdatin analyst who stated it.")
    no_new_data_at: datetime | None = Field(default=None, description="When it was stated (UTC).")


class SubmissionStatus(StrEnum):
    """Where a data submission stands (steps 1-3)."""

    SENT = "sent"  # step 1 done, waiting for Pusdatin to receive it
    RECEIVED = "received"  # step 2 done, waiting for verification
    VERIFIED = "verified"  # step 3: accepted, stored as a new dataset version
    RETURNED = "returned"  # step 3: did not conform, returned to the sender with reasons


class Submission(SQLModel, table=True):
    """One data file sent to the Operational Center by a unit, a UPT or another agency."""

    id: int | None = Field(default=None, primary_key=True, description="Submission number.")
    dataset_id: str = Field(description="Id of the data contract the sender says it follows.")
    request_id: int | None = Field(
        default=None, foreign_key="dashboardrequest.id", description="Request it serves, if any."
    )
    unit_code: str = Field(foreign_key="unit.code", index=True, description="Sending unit.")
    submitted_by: str = Field(foreign_key="user.username", description="Who sent it.")
    level: Level = Field(description="Confidentiality level the sender classified it with.")
    original_name: str = Field(description="File name as uploaded; shown only, never used as a path.")
    upload_sha256: str = Field(index=True, description="SHA-256 of the uploaded bytes.")
    upload_suffix: str = Field(description="'.csv', '.xlsx', '.xls', '.ods' or '.xlsb' (our own allow-list).")
    size_bytes: int = Field(description="Size of the upload.")
    rows: int | None = Field(default=None, description="Data rows found when it was checked.")
    status: SubmissionStatus = Field(default=SubmissionStatus.SENT, index=True, description="Current step.")
    submitted_at: datetime = Field(default_factory=utcnow, description="When it was sent (UTC).")
    received_by: str | None = Field(default=None, description="Pusdatin user who received it.")
    received_at: datetime | None = Field(default=None, description="When it was received.")
    verified_by: str | None = Field(default=None, description="Pusdatin user who decided.")
    verified_at: datetime | None = Field(default=None, description="When it was decided.")
    checks_passed: bool | None = Field(default=None, description="Result of the contract checks.")
    report_json: str | None = Field(
        default=None, sa_column=Column(Text), description="The verification report (JSON)."
    )
    decision_note: str = Field(default="", sa_column=Column(Text), description="Verifier's reasons.")
    # No foreign key: a column added to an older database gets none either (checked on submit).
    resubmits_id: int | None = Field(
        default=None, index=True,
        description="The returned submission (its number) this one corrects; accepted, it "
                    "closes that one.")


class DatasetVersion(SQLModel, table=True):
    """An accepted version of a dataset, stored once as Parquet addressed by its SHA-256."""

    id: int | None = Field(default=None, primary_key=True, description="Version number.")
    dataset_id: str = Field(index=True, description="Data contract id.")
    sha256: str = Field(description="SHA-256 of the original upload.")
    rows: int = Field(description="Number of data rows.")
    submission_id: int = Field(foreign_key="submission.id", description="Submission it came from.")
    accepted_at: datetime = Field(default_factory=utcnow, description="When it was accepted.")
    file_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the stored Parquet file's bytes, checked whenever it is read; "
        "None only for versions accepted before files were sealed.",
    )


class PartitionAction(StrEnum):
    """How a partition got its current content."""

    ACCEPTED = "accepted"  # a verified file holding rows of the partition was accepted
    DECLARED_EMPTY = "declared_empty"  # the sender stated it has nothing to report for the period
    RESTORED = "restored"  # Pusdatin went back to an earlier version of the partition


class PartitionVersion(SQLModel, table=True):
    """One version of one partition of a dataset (a sender, and a month when the contract names a
    period field). Rows are only ever added: the newest row of each partition is what dashboards
    show, and the older ones are the partition's history."""

    id: int | None = Field(default=None, primary_key=True, description="Order of the decisions.")
    dataset_id: str = Field(index=True, description="Data contract id.")
    sender: str = Field(description="Sender code of the partition; empty when not partitioned.")
    period: str = Field(description="Month of the partition, YYYY-MM; empty when it has none.")
    sha256: str | None = Field(
        default=None, description="Accepted dataset version holding the rows; None when emptied."
    )
    rows: int = Field(description="Rows of the partition in this version.")
    action: PartitionAction = Field(description="What made this version.")
    submission_id: int | None = Field(
        default=None, foreign_key="submission.id", description="Submission it came from, if any."
    )
    decided_by: str = Field(description="Pusdatin user who accepted or restored it.")
    decided_at: datetime = Field(default_factory=utcnow, description="When (UTC).")
    note: str = Field(default="", sa_column=Column(Text), description="Reason given, if any.")


class IntegratedDataset(SQLModel, table=True):
    """What dashboards read for one dataset: the union of the newest version of every partition,
    built once per change into one Parquet file (so a dashboard reads one file)."""

    id: int | None = Field(default=None, primary_key=True, description="Build number.")
    dataset_id: str = Field(index=True, description="Data contract id.")
    sha256: str = Field(description="Address of the built file: SHA-256 of its partition list.")
    rows: int = Field(description="Rows of the integrated dataset.")
    partitions: int = Field(description="Partitions with rows.")
    built_at: datetime = Field(default_factory=utcnow, description="When it was built (UTC).")
    newest_at: datetime = Field(description="When its newest partition version was decided (UTC).")
    file_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the bytes of the Parquet file dashboards read, checked whenever "
        "it is read; None only for builds made before files were sealed.",
    )


class EmptyDeclaration(SQLModel, table=True):
    """A sender's statement sent with a file without data rows: nothing to report for a month."""

    submission_id: int = Field(primary_key=True, foreign_key="submission.id", description="Submission.")
    period: str = Field(description="The month with nothing to report, YYYY-MM.")


class MainDecision(SQLModel, table=True):
    """A decision whose record is a commit on main (an approval merge, step 5, or a commit of steps
    6-8), as the database took it in. Main is the truth for these steps: the use case that made
    the commit takes it in within the same transaction as the request's new status, and a commit
    not yet here (its use case was interrupted after main moved) is taken in from the commit's
    trailers on the next run. One row per commit, so each is taken in once."""

    id: int | None = Field(default=None, primary_key=True, description="Order of taking in.")
    commit: str = Field(unique=True, description="The commit on main recording the decision.")
    request_id: int = Field(
        index=True, foreign_key="dashboardrequest.id", description="Request decided."
    )
    step: int = Field(description="SOP step: 5 approval, 6 build, 7 classification, 8 display.")
    decided_by: str = Field(description="Username: Approved-by, or the author of a step commit.")
    decided_at: datetime = Field(description="When (UTC): the commit's Decided-at trailer.")
    reviewed_commit: str | None = Field(
        default=None, description="For an approval, the mock-up commit the reviewer approved."
    )


class ReviewComment(SQLModel, table=True):
    """What the requesting unit said about a mock-up revision (step 5)."""

    id: int | None = Field(default=None, primary_key=True, description="Comment number.")
    request_id: int = Field(foreign_key="dashboardrequest.id", index=True, description="Request reviewed.")
    author: str = Field(foreign_key="user.username", description="Reviewer.")
    commit: str = Field(description="Mock-up commit the comment is about.")
    text: str = Field(sa_column=Column(Text), description="The requested changes.")
    at: datetime = Field(default_factory=utcnow, description="When it was written.")


class ClockWait(StrEnum):
    """On whom a step's paused clock waits: the working days of the pause are not the step's."""

    SENDER = "sender"  # data returned to its sender for fixing (step 3)
    UNIT = "unit"  # the mock-up is with the requesting unit for review (step 4)


class StepInterval(SQLModel, table=True):
    """One stretch of one step's clock for a request: from the event that started or resumed it
    to the one that paused or ended it. Rows are only added and closed, never removed, so each
    step's working days can be measured afterwards. At most one interval of a request is open."""

    __table_args__ = (
        # One open clock per request: a second process opening one at the same moment fails.
        Index("ix_stepinterval_one_open", "request_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True, description="Order of the intervals.")
    request_id: int = Field(foreign_key="dashboardrequest.id", index=True,
                            description="Request the clock belongs to.")
    step: int = Field(description="SOP step whose clock this is (2, 3, 4, 6, 7, 8, 9 or 10).")
    waiting_on: ClockWait | None = Field(
        default=None, description="None while the step's clock runs; the party it waits on while "
                                  "it is paused (those days are not counted).")
    restarts: bool = Field(
        default=True, description="True when the step's clock starts from zero here (a new step, "
                                  "or step 6 after the unit adjusted the mock-up); False when it "
                                  "resumes after a pause, carrying the days used before.")
    carried_hk: int = Field(default=0, description="Working days the step's clock had used before "
                                                   "this interval (0 when it restarts).")
    started_at: datetime = Field(description="When the interval began (UTC).")
    started_by: str = Field(description="Who made the event that began it: a username, or "
                                        "'system' for a clock opened for an older database.")
    start_event: str = Field(description="Action code of that event, e.g. 'data.verified'.")
    ended_at: datetime | None = Field(default=None, description="When it ended (UTC); None while open.")
    ended_by: str | None = Field(default=None, description="Who made the event that ended it.")
    end_event: str | None = Field(default=None, description="Action code of that event.")
    used_hk: int | None = Field(
        default=None, description="Working days the interval lasted, counted when it ended (on "
                                  "the calendar of that day); for a pause, the days paused.")


class Evaluation(SQLModel, table=True):
    """Step 9 and 10: monitoring notes, the letter to the unit, and the unit's receipt."""

    id: int | None = Field(default=None, primary_key=True, description="Evaluation number.")
    request_id: int = Field(foreign_key="dashboardrequest.id", index=True, description="Request evaluated.")
    notes: str = Field(sa_column=Column(Text), description="Findings of monitoring and evaluation.")
    letter_number: str = Field(description="Number of the surat penyampaian informasi.")
    letter_text: str = Field(sa_column=Column(Text), description="Full text of the letter.")
    evaluated_by: str = Field(foreign_key="user.username", description="Pusdatin evaluator.")
    evaluated_at: datetime = Field(default_factory=utcnow, description="When it was evaluated.")
    acknowledged_by: str | None = Field(default=None, description="Unit user who received it.")
    acknowledged_at: datetime | None = Field(default=None, description="When it was received.")
    acknowledgement_note: str = Field(default="", description="The unit's reply, if any.")


class Letter(SQLModel, table=True):
    """The surat penyampaian informasi of an evaluation as it was sent: its number's parts and its
    PDF, made once when the letter was issued (``procedure.letters``), so a later change of the
    configured signatory or wording never alters a letter already sent. The letter's plain text
    and full number stay on its ``Evaluation`` (``letter_text``, ``letter_number``)."""

    __table_args__ = (UniqueConstraint("year", "sequence", name="uq_letter_year_sequence"),)

    evaluation_id: int = Field(foreign_key="evaluation.id", primary_key=True,
                               description="The evaluation the letter reports.")
    year: int = Field(description="Calendar year (Jakarta) of the letter's date; numbers restart "
                                  "each year.")
    sequence: int = Field(description="Its number within the year, from 1; unique with the year.")
    letter_date: date = Field(description="The date printed on the letter (Jakarta).")
    signatory_name: str = Field(description="Who signed it: the head of Pusdatin when issued.")
    signatory_nip: str = Field(default="", description="The signatory's NIP, as printed.")
    signatory_title: str = Field(description="The signatory's position, as printed.")
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False),
                       description="The letter as sent: an A4 PDF.")
    pdf_sha256: str = Field(description="SHA-256 of ``pdf`` in hex, to show it is unchanged.")


class NotificationKind(StrEnum):
    """Why a notification was made (``procedure.reminders``)."""

    REMINDER = "reminder"  # the step's due day is the next working day
    ESCALATION = "escalation"  # the step is past its due day


class Notification(SQLModel, table=True):
    """A reminder or an escalation made for one person about one step's clock. One per person,
    kind, request, step and due day: running the reminders twice makes nothing twice."""

    __table_args__ = (UniqueConstraint("recipient", "kind", "request_id", "step", "due_day",
                                       name="uq_notification_once"),)

    id: int | None = Field(default=None, primary_key=True, description="Order of making.")
    recipient: str = Field(foreign_key="user.username", index=True, description="Who it is for.")
    kind: NotificationKind = Field(description="Reminder (due next working day) or escalation.")
    request_id: int = Field(foreign_key="dashboardrequest.id", index=True,
                            description="The request whose step it is about.")
    step: int = Field(description="SOP step of the clock.")
    due_day: date = Field(description="The step's due day when it was made.")
    created_at: datetime = Field(default_factory=utcnow, description="When it was made (UTC).")
    emailed_at: datetime | None = Field(
        default=None, description="When it was sent by e-mail (UTC); None: not (yet) e-mailed.")
    email_attempts: int = Field(default=0, description="How often sending it by e-mail was tried.")
    email_error: str | None = Field(
        default=None, description="Why the last e-mail attempt failed; None when none failed.")


class LetterSequence(SQLModel, table=True):
    """The last letter number given in each year: one row per year, raised by one in the
    transaction that issues a letter, so two letters issued at once wait for each other on this
    row instead of both reading the same highest number."""

    year: int = Field(primary_key=True, description="Calendar year (Jakarta).")
    last: int = Field(default=0, description="The highest sequence given in that year.")


class ContractChangeStatus(StrEnum):
    """Where a proposed change to a data contract stands."""

    PROPOSED = "proposed"  # waiting for the owner unit's and Pusdatin's approvals
    MERGED = "merged"  # both approved; merged into main


class ContractChange(SQLModel, table=True):
    """A change to a data contract, proposed by Pusdatin on its own branch of the spec store and
    merged only after the dataset's owner unit and Pusdatin both approved it, neither being the
    proposer. The branch is ``contract/<dataset_id>-<id>``; approvals name ``head_commit``."""

    id: int | None = Field(default=None, primary_key=True, description="Change number.")
    dataset_id: str = Field(index=True, description="Data contract changed.")
    owner_unit: str = Field(description="Unit owning the dataset when proposed; it approves.")
    proposed_by: str = Field(foreign_key="user.username", description="Pusdatin user proposing.")
    proposed_at: datetime = Field(default_factory=utcnow, description="When it was proposed.")
    reason: str = Field(sa_column=Column(Text), description="Why, in the proposer's words.")
    base_commit: str = Field(default="", description="main's commit the proposal was made on.")
    head_commit: str = Field(default="", description="The proposal's commit, the one approved.")
    lowers_level: bool = Field(default=False, description="It lowers a dataset or field level.")
    summary: str = Field(
        default="", sa_column=Column(Text), description="What it changes, for the log (English)."
    )
    owner_approved_by: str | None = Field(default=None, description="Owner unit's approver.")
    owner_approved_at: datetime | None = Field(default=None, description="When (UTC).")
    pusdatin_approved_by: str | None = Field(default=None, description="Pusdatin's approver.")
    pusdatin_approved_at: datetime | None = Field(default=None, description="When (UTC).")
    status: ContractChangeStatus = Field(
        default=ContractChangeStatus.PROPOSED, description="Proposed or merged."
    )
    merge_commit: str | None = Field(default=None, description="Merge commit on main, once merged.")


class CalendarEntryKind(StrEnum):
    """What an entry of the working-day calendar does to its date."""

    CUTI_BERSAMA = "cuti_bersama"  # the government's collective leave, set by the SKB 3 Menteri
    EXTRA_HOLIDAY = "extra_holiday"  # a holiday the holidays package lacks (a correction)
    WORKING_DAY = "working_day"  # a package holiday that is a working day after all (a correction)


class WorkCalendarEntry(SQLModel, table=True):
    """A day the installation's calendar adds to or takes from the national holidays of the
    ``holidays`` package: a cuti bersama, or a correction, each with the decree it comes from.
    Rows are never deleted: a removed entry keeps who removed it, when and why, and stops counting."""

    id: int | None = Field(default=None, primary_key=True, description="Entry number.")
    day: date = Field(index=True, description="The date it concerns (a day in Jakarta).")
    name: str = Field(description="What the day is, as the decree names it.",
                      schema_extra={"examples": ["Cuti Bersama Idul Fitri 1448 Hijriah"]})
    kind: CalendarEntryKind = Field(description="Cuti bersama, an extra holiday, or a working day.")
    decree: str = Field(sa_column=Column(Text), description="The decree it comes from.",
                        schema_extra={"examples": ["SKB 3 Menteri No. 1205 Tahun 2026, No. 3 Tahun "
                                                   "2026, No. 2 Tahun 2026"]})
    entered_by: str = Field(description="Administrator who entered it, 'cli', or 'system' for the "
                                        "seed shipped in ocenter/reference/hari_libur.csv.")
    entered_at: datetime = Field(default_factory=utcnow, description="When it was entered (UTC).")
    removed_at: datetime | None = Field(default=None, description="When it was removed (UTC); "
                                        "None while it counts.")
    removed_by: str | None = Field(default=None, description="Who removed it, or 'cli'.")
    remove_reason: str | None = Field(
        default=None, sa_column=Column(Text), description="Why it was removed (plain text)."
    )


class WorkCalendarRevision(SQLModel, table=True):
    """One row that every change to the calendar's entries rewrites, in the same transaction: the
    key under which each process keeps the calendar it computed, and the lock that queues two
    administrators changing the calendar at once."""

    id: int = Field(default=1, primary_key=True, description="Always 1.")
    token: str = Field(description="Random hex, new at every change of the entries.")
    changed_at: datetime = Field(default_factory=utcnow, description="When they last changed (UTC).")


class Event(SQLModel, table=True):
    """One entry of the append-only log of every step: who did what, when, with what outcome."""

    id: int | None = Field(default=None, primary_key=True, description="Event number.")
    at: datetime = Field(default_factory=utcnow, index=True, description="When it happened (UTC).")
    actor: str = Field(description="Username, or 'system'.")
    step: int | None = Field(default=None, description="SOP step 1-10, if it belongs to one.")
    action: str = Field(description="What happened, a stable word such as 'data.submitted'.")
    request_id: int | None = Field(default=None, index=True, description="Request concerned.")
    submission_id: int | None = Field(default=None, description="Submission concerned.")
    outcome: str = Field(default="ok", description="ok, refused, returned, approved ...")
    detail: str = Field(default="", sa_column=Column(Text), description="Free detail (English).")
    chain_seq: int | None = Field(
        default=None, description="Position in the hash chain, 1 for its first entry; None for an "
        "entry written before the chain existed (those are sealed into its first entry).",
    )
    prev_hash: str | None = Field(
        default=None, description="entry_hash of the entry before (for the first chained entry: the "
        "seal of every earlier entry), hex SHA-256.",
    )
    entry_hash: str | None = Field(
        default=None, description="SHA-256 of this entry's canonical fields and prev_hash, hex.",
    )


class EventLogHead(SQLModel, table=True):
    """The newest entry of the event log's hash chain: one row, updated by every append. Locking it
    serialises appends (so concurrent writers still form one chain), and ``audit verify`` compares
    the end of the chain with it to notice entries removed from the end."""

    id: int = Field(default=1, primary_key=True, description="Always 1.")
    chain_seq: int = Field(default=0, description="Position of the newest chained entry; 0 = none yet.")
    entry_hash: str | None = Field(default=None, description="Its entry_hash.")
    event_id: int | None = Field(default=None, description="Its event id.")
