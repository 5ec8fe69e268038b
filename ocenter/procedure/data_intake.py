"""Steps 1-3: a unit sends data, Pusdatin receives it (1 HK) and verifies it (5 HK), or returns it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select, update

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, highest
from ocenter.context import AppContext
from ocenter.contracts.model import DataContract
from ocenter.errors import (
    Conflict,
    IntegrityError,
    NotFound,
    PermissionDenied,
    UserError,
    disk_full,
    is_disk_full,
)
from ocenter.events import record
from ocenter.intake.read import read_table
from ocenter.intake.stored import keep_table, read_upload
from ocenter.models import (
    DatasetVersion,
    EmptyDeclaration,
    IntegratedDataset,
    Submission,
    SubmissionStatus,
)
from ocenter.procedure.common import (
    PUSDATIN_ROLES,
    SENDER_ROLES,
    UPLOAD_SUFFIXES,
    _hold_request,
    checkpoint,
    contract_of,
    integrity_logged,
)
from ocenter.procedure.data_integration import check_declaration, integrate_accepted, sender_codes
from ocenter.procedure.decisions import decided_conflict, submission_decision
from ocenter.procedure.step_clocks import follow_data
from ocenter.procedure.work_calendar import calendar_of
from ocenter.procedure.workdays import StepClock, step_clock
from ocenter.storage import files_of
from ocenter.verification.datasets import DatasetVersionFile, sha256_of_file, store_dataset_version
from ocenter.verification.engine import verify_table
from ocenter.verification.failing_rows import export_failing_rows
from ocenter.verification.report import VerificationReport


def submit_data(
    ctx: AppContext,
    actor: Authority,
    *,
    dataset_id: str,
    level: Level,
    filename: str,
    content: bytes,
    request_id: int | None = None,
    nothing_to_report: str | None = None,
    resubmits: int | None = None,
) -> Submission:
    """Step 1: a unit, UPT or agency sends a data file classified by confidentiality level.

    The file must be readable now (a malformed upload is refused at once and nothing is kept);
    whether it conforms to the contract is decided in step 3. A file without data rows is
    refused, unless ``nothing_to_report`` names the month (YYYY-MM) for which the sender states it
    has nothing: accepted, it then empties exactly the sender's own part for that month.

    A level below the contract's is refused (the data is at least as confidential as its
    contract says), and so is a fix (``resubmits``) of anything but the sender's own returned
    submission of the same dataset; a fix serves the request the returned one served. Refused,
    nothing is stored.
    """
    require_role(actor, *SENDER_ROLES)
    contract = contract_of(ctx, dataset_id)
    if not level.allows(contract.level):
        raise UserError("procedure.level_below_contract", declared=level.value,
                        contract=contract.level.value, dataset=dataset_id)
    if resubmits is not None:
        request_id = _fixed_submission(ctx, actor, resubmits, dataset_id, request_id)
    if nothing_to_report is not None:
        check_declaration(contract, nothing_to_report)
    suffix = UPLOAD_SUFFIXES.get(Path(filename).suffix.lower())
    if suffix is None:
        raise UserError("procedure.upload_type", allowed=", ".join(UPLOAD_SUFFIXES))
    if len(content) > ctx.settings.max_upload_mb * 1024 * 1024:
        raise UserError("procedure.upload_too_large", limit=ctx.settings.max_upload_mb)
    # The sender's own file name, so a refusal names the file they chose.
    table = read_table(content, Path(filename).name, contract)
    if table.num_rows == 0 and nothing_to_report is None:
        raise UserError("procedure.no_rows")
    if table.num_rows > 0 and nothing_to_report is not None:
        raise UserError("procedure.declared_but_rows", rows=table.num_rows)
    digest = hashlib.sha256(content).hexdigest()
    stored = ctx.uploads_dir / f"{digest}{suffix}"
    with disk_full_as_message():
        _write_once(stored, content)
        keep_table(stored, contract, table)  # checking and failing rows read it, not the file
    # Killed from here on, the upload stays under its SHA-256, unreferenced: a retry of the
    # same file uses it as it is.
    checkpoint("submit.file_kept")
    with Session(ctx.engine) as session:
        if request_id is not None:
            _hold_request(session, request_id)
        submission = Submission(
            dataset_id=dataset_id,
            request_id=request_id,
            unit_code=actor.unit_code or "",
            submitted_by=actor.username,
            level=level,
            original_name=Path(filename).name[:200],
            upload_sha256=digest,
            upload_suffix=suffix,
            size_bytes=len(content),
            rows=table.num_rows,
            submitted_at=ctx.clock.now(),
            resubmits_id=resubmits,
        )
        session.add(submission)
        session.flush()
        if nothing_to_report is not None:
            session.add(EmptyDeclaration(submission_id=submission.id, period=nothing_to_report))
        detail = f"{dataset_id}, {table.num_rows} rows, {level}"
        if nothing_to_report is not None:
            detail += f", nothing to report for {nothing_to_report}"
        if resubmits is not None:
            detail += f", fixes submission {resubmits}"
        record(
            session, actor.username, "data.submitted", step=1, request_id=request_id,
            submission_id=submission.id, detail=detail,
        )
        follow_data(ctx, session, request_id, submission.submitted_at, actor.username,
                    "data.submitted")
        session.commit()
        session.refresh(submission)
        return submission


def _fixed_submission(
    ctx: AppContext, actor: Authority, returned_id: int, dataset_id: str, request_id: int | None
) -> int | None:
    """The request a fix of submission ``returned_id`` serves, once the fix is allowed: only
    the sender's own unit's returned submission of the same dataset, not fixed already."""
    with Session(ctx.engine) as session:
        returned = session.get(Submission, returned_id)
        if returned is None or returned.unit_code != (actor.unit_code or ""):
            raise NotFound("procedure.submission_missing", submission=returned_id)
        if returned.status != SubmissionStatus.RETURNED:
            raise Conflict("procedure.fix_not_returned", submission=returned_id)
        if returned.dataset_id != dataset_id:
            raise UserError("procedure.fix_other_dataset", submission=returned_id,
                            dataset=returned.dataset_id)
        if request_id is not None and request_id != returned.request_id:
            raise UserError("procedure.fix_other_request", submission=returned_id)
        if session.exec(select(Submission.id).where(
                Submission.resubmits_id == returned_id,
                Submission.status == SubmissionStatus.VERIFIED)).first() is not None:
            raise Conflict("procedure.fix_done", submission=returned_id)
        return returned.request_id


def needs_fixing_clause() -> ColumnElement[bool]:
    """SQL for the submissions returned to their sender whose fix is not accepted yet: an
    accepted fix closes the one it fixes."""
    fix = aliased(Submission)
    return and_(col(Submission.status) == SubmissionStatus.RETURNED,
                ~exists().where(fix.resubmits_id == Submission.id,
                                fix.status == SubmissionStatus.VERIFIED))


def fixes_of(ctx: AppContext, submission_ids: list[int]) -> dict[int, Submission]:
    """The newest fix sent for each of ``submission_ids`` that has one, by the id it fixes."""
    if not submission_ids:
        return {}
    with Session(ctx.engine) as session:
        fixes = session.exec(
            select(Submission).where(col(Submission.resubmits_id).in_(submission_ids))
            .order_by(col(Submission.id))
        ).all()
    return {fix.resubmits_id: fix for fix in fixes}


def _write_once(path: Path, content: bytes) -> None:
    """Keep ``content`` as ``path`` unless it is already there (content-addressed), in the
    folder and, when one is configured, in the shared bucket (``ocenter.storage``).

    Written under a name of its own (two senders of the same file write at once) and renamed
    into place whole; a write that fails, a full disk for one, leaves nothing behind."""
    files_of(path).put(path, content)


@contextmanager
def disk_full_as_message() -> Iterator[None]:
    """A file write that finds the disk full becomes the message that says so."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            raise disk_full() from error
        raise


