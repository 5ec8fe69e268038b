"""Quality rules as ODCS writes them: a metric over a column or the table, a unit, a threshold."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocenter.i18n import refusal

#: ODCS's library metrics, all of which the verification engine computes.
Metric = Literal["nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"]
#: ODCS's comparison operators, by their ODCS names (a rule has exactly one).
Operator = Literal[
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
]
OPERATORS: tuple[str, ...] = Operator.__args__  # type: ignore[attr-defined]
#: How each operator reads in a report, the same in both languages.
_SYMBOLS = {
    "mustBe": "= {0}",
    "mustNotBe": "≠ {0}",
    "mustBeGreaterThan": "> {0}",
    "mustBeGreaterOrEqualTo": "≥ {0}",
    "mustBeLessThan": "< {0}",
    "mustBeLessOrEqualTo": "≤ {0}",
    "mustBeBetween": "∈ [{0}, {1}]",
    "mustNotBeBetween": "∉ [{0}, {1}]",
}


class QualityRule(BaseModel):
    """One ODCS quality rule of a field or of the whole table.

    A ``library`` rule (one of ODCS's metrics) is measured on the uploaded file and compared with
    its threshold; ``sql``, ``custom`` and ``text`` rules are kept with the contract and shown in
    the verification report as not checked, with the reason.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["library", "sql", "custom", "text"] = Field(
        default="library", description="ODCS rule type: a library metric, SQL, a tool's own, or prose."
    )
    metric: Metric | None = Field(
        default=None,
        description="The library metric measured: empty cells (nullValues), cells that count as "
        "missing (missingValues), present cells outside validValues or pattern (invalidValues), "
        "rows repeating an earlier row's value (duplicateValues), data rows (rowCount).",
        examples=["invalidValues"],
    )
    name: str | None = Field(default=None, description="Short name of the rule, if it has one.")
    description: str = Field(default="", description="What the rule is for, in words.")
    dimension: str | None = Field(
        default=None,
        description="ODCS quality dimension (completeness, conformity, ...).",
        examples=["conformity"],
    )
    severity: Literal["error", "warning"] = Field(
        default="error",
        description="A failing ``error`` rule makes the data invalid; a ``warning`` is reported only.",
    )
    unit: Literal["rows", "percent"] = Field(
        default="rows",
        description="The measure compared: a number of rows, or a percentage of the table's data rows.",
    )
    operator: Operator | None = Field(
        default=None,
        description="The ODCS comparison the measure must pass.",
        examples=["mustBeLessOrEqualTo"],
    )
    operands: list[float] = Field(
        default_factory=list,
        description="The threshold: one number, or two (low, high, inclusive) for the between operators.",
        examples=[[5]],
    )
    valid_values: list[str | None] | None = Field(
        default=None,
        description="invalidValues: the values allowed (ODCS arguments.validValues); null stands "
        "for the empty cell, which invalidValues never counts (missing cells are nullValues').",
        examples=[["MS", "TMS"]],
    )
    missing_values: list[str | None] | None = Field(
        default=None,
        description="missingValues: the cell texts that count as missing (ODCS "
        "arguments.missingValues, null for the empty cell); None: the contract's missing_values.",
        examples=[["", "N/A"]],
    )
    pattern: str | None = Field(
        default=None, description="invalidValues: regular expression (RE2) a valid value matches whole."
    )
    properties: list[str] = Field(
        default_factory=list,
        description="Table-level duplicateValues: the fields whose combined value must not repeat.",
        examples=[["kode_upt", "no_sampel"]],
    )
    query: str | None = Field(default=None, description="sql rules: the query, as written.")
    engine: str | None = Field(default=None, description="custom rules: the tool that runs it.")
    implementation: str | None = Field(
        default=None, description="custom rules: the tool's own rule text, as written (YAML)."
    )

    @model_validator(mode="after")
    def _is_complete(self) -> QualityRule:
        if self.type == "library" and self.metric is None:
            raise refusal("check.quality_needs_metric")
        if self.type != "text" and self.type != "custom" and self.operator is None:
            raise refusal("check.quality_needs_threshold", metric=self.metric or self.type)
        if self.operator is not None:
            wanted = 2 if self.operator.endswith("Between") else 1
            if len(self.operands) != wanted or not all(math.isfinite(v) for v in self.operands):
                raise refusal("check.quality_threshold_shape", operator=self.operator, count=wanted)
            if wanted == 2 and self.operands[0] >= self.operands[1]:
                raise refusal("check.quality_between_order", operator=self.operator)
        if self.type == "sql" and not self.query:
            raise refusal("check.quality_needs_query")
        if self.pattern is not None:
            from ocenter.contracts.model import check_pattern

            check_pattern(self.pattern)
        return self

    def condition(self) -> str:
        """The threshold as a reader sees it: ``≤ 5%``, ``= 0``, ``∈ [1, 10]``."""
        if self.operator is None:
            return ""
        suffix = "%" if self.unit == "percent" else ""
        shown = [f"{_number(v)}{suffix}" for v in self.operands]
        return _SYMBOLS[self.operator].format(*shown)

    def passes(self, measured: float) -> bool:
        """Whether ``measured`` (in the rule's unit) meets the threshold, exactly as written."""
        values = self.operands
        match self.operator:
            case "mustBe":
                return measured == values[0]
            case "mustNotBe":
                return measured != values[0]
            case "mustBeGreaterThan":
                return measured > values[0]
            case "mustBeGreaterOrEqualTo":
                return measured >= values[0]
            case "mustBeLessThan":
                return measured < values[0]
            case "mustBeLessOrEqualTo":
                return measured <= values[0]
            case "mustBeBetween":
                return values[0] <= measured <= values[1]
            case "mustNotBeBetween":
                return not values[0] <= measured <= values[1]
        raise ValueError(f"rule without a threshold: {self!r}")  # a bug: checked by the validator

    def zero_tolerance(self) -> bool:
        """Whether the threshold allows no failing row at all (``mustBe: 0``, ``< 1`` row, ...)."""
        if self.operator == "mustBe" or self.operator == "mustBeLessOrEqualTo":
            return self.operands == [0]
        return self.operator == "mustBeLessThan" and self.unit == "rows" and 0 < self.operands[0] <= 1


def measure(count: int, rows: int, unit: str) -> float:
    """A count of rows in a rule's unit: the count, or its percentage of ``rows`` (0 of none)."""
    if unit == "percent":
        return 100.0 * count / rows if rows else 0.0
    return float(count)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
