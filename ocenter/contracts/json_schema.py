"""JSON Schema (2020-12) of one record of a dataset, as stored after verification."""

from __future__ import annotations

from typing import Any

from ocenter.contracts.model import DataContract, FieldType


def json_schema(contract: DataContract) -> dict[str, Any]:
    """JSON Schema (2020-12) of one record of the dataset with typed values (as stored)."""
    properties: dict[str, Any] = {}
    for f in contract.fields:
        prop: dict[str, Any] = {}
        if f.label:
            prop["title"] = f.label
        if f.description:
            prop["description"] = f.description
        base = {
            FieldType.STRING: "string",
            FieldType.INTEGER: "integer",
            FieldType.NUMBER: "number",
            FieldType.BOOLEAN: "boolean",
            FieldType.DATE: "string",
            FieldType.DATETIME: "string",
        }[f.type]
        prop["type"] = base if f.required else [base, "null"]
        if f.type == FieldType.DATE:
            prop["format"] = "date"
        if f.type == FieldType.DATETIME:
            prop["format"] = "date-time"
        if f.minimum is not None:
            prop["minimum"] = _plain(f.minimum)
        if f.maximum is not None:
            prop["maximum"] = _plain(f.maximum)
        if f.pattern is not None:
            prop["pattern"] = f.pattern
        if f.min_length is not None:
            prop["minLength"] = f.min_length
        if f.max_length is not None:
            prop["maxLength"] = f.max_length
        if f.allowed_values is not None:
            prop["enum"] = [_typed_enum(v, f.type) for v in f.allowed_values]
            if not f.required:
                prop["enum"].append(None)
        if f.earliest is not None:  # JSON Schema's format vocabulary (annotations by default)
            prop["formatMinimum"] = f.earliest.isoformat()
        if f.latest is not None:
            prop["formatMaximum"] = f.latest.isoformat()
        if f.header is not None:
            prop["x-header"] = f.header  # the header the column appears under in a sender's file
        if f.reference:
            prop["x-reference"] = f.reference
        prop["x-level"] = f.level.value
        properties[f.name] = prop
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:ocenter:contract:{contract.id}",
        "title": contract.title,
        "type": "object",
        "properties": properties,
        "required": [f.name for f in contract.fields if f.required],
        "additionalProperties": False,
        "x-level": contract.level.value,
    }
    if contract.description:
        schema["description"] = contract.description
    if contract.primary_key:
        schema["x-primary-key"] = list(contract.primary_key)
    return schema


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _typed_enum(text: str, ftype: FieldType) -> Any:
    try:
        if ftype == FieldType.INTEGER:
            return int(text)
        if ftype == FieldType.NUMBER:
            return _plain(float(text))
    except ValueError:
        return text
    if ftype == FieldType.BOOLEAN:
        return text.lower() in ("true", "1", "ya")
    return text
