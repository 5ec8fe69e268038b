"""Steps 6-8 on main: build the dashboard (15 HK), classify its default data (1 HK), display it (1 HK).

Each step writes the dashboard's lifecycle record (``lifecycle/<id>.yaml``) on main and leaves the
approved spec as the unit approved it; nothing else can write that record (see display/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, Tier, audience_tiers, highest
from ocenter.context import AppContext
from ocenter.contracts.model import DataContract
from ocenter.display.labels import filter_values
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import DashboardSpec, DefaultView, PanelFilter
from ocenter.errors import NotFound, UserError
from ocenter.i18n import Term
from ocenter.models import (
    DashboardRequest,
    RequestStatus,
)
from ocenter.procedure.common import _expect_status, author_of, checkpoint
from ocenter.procedure.decisions import decided_conflict, lock_request, request_decision
from ocenter.procedure.main_record import Decision, latest_decision, stamp, take_in
from ocenter.store.names import lifecycle_path


def _step_on_main(
    ctx: AppContext,
    actor: Authority,
    request_id: int,
    *,
    step: int,
    allowed: tuple[RequestStatus, ...],
    then: RequestStatus,
    message: str,
    change: Callable[[DashboardLifecycle], DashboardLifecycle],
    check: Callable[[DashboardSpec, dict[str, DataContract]], None] | None = None,
) -> str:
    """One of Pusdatin's steps 6-8: record it in the dashboard's lifecycle on main, then move the request on.

    All or nothing: the commit on main, with its ``Request``, ``Step`` and ``Decided-at``
    trailers, is the step; the database takes it in (``main_record``) in the same transaction
    that moves the request, or on the next run when this one was interrupted after the commit.
    Two analysts at once: the second is told who did it; the same analyst retrying gets the
    commit back, as already done. ``check`` may refuse what the step would record, against the
    dashboard and the contracts on main, before anything is written."""
    require_role(actor, Role.ANALIS)
    author = author_of(ctx, actor)
    with Session(ctx.engine) as session:
        request = lock_request(ctx, session, request_id)
        if request.status not in allowed:
            decided = request_decision(session, request_id, step)
            if decided is None:
                _expect_status(request, *allowed)
            if request.status == then and decided.username == actor.username and decided.commit:
                return decided.commit
            raise decided_conflict(session, decided, request=request_id)
        snapshot = ctx.store.snapshot("main")
        if request.dashboard_id not in snapshot.specs:
            raise NotFound("procedure.dashboard_missing", dashboard=request.dashboard_id)
        if check is not None:
            check(snapshot.specs[request.dashboard_id], snapshot.contracts)
        lifecycle = snapshot.lifecycle_of(request.dashboard_id)
        updated = change(lifecycle)
        if request.status == then and updated == lifecycle:
            # Set again as it is (a retry of a step that went through): nothing to record.
            done = latest_decision(session, request_id, step)
            if done is not None:
                return done.commit
        decided_at = ctx.clock.now()
        checkpoint(f"step{step}.checked")
        # An empty commit too: when the lifecycle record already said what the step sets, the
        # step still happened, and its commit is its record.
        commit = ctx.store.commit_to_main(
            {lifecycle_path(updated.id): lifecycle_to_yaml(updated)},
            author,
            snapshot.commit,
            f"{message} {request.dashboard_id}",
            {"Request": str(request.id), "Step": str(step), **stamp(decided_at)},
            allow_empty=True,
        )
        checkpoint(f"step{step}.committed")
        take_in(ctx, session, request, Decision(
            commit=commit, request_id=request_id, step=step, decided_by=actor.username,
            decided_at=decided_at,
        ))
        checkpoint(f"step{step}.recorded")
        session.commit()
        return commit


def build_dashboard(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 6: Pusdatin builds the approved dashboard for the Operational Center display."""
    return _step_on_main(
        ctx, actor, request_id, step=6, allowed=(RequestStatus.APPROVED,),
        then=RequestStatus.BUILT, message="Bangun dasbor",
        change=lambda lifecycle: lifecycle.model_copy(update={"built": True}),
    )


