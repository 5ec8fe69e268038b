"""Open Data Contract Standard (ODCS v3) interchange: contracts read from and written as ODCS."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ocenter.accounts.levels import Level
from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.yamlfiles import load_yaml

ODCS_API_VERSION = "v3.1.0"
#: Our levels as ODCS ``classification`` words, lowest first.
CLASSIFICATION = {
    Level.TERBUKA: "public",
    Level.TERBATAS: "restricted",
    Level.RAHASIA: "confidential",
    Level.SANGAT_RAHASIA: "secret",
}
#: Other classification words met in ODCS contracts, read as the nearest level.
_CLASSIFICATION_ALIASES = {
    "open": Level.TERBUKA,
    "internal": Level.TERBATAS,
    "limited": Level.TERBATAS,
    "sensitive": Level.RAHASIA,
    "private": Level.RAHASIA,
    "highly-confidential": Level.SANGAT_RAHASIA,
    "strictly-confidential": Level.SANGAT_RAHASIA,
    "top-secret": Level.SANGAT_RAHASIA,
}
_LOGICAL_TYPES = {
    FieldType.STRING: "string",
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "timestamp",
}
_DATE_FORMATS = {FieldType.DATE: "yyyy-MM-dd", FieldType.DATETIME: "yyyy-MM-dd'T'HH:mm:ss"}
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "m": 30}
_DAYS_PER_UNIT |= {"month": 30, "months": 30, "y": 365, "yr": 365, "year": 365, "years": 365}


def level_from_classification(word: str) -> Level:
    """Our level for an ODCS ``classification`` word; ``ValueError`` for an unknown one."""
    key = str(word).strip().lower().replace("_", "-").replace(" ", "-")
    for level, name in CLASSIFICATION.items():
        if key in (name, level.value):
            return level
    if key in _CLASSIFICATION_ALIASES:
        return _CLASSIFICATION_ALIASES[key]
    raise ValueError(f"unknown classification {word!r}")


# --- ODCS -> OCenter --------------------------------------------------------------------------


def contract_from_odcs(text: str) -> DataContract:
    """A data contract from ODCS v3 YAML (its first schema object); ``ValueError`` if unusable."""
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise ValueError("an ODCS contract must be a YAML mapping")
    if doc.get("kind", "DataContract") != "DataContract":
        raise ValueError(f"kind {doc.get('kind')!r} is not DataContract")
    api = str(doc.get("apiVersion", ODCS_API_VERSION))
    if not api.startswith("v3"):
        raise ValueError(f"apiVersion {api!r} is not ODCS v3")
    schema = doc.get("schema") or []
    if not isinstance(schema, list) or not schema or not isinstance(schema[0], dict):
        raise ValueError("schema[0] is missing")
    table = schema[0]
    custom = _custom(doc.get("customProperties"))
    properties = table.get("properties") or []
    if not isinstance(properties, list):
        raise ValueError("schema[0].properties must be a list")
    fields = [_field_from_property(p) for p in properties]
    keys = sorted(
        (p for p in properties if p.get("primaryKey")),
        key=lambda p: (int(p.get("primaryKeyPosition") or 0) < 1, p.get("primaryKeyPosition")),
    )
    primary_key = [str(p["name"]) for p in keys]
    min_rows, max_rows = None, None
    for rule in table.get("quality") or []:
        metric = rule.get("metric") or rule.get("rule")
        if metric == "rowCount":
            min_rows, max_rows = _row_bounds(rule)
        elif metric == "duplicateValues" and not primary_key:
            primary_key = list((rule.get("arguments") or {}).get("properties") or [])
    cadence, time_field = _cadence(doc.get("slaProperties"))
    partition_keys = [str(p["name"]) for p in sorted(
        (p for p in properties if p.get("partitioned")),
        key=lambda p: int(p.get("partitionKeyPosition") or 0),
    )]
    data: dict[str, Any] = {
        "id": _identifier(custom.get("ocenterId") or doc.get("id") or doc.get("name") or ""),
        "title": str(doc.get("name") or table.get("businessName") or table.get("name") or ""),
        "description": _description(doc.get("description")),
        "owner_unit": str(custom.get("ownerUnit") or doc.get("domain") or ""),
        "fields": fields,
        "primary_key": primary_key,
    }
    if "level" in custom:
        data["level"] = Level(custom["level"])
    elif table.get("classification"):
        data["level"] = level_from_classification(table["classification"])
    optional = {
        "cadence_days": custom.get("cadenceDays", cadence),
        "time_field": custom.get("timeField", time_field),
        "scope_field": custom.get("scopeField"),
        "decimal_separator": custom.get("decimalSeparator"),
        "missing_values": custom.get("missingValues"),
        "min_rows": min_rows,
        "max_rows": max_rows,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    if partition_keys:
        data["partitioning"] = {"sender_field": partition_keys[0],
                                "period_field": partition_keys[1] if len(partition_keys) > 1 else None}
    return DataContract.model_validate(data)


def _field_from_property(prop: dict[str, Any]) -> ContractField:
    if not isinstance(prop, dict) or "name" not in prop:
        raise ValueError("every property needs a name")
    options = dict(prop.get("logicalTypeOptions") or {})
    logical = str(prop.get("logicalType") or "string").lower()
    custom = _custom(prop.get("customProperties"))
    if logical in ("date", "timestamp"):
        has_time = "H" in str(options.get("format") or "")
        ftype = FieldType.DATETIME if logical == "timestamp" or has_time else FieldType.DATE
    else:
        by_name = {v: k for k, v in _LOGICAL_TYPES.items()}
        if logical not in by_name:
            raise ValueError(f"property {prop['name']}: logicalType {logical!r} is not supported")
        ftype = by_name[logical]
    allowed = _enum(prop, options)
    pattern = options.get("pattern")
    for rule in prop.get("quality") or []:
        arguments = rule.get("arguments") or {}
        if (rule.get("metric") or rule.get("rule")) in ("invalidValues", "validValues"):
            values = arguments.get("validValues", rule.get("validValues"))
            if values is not None:
                allowed = [str(v) for v in values]
            pattern = arguments.get("pattern", pattern)
    data: dict[str, Any] = {
        "name": str(prop["name"]),
        "label": str(prop.get("businessName") or custom.get("label") or ""),
        # ODCS has one business name; the English one travels as a custom property.
        "label_en": str(custom["labelEn"]) if custom.get("labelEn") else None,
        "description": str(prop.get("description") or ""),
        "type": ftype,
        "required": bool(prop.get("required", False)),
        "unique": bool(prop.get("unique", False)),
        "allowed_values": allowed,
        "pattern": pattern,
        "min_length": options.get("minLength"),
        "max_length": options.get("maxLength"),
        "reference": custom.get("reference"),
    }
    if ftype in (FieldType.INTEGER, FieldType.NUMBER):
        data["minimum"] = options.get("minimum")
        data["maximum"] = options.get("maximum")
    if "level" in custom:
        data["level"] = Level(custom["level"])
    elif prop.get("classification"):
        data["level"] = level_from_classification(prop["classification"])
    return ContractField.model_validate({k: v for k, v in data.items() if v is not None})


def _enum(prop: dict[str, Any], options: dict[str, Any]) -> list[str] | None:
    entries = prop.get("enum", options.get("enum"))
    if entries is None:
        return None
    return [str(e["value"] if isinstance(e, dict) else e) for e in entries]


def _row_bounds(rule: dict[str, Any]) -> tuple[int | None, int | None]:
    low, high = None, None
    if "mustBeBetween" in rule:
        low, high = (int(v) for v in rule["mustBeBetween"])
    if "mustBeGreaterThanOrEqualTo" in rule:
        low = int(rule["mustBeGreaterThanOrEqualTo"])
    if "mustBeGreaterThan" in rule:
        low = int(rule["mustBeGreaterThan"]) + 1
    if "mustBeLessThanOrEqualTo" in rule:
        high = int(rule["mustBeLessThanOrEqualTo"])
    if "mustBeLessThan" in rule:
        high = int(rule["mustBeLessThan"]) - 1
    if "mustBe" in rule:
        low = high = int(rule["mustBe"])
    return low, high


def _cadence(sla: Any) -> tuple[int | None, str | None]:
    for entry in sla or []:
        prop = str(entry.get("property", "")).lower()
        if prop not in ("frequency", "fy"):
            continue
        unit = str(entry.get("unit") or "d").lower()
        days = int(float(entry["value"]) * _DAYS_PER_UNIT.get(unit, 1))
        element = entry.get("element")
        field = str(element).split(",")[0].strip().split(".")[-1] if element else None
        return max(days, 1), field
    return None, None


def _custom(entries: Any) -> dict[str, Any]:
    if isinstance(entries, dict):
        return dict(entries)
    return {str(e["property"]): e.get("value") for e in entries or [] if "property" in e}


def _description(value: Any) -> str:
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("purpose", "usage", "limitations")]
        return "\n\n".join(str(p) for p in parts if p)
    return str(value or "")


def _identifier(text: str) -> str:
    """A contract id from an ODCS id or name: lower case, dashes, starting with a letter."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"dataset-{slug}".strip("-")
    return slug[:64].rstrip("-")


