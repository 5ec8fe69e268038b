"""Open Data Contract Standard (ODCS v3) contracts read through the standard's own model.

A contract is parsed by ``open_data_contract_standard`` (the standard's pydantic model, see
README "Dependencies") and turned into a :class:`DataContract`: what the Operational Center can
check is taken as written, and what it cannot (nested records, times of day, a format it does
not read) is refused by name, never dropped. Writing goes the other way, in
:mod:`ocenter.contracts.odcs_export`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ocenter.accounts.levels import Level
from ocenter.contracts.model import DataContract, FieldType
from ocenter.contracts.quality import OPERATORS
from ocenter.errors import UserError
from ocenter.i18n import Said
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
LOGICAL_TYPES = {
    FieldType.STRING: "string",
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "timestamp",
}
_DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "m": 30}
_DAYS_PER_UNIT |= {"month": 30, "months": 30, "y": 365, "yr": 365, "year": 365, "years": 365}
#: logicalTypeOptions read per type; any other option is refused by name.
#: (``format`` of a number is its storage precision, f32 or i64: nothing a text cell shows.)
_OPTIONS = {
    FieldType.STRING: {"minLength", "maxLength", "pattern", "enum"},
    FieldType.INTEGER: {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format", "enum"},
    FieldType.NUMBER: {"minimum", "maximum", "format", "enum"},
    FieldType.BOOLEAN: set(),
    FieldType.DATE: {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format", "enum"},
    FieldType.DATETIME: {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format"},
}
#: Older spellings of the same thresholds (ODCS v3.0 drafts and our own earlier exports).
_LEGACY_OPERATORS = {
    "mustBeGreaterThanOrEqualTo": "mustBeGreaterOrEqualTo",
    "mustBeLessThanOrEqualTo": "mustBeLessOrEqualTo",
}
_TIME_OF_DAY = re.compile(r"^[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")


class OdcsRefusal(UserError):
    """An ODCS contract the Operational Center cannot take as it is, with what and where."""


def level_from_classification(word: str) -> Level:
    """Our level for an ODCS ``classification`` word; ``ValueError`` for an unknown one."""
    key = str(word).strip().lower().replace("_", "-").replace(" ", "-")
    for level, name in CLASSIFICATION.items():
        if key in (name, level.value):
            return level
    if key in _CLASSIFICATION_ALIASES:
        return _CLASSIFICATION_ALIASES[key]
    raise ValueError(f"unknown classification {word!r}")


def odcs_table_names(text: str) -> list[str]:
    """The names of the tables (``schema`` objects) an ODCS contract describes."""
    return [str(s.name) for s in _document(text).schema_ or []]


# --- ODCS -> OCenter --------------------------------------------------------------------------


def contract_from_odcs(text: str, table: str | None = None) -> DataContract:
    """A data contract from ODCS v3 YAML: its only table, or the one named ``table``.

    Raises :class:`OdcsRefusal` (a ``UserError``) naming what cannot be taken: another kind or
    version, no table, several tables and none chosen, a nested or unknown type, an option or a
    quality rule the verification cannot check as written.
    """
    from pydantic import ValidationError

    from ocenter.errors import validation_details

    doc = _document(text)
    tables = doc.schema_ or []
    if not tables:
        raise OdcsRefusal("odcs.no_table")
    names = [str(s.name) for s in tables]
    if table is None and len(tables) > 1:
        raise OdcsRefusal("odcs.several_tables", count=len(tables), tables=", ".join(names))
    chosen = tables[0] if table is None else next((s for s in tables if s.name == table), None)
    if chosen is None:
        raise OdcsRefusal("odcs.no_such_table", table=table, tables=", ".join(names))
    try:
        return DataContract.model_validate(_contract_data(doc, chosen, several=len(tables) > 1))
    except ValidationError as exc:
        raise OdcsRefusal("odcs.invalid", detail=validation_details(exc, limit=5)) from None


def _document(text: str) -> Any:
    """The contract as the standard's model, after the few older spellings are made current."""
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    from ocenter.errors import validation_details

    try:
        raw = load_yaml(text)  # bounded in size and depth, unlike the model's own from_string
    except ValueError as exc:
        raise OdcsRefusal("odcs.not_yaml", detail=str(exc).splitlines()[0] if str(exc) else "") from None
    if not isinstance(raw, dict):
        raise OdcsRefusal("odcs.not_mapping")
    kind = raw.get("kind", "DataContract")
    if kind != "DataContract":
        raise OdcsRefusal("odcs.kind", kind=kind)
    api = str(raw.get("apiVersion", ODCS_API_VERSION))
    if not api.startswith("v3"):
        raise OdcsRefusal("odcs.version", version=api)
    for schema in raw.get("schema") or []:
        if isinstance(schema, dict):
            _current_table(schema)
    try:
        return OpenDataContractStandard.model_validate(raw)
    except ValidationError as exc:
        raise OdcsRefusal("odcs.invalid", detail=validation_details(exc, limit=5)) from None


