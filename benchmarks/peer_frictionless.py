"""Peer for ``verify_benchmark.py``: the same contract checked with Frictionless, for comparison.

Usage: ``python benchmarks/peer_frictionless.py CONTRACT DATA``

Turns the OCenter CONTRACT into a Frictionless Table Schema (field types; constraints required,
unique, enum, minimum, maximum, pattern, minLength, maxLength; the primary key), validates DATA
against it with no limit on the number of errors, prints the number of errors found and exits 0 if
the data is valid, else 1.

Reference lists become ``enum`` constraints holding their codes. Booleans accept ya/tidak/true/
false/1/0 in any case, as OCenter does. Like OCenter, Frictionless checks no constraint of a cell
that is missing (bar ``required``) or of the wrong type. Frictionless has no pattern or length
constraint for non-string fields, nor row-count or freshness checks: those are left out.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from frictionless import Resource, Schema

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocenter.contracts.model import ContractField, DataContract, FieldType, contract_from_yaml  # noqa: E402
from ocenter.reference import reference_codes  # noqa: E402

TRUE_TEXTS = ["true", "1", "ya"]
FALSE_TEXTS = ["false", "0", "tidak"]


def every_case(texts: list[str]) -> list[str]:
    """Each text in every mix of upper and lower case (Frictionless compares booleans exactly)."""
    variants = set()
    for text in texts:
        for chars in itertools.product(*({c.lower(), c.upper()} for c in text)):
            variants.add("".join(chars))
    return sorted(variants)


def number(value: float, f: ContractField) -> int | float:
    return int(value) if f.type == FieldType.INTEGER and value.is_integer() else value


def field_descriptor(f: ContractField, contract: DataContract) -> dict[str, Any]:
    """The Table Schema field of ``f``."""
    descriptor: dict[str, Any] = {"name": f.name, "type": f.type.value}
    if f.type == FieldType.BOOLEAN:
        descriptor["trueValues"] = every_case(TRUE_TEXTS)
        descriptor["falseValues"] = every_case(FALSE_TEXTS)
    elif f.type == FieldType.NUMBER and contract.decimal_separator != ".":
        descriptor["decimalChar"] = contract.decimal_separator
    elif f.type == FieldType.DATETIME:
        descriptor["format"] = "any"  # ISO 8601 with or without seconds and offset
    constraints: dict[str, Any] = {}
    if f.required:
        constraints["required"] = True
    if f.unique:
        constraints["unique"] = True
    enum = f.allowed_values
    if f.reference is not None:
        codes = reference_codes(f.reference)
        enum = sorted(codes if enum is None else codes.intersection(enum))
    if enum is not None:
        constraints["enum"] = enum
    if f.minimum is not None:
        constraints["minimum"] = number(f.minimum, f)
    if f.maximum is not None:
        constraints["maximum"] = number(f.maximum, f)
    if f.type == FieldType.STRING:
        if f.pattern is not None:
            constraints["pattern"] = f"(?:{f.pattern})"  # Frictionless anchors it as ^...$
        if f.min_length is not None:
            constraints["minLength"] = f.min_length
        if f.max_length is not None:
            constraints["maxLength"] = f.max_length
    if constraints:
        descriptor["constraints"] = constraints
    return descriptor


def schema_descriptor(contract: DataContract) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "fields": [field_descriptor(f, contract) for f in contract.fields],
        "missingValues": contract.missing_values,
    }
    # The primary key, unless a unique field already is it (Frictionless would report a repeat twice).
    key = contract.primary_key
    if key and not (len(key) == 1 and contract.field(key[0]).unique):
        descriptor["primaryKey"] = key
    return descriptor


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    contract = contract_from_yaml(Path(sys.argv[1]).read_text(encoding="utf-8"))
    schema = Schema.from_descriptor(schema_descriptor(contract))
    data = Path(sys.argv[2]).resolve()
    # A relative path under basepath: Frictionless refuses absolute paths as "not safe".
    resource = Resource(path=data.name, basepath=str(data.parent), schema=schema)
    report = resource.validate(limit_errors=0)  # 0: no limit, every error is collected
    task = report.tasks[0]
    print(f"rows={task.stats.get('rows')} errors={len(task.errors)} valid={report.valid}")
    kinds = Counter((getattr(error, "field_name", "-"), error.type) for error in task.errors)
    for (column, kind), count in kinds.items():
        print(f"{column:<16}{kind:<20}{count:>8}")
    for warning in task.warnings:
        print(f"warning: {warning}")
    return 0 if report.valid else 1


if __name__ == "__main__":
    sys.exit(main())
