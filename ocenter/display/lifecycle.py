"""Steps 6-8 of a dashboard (built, default data classified, on display), kept apart from its spec.

The spec (``specs/<id>.yaml``) is what the requesting unit reviewed and approved; it may not carry
any of this. The lifecycle record (``lifecycle/<id>.yaml``) is written only by steps 6-8 on main:
a mock-up approval may change nothing but its own spec, so no editor and no pushed branch can mark
a dashboard built, classified or on display.

Step 7's defaults are kept per stakeholder tier (``tier: eselon_1``). Records made before tiers
kept them per scope (``scope: bpom``); they are still read, exactly as they were meant: such a
default applies to every viewer of that scope whose tier has no default of its own, so a tier's
own default always wins. Step 7 writes tiers only; saving it again turns an old record into one
default per tier, each tier taking the default of its usual scope (``Tier.usual_scope``: all of
BPOM for Kepala BPOM, Eselon I, Pusdatin and the wall screen; a work unit for Eselon II and unit
staff; a UPT region for Kepala UPT; grants for authorised parties).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocenter.accounts.levels import ScopeKind, Tier
from ocenter.contracts.model import ID_PATTERN, DataContract
from ocenter.display.spec import DashboardSpec, DefaultView
from ocenter.i18n import Said, refusal
from ocenter.yamlfiles import dump_record, load_yaml_mapping


class DashboardLifecycle(BaseModel):
    """Where one dashboard stands in steps 6-8, as those steps recorded it on main."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=ID_PATTERN,
        description="Id of the dashboard; also the file name in lifecycle/.",
        examples=["pantauan-sampling-pengujian"],
    )
    built: bool = Field(default=False, description="Step 6 done: built for the Operational Center display.")
    classified: bool = Field(default=False, description="Step 7 done: default data classified.")
    defaults: list[DefaultView] = Field(
        default_factory=list, description="Step 7: the default data of each kind of stakeholder."
    )
    on_display: bool = Field(default=False, description="Step 8 done: shown on the display.")

    @model_validator(mode="after")
    def _steps_in_order(self) -> DashboardLifecycle:
        if self.classified and not self.built:
            raise refusal("check.classified_needs_built")
        if self.on_display and not self.classified:
            raise refusal("check.displayed_needs_classified")
        tiers = [d.tier for d in self.defaults if d.tier is not None]
        twice = sorted({t.value for t in tiers if tiers.count(t) > 1})
        if twice:
            raise refusal("check.default_twice", tiers=", ".join(twice))
        return self

    def default_for(self, tier: Tier, scope: ScopeKind | None = None) -> DefaultView | None:
        """The step-7 default of ``tier``, if one is set; else, from a record made before
        tiers, the default of viewers of ``scope`` (the first, as it was read then)."""
        own = next((d for d in self.defaults if d.tier == tier), None)
        if own is not None or scope is None:
            return own
        return next((d for d in self.defaults if d.scope == scope), None)

    def defaults_by_tier(self) -> dict[Tier, DefaultView]:
        """The default each tier gets, as step 7 shows and saves it: a tier's own, else the one
        an old record kept for the tier's usual scope, re-keyed by the tier."""
        found: dict[Tier, DefaultView] = {}
        for tier in Tier:
            view = self.default_for(tier, tier.usual_scope)
            if view is not None:
                found[tier] = view.model_copy(update={"tier": tier, "scope": None})
        return found


def lifecycle_problems(
    lifecycle: DashboardLifecycle, spec: DashboardSpec | None, contracts: dict[str, DataContract]
) -> list[Said]:
    """What is wrong with a lifecycle record against its dashboard: a default filter must name a
    field of one of the datasets the dashboard reads (empty when sound; see ``i18n.Said``)."""
    if spec is None:
        return []  # no dashboard (yet, or any more): the record shows nothing
    problems = []
    names = {n for d in spec.datasets if d in contracts for n in contracts[d].field_names()}
    for view in lifecycle.defaults:
        group = view.tier or view.scope
        for flt in view.filters:
            if flt.field not in names:
                problems.append(Said("check.default_field_unknown", group=group.value, field=flt.field))
    return problems


def lifecycle_from_yaml(text: str) -> DashboardLifecycle:
    """Parse a lifecycle record from YAML text; raises ``ValueError`` (or pydantic's) on bad content."""
    data = load_yaml_mapping(text, "lifecycle")
    return DashboardLifecycle.model_validate(data)


def lifecycle_to_yaml(lifecycle: DashboardLifecycle) -> str:
    """The record as reviewable YAML, defaults left out."""
    return dump_record(lifecycle)