def _current_table(schema: dict[str, Any]) -> None:
    """An older table in today's words, in place: a table's ``classification`` (not an ODCS
    v3.1 key of a table) as a custom property, a property's ``enum`` as a logical type option."""
    if "classification" in schema:
        custom = schema.setdefault("customProperties", [])
        if isinstance(custom, list):
            custom.append({"property": "classification", "value": schema.pop("classification")})
    for rule in schema.get("quality") or []:
        _current_rule(rule)
    for prop in schema.get("properties") or []:
        if not isinstance(prop, dict):
            continue
        if "enum" in prop:
            options = prop.setdefault("logicalTypeOptions", {})
            if isinstance(options, dict):
                options.setdefault("enum", prop.pop("enum"))
        for rule in prop.get("quality") or []:
            _current_rule(rule)


def _current_rule(rule: Any) -> None:
    """An older quality rule in today's words, in place: ``rule: validValues`` with the values
    beside it (ODCS v2/v3.0 drafts) is ``metric: invalidValues`` with them as arguments."""
    if not isinstance(rule, dict):
        return
    for old, new in _LEGACY_OPERATORS.items():
        if old in rule and new not in rule:
            rule[new] = rule.pop(old)
    if rule.get("rule") == "validValues" and "metric" not in rule:
        rule.pop("rule")
        rule["metric"] = "invalidValues"
        arguments = rule.setdefault("arguments", {})
        if "validValues" in rule:
            arguments["validValues"] = rule.pop("validValues")
        if not any(op in rule for op in OPERATORS):
            rule["mustBe"] = 0
    elif "rule" in rule and "metric" not in rule:
        rule["metric"] = rule.pop("rule")