def list_submissions(
    ctx: AppContext, actor: Authority, status: SubmissionStatus | None = None
) -> list[Submission]:
    """Submissions the actor may see: Pusdatin all, a sender its own unit's."""
    with Session(ctx.engine) as session:
        query = select(Submission).where(*submissions_seen_by(actor, status))
        return list(session.exec(query.order_by(col(Submission.id).desc())).all())


def submissions_seen_by(
    actor: Authority, status: SubmissionStatus | None = None, *, needs_fixing: bool = False
) -> list:
    """The SQL conditions of the submissions ``actor`` may see (Pusdatin all, a sender its own
    unit's), with ``status`` if given, and only those still to fix if ``needs_fixing``."""
    where = [] if actor.role in PUSDATIN_ROLES else [col(Submission.unit_code) == (actor.unit_code or "")]
    if status is not None:
        where.append(col(Submission.status) == status)
    if needs_fixing:
        where.append(needs_fixing_clause())
    return where


def receive_submission(ctx: AppContext, actor: Authority, submission_id: int) -> Submission:
    """Step 2: Pusdatin receives a submission into its inbox."""
    require_role(actor, *PUSDATIN_ROLES)
    with Session(ctx.engine) as session:
        received = session.exec(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status == SubmissionStatus.SENT)
            .values(status=SubmissionStatus.RECEIVED, received_by=actor.username,
                    received_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )
        submission = _submission(session, submission_id)
        if received.rowcount != 1:
            return _decided_already(session, submission, actor, "decided.data_received")
        record(session, actor.username, "data.received", step=2, request_id=submission.request_id,
               submission_id=submission_id)
        if submission.request_id is not None:
            _hold_request(session, submission.request_id)
            follow_data(ctx, session, submission.request_id, submission.received_at,
                        actor.username, "data.received")
        session.commit()
        session.refresh(submission)
        return submission


