"""Steps 4-5: Pusdatin makes the mock-up on its branch (5 HK); the requesting unit reviews and approves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, audience_tiers, highest
from ocenter.accounts.login import login_allowed
from ocenter.context import AppContext
from ocenter.contracts.model import ContractField, DataContract
from ocenter.display.filtering import data_level
from ocenter.display.spec import Aggregation, DashboardSpec, Panel, PanelKind
from ocenter.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    UserError,
    said_of,
    validation_details,
)
from ocenter.events import record
from ocenter.i18n import Said
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
    ReviewComment,
    User,
)
from ocenter.procedure.common import (
    REQUESTER_ROLES,
    _advance,
    _expect_status,
    _own_unit,
    _request,
    author_of,
    checkpoint,
)
from ocenter.procedure.data_intake import latest_versions
from ocenter.procedure.decisions import decided_conflict, lock_request, request_decision
from ocenter.procedure.main_record import Decision, stamp, take_in
from ocenter.procedure.step_clocks import data_missing, data_ready
from ocenter.store.merges import listing
from ocenter.store.models import CommitInfo, FileChange, MergePreview
from ocenter.store.names import spec_path
from ocenter.yamlfiles import yaml_problem


def starter_spec(request: DashboardRequest, contracts: dict[str, DataContract]) -> DashboardSpec:
    """A first mock-up for a request: a row count and one bar chart per dataset, to be edited,
    meant for the audience the request form named."""
    panels: list[Panel] = []
    for dataset_id in request.datasets:
        contract = contracts[dataset_id]
        panels.append(Panel(id=f"{dataset_id}-jumlah"[:64], title=contract.title,
                            kind=PanelKind.KPI, dataset=dataset_id))
        category = _best_category(contract)
        if category is not None:
            panels.append(Panel(id=f"{dataset_id}-per-kategori"[:64], title=category.label
                                or category.name, title_en=category.label_en,
                                kind=PanelKind.BAR, dataset=dataset_id,
                                dimension=category.name, aggregate=Aggregation.COUNT, sort="desc"))
    draft = DashboardSpec(
        id=request.dashboard_id,
        title=request.title,
        description=request.purpose[:500],
        owner_unit=request.requesting_unit,
        request_id=request.id,
        level=request.level,
        # The stakeholders the unit named on its request; none named keeps the usual audience.
        **({"audience": audience_tiers(request.audience)} if request.audience else {}),
        datasets=list(request.datasets),
        panels=panels,
    )
    # As confidential as what its panels show and as the unit asked, not as the most secret
    # field of the datasets: a Rahasia column no panel reads would keep the unit's Terbatas
    # staff from reviewing their own request.
    return draft.model_copy(update={"level": highest([request.level, data_level(draft, contracts)])})


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
    """Step 4 begins: Pusdatin opens the mock-up branch with a starter spec. Needs the request's
    data accepted (every dataset it shows, sent for it and accepted), or Pusdatin's statement
    that no new data is needed (``requests.state_no_new_data``); its clock started then."""
    require_role(actor, Role.ANALIS)
    author = author_of(ctx, actor)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _expect_status(request, RequestStatus.REQUESTED)
        if not data_ready(session, request):
            raise UserError("procedure.data_not_accepted", request=request_id,
                            datasets=", ".join(data_missing(session, request)))
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
            head = ctx.store.start_mockup(request_id, spec, author)
            action = "mockup.started"
        # Killed from here on, the branch stays and a retry adopts it.
        checkpoint("mockup.branch_made")
        _advance(ctx, session, request, RequestStatus.MOCKUP, ctx.clock.now(), actor.username,
                 action)
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
    """Step 4 ends: the mock-up is sent to the requesting unit for review. Refused while it is
    invalid, or holds pushed commits nobody is known to have written (nobody could approve it)."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        problems = mockup_problems(ctx, request_id)
        if problems:
            raise UserError("procedure.mockup_invalid", problems="; ".join(problems))
        outside = mockup_scope(ctx, request_id)
        if outside:  # the unit could not approve it: do not send it
            raise UserError("procedure.mockup_outside_scope", allowed=spec_path(request.dashboard_id),
                            files=listing(outside))
        unattributed = ctx.store.participants(request_id).unattributed
        if unattributed:
            raise UserError("procedure.mockup_unattributed",
                            commits=", ".join(c[:8] for c in unattributed[:10]))
        _advance(ctx, session, request, RequestStatus.IN_REVIEW, ctx.clock.now(),
                 actor.username, "mockup.sent")
        record(session, actor.username, "mockup.sent", step=4, request_id=request_id,
               detail=ctx.store.head(ctx.store.mockup_branch(request_id)) or "")
        session.commit()