def _contract_data(doc: Any, table: Any, several: bool) -> dict[str, Any]:
    custom = _custom(doc.customProperties)
    props = table.properties or []
    if not props:
        raise OdcsRefusal("odcs.no_properties", table=table.name)
    names = {str(p.name): _field_name(str(p.name)) for p in props}
    fields, problems = [], []
    for prop in props:  # every column's problem at once, so one revision of the contract does
        try:
            fields.append(_field_data(prop, names[str(prop.name)]))
        except OdcsRefusal as refused:
            problems.append(refused)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        said = [Said(p.key, **p.params) for p in problems]
        raise OdcsRefusal("odcs.columns", count=len(problems), problems=Said.joined(" ", said))
    keys = sorted(
        (p for p in props if p.primaryKey),
        key=lambda p: (int(p.primaryKeyPosition or 0) < 1, p.primaryKeyPosition or 0),
    )
    primary_key = [names[str(p.name)] for p in keys]
    data: dict[str, Any] = {}
    quality: list[dict[str, Any]] = []
    for rule in table.quality or []:
        converted = _rule_data(rule, f"schema {table.name}")
        if converted.get("metric") == "rowCount" and _rows_as_bounds(converted, data):
            continue
        if converted.get("metric") == "duplicateValues":
            wanted = (rule.arguments or {}).get("properties") or []
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise OdcsRefusal("odcs.unknown_properties", where=table.name, names=", ".join(unknown))
            converted["properties"] = [names[n] for n in wanted]
            if not primary_key and converted["properties"] and _zero(converted):
                primary_key = converted["properties"]
                continue
        quality.append(converted)
    columns = names | {str(p.physicalName): names[str(p.name)] for p in props if p.physicalName}
    cadence, time_field = _cadence(doc.slaProperties, str(table.name), columns)
    several_name = str(table.businessName or table.name or "")
    data |= {
        "id": _identifier(
            custom.get("ocenterId")
            or (table.name if several else None)
            or doc.id
            or doc.name
            or table.name
            or ""
        ),
        "title": str(
            (several_name if several else None) or doc.name or table.businessName or table.name or ""
        ),
        "description": _description(doc.description) or str(table.description or ""),
        "owner_unit": str(custom.get("ownerUnit") or doc.domain or ""),
        "fields": fields,
        "primary_key": primary_key,
        "quality": quality,
    }
    if "level" in custom:
        data["level"] = custom["level"]
    elif _custom(table.customProperties).get("classification"):
        word = _custom(table.customProperties)["classification"]
        try:
            data["level"] = level_from_classification(word)
        except ValueError:
            raise OdcsRefusal("odcs.classification", property=table.name, word=word) from None
    optional = {
        "cadence_days": custom.get("cadenceDays", cadence),
        "time_field": custom.get("timeField", time_field),
        "scope_field": custom.get("scopeField"),
        "decimal_separator": custom.get("decimalSeparator"),
        "missing_values": custom.get("missingValues"),
        "header_matching": custom.get("headerMatching"),
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    # ODCS's partition keys say how the producer stores its data, which a file's check does not
    # see; how senders' files combine is ours alone and travels as custom properties.
    if custom.get("senderField"):
        data["partitioning"] = {
            "sender_field": custom["senderField"],
            "period_field": custom.get("periodField"),
        }
    return data


def _field_data(prop: Any, name: str) -> dict[str, Any]:
    where = str(prop.name)
    logical = str(prop.logicalType or "string").lower()
    if prop.properties or prop.items is not None or logical in ("object", "array"):
        raise OdcsRefusal("odcs.nested", property=where, type=logical)
    options = dict(prop.logicalTypeOptions or {})
    by_name = {v: k for k, v in LOGICAL_TYPES.items()}
    if logical not in by_name:
        raise OdcsRefusal("odcs.type", property=where, type=logical)
    ftype = by_name[logical]
    if ftype == FieldType.DATE and "H" in str(options.get("format") or ""):
        ftype = FieldType.DATETIME  # a "date" written with its time of day
    unknown = sorted(set(options) - _OPTIONS[ftype])
    if unknown:
        raise OdcsRefusal("odcs.options", property=where, type=logical, options=", ".join(unknown))
    custom = _custom(prop.customProperties)
    data: dict[str, Any] = {
        "name": name,
        "label": str(prop.businessName or custom.get("label") or ""),
        # ODCS has one business name; the English one travels as a custom property.
        "label_en": str(custom["labelEn"]) if custom.get("labelEn") else None,
        "description": str(prop.description or ""),
        "type": ftype,
        "required": bool(prop.required),
        "unique": bool(prop.unique),
        "reference": custom.get("reference"),
        "header": str(prop.physicalName) if prop.physicalName else (where if where != name else None),
    }
    if ftype == FieldType.STRING:
        data |= {
            "min_length": options.get("minLength"),
            "max_length": options.get("maxLength"),
            "pattern": options.get("pattern"),
        }
    elif ftype in (FieldType.INTEGER, FieldType.NUMBER):
        data |= _number_bounds(options, ftype, where)
    elif ftype in (FieldType.DATE, FieldType.DATETIME):
        fmt = str(options.get("format") or "yyyy-MM-dd")
        if not fmt.startswith("yyyy-MM-dd"):
            raise OdcsRefusal("odcs.date_format", property=where, format=fmt)
        data |= _date_bounds(options, where)
    enum = _enum(prop)
    if enum is not None:
        data["allowed_values"] = enum
    if "level" in custom:
        data["level"] = custom["level"]
    elif prop.classification:
        try:
            data["level"] = level_from_classification(prop.classification)
        except ValueError:
            raise OdcsRefusal("odcs.classification", property=where, word=prop.classification) from None
    rules = []
    for rule in prop.quality or []:
        converted = _rule_data(rule, where)
        simple = set(rule.arguments or {}) in ({"validValues"}, {"pattern"})
        if converted.get("metric") == "invalidValues" and simple and _zero(converted):
            # Not one invalid cell allowed: each cell is checked and named, as allowed_values
            # or pattern say (and as our own export writes them).
            if "valid_values" in converted and "allowed_values" not in data:
                data["allowed_values"] = [str(v) for v in converted["valid_values"] if v is not None]
                continue
            if "pattern" in converted and not data.get("pattern"):
                data["pattern"] = converted["pattern"]
                continue
        rules.append(converted)
    data["quality"] = rules
    return {k: v for k, v in data.items() if v is not None}


def _rule_data(rule: Any, where: str) -> dict[str, Any]:
    """A quality rule as our :class:`QualityRule` data; what it cannot hold is refused."""
    kind = str(rule.type or ("library" if rule.metric else "text")).lower()
    if kind not in ("library", "sql", "custom", "text"):
        raise OdcsRefusal("odcs.quality_type", where=where, type=kind)
    operators = [op for op in OPERATORS if getattr(rule, op) is not None]
    if len(operators) > 1:
        raise OdcsRefusal("odcs.quality_operators", where=where, operators=", ".join(operators))
    unit = str(rule.unit or "rows").lower()
    if unit not in ("rows", "percent"):
        raise OdcsRefusal("odcs.quality_unit", where=where, unit=unit)
    data: dict[str, Any] = {"type": kind, "unit": unit, "description": str(rule.description or "")}
    if rule.name:
        data["name"] = str(rule.name)
    if rule.dimension:
        data["dimension"] = str(rule.dimension)
    severity = str(rule.severity or "error").lower()
    data["severity"] = "warning" if severity in ("warning", "info") else "error"
    if operators:
        value = getattr(rule, operators[0])
        values = value if isinstance(value, list) else [value]
        try:
            data["operands"] = [float(v) for v in values]
        except (TypeError, ValueError):
            raise OdcsRefusal(
                "odcs.quality_threshold", where=where, operator=operators[0], value=value
            ) from None
        data["operator"] = operators[0]
    if kind == "library":
        metric = str(rule.metric or "")
        if metric not in ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"):
            raise OdcsRefusal("odcs.quality_metric", where=where, metric=metric)
        data["metric"] = metric
        arguments = dict(rule.arguments or {})
        if "validValues" in arguments:
            data["valid_values"] = [None if v is None else str(v) for v in arguments.pop("validValues")]
        if "missingValues" in arguments:
            data["missing_values"] = [None if v is None else str(v) for v in arguments.pop("missingValues")]
        if "pattern" in arguments:
            data["pattern"] = str(arguments.pop("pattern"))
        arguments.pop("properties", None)  # read by the caller, for a table's rule
        if arguments:
            raise OdcsRefusal(
                "odcs.quality_arguments", where=where, metric=metric, arguments=", ".join(sorted(arguments))
            )
    elif kind == "sql":
        data["query"] = str(rule.query or "")
    elif kind == "custom":
        import yaml

        data["engine"] = str(rule.engine or "")
        implementation = rule.implementation
        if implementation is not None and not isinstance(implementation, str):
            implementation = yaml.safe_dump(implementation, sort_keys=False, allow_unicode=True)
        data["implementation"] = implementation
    return data


def _zero(rule: dict[str, Any]) -> bool:
    """Whether a converted rule allows no failing row (see ``QualityRule.zero_tolerance``)."""
    from ocenter.contracts.quality import QualityRule

    try:
        parsed = QualityRule.model_validate(rule)
    except ValueError:
        return False
    return parsed.severity == "error" and parsed.zero_tolerance()


def _rows_as_bounds(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """A rowCount rule as the contract's min_rows/max_rows when they say exactly the same."""
    op, values = rule.get("operator"), rule.get("operands") or []
    if (
        rule.get("unit") != "rows"
        or rule.get("severity") != "error"
        or "min_rows" in data
        or "max_rows" in data
        or not all(float(v).is_integer() for v in values)
    ):
        return False
    bounds = {
        "mustBe": lambda v: (v[0], v[0]),
        "mustBeGreaterThan": lambda v: (v[0] + 1, None),
        "mustBeGreaterOrEqualTo": lambda v: (v[0], None),
        "mustBeLessThan": lambda v: (None, v[0] - 1),
        "mustBeLessOrEqualTo": lambda v: (None, v[0]),
        "mustBeBetween": lambda v: (v[0], v[1]),
    }.get(op)
    if bounds is None:
        return False
    low, high = bounds([int(v) for v in values])
    if (low is not None and low < 0) or (high is not None and high < 1):
        return False
    if low is not None:
        data["min_rows"] = low
    if high is not None:
        data["max_rows"] = high
    return True


def _number_bounds(options: dict[str, Any], ftype: FieldType, where: str) -> dict[str, Any]:
    bounds = {"minimum": options.get("minimum"), "maximum": options.get("maximum")}
    for key, target, step in (("exclusiveMinimum", "minimum", 1), ("exclusiveMaximum", "maximum", -1)):
        if key not in options:
            continue
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise OdcsRefusal("odcs.options", property=where, type=ftype.value, options=key)
        # For whole numbers, x > 17 is exactly x >= 18.
        bounds[target] = int(value) + step
    return bounds


def _date_bounds(options: dict[str, Any], where: str) -> dict[str, Any]:
    """earliest/latest from an ODCS date's minimum/maximum (or exclusive ones): a date, or a
    date and time that falls on the start (minimum) or the end (maximum) of a day."""
    found: dict[str, Any] = {}
    for key, target, step, edge in (
        ("minimum", "earliest", 0, "start"),
        ("exclusiveMinimum", "earliest", 1, "end"),
        ("maximum", "latest", 0, "end"),
        ("exclusiveMaximum", "latest", -1, "start"),
    ):
        if key not in options:
            continue
        text = str(options[key])
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise OdcsRefusal("odcs.date_bound", property=where, option=key, value=text) from None
        rest = text[10:]
        if rest:
            clock = _TIME_OF_DAY.match(rest)
            hms = clock and (clock[1], clock[2], clock[3] or "00")
            wanted = ("00", "00", "00") if edge == "start" else ("23", "59", "59")
            if hms != wanted:
                raise OdcsRefusal("odcs.date_bound", property=where, option=key, value=text)
        found[target] = day + dt.timedelta(days=step)
    return found


def _enum(prop: Any) -> list[str] | None:
    options = prop.logicalTypeOptions or {}
    entries = options.get("enum")
    if entries is None:
        return None
    return [str(e["value"] if isinstance(e, dict) else e) for e in entries]


def _cadence(sla: Any, table: str, columns: dict[str, str]) -> tuple[int | None, str | None]:
    """(cadence in days, the field it is measured on) from an SLA ``frequency``; the field only
    when the SLA's element is a column of this table."""
    for entry in sla or []:
        prop = str(entry.property or "").lower()
        if prop not in ("frequency", "fy") or entry.value is None:
            continue
        unit = str(entry.unit or "d").lower()
        try:
            days = int(float(entry.value) * _DAYS_PER_UNIT.get(unit, 1))
        except (TypeError, ValueError):
            return None, None
        element = str(entry.element or "").split(",")[0].strip()
        owner, _, column = element.rpartition(".")
        in_table = not owner or owner.split(".")[-1] == table
        return max(days, 1), columns.get(column) if in_table else None
    return None, None


def _custom(entries: Any) -> dict[str, Any]:
    return {str(e.property): e.value for e in entries or [] if e.property}


def _description(value: Any) -> str:
    if value is None:
        return ""
    parts = [value.purpose, value.usage, value.limitations]
    return "\n\n".join(str(p) for p in parts if p)


def _identifier(text: str) -> str:
    """A contract id from an ODCS id or name: lower case, dashes, starting with a letter."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"dataset-{slug}".strip("-")
    return slug[:64].rstrip("-")


def _field_name(text: str) -> str:
    """A field name from an ODCS property name: ``DataValue`` is ``data_value``, ``Kode UPT``
    ``kode_upt`` (the original stays the field's header)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    name = re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"f_{name}".rstrip("_")
    return name[:63]


def contract_to_odcs(contract: DataContract) -> str:
    """The contract as ODCS v3.1.0 YAML (see :mod:`ocenter.contracts.odcs_export`)."""
    from ocenter.contracts.odcs_export import contract_to_odcs as written

    return written(contract)
