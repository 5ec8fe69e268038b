"""Benchmark: OCenter's verdict beside datacontract-cli's on the same contract and the same CSV files.

Usage: ``python benchmarks/peer_datacontract.py [ROWS] [--datacontract PATH] [--bad N] [--repeat N]
[--keep]``

Generates, in a temporary directory, a CSV of ROWS rows (default 50,000) x 9 columns that
conforms, then one copy per kind of fault with N cells (default 25) of that kind planted in
rows drawn at random: a text in an integer column, an impossible date, a value outside the
allowed list, a missing required value, a repeated unique key, a number above its maximum, a
text not matching its pattern, and a boolean written ``ya``/``tidak`` (which the OCenter
contract accepts). The same contract is written twice, by hand: OCenter's YAML and ODCS v3.1.0
(checked with ``datacontract lint`` against the ODCS JSON Schema), each column with the same
type, required, unique, minimum/maximum, length, pattern and allowed values (an ``invalidValues``
rule with ``validValues`` and ``mustBe: 0``, the ODCS library metric).

Each file is checked (ocenter's bytecode compiled first, as an installed program has it) by
``python -m ocenter verify CONTRACT DATA --report FILE`` and by ``datacontract test
CONTRACT.odcs.yaml --output-format json --output FILE`` (server ``type: local, format: csv``), each
a whole process with ``OPENBLAS_NUM_THREADS=1``: one warm-up run, then ``--repeat`` runs, the two
tools alternating; the median wall time is printed with each verdict: valid or not, how many errors
(OCenter: failing cells; datacontract: failed or errored checks, with the failing rows its checks
counted) and whether the errors name cells.

datacontract-cli is not a project dependency: install it apart, e.g. ``python -m venv
/work/venv-dcc && /work/venv-dcc/bin/pip install 'datacontract-cli[duckdb]==1.2.8'``, and give
its command with ``--datacontract`` or ``OCENTER_DATACONTRACT`` (else ``datacontract`` on the
PATH is used). Without it, OCenter alone is run and a line says datacontract was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# The same sampling file as the verification benchmark's (this folder is on sys.path when run).
from verify_benchmark import COLUMNS, CONTRACT, PRODUCTS

REPO = Path(__file__).resolve().parent.parent
#: The environment of both tools, given explicitly (numpy's BLAS thread would otherwise spin).
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
# The verification benchmark's fields, under this comparison's own id and no freshness check.
OCENTER_CONTRACT = """\
id: sampling-peer
title: Sampling dan pengujian (pembanding)
owner_unit: PPPOMN
level: terbatas
primary_key: [no_sampel]
""" + CONTRACT[CONTRACT.index("fields:\n"):]


def odcs_contract(data: Path, upt: list[str], kategori: list[str]) -> str:
    """The same contract in ODCS v3.1.0, its server the local CSV ``data``."""
    import yaml

    def allowed(values: list[str]) -> dict[str, object]:
        return {"quality": [{"metric": "invalidValues", "mustBe": 0, "arguments": {"validValues": values}}]}

    def text(name: str, **more: object) -> dict[str, object]:
        return {"name": name, "logicalType": "string", "required": True, **more}

    properties = [
        text("no_sampel", unique=True, primaryKey=True, logicalTypeOptions={"pattern": r"^S\d{8}$"}),
        text("kode_upt", **allowed(upt)),
        {"name": "tanggal", "logicalType": "date", "required": True},
        text("kategori", **allowed(kategori)),
        text("nama_produk", logicalTypeOptions={"minLength": 3, "maxLength": 60}),
        text("hasil", **allowed(["MS", "TMS"])),
        {"name": "kadar", "logicalType": "number", "logicalTypeOptions": {"minimum": 0, "maximum": 1000}},
        {"name": "jumlah", "logicalType": "integer", "required": True, "logicalTypeOptions": {"minimum": 1}},
        {"name": "terverifikasi", "logicalType": "boolean"},
    ]
    doc = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "sampling-peer",
        "name": "Sampling dan pengujian (pembanding)",
        "version": "1.0.0",
        "status": "active",
        "servers": [{"server": "local", "type": "local", "format": "csv", "path": str(data)}],
        "schema": [{"name": "sampling", "physicalType": "table", "properties": properties}],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


#: Fault kinds: name, column, the wrong text for row i (None: a repeat of the previous row's key).
FAULTS: list[tuple[str, str, Callable[[int], str] | None]] = [
    ("integer not a number", "jumlah", lambda i: "12x"),
    ("impossible date", "tanggal", lambda i: "2025-02-30"),
    ("outside the allowed values", "hasil", lambda i: "BAIK"),
    ("required value missing", "nama_produk", lambda i: ""),
    ("unique key repeated", "no_sampel", None),
    ("number above maximum", "kadar", lambda i: "1500.5"),
    ("pattern not matched", "no_sampel", lambda i: f"S{i}x"),
    ("boolean as ya/tidak (valid here)", "terverifikasi", lambda i: "ya" if i % 2 else "tidak"),
]


def rows(count: int, upt: list[str], kategori: list[str]) -> list[list[str]]:
    """``count`` rows that conform to the contract."""
    return [
        [
            f"S{i:08d}",
            upt[i % len(upt)],
            f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            kategori[i % len(kategori)],
            PRODUCTS[i % len(PRODUCTS)],
            "TMS" if i % 17 == 0 else "MS",
            f"{(i % 9973) / 10:.1f}",
            str(1 + i % 500),
            "true" if i % 3 else "false",
        ]
        for i in range(count)
    ]


def write_csv(path: Path, table: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(COLUMNS) + "\n")
        out.write("\n".join(",".join(r) for r in table) + "\n")


def files(folder: Path, count: int, bad: int, seed: int = 16) -> list[tuple[str, Path, int]]:
    """(case, data file, cells planted) for the valid file and one file per fault kind."""
    sys.path.insert(0, str(REPO))
    from ocenter.reference import reference_codes

    upt, kategori = sorted(reference_codes("upt")), sorted(reference_codes("kategori_produk"))
    base = rows(count, upt, kategori)
    cases = [("valid", folder / "valid.csv", 0)]
    write_csv(cases[0][1], base)
    rng = random.Random(seed)
    for n, (name, column, wrong) in enumerate(FAULTS):
        table = [list(r) for r in base]
        at = COLUMNS.index(column)
        planted = sorted(rng.sample(range(1, count), bad))
        for i in planted:
            table[i][at] = table[i - 1][at] if wrong is None else wrong(i)
        path = folder / f"fault{n}.csv"
        write_csv(path, table)
        cases.append((name, path, 0 if column == "terverifikasi" else bad))
    for _, path, _ in cases:
        path.with_suffix(".odcs.yaml").write_text(odcs_contract(path, upt, kategori), encoding="utf-8")
    return cases


def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and exit code of one run of ``argv``."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def ocenter_verdict(report: Path, code: int) -> str:
    """Valid or not, failing cells, per cell or not, from verify's JSON report."""
    if code == 2 or not report.exists():
        return f"unreadable (exit {code})"
    data = json.loads(report.read_text(encoding="utf-8"))
    cells = sum(s["count"] for s in data["summary"])
    issues = len(data.get("dataset_issues", []))
    named = len(data["errors"])
    verdict = "valid" if data["valid"] else "invalid"
    return f"{verdict}, {cells} failing cells ({named} listed by row and column), {issues} file issues"