def unattributed_commits(ctx: AppContext, request_id: int) -> list[str]:
    """Commits on the request's mock-up that nobody is known to have written (pushed without an
    identity the store trusts), newest first; while any remain, nobody may approve it."""
    return ctx.store.participants(request_id).unattributed


def take_over_pushed_commits(
    ctx: AppContext, actor: Authority, request_id: int, expected_head: str
) -> str:
    """Step 4: the analyst who has read the pushed commits up to ``expected_head`` takes them
    over: from now on they count as this analyst's work (who then cannot approve them)."""
    require_role(actor, Role.ANALIS)
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
        _expect_status(request, RequestStatus.MOCKUP, RequestStatus.CHANGES_REQUESTED)
        taken = unattributed_commits(ctx, request_id)
        head = ctx.store.take_over(request_id, author_of(ctx, actor), expected_head)
        record(session, actor.username, "mockup.taken_over", step=4, request_id=request_id,
               detail=f"{head}; took over {' '.join(taken)}"[:500])
        session.commit()
        return head


def mockup_problems(ctx: AppContext, request_id: int) -> list[str]:
    """Problems of the specs and contracts on the request's mock-up branch (empty when sound),
    each "path: problem" (an ``i18n.Said`` where the problem is one)."""
    branch = ctx.store.mockup_branch(request_id)
    if ctx.store.head(branch) is None:
        return [f"{branch}: no such mock-up"]
    snapshot = ctx.store.snapshot(branch)
    return [Said("check.at", where=path, problem=msg)
            for path, msgs in snapshot.problems.items() for msg in msgs]


def mockup_scope(ctx: AppContext, request_id: int, reviewed_commit: str | None = None) -> list[FileChange]:
    """Files the mock-up (at ``reviewed_commit``, default its newest) changes besides the
    request's own dashboard spec, since it forked from main. An approval may change only that
    spec, so each of these blocks it: another unit's dashboard, a data contract (changed only
    through its own reviewed change), a deletion, or a file outside the store's folders."""
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
    return ctx.store.mockup_scope(request_id, request.dashboard_id, reviewed_commit)


@dataclass(frozen=True)
class ReviewAccess:
    """Whether one reviewer may see a mock-up at the revision they opened, and if not who in
    their unit may.

    Attributes:
        level: the mock-up's level at that revision (``review_level``).
        allowed: whether the reviewer's clearance covers it.
        reviewers: when not, the names of the unit's active people who may review it.
    """

    level: Level
    allowed: bool
    reviewers: list[str] = field(default_factory=list)


def preview_contracts(ctx: AppContext, rev: str) -> dict[str, DataContract]:
    """The contracts a mock-up at ``rev`` is previewed and judged with: main's, where main has
    the dataset's contract, and the revision's own only for datasets main does not know yet. A
    contract changes only through its own review (contract changes), so a mock-up branch that
    edits its copy of a contract, lowering a field's level, shows nothing more for it."""
    return {**ctx.store.snapshot(rev).contracts, **ctx.store.snapshot("main").contracts}


def review_level(ctx: AppContext, request: DashboardRequest, rev: str, *, raw: bool = False) -> Level:
    """How confidential reviewing the mock-up at ``rev`` is: the highest of the request's level,
    and of the spec's own level and the data its panels use, at ``rev`` and where it forked from
    main (its diff shows both). A spec that cannot be read shows nothing but its problems; its
    raw text (``raw``: the YAML diff) is judged by every field of the request's datasets, since
    any of their values may be written in it."""
    levels = [request.level]
    base = ctx.store.merge_base("main", rev)
    for commit in dict.fromkeys((rev, base)):
        snapshot = ctx.store.snapshot(commit)
        spec = snapshot.specs.get(request.dashboard_id)
        if spec is not None:
            levels += [spec.level, data_level(spec, preview_contracts(ctx, commit))]
        elif raw and spec_path(request.dashboard_id) in snapshot.problems:
            levels += [snapshot.contracts[d].highest_level() if d in snapshot.contracts
                       else Level.SANGAT_RAHASIA for d in request.datasets]
    return highest(levels)


def review_access(ctx: AppContext, actor: Authority, request_id: int, rev: str) -> ReviewAccess:
    """Whether ``actor`` may see the mock-up at ``rev`` (``review_level``); when not, the names of
    the active people of the requesting unit who may review it."""
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
    level = review_level(ctx, request, rev)
    if actor.may_see_level(level):
        return ReviewAccess(level=level, allowed=True)
    return ReviewAccess(level=level, allowed=False, reviewers=reviewers_for(ctx, request, level))


