"""The ten steps of SOP POM-09.01/CFM.02/SOP.06 as use cases; pages and the command line call these.

Every function takes the acting user's ``Authority`` (re-read from the database on each page run),
refuses what that role may not do, changes the database and/or the spec store, and appends one
event to the log. Errors a user can cause are ``UserError``s carrying catalogue keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from ocenter import datasets, ingest, verification
from ocenter.authority import Authority, Level, Role, ScopeKind
from ocenter.context import AppContext
from ocenter.contracts import ContractField, DataContract
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import (
    DashboardRequest,
    DatasetVersion,
    Evaluation,
    Event,
    RequestStatus,
    ReviewComment,
    Submission,
    SubmissionStatus,
    Unit,
    User,
    utcnow,
)
from ocenter.specs import Aggregation, DashboardSpec, DefaultView, Panel, PanelKind, spec_to_yaml
from ocenter.store import Author, CommitInfo, MergePreview, spec_path
from ocenter.workdays import StepClock, step_clock, today_in_jakarta

#: Upload types we accept, by lower-case suffix. The stored name is built from this table, never
#: from the uploaded file name.
UPLOAD_SUFFIXES = {".csv": ".csv", ".xlsx": ".xlsx"}

#: The SOP step a request is at, by status.
STATUS_STEP = {
    RequestStatus.REQUESTED: 1,
    RequestStatus.MOCKUP: 4,
    RequestStatus.CHANGES_REQUESTED: 4,
    RequestStatus.IN_REVIEW: 5,
    RequestStatus.APPROVED: 6,
    RequestStatus.BUILT: 7,
    RequestStatus.CLASSIFIED: 8,
    RequestStatus.DISPLAYED: 9,
    RequestStatus.EVALUATED: 10,
    RequestStatus.RECEIVED: 10,
}

SENDER_ROLES = (Role.UNIT, Role.UPT, Role.MITRA)
REQUESTER_ROLES = (Role.UNIT, Role.DIREKTUR)
PUSDATIN_ROLES = (Role.ANALIS, Role.VERIFIKATOR)


# --- common -----------------------------------------------------------------------------------


def require_role(actor: Authority, *roles: Role) -> None:
    """Refuse unless ``actor`` has one of ``roles``."""
    if actor.role not in roles:
        raise PermissionDenied("auth.forbidden")


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    step: int | None = None,
    request_id: int | None = None,
    submission_id: int | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Append one event to the log (committed with the caller's transaction)."""
    session.add(
        Event(
            actor=actor,
            action=action,
            step=step,
            request_id=request_id,
            submission_id=submission_id,
            outcome=outcome,
            detail=detail,
        )
    )


def author_of(ctx: AppContext, actor: Authority) -> Author:
    """The Git author for ``actor``: the logged-in user, by name."""
    with Session(ctx.engine) as session:
        user = session.get(User, actor.username)
        name = user.name if user else actor.username
    return Author(username=actor.username, name=name)


def contract_of(ctx: AppContext, dataset_id: str) -> DataContract:
    """The approved contract of ``dataset_id`` (on main)."""
    contract = ctx.store.snapshot("main").contracts.get(dataset_id)
    if contract is None:
        raise NotFound("procedure.contract_missing", dataset=dataset_id)
    return contract


def _request(session: Session, request_id: int) -> DashboardRequest:
    request = session.get(DashboardRequest, request_id)
    if request is None:
        raise NotFound("procedure.request_missing", request=request_id)
    return request


def _expect_status(request: DashboardRequest, *allowed: RequestStatus) -> None:
    if request.status not in allowed:
        raise Conflict("procedure.wrong_status", request=request.id, status=request.status.value)


def _own_unit(actor: Authority, request: DashboardRequest) -> None:
    if actor.unit_code != request.requesting_unit:
        raise PermissionDenied("procedure.not_your_unit")


