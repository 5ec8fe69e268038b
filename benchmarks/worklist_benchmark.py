"""Benchmark of the work lists with many requests in the database: how long Beranda and the step
pages take to run (Streamlit's AppTest, no server), median of warm runs.

Usage: ``python benchmarks/worklist_benchmark.py [--requests 1000 10000] [--repeat 5]``

For each size a demo installation (``python -m ocenter init --demo``, SQLite) is filled with that
many requests, spread evenly over the ten statuses, the four confidentiality levels and five units
(the demo units of ``direktur``, ``unit`` and ``kabalai`` among them), a letter for each evaluated
or received request, and as many data submissions, spread over the statuses. The added requests
are numbered below zero, so that the demo's own requests, whose mock-up branches exist, stay the
newest: a step page opens one of those, after listing all. Steps 4 and 6-8 are not measured
apart: their pages list requests through the same picker as step 5's, and the demo has no request
of its own there for them to open. Each page is opened
by the user who works on it, run once (not counted), then ``--repeat`` times; the median is
printed. Target (issue 12): every page under 1 s at 10,000 requests.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: (page file, user who opens it) in the order measured.
PAGES = [
    ("pages/beranda.py", "analis"),
    ("pages/beranda.py", "direktur"),
    ("pages/permintaan.py", "direktur"),
    ("pages/kirim_data.py", "pppomn"),
    ("pages/terima_data.py", "verifikator"),
    ("pages/verifikasi_data.py", "verifikator"),
    ("pages/tinjau_mockup.py", "unit"),  # its picker is every step page's (ui.choose_request)
    ("pages/evaluasi.py", "analis"),
    ("pages/penerimaan.py", "direktur"),
]
UNITS = ["DIT-WAS-EDAR-PANGAN", "DIT-WAS-KOSMETIK", "PPPOMN", "UPT-3201", "BPS"]


def fill(home: Path, requests: int) -> None:
    """Add ``requests`` requests, their letters and as many submissions, in bulk."""
    from sqlalchemy import insert, select

    from ocenter.accounts.levels import Level
    from ocenter.context import open_context
    from ocenter.models import DashboardRequest, Evaluation, RequestStatus, Submission, SubmissionStatus
    from tests.conftest import settings_for

    ctx = open_context(settings_for(home))
    start = datetime.now(UTC) - timedelta(days=120)
    kinds = itertools.cycle(itertools.product(list(RequestStatus), list(Level), UNITS))
    rows = []
    for number in range(requests):
        status, level, unit = next(kinds)
        at = start + timedelta(minutes=17 * number)
        rows.append(dict(id=-1 - number, title=f"Dasbor uji {number} {unit}", purpose="Uji daftar kerja.",
                         requesting_unit=unit, requested_by="direktur", datasets=[], level=level,
                         audience=[], dashboard_id=f"uji-{number:05d}", status=status,
                         created_at=at, step_started_at=at, review_rounds=0))
    statuses = itertools.cycle(list(SubmissionStatus))
    submissions = [dict(dataset_id="sampling-pengujian", unit_code=UNITS[n % len(UNITS)],
                        submitted_by="pppomn", level=Level.TERBATAS, original_name=f"kiriman-{n}.csv",
                        upload_sha256="0" * 64, upload_suffix=".csv", size_bytes=100, rows=1,
                        status=next(statuses), submitted_at=start + timedelta(minutes=11 * n))
                   for n in range(requests)]
    with ctx.engine.begin() as connection:
        connection.execute(insert(DashboardRequest), rows)
        connection.execute(insert(Submission), submissions)
        done = connection.execute(select(DashboardRequest.id).where(DashboardRequest.status.in_(
            [RequestStatus.EVALUATED, RequestStatus.RECEIVED]))).scalars().all()
        connection.execute(insert(Evaluation), [
            dict(request_id=i, notes="-", letter_number=f"B-{i}/PUSDATIN/2026", letter_text="Surat.",
                 evaluated_by="analis", evaluated_at=start) for i in done])
    ctx.engine.dispose()


def measure(home: Path, repeat: int) -> list[tuple[str, str, float, float]]:
    """(page, user, first run s, median warm run s) of every page in ``PAGES``."""
    from streamlit.testing.v1 import AppTest

    from ocenter.bootstrap import DEMO_PASSWORD

    os.environ.update(OCENTER_HOME=str(home), OCENTER_MODE="demo")
    os.environ.pop("DATABASE_URL", None)
    sessions: dict[str, AppTest] = {}
    results = []
    for page, user in PAGES:
        if user not in sessions:
            at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=600)
            at.run()
            at.text_input[0].input(user)
            at.text_input[1].input(DEMO_PASSWORD)
            at.button[0].click()
            at.run()
            sessions[user] = at
        at = sessions[user]
        began = time.perf_counter()
        at.switch_page(page).run()
        first = time.perf_counter() - began
        if at.exception:
            raise SystemExit(f"{page} as {user} failed: {at.exception}")
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            at.run()
            runs.append(time.perf_counter() - began)
        results.append((page, user, first, statistics.median(runs)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for size in args.requests:
        with tempfile.TemporaryDirectory(prefix="ocenter-worklists-") as folder:
            home = Path(folder) / "home"
            environ = {**os.environ, "OCENTER_HOME": str(home), "OCENTER_MODE": "demo",
                       "DATABASE_URL": ""}
            subprocess.run([sys.executable, "-m", "ocenter", "init", "--demo"], cwd=REPO, env=environ,
                           check=True, stdout=subprocess.DEVNULL)
            fill(home, size)
            print(f"\n{size:,} requests · page, user, first run, median of {args.repeat} warm runs")
            for page, user, first, warm in measure(home, args.repeat):
                print(f"  {page:28} {user:12} {first * 1000:7.0f} ms {warm * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
