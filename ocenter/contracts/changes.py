"""What a change to a data contract changes, readably: the dataset's settings, fields added or
removed, and each field's rules and confidentiality level, with every lowered level marked."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, Field

from ocenter.accounts.levels import Level
from ocenter.contracts.model import ContractField, DataContract

#: The value of ``ContractDifference.attribute`` for a field added or removed as a whole.
WHOLE_FIELD = "field"


class ContractDifference(BaseModel):
    """One difference between two versions of a data contract."""

    subject: str = Field(
        description="The field's name, or '' for a setting of the dataset as a whole.",
        examples=["parameter_tms", ""],
    )
    attribute: str = Field(
        description="The contract key that differs (level, type, allowed_values, ...), or 'field' "
        "when the whole field was added or removed.",
        examples=["level"],
    )
    before: str | None = Field(description="The old value as YAML text; None: it was not there.")
    after: str | None = Field(description="The new value as YAML text; None: it is removed.")
    lowers_level: bool = Field(
        default=False,
        description="True when a confidentiality level (of the dataset or a field) goes down: "
        "viewers with less clearance would receive the data.",
    )


def compare_contracts(before: DataContract, after: DataContract) -> list[ContractDifference]:
    """Every difference from ``before`` to ``after``: the dataset's settings in the model's
    order, then each field in ``after``'s order (added, or each rule that differs), then the
    removed fields. Fields are matched by name. Empty when the two say the same."""
    differences: list[ContractDifference] = []
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    for key in DataContract.model_fields:
        if key != "fields" and old[key] != new[key]:
            differences.append(_difference("", key, old[key], new[key]))
    old_fields = {f.name: f for f in before.fields}
    new_names = set(after.field_names())
    for field in after.fields:
        previous = old_fields.get(field.name)
        if previous is None:
            differences.append(ContractDifference(subject=field.name, attribute=WHOLE_FIELD,
                                                  before=None, after=_field_text(field)))
            continue
        was, now = previous.model_dump(mode="json"), field.model_dump(mode="json")
        for key in ContractField.model_fields:
            if key != "name" and was[key] != now[key]:
                differences.append(_difference(field.name, key, was[key], now[key]))
    for name, field in old_fields.items():
        if name not in new_names:
            differences.append(ContractDifference(subject=name, attribute=WHOLE_FIELD,
                                                  before=_field_text(field), after=None))
    return differences


def lowered_levels(differences: list[ContractDifference]) -> list[ContractDifference]:
    """The differences that lower a level."""
    return [d for d in differences if d.lowers_level]


def _difference(subject: str, key: str, before: Any, after: Any) -> ContractDifference:
    lowers = key == "level" and Level(after).rank < Level(before).rank
    return ContractDifference(subject=subject, attribute=key, before=_text(before),
                              after=_text(after), lowers_level=lowers)


def _field_text(field: ContractField) -> str:
    return _text(field.model_dump(mode="json", exclude_defaults=True)) or ""


def _text(value: Any) -> str | None:
    """A value as the YAML a reviewer reads in the file (one line; None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=10**6)
    return text.removesuffix("\n").removesuffix("\n...")
