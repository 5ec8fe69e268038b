"""Steps 1-3: a unit sends data, Pusdatin receives it (1 HK) and verifies it (5 HK), or returns it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role
from ocenter.context import AppContext
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
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
from ocenter.procedure.common import PUSDATIN_ROLES, SENDER_ROLES, UPLOAD_SUFFIXES, _request, contract_of
from ocenter.procedure.data_integration import check_declaration, integrate_accepted, sender_codes
from ocenter.procedure.workdays import StepClock, step_clock
from ocenter.verification.datasets import store_dataset_version
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
) -> Submission:
    """Step 1: a unit, UPT or agency sends a data file classified by confidentiality level.

    The file must be readable now (a malformed upload is refused at once and nothing is kept);
    whether it conforms to the contract is decided in step 3. A file without data rows is
    refused, unless ``nothing_to_report`` names the month (YYYY-MM) for which the sender states it
    has nothing: accepted, it then empties exactly the sender's own part for that month.
    """
    require_role(actor, *SENDER_ROLES)
    contract = contract_of(ctx, dataset_id)
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
    _write_once(stored, content)
    keep_table(stored, contract, table)  # check, accept and failing rows read it, not the file
    with Session(ctx.engine) as session:
        if request_id is not None:
            _request(session, request_id)
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
        )
        session.add(submission)
        session.flush()
        if nothing_to_report is not None:
            session.add(EmptyDeclaration(submission_id=submission.id, period=nothing_to_report))
        detail = f"{dataset_id}, {table.num_rows} rows, {level}"
        if nothing_to_report is not None:
            detail += f", nothing to report for {nothing_to_report}"
        record(
            session, actor.username, "data.submitted", step=1, request_id=request_id,
            submission_id=submission.id, detail=detail,
        )
        session.commit()
        session.refresh(submission)
        return submission


def _write_once(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically unless it is already there (content-addressed)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(content)
    temporary.replace(path)


def list_submissions(
    ctx: AppContext, actor: Authority, status: SubmissionStatus | None = None
) -> list[Submission]:
    """Submissions the actor may see: Pusdatin all, a sender its own unit's."""
    with Session(ctx.engine) as session:
        query = select(Submission).order_by(col(Submission.id).desc())
        if actor.role not in PUSDATIN_ROLES:
            query = query.where(Submission.unit_code == (actor.unit_code or ""))
        if status is not None:
            query = query.where(Submission.status == status)
        return list(session.exec(query).all())


def receive_submission(ctx: AppContext, actor: Authority, submission_id: int) -> Submission:
    """Step 2: Pusdatin receives a submission into its inbox."""
    require_role(actor, *PUSDATIN_ROLES)
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.SENT:
            raise Conflict("procedure.submission_status", submission=submission_id,
                           status=submission.status.value)
        submission.status = SubmissionStatus.RECEIVED
        submission.received_by = actor.username
        submission.received_at = ctx.clock.now()
        record(session, actor.username, "data.received", step=2, request_id=submission.request_id,
               submission_id=submission_id)
        session.commit()
        session.refresh(submission)
        return submission


def submission_clock(ctx: AppContext, submission: Submission) -> StepClock | None:
    """How the submission stands today against its step's time standard: receiving (step 2,
    1 HK from when it was sent) or verifying (step 3, 5 HK from when it was received); None once
    it is accepted or returned."""
    if submission.status == SubmissionStatus.SENT:
        return step_clock(2, submission.submitted_at, ctx.clock.today())
    if submission.status == SubmissionStatus.RECEIVED and submission.received_at is not None:
        return step_clock(3, submission.received_at, ctx.clock.today())
    return None


