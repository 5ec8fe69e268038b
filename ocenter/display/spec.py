"""Dashboard specs: what an Operational Center dashboard shows (pydantic, stored as YAML in specs/)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ocenter.accounts.levels import Level, ScopeKind, Tier, audience_tiers
from ocenter.contracts.model import FIELD_NAME_PATTERN, ID_PATTERN, DataContract, FieldType
from ocenter.i18n import Said, refusal
from ocenter.yamlfiles import dump_record, load_yaml_mapping


class PanelKind(StrEnum):
    """How a panel draws its data."""

    KPI = "kpi"  # one big number
    BAR = "bar"
    LINE = "line"
    AREA = "area"
    POINT = "point"
    PIE = "pie"
    HEATMAP = "heatmap"
    MAP = "map"  # Indonesia by province
    TABLE = "table"


class Aggregation(StrEnum):
    """How the rows behind one mark are combined."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"


NUMERIC_TYPES = (FieldType.INTEGER, FieldType.NUMBER)


class PanelFilter(BaseModel):
    """A condition rows must meet to be counted in a panel."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(pattern=FIELD_NAME_PATTERN, description="Contract field to test.")
    op: Literal["eq", "ne", "in", "gte", "lte"] = Field(
        default="eq", description="Comparison: equal, not equal, one of, at least, at most."
    )
    value: str | float | list[str] = Field(description="Value(s) to compare with, as text or number.")


class Panel(BaseModel):
    """One chart, number or table on a dashboard."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Panel id, unique within its dashboard.")
    title: str = Field(description="Heading shown above the panel, in Bahasa Indonesia.")
    title_en: str | None = Field(
        default=None,
        description="The heading in English, for viewers who read English; None shows ``title``.",
        examples=["TMS findings by product category"],
    )
    kind: PanelKind = Field(description="How the panel draws its data.")
    dataset: str = Field(pattern=ID_PATTERN, description="Id of the data contract it reads.")
    dimension: str | None = Field(
        default=None,
        pattern=FIELD_NAME_PATTERN,
        description="Field on the category/time axis (for a map: the province code field).",
        examples=["kategori_produk"],
    )
    measure: str | None = Field(
        default=None,
        pattern=FIELD_NAME_PATTERN,
        description="Numeric field that is aggregated; None counts rows.",
    )
    aggregate: Aggregation = Field(default=Aggregation.COUNT, description="How rows are combined.")
    series: str | None = Field(
        default=None,
        pattern=FIELD_NAME_PATTERN,
        description="Field that splits marks into coloured series (heatmap: the second axis).",
    )
    filters: list[PanelFilter] = Field(default_factory=list, description="Rows counted must pass all.")
    sort: Literal["none", "asc", "desc"] = Field(default="none", description="Order of the categories.")
    limit: int | None = Field(default=None, ge=1, le=500, description="Keep only the top N categories.")
    width: Literal[1, 2, 3] = Field(default=1, description="Columns the panel spans on a 3-column grid.")

    def title_in(self, lang: str) -> str:
        """The heading a viewer reading ``lang`` sees."""
        return self.title_en if lang == "en" and self.title_en else self.title

    def fields_used(self) -> list[str]:
        """Every contract field the panel names, without duplicates, in a stable order."""
        names = [self.dimension, self.measure, self.series, *(f.field for f in self.filters)]
        return list(dict.fromkeys(n for n in names if n))

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> Panel:
        if self.kind not in (PanelKind.KPI, PanelKind.TABLE) and not self.dimension:
            raise refusal("check.panel_needs_dimension", panel=self.id, kind=self.kind.value)
        if self.kind == PanelKind.HEATMAP and not self.series:
            raise refusal("check.heatmap_needs_series", panel=self.id)
        if self.aggregate not in (Aggregation.COUNT,) and not self.measure:
            raise refusal("check.aggregate_needs_measure", panel=self.id, aggregate=self.aggregate.value)
        return self


class DefaultView(BaseModel):
    """Step 7: the default data a tier of stakeholders sees when they open the dashboard."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier | None = Field(
        default=None, description="The stakeholders this default applies to (step 7 writes this).",
        examples=["eselon_1"],
    )
    scope: ScopeKind | None = Field(
        default=None,
        description="Only in records made before tiers, read and never written: the viewers of "
        "this scope, for each tier without a default of its own.",
        examples=["upt"],
    )
    filters: list[PanelFilter] = Field(
        default_factory=list, description="Filters applied to every panel for these viewers."
    )
    months: int | None = Field(
        default=None, ge=1, le=120, description="Show only the latest N months of the time field."
    )

    @model_validator(mode="after")
    def _names_one_group(self) -> DefaultView:
        if (self.tier is None) == (self.scope is None):
            raise refusal("check.default_one_group")
        return self

    @property
    def narrows(self) -> bool:
        """True when the default shows less than everything the viewer may see."""
        return bool(self.filters or self.months)


#: What steps 6-8 record (built, default data classified, on display). It lives in the
#: dashboard's lifecycle record, written only by those steps on main (display/lifecycle.py);
#: a spec carrying any of it is refused wherever specs are read, so no mock-up, made in the
#: editor or pushed with Git, can skip a step.
LIFECYCLE_KEYS = ("built", "published", "classified", "defaults", "on_display")


class LifecycleInSpecError(ValueError):
    """A spec carries state only steps 6-8 may set."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(
            f"{', '.join(keys)}: set only by steps 6-8 (Bangun, Klasifikasi, Tayangkan) in "
            "lifecycle/<id>.yaml, never in a spec"
        )
        self.keys = keys


