"""Our data contracts written as ODCS v3.1.0, through the standard's own model, valid against its JSON Schema.

What ODCS has a key for goes under that key (``physicalName``, ``classification`` of a property,
``logicalTypeOptions``, ``quality``); what is ours alone (the dataset's level, its owner unit,
the decimal mark, how headers are matched) goes into ``customProperties``, as the standard asks,
so :func:`ocenter.contracts.odcs.contract_from_odcs` reads every detail back.
"""

from __future__ import annotations

from typing import Any

import yaml

from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.contracts.odcs import CLASSIFICATION, LOGICAL_TYPES, ODCS_API_VERSION
from ocenter.contracts.quality import QualityRule

_DATE_FORMATS = {FieldType.DATE: "yyyy-MM-dd", FieldType.DATETIME: "yyyy-MM-dd'T'HH:mm:ss"}


def contract_to_odcs(contract: DataContract) -> str:
    """The contract as ODCS v3.1.0 YAML; :func:`contract_from_odcs` reads it back unchanged."""
    from open_data_contract_standard.model import OpenDataContractStandard

    table_name = contract.id.replace("-", "_")
    table: dict[str, Any] = {
        "name": table_name,
        "businessName": contract.title,
        "logicalType": "object",
        "physicalType": "file",
        "properties": [_property(f, contract) for f in contract.fields],
    }
    if contract.description:
        table["description"] = contract.description
    rules = [_rule(r) for r in contract.quality]
    bounds = _row_rule(contract.min_rows, contract.max_rows)
    if bounds:
        rules.insert(0, bounds)
    if rules:
        table["quality"] = rules
    doc: dict[str, Any] = {
        "apiVersion": ODCS_API_VERSION,
        "kind": "DataContract",
        "id": contract.id,
        "name": contract.title,
        "version": "1.0.0",
        "status": "active",
        "domain": contract.owner_unit,
    }
    if contract.description:
        doc["description"] = {"purpose": contract.description}
    doc["schema"] = [table]
    if contract.cadence_days:
        sla: dict[str, Any] = {"property": "frequency", "value": contract.cadence_days, "unit": "d"}
        if contract.time_field:
            sla["element"] = f"{table_name}.{contract.time_field}"
        doc["slaProperties"] = [sla]
    custom = {
        "ocenterId": contract.id,
        "ownerUnit": contract.owner_unit,
        "level": contract.level.value,
        "timeField": contract.time_field,
        "scopeField": contract.scope_field,
        "decimalSeparator": contract.decimal_separator,
        "missingValues": contract.missing_values,
        "headerMatching": contract.header_matching,
        "senderField": contract.partitioning.sender_field if contract.partitioning else None,
        "periodField": contract.partitioning.period_field if contract.partitioning else None,
    }
    doc["customProperties"] = _custom(custom)
    model = OpenDataContractStandard.model_validate(doc)  # the standard's own shape
    data = model.model_dump(exclude_none=True, by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _property(f: ContractField, contract: DataContract) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": f.name}
    if f.header is not None:
        prop["physicalName"] = f.header
    if f.label:
        prop["businessName"] = f.label
    if f.description:
        prop["description"] = f.description
    prop["logicalType"] = LOGICAL_TYPES[f.type]
    options: dict[str, Any] = {}
    if f.type in _DATE_FORMATS:
        options["format"] = _DATE_FORMATS[f.type]
    for key, value in (
        ("minimum", f.minimum if f.minimum is not None else _iso(f.earliest)),
        ("maximum", f.maximum if f.maximum is not None else _iso(f.latest)),
        ("pattern", f.pattern),
        ("minLength", f.min_length),
        ("maxLength", f.max_length),
    ):
        if value is not None:
            options[key] = value
    if options:
        prop["logicalTypeOptions"] = options
    prop["required"] = f.required
    if f.unique:
        prop["unique"] = True
    if f.name in contract.primary_key:
        prop["primaryKey"] = True
        prop["primaryKeyPosition"] = contract.primary_key.index(f.name) + 1
    parts = contract.partitioning
    if parts is not None and f.name in (parts.sender_field, parts.period_field):
        # ODCS's partition keys: the sender first, then the date whose month is the period.
        prop["partitioned"] = True
        prop["partitionKeyPosition"] = 1 if f.name == parts.sender_field else 2
    prop["classification"] = CLASSIFICATION[f.level]
    rules = [_rule(r) for r in f.quality]
    if f.allowed_values is not None:
        rules.insert(
            0,
            {
                "type": "library",
                "metric": "invalidValues",
                "arguments": {"validValues": list(f.allowed_values)},
                "mustBe": 0,
            },
        )
    if rules:
        prop["quality"] = rules
    custom = _custom({"reference": f.reference, "labelEn": f.label_en})
    if custom:
        prop["customProperties"] = custom
    return prop


def _rule(rule: QualityRule) -> dict[str, Any]:
    """A quality rule in ODCS's words, with only the keys its type allows."""
    data: dict[str, Any] = {"type": rule.type}
    if rule.name:
        data["name"] = rule.name
    if rule.description:
        data["description"] = rule.description
    if rule.dimension:
        data["dimension"] = rule.dimension
    data["severity"] = rule.severity
    if rule.type == "library":
        data["metric"] = rule.metric
        arguments: dict[str, Any] = {}
        if rule.valid_values is not None:
            arguments["validValues"] = list(rule.valid_values)
        if rule.missing_values is not None:
            arguments["missingValues"] = list(rule.missing_values)
        if rule.pattern is not None:
            arguments["pattern"] = rule.pattern
        if rule.properties:
            arguments["properties"] = list(rule.properties)
        if arguments:
            data["arguments"] = arguments
    elif rule.type == "sql":
        data["query"] = rule.query
    elif rule.type == "custom":
        data["engine"] = rule.engine
        if rule.implementation is not None:
            data["implementation"] = rule.implementation
    if rule.operator is not None:
        data["unit"] = rule.unit
        data[rule.operator] = (
            [_plain(v) for v in rule.operands] if len(rule.operands) == 2 else _plain(rule.operands[0])
        )
    return data


def _row_rule(low: int | None, high: int | None) -> dict[str, Any] | None:
    if low is None and high is None:
        return None
    rule: dict[str, Any] = {"type": "library", "metric": "rowCount", "unit": "rows"}
    if low is not None and low == high:
        rule["mustBe"] = low  # ODCS's between takes two different numbers
    elif low is not None and high is not None:
        rule["mustBeBetween"] = [low, high]
    elif low is not None:
        rule["mustBeGreaterOrEqualTo"] = low
    else:
        rule["mustBeLessOrEqualTo"] = high
    return rule


def _custom(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"property": k, "value": v} for k, v in values.items() if v is not None]


def _iso(day: Any) -> str | None:
    return None if day is None else day.isoformat()


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