def datacontract_verdict(report: Path, code: int) -> str:
    """Valid or not, its checks by result (``None``: not run), and each failing one with its reason."""
    if not report.exists():
        return f"no result (exit {code})"
    data = json.loads(report.read_text(encoding="utf-8"))
    checks = data.get("checks") or []
    results = Counter(str(c.get("result")).replace("None", "not run") for c in checks)
    verdict = "valid" if data.get("result") == "passed" else f"invalid ({data.get('result')})"
    lines = [f"{verdict}, checks: " + ", ".join(f"{n} {r}" for r, n in sorted(results.items()))]
    for c in checks:
        if c.get("result") in ("failed", "error", "warning"):
            detail = (c.get("reason") or "").splitlines()[0][:120] if c.get("reason") else ""
            diagnostics = c.get("diagnostics")
            counted = diagnostics.get("value") if isinstance(diagnostics, dict) else None
            lines.append(
                f"    {c.get('result')}: {c.get('name')}"
                + (f" (value {counted})" if counted is not None else "")
                + (f": {detail}" if detail else "")
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=50_000)
    parser.add_argument(
        "--datacontract",
        default=os.environ.get("OCENTER_DATACONTRACT") or shutil.which("datacontract"),
        help="the datacontract command (default: $OCENTER_DATACONTRACT or on the PATH)",
    )
    parser.add_argument("--bad", type=int, default=25, help="cells planted per fault kind")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool and file")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    peer = args.datacontract if args.datacontract and Path(args.datacontract).exists() else None
    # Bytecode as an installed program has it (see verify_benchmark.compile_code).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "ocenter")], check=True)
    folder = Path(tempfile.mkdtemp(prefix="ocenter-peer-dcc-"))
    try:
        cases = files(folder, args.rows, args.bad)
        contract = folder / "contract.yaml"
        contract.write_text(OCENTER_CONTRACT, encoding="utf-8")
        size_mb = cases[0][1].stat().st_size / 1024 / 1024
        print(
            f"{args.rows:,} rows x {len(COLUMNS)} columns ({size_mb:.1f} MB), {args.bad} cells planted per "
            f"fault; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS=1, {folder}"
        )
        if peer is None:
            print("datacontract: skipped (not found; give --datacontract PATH or OCENTER_DATACONTRACT)")
        else:
            version = subprocess.run(
                [peer, "--version"], capture_output=True, text=True, env=ENV
            ).stdout.strip()
            lint = subprocess.run(
                [peer, "lint", str(cases[0][1].with_suffix(".odcs.yaml"))],
                capture_output=True,
                text=True,
                env=ENV,
            )
            said = lint.stdout.strip().splitlines()[-1] if lint.stdout.strip() else lint.stderr.strip()[-200:]
            print(
                f"datacontract {version} ({peer}); lint of the ODCS contract: exit {lint.returncode}, {said}"
            )
        for case, data, planted in cases:
            ours_report = data.with_suffix(".report.json")
            theirs_report = data.with_suffix(".dcc.json")
            ours = [
                sys.executable,
                "-m",
                "ocenter",
                "verify",
                str(contract),
                str(data),
                "--report",
                str(ours_report),
            ]
            theirs = (
                [
                    peer,
                    "test",
                    str(data.with_suffix(".odcs.yaml")),
                    "--output-format",
                    "json",
                    "--output",
                    str(theirs_report),
                ]
                if peer
                else None
            )
            walls: dict[str, list[float]] = {"ocenter": [], "datacontract": []}
            codes: dict[str, int] = {}
            contenders = [("ocenter", ours)] + ([("datacontract", theirs)] if theirs else [])
            for _, argv in contenders:
                run(argv)  # warm-up
            for n in range(args.repeat):
                for name, argv in contenders if n % 2 == 0 else contenders[::-1]:
                    wall, codes[name] = run(argv)
                    walls[name].append(wall)
            print(f"\n{case} ({planted} cells planted)")
            print(
                f"  ocenter verify  {statistics.median(walls['ocenter']):6.2f} s  exit {codes['ocenter']}: "
                f"{ocenter_verdict(ours_report, codes['ocenter'])}"
            )
            if theirs:
                print(
                    f"  datacontract    {statistics.median(walls['datacontract']):6.2f} s  exit "
                    f"{codes['datacontract']}: {datacontract_verdict(theirs_report, codes['datacontract'])}"
                )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
