"""Changes to a data contract: Pusdatin proposes, the dataset's owner unit and Pusdatin approve.

A contract decides which fields every dashboard reading the dataset can show, and at which level
of confidentiality (the SOP's step 1: data is sent classified). So a change to it is reviewed on
its own, never inside a mock-up: proposed on its own branch with a reason, shown as a readable
list of what it changes, approved once by the owner unit and once by Pusdatin (two different
people, neither the proposer), and merged into main when both have. Lowering a level is logged
with the proposer's reason when it takes effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.contracts.changes import ContractDifference, compare_contracts, lowered_levels
from ocenter.contracts.model import DataContract, contract_from_yaml
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError, said_of, validation_details
from ocenter.events import record
from ocenter.models import ContractChange, ContractChangeStatus
from ocenter.procedure.common import PUSDATIN_ROLES, author_named, author_of, contract_of
from ocenter.store.names import contract_change_branch
from ocenter.yamlfiles import yaml_problem

#: Who may approve for the owner unit: the people of a unit that sends and owns data.
OWNER_SIDE_ROLES = (Role.UNIT, Role.DIREKTUR, Role.UPT, Role.KABALAI, Role.MITRA)
APPROVER_ROLES = (*PUSDATIN_ROLES, *OWNER_SIDE_ROLES)
#: The two approvals, by the column holding each approver.
_SIDES = {"owner": "owner_approved", "pusdatin": "pusdatin_approved"}


@dataclass(frozen=True)
class ContractChangeReview:
    """Everything a reviewer sees of one change.

    Attributes:
        change: the change as recorded.
        branch: its branch in the spec store.
        before: the contract the change was proposed against.
        after: the contract as proposed.
        differences: what changes, readably (``contracts.changes``), lowered levels marked.
        diff: the YAML diff from ``before`` to ``after``: what the merge applies to main (a
            merge that would not apply it cleanly is refused).
    """

    change: ContractChange
    branch: str
    before: DataContract
    after: DataContract
    differences: list[ContractDifference]
    diff: str


def propose_contract_change(
    ctx: AppContext, actor: Authority, dataset_id: str, text: str, reason: str
) -> ContractChange:
    """Pusdatin proposes a new version of the contract of ``dataset_id`` (its YAML ``text``),
    saying why. The proposal goes on its own branch; nothing changes on main until both
    approvals. Refused when it changes nothing, when its id is another dataset's, or when it
    would break a dashboard on main (``store.invalid_content``)."""
    require_role(actor, *PUSDATIN_ROLES)
    reason = reason.strip()
    if not reason:
        raise UserError("contract_change.reason_required")
    proposed = parse_contract(text)
    if proposed.id != dataset_id:
        raise UserError("contract_change.wrong_dataset", dataset=dataset_id)
    current = contract_of(ctx, dataset_id)
    differences = compare_contracts(current, proposed)
    if not differences:
        raise UserError("contract_change.no_changes", dataset=dataset_id)
    with Session(ctx.engine) as session:
        change = ContractChange(
            dataset_id=dataset_id, owner_unit=current.owner_unit, proposed_by=actor.username,
            proposed_at=ctx.clock.now(), reason=reason,
            lowers_level=bool(lowered_levels(differences)), summary=_summary(differences),
        )
        session.add(change)
        session.flush()  # the change's number names its branch
        assert change.id is not None
        change.head_commit = ctx.store.propose_contract(
            change.id, proposed, author_of(ctx, actor),
            f"Usulan perubahan kontrak {dataset_id}\n\n{reason}",
        )
        # main only moves on from the proposal's parent, so this is that parent, now and later.
        change.base_commit = ctx.store.merge_base("main", change.head_commit)
        record(session, actor.username, "contract.proposed",
               detail=f"change {change.id} of {dataset_id} at {change.head_commit}: "
                      f"{change.summary}; reason: {reason}"[:2000])
        session.commit()
        session.refresh(change)
        return change


def list_contract_changes(ctx: AppContext, actor: Authority) -> list[ContractChange]:
    """The changes ``actor`` takes part in, newest first: every change for Pusdatin, the changes
    to its own datasets' contracts for an owner unit."""
    require_role(actor, *APPROVER_ROLES)
    with Session(ctx.engine) as session:
        query = select(ContractChange).order_by(col(ContractChange.id).desc())
        if actor.role not in PUSDATIN_ROLES:
            query = query.where(ContractChange.owner_unit == (actor.unit_code or ""))
        return list(session.exec(query).all())


def review_contract_change(ctx: AppContext, actor: Authority, change_id: int) -> ContractChangeReview:
    """One change as its reviewers see it: the readable differences and the YAML diff."""
    require_role(actor, *APPROVER_ROLES)
    change = _change(ctx, change_id)
    if actor.role not in PUSDATIN_ROLES and actor.unit_code != change.owner_unit:
        raise PermissionDenied("contract_change.not_owner_unit")
    assert change.id is not None
    before = ctx.store.snapshot(change.base_commit).contracts[change.dataset_id]
    after = ctx.store.snapshot(change.head_commit).contracts[change.dataset_id]
    return ContractChangeReview(
        change=change,
        branch=contract_change_branch(change.dataset_id, change.id),
        before=before,
        after=after,
        differences=compare_contracts(before, after),
        diff=ctx.store.diff(change.base_commit, change.head_commit),
    )


