"""Benchmark of opening the database at start-up: what ``make_engine`` costs on a database that
is already up to date (every process of the app and every command pays it), on SQLite and,
when it answers, on the local PostgreSQL server.

Two figures per database: ``make_engine`` in a warm process (median of ``--repeat`` calls, each
with a new engine), and a whole new process that imports ``ocenter.database`` and calls it
(median of ``--processes`` runs, interleaved with a process that only imports, whose time is
subtracted). The database is made once beforehand by ``make_engine``.

Run from the project root: ``python benchmarks/startup_benchmark.py [--repeat 30] [--processes 7]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--root CHECKOUT]`` (``--postgres
''`` skips it; a database of its own is made on that server and dropped afterwards). ``--root``
measures another checkout's ``ocenter`` (an older version, to compare with), interleave runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--root" in sys.argv:  # before ocenter is imported: the checkout to measure
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from ocenter.database import make_engine  # noqa: E402

_IMPORT_ONLY = "import ocenter.database"
_IMPORT_AND_OPEN = "import sys; from ocenter.database import make_engine; make_engine(sys.argv[1]).dispose()"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def in_process(url: str, repeat: int) -> float:
    """Median seconds of ``make_engine`` (and disposing it) in this warm process."""
    make_engine(url).dispose()  # warm-up: imports, the file in the page cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine = make_engine(url)
        times.append(time.perf_counter() - started)
        engine.dispose()
    return statistics.median(times)


def statements(url: str) -> int:
    """How many SQL statements ``make_engine`` sends (a figure the machine's load cannot move;
    SQLite's connection pragmas not counted)."""
    sent = []

    def count(*_args: object) -> None:
        sent.append(None)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        make_engine(url).dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return len(sent)


def new_processes(url: str, processes: int) -> tuple[float, float]:
    """Median seconds of a process that imports and opens, and of one that only imports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, url], check=True, env=env, cwd=ROOT)
        return time.perf_counter() - started

    run(_IMPORT_AND_OPEN), run(_IMPORT_ONLY)  # warm-up
    opening, importing = [], []
    for _ in range(processes):  # interleaved, so a slow moment of the machine hits both
        opening.append(run(_IMPORT_AND_OPEN))
        importing.append(run(_IMPORT_ONLY))
    return statistics.median(opening), statistics.median(importing)


def report(label: str, url: str, repeat: int, processes: int) -> None:
    make_engine(url).dispose()  # the database, made and brought up to date once
    sent = statements(url)
    warm = in_process(url, repeat)
    opening, importing = new_processes(url, processes)
    print(f"{label}: make_engine on an up-to-date database sends {sent} statements, "
          f"{_ms(warm)} (warm process, median of {repeat}); new process {_ms(opening)} of which "
          f"import {_ms(importing)}, so opening {_ms(opening - importing)} (median of {processes})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--processes", type=int, default=7)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--root", help="the checkout whose ocenter to measure (default: this one)")
    args = parser.parse_args()
    print(f"ocenter from {ROOT}")

    with tempfile.TemporaryDirectory(prefix="startup-benchmark-") as folder:
        report("SQLite", f"sqlite:///{Path(folder) / 'ocenter.db'}", args.repeat, args.processes)
    if not args.postgres:
        return
    name = f"startup_benchmark_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        report("PostgreSQL", args.postgres.rsplit("/", 1)[0] + f"/{name}", args.repeat,
               args.processes)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
