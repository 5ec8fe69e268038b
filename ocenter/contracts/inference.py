"""Contract drafts from a sample file: types, bounds, enumerations and reference lists guessed."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ocenter import reference
from ocenter.contracts.model import ContractField, DataContract, FieldType

#: At most this many distinct values make a draft field an enumeration.
INFER_MAX_ALLOWED = 10


# --- drafts and JSON Schema -------------------------------------------------------------------


def infer_contract(table: pa.Table, dataset_id: str, title: str, owner_unit: str) -> DataContract:
    """A draft contract from a sample read as text, for a person to review before use.

    Column names become field names (lower case, ``_``; the header is kept as the label and as
    the header the field is found under).
    Types are guessed from the text (codes with leading zeros stay text); a field is required
    when no cell is empty; a text field with few distinct repeated values gets them as allowed
    values, or a reference list when every value is one of its codes.
    """
    from ocenter.textformats import DATE_RE, DATETIME_RE, INTEGER_RE, number_re

    rows = table.num_rows
    names: list[str] = []
    drafts: list[dict[str, Any]] = []
    comma_numbers = 0
    dot_numbers = 0
    for header, column in zip(table.column_names, table.columns, strict=True):
        text = _as_text(column)
        present = pc.filter(text, pc.not_equal(text, ""))
        values = present.to_pylist()
        draft: dict[str, Any] = {
            "name": _field_name(header, names),
            "label": header,
            "required": rows > 0 and len(values) == rows,
        }
        if draft["name"] != header and header and header not in table.column_names[: len(names)]:
            draft["header"] = header  # the sample's own header, so the same file verifies
        names.append(draft["name"])
        distinct = sorted(set(values))
        guessed = FieldType.STRING
        if values:
            lowered = {v.lower() for v in distinct}
            if lowered <= {"true", "false", "ya", "tidak"}:
                guessed = FieldType.BOOLEAN
            elif any(_leading_zero(v) for v in distinct):
                guessed = FieldType.STRING  # 01234 is a code: as a number it would lose its 0
            elif _all(present, INTEGER_RE):
                guessed = FieldType.INTEGER
            elif _all(present, number_re(".")):
                guessed = FieldType.NUMBER
                dot_numbers += any("." in v for v in distinct)
            elif _all(present, number_re(",")):
                guessed = FieldType.NUMBER
                comma_numbers += 1
                draft["comma"] = True
            elif _all(present, DATE_RE):
                guessed = FieldType.DATE
            elif _all(present, DATETIME_RE):
                guessed = FieldType.DATETIME
        draft["type"] = guessed
        if guessed == FieldType.STRING and values:
            listed = _reference_for(distinct)
            if listed is not None:
                draft["reference"] = listed
            elif len(distinct) <= INFER_MAX_ALLOWED and len(distinct) * 2 <= len(values):
                draft["allowed_values"] = distinct
        drafts.append(draft)
    # One decimal mark per contract: a comma wins only if no column needs the dot.
    decimal = "," if comma_numbers and not dot_numbers else "."
    for draft in drafts:
        if draft.pop("comma", False) and decimal != ",":
            draft["type"] = FieldType.STRING
    time_field = next((d["name"] for d in drafts if d["type"] in (FieldType.DATE, FieldType.DATETIME)), None)
    return DataContract(
        id=dataset_id,
        title=title,
        owner_unit=owner_unit,
        description="Draf yang disimpulkan dari contoh data; periksa sebelum dipakai.",
        fields=[ContractField.model_validate(d) for d in drafts],
        time_field=time_field,
        decimal_separator=decimal,
    )


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, "")


def _all(values: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern=pattern)).as_py())


def _leading_zero(text: str) -> bool:
    digits = text.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()


def _reference_for(distinct: list[str]) -> str | None:
    for list_id in reference.REFERENCE_LISTS:
        try:
            codes = reference.reference_codes(list_id)
        except (OSError, KeyError):
            continue
        if set(distinct) <= codes:
            return list_id
    return None


def _field_name(header: str, taken: list[str]) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_") or "kolom"
    if not name[0].isalpha():
        name = f"f_{name}"
    name = name[:60]
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