def reviewers_for(ctx: AppContext, request: DashboardRequest, level: Level) -> list[str]:
    """Names of the people who may review ``request``'s mock-up at ``level``: active users of
    the requesting unit with a reviewing role and that clearance, by name."""
    production = not ctx.settings.is_demo
    with Session(ctx.engine) as session:
        users = session.exec(select(User).where(User.unit_code == request.requesting_unit)).all()
    return sorted(
        user.name for user in users
        if user.role in REQUESTER_ROLES and user.clearance.allows(level)
        and login_allowed(user, production=production)
    )


def _require_review_clearance(
    ctx: AppContext, actor: Authority, request: DashboardRequest, rev: str, *, raw: bool = False
) -> None:
    level = review_level(ctx, request, rev, raw=raw)
    if not actor.may_see_level(level):
        raise PermissionDenied("procedure.review_above_clearance", level=level.value)


def mockup_review_diff(
    ctx: AppContext, actor: Authority, request_id: int, reviewed_commit: str
) -> str:
    """The mock-up's own change at the reviewed revision, as a unified diff of its dashboard spec
    alone from where it forked from main: what the approval brings in. Nothing else of the
    store (another unit's dashboard approved on main since) is in it, and a reviewer below
    ``review_level`` is refused."""
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
    _require_review_clearance(ctx, actor, request, reviewed_commit, raw=True)
    return ctx.store.mockup_diff(request_id, reviewed_commit, spec_path(request.dashboard_id))


def review_problems(ctx: AppContext, request_id: int) -> tuple[list[str], int]:
    """What keeps the mock-up from being approved, as its reviewer may read it: the problems of
    its own spec and of every file its branch changes, and how many files it took over from main
    unchanged have problems (not named: they may be dashboards the reviewer may not see)."""
    with Session(ctx.engine) as session:
        request = _request(session, request_id)
    return _review_problems(ctx, request)


def _review_problems(ctx: AppContext, request: DashboardRequest) -> tuple[list[str], int]:
    problems = mockup_problems(ctx, request.id)
    if not problems:
        return [], 0
    head = ctx.store.head(ctx.store.mockup_branch(request.id))
    if head is None:  # "no such mock-up" is the one problem
        return problems, 0
    base = ctx.store.merge_base("main", head)
    named = {spec_path(request.dashboard_id), *(c.path for c in ctx.store.branch_changes(base, head))}
    mine = [p for p in problems if p.split(": ", 1)[0] in named]
    others = {p.split(": ", 1)[0] for p in problems} - named
    return mine, len(others)


def approve_mockup(
    ctx: AppContext, actor: Authority, request_id: int, reviewed_commit: str
) -> str:
    """Step 5: the requesting unit approves exactly the revision it reviewed; the mock-up branch is
    merged into main. Step 6's 15-HK clock starts now.

    The approval merges only the request's own dashboard spec: a branch that changes anything
    else is refused whole (``store.mockup_outside_scope``), by the store, whatever the page
    showed.

    All or nothing: the merge on main is the approval, and the database takes it in from there
    (``main_record``), so an approval interrupted after the merge is completed on the next run.
    Whoever decided on the request first wins: a second reviewer is told who decided what; the
    same reviewer retrying the same revision gets the merge back, as already done."""
    require_role(actor, *REQUESTER_ROLES)
    author = author_of(ctx, actor)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _own_unit(actor, request)
        if request.status != RequestStatus.IN_REVIEW:
            decided = _earlier_review(session, request, actor, lambda d: (
                d.key == "decided.approved" and d.reviewed_commit == reviewed_commit
                and bool(d.commit)))
            return decided.commit
        _require_review_clearance(ctx, actor, request, reviewed_commit)
        mine, others = _review_problems(ctx, request)
        if mine:
            raise UserError("procedure.mockup_invalid", problems="; ".join(mine))
        if others:
            raise UserError("review.other_problems", count=others)
        decided_at = ctx.clock.now()
        checkpoint("approve.checked")
        merge = ctx.store.approve(request_id, reviewed_commit, author, trailers=stamp(decided_at),
                                  dashboard_id=request.dashboard_id)
        checkpoint("approve.merged")
        take_in(ctx, session, request, Decision(
            commit=merge, request_id=request_id, step=5, decided_by=actor.username,
            decided_at=decided_at, reviewed_commit=reviewed_commit,
        ))
        checkpoint("approve.recorded")
        session.commit()
        return merge