def _advance(request: DashboardRequest, status: RequestStatus) -> None:
    request.status = status
    request.step_started_at = utcnow()


def request_clock(request: DashboardRequest, today: date | None = None) -> StepClock:
    """How the request's current step stands against the SOP's time standard."""
    return step_clock(STATUS_STEP[request.status], request.step_started_at,
                      today or today_in_jakarta())


# --- the request form -------------------------------------------------------------------------


def file_request(
    ctx: AppContext,
    actor: Authority,
    *,
    title: str,
    purpose: str,
    datasets_wanted: list[str],
    level: Level,
    audience: list[str],
) -> DashboardRequest:
    """File a *Formulir Permintaan Dashboard* for the actor's unit."""
    require_role(actor, *REQUESTER_ROLES)
    title, purpose = title.strip(), purpose.strip()
    if not title or not purpose:
        raise UserError("procedure.request_incomplete")
    known = ctx.store.snapshot("main").contracts
    unknown = [d for d in datasets_wanted if d not in known]
    if unknown:
        raise NotFound("procedure.contract_missing", dataset=", ".join(unknown))
    with Session(ctx.engine) as session:
        request = DashboardRequest(
            title=title[:200],
            purpose=purpose,
            requesting_unit=actor.unit_code or "",
            requested_by=actor.username,
            datasets=list(datasets_wanted),
            level=level,
            audience=list(audience),
            dashboard_id="pending",
        )
        session.add(request)
        session.flush()
        # The dashboard id comes from our own number, never from the title the user typed.
        request.dashboard_id = f"dasbor-{request.id:04d}"
        record(session, actor.username, "request.filed", step=1, request_id=request.id)
        session.commit()
        session.refresh(request)
        return request


def list_requests(ctx: AppContext, actor: Authority) -> list[DashboardRequest]:
    """Requests the actor works on: Pusdatin and all-of-BPOM viewers see all, a unit its own."""
    with Session(ctx.engine) as session:
        query = select(DashboardRequest).order_by(col(DashboardRequest.id).desc())
        if actor.role not in PUSDATIN_ROLES and actor.scope != ScopeKind.BPOM:
            query = query.where(DashboardRequest.requesting_unit == (actor.unit_code or ""))
        return list(session.exec(query).all())


def get_request(ctx: AppContext, request_id: int) -> DashboardRequest:
    """One request by number."""
    with Session(ctx.engine) as session:
        return _request(session, request_id)


# --- steps 1-3: data ----------------------------------------------------------------------------


def submit_data(
    ctx: AppContext,
    actor: Authority,
    *,
    dataset_id: str,
    level: Level,
    filename: str,
    content: bytes,
    request_id: int | None = None,
) -> Submission:
    """Step 1: a unit, UPT or agency sends a data file classified by confidentiality level.

    The file must be readable now (a malformed upload is refused at once and nothing is kept);
    whether it conforms to the contract is decided in step 3.
    """
    require_role(actor, *SENDER_ROLES)
    contract = contract_of(ctx, dataset_id)
    suffix = UPLOAD_SUFFIXES.get(Path(filename).suffix.lower())
    if suffix is None:
        raise UserError("procedure.upload_type", allowed=", ".join(UPLOAD_SUFFIXES))
    if len(content) > ctx.settings.max_upload_mb * 1024 * 1024:
        raise UserError("procedure.upload_too_large", limit=ctx.settings.max_upload_mb)
    table = ingest.read_table(content, suffix, contract)
    digest = hashlib.sha256(content).hexdigest()
    _write_once(ctx.uploads_dir / f"{digest}{suffix}", content)
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
        )
        session.add(submission)
        session.flush()
        record(
            session, actor.username, "data.submitted", step=1, request_id=request_id,
            submission_id=submission.id, detail=f"{dataset_id}, {table.num_rows} rows, {level}",
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
        submission.received_at = utcnow()
        record(session, actor.username, "data.received", step=2, request_id=submission.request_id,
               submission_id=submission_id)
        session.commit()
        session.refresh(submission)
        return submission


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
) -> verification.VerificationReport:
    """Step 3, first half: run every contract check on the received data and keep the report."""
    require_role(actor, Role.VERIFIKATOR)
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
        if submission.status != SubmissionStatus.RECEIVED:
            raise Conflict("procedure.submission_status", submission=submission_id,
                           status=submission.status.value)
        contract = contract_of(ctx, submission.dataset_id)
        path = upload_path(ctx, submission)
        table = ingest.read_table(path, submission.upload_suffix, contract)
        report = verification.verify_table(contract, table, today=today_in_jakarta(),
                                           progress=progress)
        submission.checks_passed = report.valid
        submission.rows = report.rows
        submission.report_json = report.model_dump_json()
        record(session, actor.username, "data.checked", step=3, request_id=submission.request_id,
               submission_id=submission_id, outcome="valid" if report.valid else "invalid",
               detail=f"{len(report.errors)} failing cells")
        session.commit()
        return report


