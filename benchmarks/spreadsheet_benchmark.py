"""Benchmark of reading spreadsheets: calamine (what OCenter uses) against openpyxl (what it used).

Three XLSX files: about 100 KB and about 5 MB of the demo's sampling data (typed cells: numbers,
dates, text), and one of 1.4 MB whose sheet inflates to 400 MB. Each reader runs in a process of
its own, so each figure is a whole read with its own peak memory:

* ``openpyxl``: ``load_workbook(read_only=True, data_only=True)`` and every cell to text, as
  OCenter read XLSX before (its 500 MB size check let the 400 MB sheet in);
* ``calamine``: python-calamine alone, the whole sheet to Python values, in one process;
* ``ocenter``: ``read_table`` as the upload page calls it: limits, the bounded reading process,
  cells to the CSV's text; its peak memory is the calling process's, and ``worker`` is the
  reading process alone (run by itself, as ``read_table`` runs it).

"read s" is the read after imports, "wall s" the whole process. Peak memory is the process's
high-water mark (VmHWM, or wait4's maxrss for the worker, started from this small process).
Runs are interleaved, the median of ``--repeat`` kept. Run from the project root:
``python benchmarks/spreadsheet_benchmark.py [--repeat 3] [--openpyxl-timeout 240]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_PEAK = r"""
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
#: Each reader as a small program: argv[1] is the file; it prints JSON with rows, the seconds
#: of the read (after imports) and its peak resident memory.
READERS = {
    "openpyxl": _PEAK + r"""
import datetime as dt, json, sys, time
import defusedxml, openpyxl
t0 = time.perf_counter()
wb = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
ws = wb.worksheets[0]
ws.reset_dimensions()
rows = 0
for row in ws.iter_rows():
    texts = []
    for cell in row:
        v = cell.value
        if v is None: texts.append("")
        elif isinstance(v, str): texts.append(v)
        elif isinstance(v, float) and v.is_integer(): texts.append(str(int(v)))
        elif isinstance(v, dt.datetime): texts.append(v.date().isoformat())
        else: texts.append(str(v))
    rows += 1
wb.close()
print(json.dumps({"rows": rows - 1, "seconds": time.perf_counter() - t0, "peak_mb": peak_mb()}))
""",
    "calamine": _PEAK + r"""
import json, sys, time
import python_calamine
t0 = time.perf_counter()
wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = wb.get_sheet_by_index(0).to_python()
print(json.dumps({"rows": len(rows) - 1, "seconds": time.perf_counter() - t0, "peak_mb": peak_mb()}))
""",
    "ocenter": _PEAK + r"""
import json, sys, time
from pathlib import Path
from ocenter.contracts.model import contract_from_yaml
from ocenter.errors import UserError
from ocenter.intake.read import read_table
contract = contract_from_yaml(Path("data_contracts/sampling-pengujian.yaml").read_text())
t0 = time.perf_counter()
try:
    rows = read_table(Path(sys.argv[1]), "data.xlsx", contract).num_rows
except UserError as exc:
    rows = exc.key
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0, "peak_mb": peak_mb()}))
""",
}
#: The reading process as read_table starts it, with the default limits.
WORKER_REQUEST = {"filename": "data.xlsx", "sheet": None, "decimal": ".", "datetime_columns": [],
                  "max_cells": 5_000_000, "memory": 1024 * 1024 * 1024}


def demo_xlsx(path: Path, rows: int) -> None:
    """``rows`` rows of the demo's sampling data as an office would type them."""
    import openpyxl
    import pandas as pd

    from ocenter.demo_data import generate_sampling_dataset

    frames, total = [], 0
    seed = 2026
    while total < rows:
        frame = generate_sampling_dataset(seed=seed)
        frames.append(frame)
        total += len(frame)
        seed += 1
    frame = pd.concat(frames, ignore_index=True).head(rows)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        values = list(record)
        values[1] = dt.date.fromisoformat(values[1])  # tanggal_sampling: a date cell
        values[7] = int(values[7])  # jumlah_sampel: a number cell
        sheet.append(values)
    workbook.save(path)