def check_no_lifecycle_keys(data: dict) -> None:
    """Raise ``LifecycleInSpecError`` when the mapping of a spec holds a lifecycle key."""
    found = [key for key in LIFECYCLE_KEYS if key in data]
    if found:
        raise LifecycleInSpecError(found)


class DashboardSpec(BaseModel):
    """A whole dashboard of the Operational Center, reviewable as YAML in Git."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Dashboard id; also its file name in specs/.")
    title: str = Field(description="Title shown on the wall screen, in Bahasa Indonesia.")
    title_en: str | None = Field(
        default=None,
        description="The title in English, for viewers who read English; None shows ``title``.",
        examples=["Sampling and Testing Monitor"],
    )
    description: str = Field(default="", description="What the dashboard is for, in one paragraph.")
    owner_unit: str = Field(description="Code of the unit that requested and owns the dashboard.")
    request_id: int | None = Field(
        default=None, description="Number of the dashboard request (Formulir Permintaan Dashboard)."
    )
    level: Level = Field(
        default=Level.TERBATAS,
        description="Confidentiality of the dashboard; at least the highest level of the data shown.",
    )
    audience: list[Tier] = Field(
        default_factory=lambda: audience_tiers([ScopeKind.BPOM, ScopeKind.UNIT]),
        description="Tiers of stakeholders it is meant for, from the request form; central units "
        "and UPT regions see it only when their tier is named (a grant adds single viewers). "
        "Scopes written before tiers (bpom, unit, upt, grant) are read as their tiers.",
        examples=[["kepala_bpom", "eselon_1", "eselon_2"]],
    )
    datasets: list[str] = Field(default_factory=list, description="Ids of the contracts it reads.")
    panels: list[Panel] = Field(default_factory=list, description="Panels, in reading order.")

    def title_in(self, lang: str) -> str:
        """The title a viewer reading ``lang`` sees."""
        return self.title_en if lang == "en" and self.title_en else self.title

    @field_validator("audience", mode="before")
    @classmethod
    def _audience_as_tiers(cls, value: object) -> object:
        if isinstance(value, list) and all(isinstance(word, str) for word in value):
            return audience_tiers(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_lifecycle_state(cls, data: object) -> object:
        if isinstance(data, dict):
            check_no_lifecycle_keys(data)
        return data

    @model_validator(mode="after")
    def _panels_are_consistent(self) -> DashboardSpec:
        ids = [p.id for p in self.panels]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise refusal("check.panel_ids_twice", ids=", ".join(duplicates))
        undeclared = sorted({p.dataset for p in self.panels} - set(self.datasets))
        if undeclared:
            raise refusal("check.datasets_undeclared", datasets=", ".join(undeclared))
        return self


def content_problems(spec: DashboardSpec, contracts: dict[str, DataContract]) -> list[Said]:
    """Content validation against the contracts: every field named exists with a fitting type,
    and the dashboard is classified at least as high as the data it shows. (Its step-7 defaults
    are checked with its lifecycle record: ``display.lifecycle.lifecycle_problems``.)

    Returns the problems (empty when the spec is sound): English text that a page says in its
    reader's language (``i18n.Said``).
    """
    problems: list[Said] = []
    for dataset in spec.datasets:
        if dataset not in contracts:
            problems.append(Said("check.dataset_without_contract", dataset=dataset))
    shown_levels: list[Level] = []
    for panel in spec.panels:
        contract = contracts.get(panel.dataset)
        if contract is None:
            continue
        names = set(contract.field_names())
        for name in panel.fields_used():
            if name not in names:
                problems.append(Said("check.field_not_in_contract", panel=panel.id, field=name,
                                     contract=contract.id))
        numeric_aggregate = panel.aggregate not in (Aggregation.COUNT, Aggregation.COUNT_DISTINCT)
        measure_type = contract.field(panel.measure).type if panel.measure in names else None
        if numeric_aggregate and measure_type is not None and measure_type not in NUMERIC_TYPES:
            problems.append(Said("check.aggregate_needs_number", panel=panel.id,
                                 aggregate=panel.aggregate.value, field=panel.measure,
                                 type=measure_type.value))
        used = [n for n in panel.fields_used() if n in names]
        shown_levels.append(contract.highest_level(used))
    for level in shown_levels:
        if not spec.level.allows(level):
            problems.append(Said("check.dashboard_below_data", level=spec.level.value,
                                 data_level=level.value))
            break
    return problems


def spec_from_yaml(text: str) -> DashboardSpec:
    """Parse a spec from YAML text; raises ``ValueError`` (or pydantic's) on bad content,
    ``YamlLimitError`` (a ``ValueError``) on a text over the reading limits."""
    data = load_yaml_mapping(text, "spec")
    check_no_lifecycle_keys(data)  # before the model, so the refusal keeps its own type
    return DashboardSpec.model_validate(data)


def spec_to_yaml(spec: DashboardSpec) -> str:
    """The spec as reviewable YAML, keys in declaration order, defaults left out."""
    return dump_record(spec)
