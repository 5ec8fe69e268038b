"""Spreadsheets (XLSX, XLS, ODS, XLSB): limits checked at once, the sheet read by a bounded process.

The cells are read by calamine in :mod:`ocenter.intake.sheet_worker`, a process of its own with an
address-space limit and a time limit, so no file can take the server's memory or end it. What
can be checked without reading a cell is checked here first, and refused within milliseconds:
a workbook that is a zip (XLSX, ODS, XLSB) whose parts inflate past the limit, by the sizes its
zip directory states. A zip bomb that states false sizes is stopped by the process limits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

import ocenter
from ocenter.errors import UserError
from ocenter.intake.csvfile import mb, open_source
from ocenter.intake.sheet_worker import OUT_OF_MEMORY, REFUSED

#: Spreadsheet formats read here, by lower-case suffix.
SHEET_SUFFIXES = frozenset({".xlsx", ".xls", ".ods", ".xlsb"})
_PROJECT_ROOT = str(Path(ocenter.__file__).resolve().parent.parent)


def read_sheet_grid(
    source: bytes | Path,
    filename: str,
    *,
    sheet: str | None,
    decimal: str,
    datetime_columns: frozenset[str],
    max_inflated: int,
    max_cells: int,
    memory: int,
    seconds: float,
) -> pa.Table:
    """The sheet from cell A1 as text columns ``c0, c1, ...``; its first row is the header row.

    Empty cells are empty text; a blank row stays. Raises ``UserError`` for a file that is not an
    intact workbook, is password-protected, names no such sheet, or is over a limit:
    ``max_inflated`` bytes inflated (zip formats), ``max_cells`` cells in the sheet's grid, and
    ``memory`` bytes of address space and ``seconds`` for the reading process.
    """
    _check_inflation(source, max_inflated)
    request = {
        "filename": filename,
        "sheet": sheet,
        "decimal": decimal,
        "datetime_columns": sorted(datetime_columns),
        "max_cells": max_cells,
        "memory": memory,
    }
    command = [sys.executable, "-m", "ocenter.intake.sheet_worker", json.dumps(request)]
    if isinstance(source, Path):
        command.append(str(source))
        given = None
    else:
        given = bytes(source)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH")) if p),
        # One Arrow allocator that asks the system for what it uses, so the address-space limit
        # measures the table, not the reservations of jemalloc or mimalloc.
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        # numpy's OpenBLAS starts a spinning thread at import (see PITFALLS): not here.
        "OPENBLAS_NUM_THREADS": "1",
    }
    try:
        done = subprocess.run(command, input=given, capture_output=True, env=environment,
                              timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        raise UserError("ingest.sheet_too_big", limit_mb=mb(memory), seconds=f"{seconds:g}") from None
    if done.returncode == 0:
        return ipc.open_stream(pa.py_buffer(done.stdout)).read_all()
    if done.returncode == REFUSED:
        refusal = json.loads(done.stderr.decode("utf-8").strip().splitlines()[-1])
        raise UserError(refusal["key"], **refusal["params"])
    if done.returncode in (OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
        # Out of its address space (Rust aborts; the kernel may kill): too big to open here.
        raise UserError("ingest.sheet_too_big", limit_mb=mb(memory), seconds=f"{seconds:g}")
    # Anything else is a fault of ours, not of the file: keep it loud.
    raise RuntimeError(
        f"sheet reader exited with {done.returncode}: {done.stderr.decode('utf-8', 'replace')[-2000:]}"
    )


def _check_inflation(source: bytes | Path, max_inflated: int) -> None:
    """Refuse a zip workbook whose parts together inflate past ``max_inflated`` bytes, by the
    sizes its central directory states; a workbook that is not a zip (XLS) is not inflated."""
    with open_source(source) as handle:
        if handle.read(2) != b"PK":
            return
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return  # the reader says which file is broken, and how
    if inflated > max_inflated:
        raise UserError("ingest.sheet_inflates", size_mb=mb(inflated), limit_mb=mb(max_inflated))

