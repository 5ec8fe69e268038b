"""Typing accepted data for storage: each contract field as its Arrow type."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ocenter.contracts.model import ContractField, DataContract, FieldType
from ocenter.textformats import _OFFSET_RE, pc
from ocenter.verification.judging import _missing_mask, _only, _text_column, _true_count, _type_valid
from ocenter.verification.kernels import _bools, _texts
from ocenter.verification.report import TRUE_TEXTS

# --- typed data for storage ----------------------------------------------------------------------


def arrow_type(ftype: FieldType) -> pa.DataType:
    """The Arrow type a field is stored as."""
    return {
        FieldType.STRING: pa.string(),
        FieldType.INTEGER: pa.int64(),
        FieldType.NUMBER: pa.float64(),
        FieldType.BOOLEAN: pa.bool_(),
        FieldType.DATE: pa.date32(),
        FieldType.DATETIME: pa.timestamp("us"),
    }[ftype]


def typed_table(contract: DataContract, table: pa.Table) -> pa.Table:
    """The contract's columns cast to real types; missing or invalid cells become null.

    Date-times with a zone offset are stored as UTC wall time, those without as written.
    A column already of the right type is kept; a column absent from ``table`` is all null.
    Columns are found by the fields' headers (as the contract matches them), else by name.
    """
    arrays = []
    # A sender's file has the fields' headers; a table already typed has their names.
    positions = contract.column_positions(table.column_names)
    for f in contract.fields:
        target = arrow_type(f.type)
        position = positions.get(f.name)
        if position is None and f.name in table.column_names:
            position = table.column_names.index(f.name)
        if position is None:
            arrays.append(pa.nulls(table.num_rows, target))
            continue
        col = table.column(position)
        if col.type == target and f.type != FieldType.STRING:
            arrays.append(col)
            continue
        arrays.append(_typed_column(_text_column(col), f, contract))
    schema = pa.schema(
        [pa.field(f.name, arrow_type(f.type), nullable=True) for f in contract.fields],
        metadata={"ocenter.contract": contract.id},
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def _typed_column(col: pa.ChunkedArray, f: ContractField, contract: DataContract) -> Any:
    missing = _missing_mask(col, [m for m in contract.missing_values if m != ""])
    present = ~missing.astype(bool)
    if f.type == FieldType.STRING:
        return pc.if_else(_bools(present), col, pa.nulls(1, col.type)[0])
    valid, _ = _type_valid(col, f.type, contract.decimal_separator, present)
    keep = present & valid
    target = arrow_type(f.type)
    null = pa.nulls(1, target)[0]
    usable = _bools(keep)
    if f.type in (FieldType.INTEGER, FieldType.NUMBER):
        kept = _only(col, keep)  # the others are null, never parsed
        if f.type == FieldType.INTEGER:
            return pc.cast(pc.utf8_ltrim(kept, "+"), pa.int64())
        decimal = contract.decimal_separator
        return pc.cast(pc.replace_substring(kept, ",", ".") if decimal == "," else kept, pa.float64())
    if f.type == FieldType.BOOLEAN:
        truth = pc.is_in(pc.ascii_lower(col), value_set=_texts(list(TRUE_TEXTS), col.type))
        return pc.if_else(usable, truth, null)
    text = pc.if_else(usable, col, pa.nulls(1, col.type)[0])
    if f.type == FieldType.DATE:
        return pc.cast(text, pa.date32())
    zoned = pc.and_(usable, pc.match_substring_regex(col, pattern=_OFFSET_RE))
    naive = pc.cast(pc.if_else(zoned, pa.nulls(1, col.type)[0], text), target)
    if not _true_count(zoned):
        return naive
    utc = pc.cast(pc.if_else(zoned, text, pa.nulls(1, col.type)[0]), pa.timestamp("us", "UTC"))
    return pc.if_else(zoned, pc.cast(utc, target), naive)