def inflating_xlsx(path: Path, sheet_bytes: int = 400 * 1024 * 1024) -> None:
    """A valid XLSX whose sheet repeats one row until it inflates to ``sheet_bytes``."""
    import openpyxl

    template_bytes = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(["kode_upt", "jumlah_sampel"])
    workbook.save(template_bytes)
    template = zipfile.ZipFile(template_bytes)
    row = b'<row><c t="inlineStr"><is><t>UPT-3201</t></is></c><c><v>19</v></c></row>'
    block = row * (4 * 1024 * 1024 // len(row))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in template.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, template.read(info.filename))
                continue
            with archive.open(info.filename, "w", force_zip64=True) as member:
                member.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                             b'2006/main"><sheetData>')
                for _ in range(sheet_bytes // len(block)):
                    member.write(block)
                member.write(b"</sheetData></worksheet>")


def run(reader: str, path: Path, timeout: float) -> dict:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    started = time.perf_counter()
    if reader == "worker":
        # Started from this process (small: it imports no pandas), so wait4's maxrss is the
        # worker's own high-water mark, not one inherited across fork and exec.
        environment["ARROW_DEFAULT_MEMORY_POOL"] = "system"
        child = subprocess.Popen(
            [sys.executable, "-m", "ocenter.intake.sheet_worker", json.dumps(WORKER_REQUEST), str(path)],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        outcome = "table" if child.returncode == 0 else f"exit {child.returncode}"
        return {"rows": outcome, "seconds": None, "wall": wall, "peak_mb": usage.ru_maxrss / 1024}
    try:
        done = subprocess.run([sys.executable, "-c", READERS[reader], str(path)], cwd=ROOT,
                              capture_output=True, text=True, env=environment, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"rows": "stopped", "seconds": timeout, "wall": timeout, "peak_mb": None}
    if done.returncode != 0:
        return {"rows": f"failed ({done.stderr.strip().splitlines()[-1][:80]})", "seconds": None,
                "wall": time.perf_counter() - started, "peak_mb": None}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--openpyxl-timeout", type=float, default=240.0,
                        help="seconds before openpyxl's read of the inflating sheet is stopped")
    parser.add_argument("--make", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        demo_xlsx(Path(args.make) / "small.xlsx", 2_400)
        demo_xlsx(Path(args.make) / "large.xlsx", 125_000)
        inflating_xlsx(Path(args.make) / "inflating.xlsx")
        return
    folder = Path(tempfile.mkdtemp(prefix="ocenter-sheet-bench-"))
    files = {"100 KB": folder / "small.xlsx", "5 MB": folder / "large.xlsx",
             "inflating": folder / "inflating.xlsx"}
    # Made in a process of their own: this one stays small (see run()).
    subprocess.run([sys.executable, __file__, "--make", str(folder)], check=True)
    for label, path in files.items():
        inflated = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
        print(f"{label}: {path.stat().st_size / 1024:,.0f} KB on disk, {inflated / 2**20:,.1f} MB inflated")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {args.repeat} "
          "interleaved runs, each a whole process\n")
    print(f"{'file':<10} {'reader':<9} {'rows':>22} {'wall s':>8} {'read s':>8} {'peak MB':>9}")
    readers = [*READERS, "worker"]
    for label, path in files.items():
        results: dict[str, list[dict]] = {reader: [] for reader in readers}
        repeat = 1 if label == "inflating" else args.repeat
        for _ in range(repeat):
            for reader in readers:
                if label == "inflating" and reader == "worker":
                    continue  # read_table refuses this file before starting the worker
                timeout = args.openpyxl_timeout if reader == "openpyxl" else 600
                results[reader].append(run(reader, path, timeout))
        for reader, runs in results.items():
            if not runs:
                continue
            middle = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
            seconds = statistics.median(r["seconds"] for r in runs) if middle["seconds"] else None
            peak = f"{middle['peak_mb']:,.0f}" if middle["peak_mb"] else "-"
            shown = f"{seconds:.2f}" if seconds is not None else "-"
            print(f"{label:<10} {reader:<9} {middle['rows']!s:>22} {middle['wall']:>8.2f} {shown:>8} "
                  f"{peak:>9}", flush=True)


if __name__ == "__main__":
    main()