def stored_report(submission: Submission) -> verification.VerificationReport | None:
    """The verification report kept with a submission, if it was checked."""
    if not submission.report_json:
        return None
    return verification.VerificationReport.model_validate_json(submission.report_json)


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
        if accept:
            contract = contract_of(ctx, submission.dataset_id)
            path = upload_path(ctx, submission)
            original = path.read_bytes()
            table = ingest.read_table(original, submission.upload_suffix, contract)
            stored = datasets.store_dataset_version(
                ctx.home, contract, table, original, f"upload{submission.upload_suffix}"
            )
            session.add(
                DatasetVersion(
                    dataset_id=submission.dataset_id,
                    sha256=stored.sha256,
                    rows=stored.rows,
                    submission_id=submission_id,
                )
            )
        submission.status = SubmissionStatus.VERIFIED if accept else SubmissionStatus.RETURNED
        submission.verified_by = actor.username
        submission.verified_at = utcnow()
        submission.decision_note = note.strip()
        record(session, actor.username, "data.verified" if accept else "data.returned", step=3,
               request_id=submission.request_id, submission_id=submission_id,
               outcome="accepted" if accept else "returned", detail=note.strip()[:500])
        session.commit()
        session.refresh(submission)
        return submission


def latest_versions(ctx: AppContext) -> dict[str, DatasetVersion]:
    """The newest accepted version of each dataset."""
    with Session(ctx.engine) as session:
        versions = session.exec(select(DatasetVersion).order_by(col(DatasetVersion.id))).all()
    return {v.dataset_id: v for v in versions}


# --- steps 4-5: mock-up and review --------------------------------------------------------------


def starter_spec(request: DashboardRequest, contracts: dict[str, DataContract]) -> DashboardSpec:
    """A first mock-up for a request: a row count and one bar chart per dataset, to be edited."""
    panels: list[Panel] = []
    for dataset_id in request.datasets:
        contract = contracts[dataset_id]
        panels.append(Panel(id=f"{dataset_id}-jumlah"[:64], title=contract.title,
                            kind=PanelKind.KPI, dataset=dataset_id))
        category = _best_category(contract)
        if category is not None:
            panels.append(Panel(id=f"{dataset_id}-per-kategori"[:64], title=category.label
                                or category.name, kind=PanelKind.BAR, dataset=dataset_id,
                                dimension=category.name, aggregate=Aggregation.COUNT, sort="desc"))
    levels = [contracts[d].highest_level() for d in request.datasets]
    level = max([request.level, *levels], key=lambda lv: lv.rank)
    return DashboardSpec(
        id=request.dashboard_id,
        title=request.title,
        description=request.purpose[:500],
        owner_unit=request.requesting_unit,
        request_id=request.id,
        level=level,
        datasets=list(request.datasets),
        panels=panels,
    )