def _earlier_review(session: Session, request, actor: Authority, same: Callable):  # noqa: ANN001, ANN202
    """A request no longer in review: the step-5 decision already made, when it is this reviewer's
    ``same`` one sent again (already done); otherwise who decided what, as a refusal."""
    decided = request_decision(session, request.id, 5)
    if decided is None:
        _expect_status(request, RequestStatus.IN_REVIEW)
    if decided.username == actor.username and same(decided):
        return decided
    raise decided_conflict(session, decided, request=request.id)


def request_changes(
    ctx: AppContext, actor: Authority, request_id: int, reviewed_commit: str, comment: str
) -> None:
    """Step 5: the unit asks for changes; the mock-up goes back to step 4, whose clock, paused
    while the unit reviewed, resumes with the days it had used (``step_clocks``)."""
    require_role(actor, *REQUESTER_ROLES)
    if not comment.strip():
        raise UserError("procedure.changes_need_comment")
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _own_unit(actor, request)
        if request.status != RequestStatus.IN_REVIEW:
            _earlier_review(session, request, actor, lambda d: (
                d.key == "decided.changes_requested" and d.reviewed_commit == reviewed_commit
                and d.text == comment.strip()))
            return  # the same request for changes, sent again: already done
        _require_review_clearance(ctx, actor, request, reviewed_commit)
        now = ctx.clock.now()
        session.add(ReviewComment(request_id=request_id, author=actor.username,
                                  commit=reviewed_commit, text=comment.strip(), at=now))
        request.review_rounds += 1
        _advance(ctx, session, request, RequestStatus.CHANGES_REQUESTED, now, actor.username,
                 "mockup.changes_requested")
        record(session, actor.username, "mockup.changes_requested", step=5,
               request_id=request_id, outcome="changes", detail=comment.strip()[:500])
        checkpoint("changes.recorded")
        session.commit()


def ask_mockup_adjustment(ctx: AppContext, actor: Authority, request_id: int, comment: str) -> None:
    """Step 6: while Pusdatin builds the approved dashboard, the requesting unit asks to adjust
    its mock-up. The request returns to the mock-up (step 4, its clock from zero) and goes
    through review again; the new approval starts step 6's 15 HK from the start, as the SOP
    says. The comment is kept with the mock-up's newest revision."""
    require_role(actor, *REQUESTER_ROLES)
    comment = comment.strip()
    if not comment:
        raise UserError("procedure.changes_need_comment")
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        _own_unit(actor, request)
        if request.status != RequestStatus.APPROVED:
            if request.status == RequestStatus.CHANGES_REQUESTED and _same_adjustment(
                    session, request_id, actor, comment):
                return  # the same request sent again: already done
            raise Conflict("procedure.adjust_not_building", request=request_id,
                           status=request.status.value)
        head = ctx.store.head(ctx.store.mockup_branch(request_id)) or ""
        now = ctx.clock.now()
        session.add(ReviewComment(request_id=request_id, author=actor.username, commit=head,
                                  text=comment, at=now))
        request.review_rounds += 1
        _advance(ctx, session, request, RequestStatus.CHANGES_REQUESTED, now, actor.username,
                 "mockup.adjustment_requested")
        record(session, actor.username, "mockup.adjustment_requested", step=6,
               request_id=request_id, outcome="changes", detail=comment[:500])
        session.commit()


def _same_adjustment(session: Session, request_id: int, actor: Authority, comment: str) -> bool:
    newest = session.exec(select(ReviewComment).where(ReviewComment.request_id == request_id)
                          .order_by(col(ReviewComment.id).desc())).first()
    return newest is not None and newest.author == actor.username and newest.text == comment


def review_comments(ctx: AppContext, request_id: int) -> list[ReviewComment]:
    """The unit's comments on a mock-up, oldest first."""
    with Session(ctx.engine) as session:
        query = select(ReviewComment).where(ReviewComment.request_id == request_id)
        return list(session.exec(query.order_by(col(ReviewComment.id))).all())


def parse_spec(text: str) -> DashboardSpec:
    """A spec from the YAML an analyst typed; any problem becomes one readable ``UserError``."""
    import yaml
    from pydantic import ValidationError

    from ocenter.display.spec import LifecycleInSpecError, spec_from_yaml

    try:
        return spec_from_yaml(text)
    except LifecycleInSpecError as error:
        raise UserError("spec.lifecycle_fields", fields=", ".join(error.keys)) from None
    except UserError:
        raise  # a text over the reading limits, already said in the user's language
    except yaml.YAMLError as error:
        raise UserError("spec.yaml_error", detail=yaml_problem(error)) from None
    except ValidationError as error:
        raise UserError("spec.invalid", detail=validation_details(error, "spec")) from None
    except ValueError as error:
        raise UserError("spec.invalid", detail=said_of(error)) from None


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