def classify_defaults(
    ctx: AppContext, actor: Authority, request_id: int, defaults: list[DefaultView]
) -> str:
    """Step 7: set the default data each tier of stakeholders sees, by their authority (may be
    set again while the dashboard waits for display). Every default replaces what was kept
    before, so ``defaults`` is the whole classification: one per tier at most.

    Refused, nothing written: a filter on a field none of the dashboard's datasets has
    (``classify.field_unknown``), and a filter on a field above the tier's ceiling clearance
    (``classify.above_tier``): the rows left would tell that tier something of the field."""
    if any(view.tier is None for view in defaults):
        raise ValueError("step 7 keeps each default by its tier, never by scope")
    return _step_on_main(
        ctx, actor, request_id, step=7,
        allowed=(RequestStatus.BUILT, RequestStatus.CLASSIFIED), then=RequestStatus.CLASSIFIED,
        message="Klasifikasi data bawaan",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "classified": True,
             "defaults": [d.model_dump(exclude={"scope"}) for d in defaults]}
        ),
        check=lambda spec, contracts: check_defaults(defaults, spec, contracts),
    )


def check_defaults(
    defaults: list[DefaultView], spec: DashboardSpec, contracts: dict[str, DataContract]
) -> None:
    """Refuse a default filter on a field the dashboard does not read, or above its tier's
    ceiling clearance (the field's level is the higher of its own and its dataset's)."""
    for view in defaults:
        for flt in view.filters:
            level = field_level(spec, contracts, flt.field)
            if level is None:
                raise UserError("classify.field_unknown", field=flt.field)
            if not view.tier.ceiling.allows(level):
                raise UserError("classify.above_tier", field=flt.field,
                                level=Term(f"level.{level.value}"),
                                tier=Term(f"tier.{view.tier.value}"),
                                ceiling=Term(f"level.{view.tier.ceiling.value}"))


def field_level(spec: DashboardSpec, contracts: dict[str, DataContract], name: str) -> Level | None:
    """The level of field ``name`` on this dashboard: the highest of its level (and its
    dataset's) in every dataset it reads that has the field; None when none has it."""
    holders = [contracts[d] for d in spec.datasets if d in contracts and name in contracts[d].field_names()]
    return highest([c.highest_level([name]) for c in holders]) if holders else None


@dataclass(frozen=True)
class FilterChoice:
    """A field step 7's form offers to filter on: one with a closed list of values.

    Attributes:
        field: the contract field's name.
        label: its label, for the analyst.
        level: its level on this dashboard (``field_level``).
        options: each value it may hold, with the name the analyst reads (a reference's name).
    """

    field: str
    label: str
    level: Level
    options: dict[str, str]


def filter_choices(
    spec: DashboardSpec, contracts: dict[str, DataContract], lang: str
) -> list[FilterChoice]:
    """The dashboard's fields with allowed values or a reference list, in dataset and field order."""
    from ocenter.reference import reference_codes

    choices: dict[str, FilterChoice] = {}
    for contract in (contracts[d] for d in spec.datasets if d in contracts):
        for field in contract.fields:
            values = field.allowed_values or (sorted(reference_codes(field.reference))
                                              if field.reference else [])
            if not values or field.name in choices:
                continue
            names = filter_values(contract, field.name, list(values), lang)
            choices[field.name] = FilterChoice(
                field=field.name, label=field.label_in(lang),
                level=field_level(spec, contracts, field.name),
                options=dict(zip(values, names, strict=True)))
    return list(choices.values())


def default_form(
    view: DefaultView | None, choices: list[FilterChoice]
) -> tuple[int, dict[str, list[str]], list[PanelFilter]]:
    """What step 7's form shows of a saved default: its months (0 = every month), the values
    kept of each offered field, and the filters the form has no widget for (kept as saved)."""
    if view is None:
        return 0, {}, []
    shown = _shown_filters(view, choices)
    values = {name: _values(flt) for name, flt in shown.items()}
    kept = [flt for flt in view.filters if all(flt is not s for s in shown.values())]
    return view.months or 0, values, kept


def _values(flt: PanelFilter) -> list:
    return list(flt.value) if isinstance(flt.value, list) else [flt.value]