def _submission(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("procedure.submission_missing", submission=submission_id)
    return submission


def upload_path(ctx: AppContext, submission: Submission) -> Path:
    """Where the submission's original bytes are kept."""
    return ctx.uploads_dir / f"{submission.upload_sha256}{submission.upload_suffix}"


def check_submission(
    ctx: AppContext,
    actor: Authority,
    submission_id: int,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Step 3, first half: run every contract check on the received data and keep the report."""
    require_role(actor, Role.VERIFIKATOR)
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.RECEIVED:
            raise Conflict("procedure.submission_status", submission=submission_id,
                           status=submission.status.value)
        contract = contract_of(ctx, submission.dataset_id)
        table = read_upload(upload_path(ctx, submission), contract)
        declared = session.get(EmptyDeclaration, submission_id) is not None
        report = verify_table(contract, table, today=ctx.clock.today(), progress=progress,
                              sender_codes=sender_codes(session, submission.unit_code),
                              require_rows=not declared)
        submission.checks_passed = report.valid
        submission.rows = report.rows
        submission.report_json = report.model_dump_json()
        record(session, actor.username, "data.checked", step=3, request_id=submission.request_id,
               submission_id=submission_id, outcome="valid" if report.valid else "invalid",
               detail=f"{len(report.errors)} failing cells")
        session.commit()
        return report


def stored_report(submission: Submission) -> VerificationReport | None:
    """The verification report kept with a submission, if it was checked."""
    if not submission.report_json:
        return None
    return VerificationReport.model_validate_json(submission.report_json)


def decide_submission(
    ctx: AppContext, actor: Authority, submission_id: int, *, accept: bool, note: str
) -> Submission:
    """Step 3, second half: the verifier accepts the data (stored as a new dataset version) or
    returns it to the sender with reasons. Data that failed the checks cannot be accepted, and
    nothing that is returned replaces data already shown."""
    require_role(actor, Role.VERIFIKATOR)
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.RECEIVED or submission.checks_passed is None:
            raise Conflict("procedure.submission_status", submission=submission_id,
                           status=submission.status.value)
        if accept and not submission.checks_passed:
            raise UserError("procedure.cannot_accept_invalid")
        if not accept and not note.strip():
            raise UserError("procedure.return_needs_reason")
        decided_at = ctx.clock.now()
        if accept:
            contract = contract_of(ctx, submission.dataset_id)
            path = upload_path(ctx, submission)
            original = path.read_bytes()
            table = read_upload(path, contract)
            stored = store_dataset_version(
                ctx.home, contract, table, original, f"upload{submission.upload_suffix}"
            )
            session.add(
                DatasetVersion(
                    dataset_id=submission.dataset_id,
                    sha256=stored.sha256,
                    rows=stored.rows,
                    submission_id=submission_id,
                    accepted_at=decided_at,
                )
            )
            integrate_accepted(ctx, session, contract, submission, stored.sha256, actor.username)
        submission.status = SubmissionStatus.VERIFIED if accept else SubmissionStatus.RETURNED
        submission.verified_by = actor.username
        submission.verified_at = decided_at
        submission.decision_note = note.strip()
        record(session, actor.username, "data.verified" if accept else "data.returned", step=3,
               request_id=submission.request_id, submission_id=submission_id,
               outcome="accepted" if accept else "returned", detail=note.strip()[:500])
        session.commit()
        session.refresh(submission)
        return submission


def latest_versions(ctx: AppContext) -> dict[str, IntegratedDataset]:
    """What dashboards read for each dataset: its newest integrated build (the newest version of
    every sender's part)."""
    with Session(ctx.engine) as session:
        builds = session.exec(select(IntegratedDataset).order_by(col(IntegratedDataset.id))).all()
    return {b.dataset_id: b for b in builds}


def failing_rows_file(ctx: AppContext, actor: Authority, submission_id: int, fmt: str) -> bytes:
    """The rows of a checked submission that failed, as CSV or XLSX for the sender to correct
    (formula-like cells neutralised). Only the sending unit's senders and Pusdatin may download it."""
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
    return export_failing_rows(contract, table, report, fmt)