def _best_category(contract: DataContract) -> ContractField | None:
    """The field a first bar chart reads best by: a coded field with few categories (product
    category rather than 76 UPT codes), but more than a yes/no."""
    from ocenter.reference import reference_codes

    def options(field: ContractField) -> int:
        if field.allowed_values:
            return len(field.allowed_values)
        return len(reference_codes(field.reference)) if field.reference else 0

    coded = [f for f in contract.fields if options(f) > 0]
    readable = [f for f in coded if options(f) > 2] or coded
    return min(readable, key=options, default=None)


def start_mockup(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 4 begins: Pusdatin opens the mock-up branch with a starter spec. Needs verified data."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.REQUESTED)
        versions = latest_versions(ctx)
        missing = [d for d in request.datasets if d not in versions]
        if missing:
            raise UserError("procedure.data_not_verified", datasets=", ".join(missing))
        pushed = ctx.store.head(ctx.store.mockup_branch(request_id))
        if pushed is not None:
            # A developer already pushed this mock-up with plain Git: adopt it as it is.
            head, action = pushed, "mockup.adopted"
        else:
            spec = starter_spec(request, ctx.store.snapshot("main").contracts)
            head = ctx.store.start_mockup(request_id, spec, author_of(ctx, actor))
            action = "mockup.started"
        _advance(request, RequestStatus.MOCKUP)
        record(session, actor.username, action, step=4, request_id=request_id, detail=head)
        session.commit()
        return head


def save_mockup(
    ctx: AppContext, actor: Authority, request_id: int, spec: DashboardSpec, expected_head: str,
    message: str,
) -> str:
    """Step 4: save one revision of the mock-up spec as a commit on its branch."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        if spec.id != request.dashboard_id or spec.request_id != request_id:
            raise UserError("procedure.spec_identity", dashboard=request.dashboard_id,
                            request=request_id)
        head = ctx.store.save_spec(request_id, spec, author_of(ctx, actor), expected_head,
                                   message.strip() or "Perbarui mock-up")
        record(session, actor.username, "mockup.saved", step=4, request_id=request_id,
               detail=head)
        session.commit()
        return head


def send_mockup(ctx: AppContext, actor: Authority, request_id: int) -> None:
    """Step 4 ends: the mock-up is sent to the requesting unit for review."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        problems = mockup_problems(ctx, request_id)
        if problems:
            raise UserError("procedure.mockup_invalid", problems="; ".join(problems))
        _advance(request, RequestStatus.IN_REVIEW)
        record(session, actor.username, "mockup.sent", step=4, request_id=request_id,
               detail=ctx.store.head(ctx.store.mockup_branch(request_id)) or "")
        session.commit()


def mockup_problems(ctx: AppContext, request_id: int) -> list[str]:
    """Problems of the specs and contracts on the request's mock-up branch (empty when sound)."""
    branch = ctx.store.mockup_branch(request_id)
    if ctx.store.head(branch) is None:
        return [f"{branch}: no such mock-up"]
    snapshot = ctx.store.snapshot(branch)
    return [f"{path}: {msg}" for path, msgs in snapshot.problems.items() for msg in msgs]


def approve_mockup(
    ctx: AppContext, actor: Authority, request_id: int, reviewed_commit: str
) -> str:
    """Step 5: the requesting unit approves exactly the revision it reviewed; the mock-up branch is
    merged into main. Step 6's 15-HK clock starts now."""
    require_role(actor, *REQUESTER_ROLES)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _own_unit(actor, request)
        _expect_status(request, RequestStatus.IN_REVIEW)
        problems = mockup_problems(ctx, request_id)
        if problems:
            raise UserError("procedure.mockup_invalid", problems="; ".join(problems))
        merge = ctx.store.approve(request_id, reviewed_commit, author_of(ctx, actor))
        _advance(request, RequestStatus.APPROVED)
        record(session, actor.username, "mockup.approved", step=5, request_id=request_id,
               outcome="approved", detail=f"reviewed {reviewed_commit}, merge {merge}")
        session.commit()
        return merge


def request_changes(
    ctx: AppContext, actor: Authority, request_id: int, reviewed_commit: str, comment: str
) -> None:
    """Step 5: the unit asks for changes; per the SOP the time is counted again from step 4."""
    require_role(actor, *REQUESTER_ROLES)
    if not comment.strip():
        raise UserError("procedure.changes_need_comment")
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _own_unit(actor, request)
        _expect_status(request, RequestStatus.IN_REVIEW)
        session.add(ReviewComment(request_id=request_id, author=actor.username,
                                  commit=reviewed_commit, text=comment.strip()))
        request.review_rounds += 1
        _advance(request, RequestStatus.CHANGES_REQUESTED)
        record(session, actor.username, "mockup.changes_requested", step=5,
               request_id=request_id, outcome="changes", detail=comment.strip()[:500])
        session.commit()


def review_comments(ctx: AppContext, request_id: int) -> list[ReviewComment]:
    """The unit's comments on a mock-up, oldest first."""
    with Session(ctx.engine) as session:
        query = select(ReviewComment).where(ReviewComment.request_id == request_id)
        return list(session.exec(query.order_by(col(ReviewComment.id))).all())


# --- steps 6-8: build, classify, display ------------------------------------------------------


def _change_on_main(
    ctx: AppContext, actor: Authority, request: DashboardRequest, step: int, message: str,
    change: Callable[[DashboardSpec], DashboardSpec],
) -> str:
    snapshot = ctx.store.snapshot("main")
    spec = snapshot.specs.get(request.dashboard_id)
    if spec is None:
        raise NotFound("procedure.dashboard_missing", dashboard=request.dashboard_id)
    updated = change(spec)
    return ctx.store.commit_to_main(
        {f"specs/{updated.id}.yaml": spec_to_yaml(updated)},
        author_of(ctx, actor),
        snapshot.commit,
        message,
        {"Request": str(request.id), "Step": str(step)},
    )


def _step_on_main(
    ctx: AppContext,
    actor: Authority,
    request_id: int,
    *,
    step: int,
    allowed: tuple[RequestStatus, ...],
    then: RequestStatus,
    action: str,
    message: str,
    change: Callable[[DashboardSpec], DashboardSpec],
) -> str:
    """One of Pusdatin's steps 6-8: change the approved spec on main, then move the request on."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, *allowed)
        commit = _change_on_main(ctx, actor, request, step,
                                 f"{message} {request.dashboard_id}", change)
        if request.status != then:
            _advance(request, then)
        record(session, actor.username, action, step=step, request_id=request_id, detail=commit)
        session.commit()
        return commit


def build_dashboard(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 6: Pusdatin builds the approved dashboard for the Operational Center display."""
    return _step_on_main(
        ctx, actor, request_id, step=6, allowed=(RequestStatus.APPROVED,),
        then=RequestStatus.BUILT, action="dashboard.built", message="Bangun dasbor",
        change=lambda spec: spec.model_copy(update={"published": True}),
    )


def classify_defaults(
    ctx: AppContext, actor: Authority, request_id: int, defaults: list[DefaultView]
) -> str:
    """Step 7: set the default data each kind of stakeholder sees, by their authority (may be
    set again while the dashboard waits for display)."""
    return _step_on_main(
        ctx, actor, request_id, step=7,
        allowed=(RequestStatus.BUILT, RequestStatus.CLASSIFIED), then=RequestStatus.CLASSIFIED,
        action="dashboard.classified", message="Klasifikasi data bawaan",
        change=lambda spec: DashboardSpec.model_validate(
            {**spec.model_dump(), "defaults": [d.model_dump() for d in defaults]}
        ),
    )


def put_on_display(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 8: show the dashboard on the Operational Center display, to each by their authority."""
    return _step_on_main(
        ctx, actor, request_id, step=8, allowed=(RequestStatus.CLASSIFIED,),
        then=RequestStatus.DISPLAYED, action="dashboard.displayed", message="Tayangkan dasbor",
        change=lambda spec: spec.model_copy(update={"on_display": True}),
    )


# --- steps 9-10: evaluation and the letter ------------------------------------------------------


def evaluate_dashboard(
    ctx: AppContext, actor: Authority, request_id: int, notes: str, today: date | None = None
) -> Evaluation:
    """Step 9: Pusdatin monitors and evaluates the dashboard and writes the letter to the unit."""
    from ocenter.i18n import t

    require_role(actor, Role.ANALIS)
    if not notes.strip():
        raise UserError("procedure.evaluation_needs_notes")
    today = today or today_in_jakarta()
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.DISPLAYED)
        unit = session.get(Unit, request.requesting_unit)
        evaluator = session.get(User, actor.username)
        count = len(session.exec(select(Evaluation)).all()) + 1
        number = f"B-{count:04d}/PUSDATIN/OC/{today.month:02d}/{today.year}"
        # The letter is an official document, so it is written in Bahasa Indonesia.
        letter = t(
            "letter.body",
            "id",
            number=number,
            date=today.isoformat(),
            unit=unit.name if unit else request.requesting_unit,
            title=request.title,
            dashboard=request.dashboard_id,
            request=request.id,
            notes=notes.strip(),
            evaluator=evaluator.name if evaluator else actor.username,
        )
        evaluation = Evaluation(
            request_id=request_id, notes=notes.strip(), letter_number=number,
            letter_text=letter, evaluated_by=actor.username,
        )
        session.add(evaluation)
        _advance(request, RequestStatus.EVALUATED)
        record(session, actor.username, "dashboard.evaluated", step=9, request_id=request_id,
               detail=number)
        session.commit()
        session.refresh(evaluation)
        return evaluation


def evaluations_of(ctx: AppContext, request_id: int) -> list[Evaluation]:
    """Every evaluation of a request, newest first."""
    with Session(ctx.engine) as session:
        query = select(Evaluation).where(Evaluation.request_id == request_id)
        return list(session.exec(query.order_by(col(Evaluation.id).desc())).all())


def acknowledge_letter(
    ctx: AppContext, actor: Authority, request_id: int, note: str = ""
) -> Evaluation:
    """Step 10: the requesting unit receives the evaluated dashboard and the letter."""
    require_role(actor, *REQUESTER_ROLES)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _own_unit(actor, request)
        _expect_status(request, RequestStatus.EVALUATED)
        query = select(Evaluation).where(Evaluation.request_id == request_id)
        evaluation = session.exec(query.order_by(col(Evaluation.id).desc())).first()
        if evaluation is None:
            raise NotFound("procedure.letter_missing", request=request_id)
        evaluation.acknowledged_by = actor.username
        evaluation.acknowledged_at = utcnow()
        evaluation.acknowledgement_note = note.strip()[:1000]
        _advance(request, RequestStatus.RECEIVED)
        record(session, actor.username, "letter.received", step=10, request_id=request_id)
        session.commit()
        session.refresh(evaluation)
        return evaluation


def events(ctx: AppContext, request_id: int | None = None, limit: int = 500) -> list[Event]:
    """The newest events of the log, for one request or all."""
    with Session(ctx.engine) as session:
        query = select(Event).order_by(col(Event.id).desc()).limit(limit)
        if request_id is not None:
            query = query.where(Event.request_id == request_id)
        return list(session.exec(query).all())


def failing_rows_file(ctx: AppContext, actor: Authority, submission_id: int, fmt: str) -> bytes:
    """The rows of a checked submission that failed, as CSV or XLSX for the sender to correct
    (formula-like cells neutralised). Only the sending unit and Pusdatin may download it."""
    with Session(ctx.engine) as session:
        submission = _submission(session, submission_id)
    if actor.role not in PUSDATIN_ROLES and submission.unit_code != actor.unit_code:
        raise PermissionDenied("auth.forbidden")
    report = stored_report(submission)
    if report is None:
        raise NotFound("procedure.report_missing", submission=submission_id)
    contract = contract_of(ctx, submission.dataset_id)
    table = ingest.read_table(upload_path(ctx, submission), submission.upload_suffix, contract)
    return verification.export_failing_rows(contract, table, report, fmt)


def parse_spec(text: str) -> DashboardSpec:
    """A spec from the YAML an analyst typed; any problem becomes one readable ``UserError``."""
    import yaml
    from pydantic import ValidationError

    from ocenter.specs import spec_from_yaml

    try:
        return spec_from_yaml(text)
    except yaml.YAMLError as error:
        raise UserError("spec.yaml_error", detail=str(error).splitlines()[0]) from None
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in error.errors()
        )
        raise UserError("spec.invalid", detail=details) from None
    except ValueError as error:
        raise UserError("spec.invalid", detail=str(error)) from None


# --- step 4: history, restore, and bringing main's newer changes into a mock-up --------------


def spec_history(ctx: AppContext, request_id: int) -> list[CommitInfo]:
    """Every revision of the request's dashboard spec up to its mock-up's head, newest first:
    who changed it, when and why (approvals and earlier versions on main included)."""
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
    branch = ctx.store.mockup_branch(request_id)
    if ctx.store.head(branch) is None:
        raise NotFound("store.mockup_not_found", request=request_id)
    return ctx.store.history(spec_path(request.dashboard_id), branch)


def dashboard_history(ctx: AppContext, dashboard_id: str) -> list[CommitInfo]:
    """Every approved change of a dashboard's spec on main, newest first."""
    return ctx.store.history(spec_path(dashboard_id), "main")


def restore_mockup_version(
    ctx: AppContext, actor: Authority, request_id: int, commit: str, expected_head: str
) -> str:
    """Step 4: bring back an earlier revision of the mock-up's spec as a NEW commit on its
    branch (history is never rewritten). ``commit`` must be one of ``spec_history``'s."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        path = spec_path(request.dashboard_id)
        if commit not in {entry.sha for entry in spec_history(ctx, request_id)}:
            raise NotFound("store.file_not_found", path=path, rev=str(commit)[:12])
        old = parse_spec(ctx.store.read_file(commit, path) or "")
        if old.id != request.dashboard_id or old.request_id != request_id:
            raise UserError("procedure.spec_identity", dashboard=request.dashboard_id,
                            request=request_id)
        head = ctx.store.restore(request_id, path, commit, author_of(ctx, actor), expected_head)
        record(session, actor.username, "mockup.restored", step=4, request_id=request_id,
               detail=f"restored {commit} as {head}")
        session.commit()
        return head


def mockup_merge_preview(ctx: AppContext, request_id: int) -> MergePreview:
    """Whether main moved since the mock-up forked, and if so whether it merges cleanly or
    which files conflict (with their base, main and mock-up versions)."""
    return ctx.store.merge_preview(request_id)


def update_mockup_from_main(
    ctx: AppContext,
    actor: Authority,
    request_id: int,
    resolved: dict[str, str | None],
    expected_head: str,
    expected_main: str | None = None,
) -> str:
    """Step 4: merge main's newer commits into the mock-up branch, with the analyst's
    resolution of every conflicting file; nothing is resolved silently. The unit's approval
    that follows is then a normal merge."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        head = ctx.store.update_mockup_from_main(
            request_id, resolved, author_of(ctx, actor), expected_head, expected_main
        )
        resolved_paths = ", ".join(sorted(resolved)) or "-"
        record(session, actor.username, "mockup.updated_from_main", step=4,
               request_id=request_id, detail=f"{head}; resolved: {resolved_paths}"[:500])
        session.commit()
        return head