def _shown_filters(view: DefaultView, choices: list[FilterChoice]) -> dict[str, PanelFilter]:
    """The saved filters the form has a widget for: the first "one of" filter of text values on
    each offered field."""
    offered = {choice.field for choice in choices}
    shown: dict[str, PanelFilter] = {}
    for flt in view.filters:
        if (flt.op in ("eq", "in") and flt.field in offered and flt.field not in shown
                and all(isinstance(v, str) for v in _values(flt))):
            shown[flt.field] = flt
    return shown


def default_from_form(
    tier: Tier, months: int, chosen: dict[str, list[str]], saved: DefaultView | None,
    choices: list[FilterChoice],
) -> DefaultView | None:
    """The default step 7's form says for ``tier``, None when it narrows nothing. A saved
    filter the analyst left as it was is kept exactly as saved, in its place, so saving an
    unchanged form records nothing new."""
    shown = _shown_filters(saved, choices) if saved is not None else {}
    filters: list[PanelFilter] = []
    for flt in saved.filters if saved is not None else []:
        if shown.get(flt.field) is not flt or _values(flt) == chosen.get(flt.field):
            filters.append(flt)  # a filter the form does not show, or one left unchanged
        elif chosen.get(flt.field):
            filters.append(PanelFilter(field=flt.field, op="in", value=chosen[flt.field]))
    filters += [PanelFilter(field=choice.field, op="in", value=chosen[choice.field])
                for choice in choices if chosen.get(choice.field) and choice.field not in shown]
    if not filters and not months:
        return None
    return DefaultView(tier=tier, filters=filters, months=months or None)


def classification_tiers(
    request: DashboardRequest, spec: DashboardSpec, lifecycle: DashboardLifecycle
) -> list[Tier]:
    """The tiers step 7 starts from: the audience the request form named, the tiers the
    approved dashboard is meant for, and every tier that has a default already."""
    named = {*audience_tiers(request.audience), *spec.audience, *lifecycle.defaults_by_tier()}
    return [tier for tier in Tier if tier in named]


#: Who step 8 previews each tier as: a user of the role that tier's people have.
_PREVIEW_ROLE = {
    Tier.KEPALA_BPOM: Role.KEPALA, Tier.ESELON_1: Role.DEPUTI, Tier.ESELON_2: Role.DIREKTUR,
    Tier.KEPALA_UPT: Role.KABALAI, Tier.UNIT_STAFF: Role.UNIT, Tier.PUSDATIN: Role.ANALIS,
    Tier.AUTHORISED_PARTY: Role.TAMU, Tier.WALL_SCREEN: Role.LAYAR,
}


def preview_viewer(
    tier: Tier, analyst: Authority, request: DashboardRequest, upt_code: str | None = None
) -> Authority:
    """Step 8's stand-in for a stakeholder of ``tier``: that tier's ceiling clearance, capped
    at the analyst's own (a preview never shows the analyst more), in the tier's usual scope.
    Eselon II and unit staff are those of the requesting unit, Kepala UPT heads ``upt_code``'s
    region, and an authorised party holds a grant of this dashboard."""
    clearance = tier.ceiling if analyst.clearance.allows(tier.ceiling) else analyst.clearance
    scope = tier.usual_scope
    unit = {Tier.ESELON_2: request.requesting_unit, Tier.UNIT_STAFF: request.requesting_unit,
            Tier.KEPALA_UPT: upt_code}.get(tier)
    grants = [request.dashboard_id] if tier == Tier.AUTHORISED_PARTY else []
    return Authority(username="pratinjau", role=_PREVIEW_ROLE[tier], clearance=clearance,
                     scope=scope, unit_code=unit, grants=grants)


def put_on_display(ctx: AppContext, actor: Authority, request_id: int) -> str:
    """Step 8: show the dashboard on the Operational Center display, to each by their authority."""
    return _step_on_main(
        ctx, actor, request_id, step=8, allowed=(RequestStatus.CLASSIFIED,),
        then=RequestStatus.DISPLAYED, message="Tayangkan dasbor",
        change=lambda lifecycle: DashboardLifecycle.model_validate(
            {**lifecycle.model_dump(), "on_display": True}
        ),
    )