def submission_clock(ctx: AppContext, submission: Submission) -> StepClock | None:
    """How the submission stands today against its step's time standard: receiving (step 2,
    1 HK from when it was sent) or verifying (step 3, 5 HK from when it was received); None once
    it is accepted or returned."""
    if submission.status == SubmissionStatus.SENT:
        return step_clock(2, submission.submitted_at, ctx.clock.today(), calendar_of(ctx))
    if submission.status == SubmissionStatus.RECEIVED and submission.received_at is not None:
        return step_clock(3, submission.received_at, ctx.clock.today(), calendar_of(ctx))
    return None


def _submission(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id, populate_existing=True)
    if submission is None:
        raise NotFound("procedure.submission_missing", submission=submission_id)
    return submission


def _decided_already(
    session: Session, submission: Submission, actor: Authority, key: str, note: str | None = None
) -> Submission:
    """The submission moved on before this decision: the same person's same decision comes back
    as already done; anyone else is told who decided what."""
    decided = submission_decision(submission)
    if decided is None or (decided.key == "decided.data_received" and key != decided.key):
        raise Conflict("procedure.submission_status", submission=submission.id,
                       status=submission.status.value)
    if decided.key == key and decided.username == actor.username and (
        note is None or decided.text == note
    ):
        return submission
    raise decided_conflict(session, decided, submission=submission.id)


def upload_path(ctx: AppContext, submission: Submission) -> Path:
    """Where the submission's original bytes are kept on this machine: fetched first from the
    shared bucket when another replica received them (the path does not exist when they are
    nowhere). Whoever reads them checks them against ``upload_sha256``."""
    path = ctx.uploads_dir / f"{submission.upload_sha256}{submission.upload_suffix}"
    files_of(path).fetch(path)
    return path


