"""An upload read once: a spreadsheet's table of text kept beside the stored file, keyed by its rules.

Reading a spreadsheet starts a process and converts every cell (see :mod:`ocenter.intake.sheets`);
the table it gave is kept next to the upload (``<sha256>.xlsx`` -> ``<sha256>.xlsx.<rules>.arrow``),
so checking, accepting and sending back failing rows read that instead. The key holds what the
text depends on (the contract's decimal mark and datetime columns, and :data:`TEXT_RULES`), so a
contract changed in between is read afresh. A CSV is not kept twice: Arrow reads it as fast as it
would read the copy.

A kept table is derived, so it stays in this machine's folder even when uploads are kept in a
shared bucket (``ocenter.storage``): another replica reads the upload and keeps its own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from ocenter.contracts.model import DataContract, FieldType
from ocenter.intake.read import ReadLimits, file_kind, read_table
from ocenter.storage import write_atomically

#: Version of the rules that turn cells into text: a change makes every kept table stale.
TEXT_RULES = "1"


def kept_table_path(upload: Path, contract: DataContract) -> Path:
    """Where the table of the spreadsheet ``upload`` read under ``contract`` is kept."""
    rules = {
        "text": TEXT_RULES,
        "decimal": contract.decimal_separator,
        "datetime": sorted(f.name for f in contract.fields if f.type == FieldType.DATETIME),
    }
    key = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]
    return upload.with_name(f"{upload.name}.{key}.arrow")


def read_upload(upload: Path, contract: DataContract, limits: ReadLimits | None = None) -> pa.Table:
    """The table of a stored upload (named ``<sha256><suffix>``): for a spreadsheet, the table
    kept when it was first read, else read now and kept."""
    if file_kind(upload.name) == "csv":
        return read_table(upload, upload.suffix, contract, limits=limits)
    kept = kept_table_path(upload, contract)
    try:
        with pa.memory_map(str(kept)) as source:
            return ipc.open_file(source).read_all()
    except FileNotFoundError:
        pass
    table = read_table(upload, upload.suffix, contract, limits=limits)
    keep_table(upload, contract, table)
    return table


def keep_table(upload: Path, contract: DataContract, table: pa.Table) -> None:
    """Keep ``table``, read from the spreadsheet ``upload``, beside it (a CSV is not kept)."""
    if file_kind(upload.name) == "csv":
        return
    kept = kept_table_path(upload, contract)
    if kept.exists():
        return

    def write(handle) -> None:
        with ipc.new_file(handle, table.schema) as writer:
            writer.write_table(table)

    write_atomically(kept, write)  # a reader sees the whole table or none