def approve_contract_change(
    ctx: AppContext, actor: Authority, change_id: int, reviewed_commit: str
) -> ContractChange:
    """The owner unit or Pusdatin approves exactly the proposal it reviewed. A Pusdatin user
    approves for Pusdatin (or, when Pusdatin owns the dataset and has approved already, for the
    owner); anyone else only for their own unit's dataset. The proposer may not approve, nor may
    one person give both approvals. The second approval merges the change into main; lowered
    levels are then logged with the reason. When the store refuses the merge (main changed the
    contract meanwhile in a way that conflicts, or a dashboard on main would break), that
    approval is not recorded either, and the error says why."""
    require_role(actor, *APPROVER_ROLES)
    with Session(ctx.engine) as session:
        change = session.get(ContractChange, change_id)
        if change is None:
            raise NotFound("contract_change.not_found", change=change_id)
        if change.status != ContractChangeStatus.PROPOSED:
            raise Conflict("contract_change.closed", change=change_id)
        if actor.username == change.proposed_by:
            raise PermissionDenied("contract_change.proposer_cannot_approve")
        if actor.username in (change.owner_approved_by, change.pusdatin_approved_by):
            raise PermissionDenied("contract_change.one_approval_per_person")
        may = [side for side, allowed in (("pusdatin", actor.role in PUSDATIN_ROLES),
                                          ("owner", actor.unit_code == change.owner_unit)) if allowed]
        if not may:
            raise PermissionDenied("contract_change.not_owner_unit")
        open_sides = [s for s in may if getattr(change, f"{_SIDES[s]}_by") is None]
        if not open_sides:
            raise Conflict("contract_change.already_approved", change=change_id)
        if reviewed_commit != change.head_commit:
            raise Conflict("contract_change.review_outdated", change=change_id)
        side = open_sides[0]
        now = ctx.clock.now()
        column = _SIDES[side]
        # Conditional: two people approving the same side at once cannot both succeed.
        moved = session.exec(
            update(ContractChange)
            .where(col(ContractChange.id) == change_id,
                   col(ContractChange.status) == ContractChangeStatus.PROPOSED,
                   getattr(ContractChange, f"{column}_by").is_(None))
            .values({f"{column}_by": actor.username, f"{column}_at": now})
        )
        if moved.rowcount != 1:
            raise Conflict("contract_change.already_approved", change=change_id)
        session.refresh(change)
        record(session, actor.username, "contract.approved",
               detail=f"change {change_id} of {change.dataset_id} for the {side} side, "
                      f"reviewed {reviewed_commit}")
        if change.owner_approved_by and change.pusdatin_approved_by:
            _merge(ctx, session, change, reviewed_commit, last_side=side)
        session.commit()
        session.refresh(change)
        return change


def parse_contract(text: str) -> DataContract:
    """A contract from the YAML a user typed; any problem becomes one readable ``UserError``."""
    try:
        return contract_from_yaml(text)
    except yaml.YAMLError as error:
        raise UserError("contract_change.invalid", detail=yaml_problem(error)) from None
    except ValidationError as error:
        raise UserError("contract_change.invalid", detail=validation_details(error, "contract")) from None
    except ValueError as error:
        raise UserError("contract_change.invalid", detail=said_of(error)) from None


def _merge(
    ctx: AppContext, session: Session, change: ContractChange, reviewed_commit: str, last_side: str
) -> None:
    """Merge the doubly approved change; the merge commit names both approvers, so main alone
    says who approved what even without the database."""
    assert change.id is not None and change.owner_approved_by and change.pusdatin_approved_by
    owner = author_named(ctx, change.owner_approved_by)
    pusdatin = author_named(ctx, change.pusdatin_approved_by)
    first, last = (owner, pusdatin) if last_side == "pusdatin" else (pusdatin, owner)
    merge = ctx.store.merge_contract_change(
        change.dataset_id, change.id, reviewed_commit, [first, last],
        {"Approved-by-owner": owner.username, "Owner-unit": change.owner_unit,
         "Approved-by-pusdatin": pusdatin.username, "Proposed-by": change.proposed_by},
    )
    change.status, change.merge_commit = ContractChangeStatus.MERGED, merge
    session.add(change)
    record(session, last.username, "contract.merged",
           detail=f"change {change.id} of {change.dataset_id} merged as {merge}: {change.summary}"[:2000])
    if change.lowers_level:
        record(session, last.username, "contract.level_lowered", outcome="lowered",
               detail=f"{change.dataset_id} change {change.id} ({merge}): {change.summary}; "
                      f"reason: {change.reason}; approved by {owner.username} for "
                      f"{change.owner_unit} and {pusdatin.username} for Pusdatin"[:2000])


def _change(ctx: AppContext, change_id: int) -> ContractChange:
    with Session(ctx.engine) as session:
        change = session.get(ContractChange, change_id)
    if change is None:
        raise NotFound("contract_change.not_found", change=change_id)
    return change


def _summary(differences: list[ContractDifference]) -> str:
    """The differences in one line for the log, lowered levels first."""
    ordered = sorted(differences, key=lambda d: not d.lowers_level)
    parts = [
        f"{d.subject or 'dataset'}.{d.attribute}: {d.before if d.before is not None else '-'} -> "
        f"{d.after if d.after is not None else '-'}"
        for d in ordered
    ]
    return "; ".join(parts)[:1500]