# --- OCenter -> ODCS --------------------------------------------------------------------------


def contract_to_odcs(contract: DataContract) -> str:
    """The contract as ODCS v3 YAML; :func:`contract_from_odcs` reads it back unchanged."""
    properties = [_property(f, contract) for f in contract.fields]
    table: dict[str, Any] = {
        "name": contract.id.replace("-", "_"),
        "businessName": contract.title,
        "logicalType": "object",
        "physicalType": "file",
        "classification": CLASSIFICATION[contract.level],
        "properties": properties,
    }
    if contract.description:
        table["description"] = contract.description
    bounds = _row_rule(contract.min_rows, contract.max_rows)
    if bounds:
        table["quality"] = [bounds]
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
        sla: dict[str, Any] = {
            "property": "frequency",
            "value": contract.cadence_days,
            "unit": "d",
        }
        if contract.time_field:
            sla["element"] = f"{table['name']}.{contract.time_field}"
        doc["slaProperties"] = [sla]
    custom = {
        "ocenterId": contract.id,
        "ownerUnit": contract.owner_unit,
        "timeField": contract.time_field,
        "scopeField": contract.scope_field,
        "decimalSeparator": contract.decimal_separator,
        "missingValues": contract.missing_values,
    }
    doc["customProperties"] = [{"property": k, "value": v} for k, v in custom.items() if v is not None]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _property(f: ContractField, contract: DataContract) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": f.name}
    if f.label:
        prop["businessName"] = f.label
    if f.description:
        prop["description"] = f.description
    prop["logicalType"] = _LOGICAL_TYPES[f.type]
    options: dict[str, Any] = {}
    if f.type in _DATE_FORMATS:
        options["format"] = _DATE_FORMATS[f.type]
    for key, value in (
        ("minimum", f.minimum),
        ("maximum", f.maximum),
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
    if f.allowed_values is not None:
        prop["quality"] = [
            {
                "metric": "invalidValues",
                "arguments": {"validValues": list(f.allowed_values)},
                "mustBe": 0,
            }
        ]
    custom = {"reference": f.reference, "labelEn": f.label_en}
    if any(value is not None for value in custom.values()):
        prop["customProperties"] = [{"property": k, "value": v} for k, v in custom.items() if v is not None]
    return prop


def _row_rule(low: int | None, high: int | None) -> dict[str, Any] | None:
    if low is None and high is None:
        return None
    rule: dict[str, Any] = {"metric": "rowCount"}
    if low is not None and high is not None:
        rule["mustBeBetween"] = [low, high]
    elif low is not None:
        rule["mustBeGreaterThanOrEqualTo"] = low
    else:
        rule["mustBeLessThanOrEqualTo"] = high
    return rule