def check_submission(
    ctx: AppContext,
    actor: Authority,
    submission_id: int,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Step 3, first half: run every contract check on the received data and keep the report.
    An upload that is no longer the file sent is refused (``IntegrityError``) and logged."""
    require_role(actor, Role.VERIFIKATOR)
    with integrity_logged(ctx, actor.username, step=3, submission_id=submission_id), \
            Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.RECEIVED:
            raise Conflict("procedure.submission_status", submission=submission_id,
                           status=submission.status.value)
        contract = contract_of(ctx, submission.dataset_id)
        path = upload_path(ctx, submission)
        found = sha256_of_file(path)
        if found != submission.upload_sha256:
            files_of(path).forget_cached(path)
            raise IntegrityError("procedure.upload_changed", submission=submission.id,
                                 expected=submission.upload_sha256, found=found)
        table = read_upload(path, contract)
        declared = session.get(EmptyDeclaration, submission_id) is not None
        report = verify_table(contract, table, today=ctx.clock.today(), progress=progress,
                              sender_codes=sender_codes(session, submission.unit_code),
                              require_rows=not declared)
        # Kept only while nobody has decided on the submission meanwhile.
        kept = session.exec(
            update(Submission)
            .where(Submission.id == submission_id,
                   Submission.status == SubmissionStatus.RECEIVED)
            .values(checks_passed=report.valid, rows=report.rows,
                    report_json=report.model_dump_json())
            .execution_options(synchronize_session=False)
        )
        if kept.rowcount != 1:
            submission = _submission(session, submission_id)
            decided = submission_decision(submission)
            if decided is None:
                raise Conflict("procedure.submission_status", submission=submission_id,
                               status=submission.status.value)
            raise decided_conflict(session, decided, submission=submission_id)
        record(session, actor.username, "data.checked", step=3, request_id=submission.request_id,
               submission_id=submission_id, outcome="valid" if report.valid else "invalid",
               detail=f"{len(report.errors)} failing cells")
        session.commit()
        return report


def stored_report(submission: Submission) -> VerificationReport | None:
    """The verification report kept with a submission, if it was checked, as it was written:
    show a person ``report_for`` instead."""
    if not submission.report_json:
        return None
    return VerificationReport.model_validate_json(submission.report_json)


def submission_level(contract: DataContract, submission: Submission) -> Level:
    """How confidential a submission's data is as a whole: the higher of the level its sender
    declared and its contract's."""
    return highest([submission.level, contract.level])


def report_for(ctx: AppContext, actor: Authority, submission: Submission) -> VerificationReport | None:
    """The submission's report as ``actor`` may read it: every value quoted from the file above
    their clearance (by its field's and the dataset's level) reads ``***``."""
    report = stored_report(submission)
    if report is None:
        return None
    contract = contract_of(ctx, submission.dataset_id)
    return report.masked_for(actor.clearance, submission_level(contract, submission))


def decide_submission(
    ctx: AppContext, actor: Authority, submission_id: int, *, accept: bool, note: str
) -> Submission:
    """Step 3, second half: the verifier accepts the data (stored as a new dataset version) or
    returns it to the sender with reasons. Data that failed the checks cannot be accepted, and
    nothing that is returned replaces data already shown.

    What is accepted is exactly what was sent: the upload is read again and its SHA-256 compared
    with the one recorded at submission; a stored file met on the way (an earlier build, a
    version) is checked against its recorded digest. Either mismatch refuses the acceptance
    (``IntegrityError``), changes nothing, and is logged.

    One decision wins: the decision is written first, as a conditional UPDATE from "received",
    and the dataset version, its partitions and the integrated build follow in the same
    transaction. A second verifier deciding at the same time is told who decided what; the same
    verifier sending the same decision again gets the submission back, as already done."""
    require_role(actor, Role.VERIFIKATOR)
    note = note.strip()
    verdict = "decided.data_accepted" if accept else "decided.data_returned"
    with integrity_logged(ctx, actor.username, step=3, submission_id=submission_id), \
            Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.RECEIVED or submission.checks_passed is None:
            return _decided_already(session, submission, actor, verdict, note)
        if accept and not submission.checks_passed:
            raise UserError("procedure.cannot_accept_invalid")
        if not accept and not note:
            raise UserError("procedure.return_needs_reason")
        decided_at = ctx.clock.now()
        conditions = [Submission.id == submission_id,
                      Submission.status == SubmissionStatus.RECEIVED,
                      col(Submission.checks_passed).is_not(None)]
        if accept:
            conditions.append(col(Submission.checks_passed).is_(True))
        checkpoint("decide.deciding")
        decided = session.exec(
            update(Submission)
            .where(*conditions)
            .values(status=SubmissionStatus.VERIFIED if accept else SubmissionStatus.RETURNED,
                    verified_by=actor.username, verified_at=decided_at, decision_note=note)
            .execution_options(synchronize_session=False)
        )
        submission = _submission(session, submission_id)
        if decided.rowcount != 1:
            session.rollback()
            return _decided_already(session, _submission(session, submission_id), actor,
                                    verdict, note)
        checkpoint("decide.held")
        if accept:
            with disk_full_as_message():
                contract = contract_of(ctx, submission.dataset_id)
                original = _upload_as_sent(ctx, submission)
                table = read_table(original, submission.upload_suffix, contract)
                stored = store_dataset_version(
                    ctx.home, contract, table, original, f"upload{submission.upload_suffix}"
                )
                _check_known_version(session, stored)
                checkpoint("decide.files_kept")
                session.add(
                    DatasetVersion(
                        dataset_id=submission.dataset_id,
                        sha256=stored.sha256,
                        rows=stored.rows,
                        submission_id=submission_id,
                        accepted_at=decided_at,
                        file_sha256=stored.file_sha256,
                    )
                )
                integrate_accepted(ctx, session, contract, submission, stored.sha256,
                                   actor.username)
        record(session, actor.username, "data.verified" if accept else "data.returned", step=3,
               request_id=submission.request_id, submission_id=submission_id,
               outcome="accepted" if accept else "returned", detail=note[:500])
        if submission.request_id is not None:
            _hold_request(session, submission.request_id)
            follow_data(ctx, session, submission.request_id, decided_at, actor.username,
                        "data.verified" if accept else "data.returned")
        checkpoint("decide.recorded")
        session.commit()
        session.refresh(submission)
        return submission


def _upload_as_sent(ctx: AppContext, submission: Submission) -> bytes:
    """The submission's upload, read once, refused unless it is the file that was sent."""
    path = upload_path(ctx, submission)
    original = path.read_bytes()
    found = hashlib.sha256(original).hexdigest()
    if found != submission.upload_sha256:
        files_of(path).forget_cached(path)
        raise IntegrityError("procedure.upload_changed", submission=submission.id,
                             expected=submission.upload_sha256, found=found)
    return original


def _check_known_version(session: Session, stored: DatasetVersionFile) -> None:
    """The same upload accepted before is stored already: its file must still be the one
    recorded then (it is not written again)."""
    recorded = session.exec(
        select(DatasetVersion.file_sha256)
        .where(DatasetVersion.dataset_id == stored.dataset_id, DatasetVersion.sha256 == stored.sha256,
               col(DatasetVersion.file_sha256).is_not(None))
    ).first()
    if recorded is not None and recorded != stored.file_sha256:
        raise IntegrityError("dataset.integrity", dataset_id=stored.dataset_id, address=stored.sha256,
                             expected=recorded, found=stored.file_sha256)


def latest_versions(ctx: AppContext) -> dict[str, IntegratedDataset]:
    """What dashboards read for each dataset: its newest integrated build (the newest version of
    every sender's part)."""
    with Session(ctx.engine) as session:
        builds = session.exec(select(IntegratedDataset).order_by(col(IntegratedDataset.id))).all()
    return {b.dataset_id: b for b in builds}


def failing_rows_file(
    ctx: AppContext, actor: Authority, submission_id: int, fmt: str, lang: str = "id"
) -> bytes:
    """The rows of a checked submission that failed, as CSV or XLSX for the sender to correct
    (formula-like cells neutralised), its column names and messages in ``lang`` (the reader's
    language). Only the sending unit's senders and Pusdatin may download
    it, and each reads ``***`` for every value above their clearance, as on the page
    (``report_for``): a colleague of the sender is not cleared for what the sender was."""
    # A head of UPT or a director shares the sender's unit code but sends no data and is not
    # the one the rows go back to, so the unit alone is not enough.
    require_role(actor, *SENDER_ROLES, *PUSDATIN_ROLES)
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
    if actor.role not in PUSDATIN_ROLES and submission.unit_code != actor.unit_code:
        raise PermissionDenied("auth.forbidden")
    report = stored_report(submission)
    if report is None:
        raise NotFound("procedure.report_missing", submission=submission_id)
    contract = contract_of(ctx, submission.dataset_id)
    table = read_upload(upload_path(ctx, submission), contract)
    return export_failing_rows(contract, table, report, fmt, lang=lang, clearance=actor.clearance,
                               dataset_level=submission_level(contract, submission))
