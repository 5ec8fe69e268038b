"""Load, measured: simulated users open the display page and walk the procedure's pages against
the real server, on SQLite and on PostgreSQL; page times (median, 95th percentile), errors, and
the server's memory and CPU (README, "Load").

Usage::

    python benchmarks/load_benchmark.py [--users 10,50] [--db sqlite,postgres] [--duration 60]
        [--think 1.0] [--server-option runner.postScriptGC=true] [--json benchmarks/results/load.json]

For every database and number of users: a fresh demo installation (its own ``OCENTER_HOME``; on
PostgreSQL a database ``ocenter_load`` of its own, created and dropped), one login session per
user opened through the login form's use case, ``streamlit run Home.py`` on 127.0.0.1, a
warm-up in which one user of each role opens each page of its walk once and must see it (its
title; on the display, the dashboard's charts), a baseline in which one user at a time opens each
page three times (its time and the server's CPU for it), then every user walks its pages in a loop for
``--duration`` seconds with ``--think`` seconds (0.5x-1.5x, at random) between pages. The
server is always stopped and the database dropped. Users speak Streamlit's WebSocket protocol
(``load_client.py``); nothing is drawn, so the figures are the server's.

Load goes to 127.0.0.1 only: ``--host`` and the PostgreSQL address refuse anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load_client import (  # noqa: E402 - the project root first
    LOOPBACK,
    REPO,
    AppServer,
    Expectation,
    PageRun,
    StreamlitUser,
    login_cookies,
    require_loopback,
    watched,
)

#: Each simulated user has one of these roles, in turn, and walks its pages ("" is the page a
#: user lands on, Beranda): every walk opens the display; Pusdatin and the unit walk their steps.
WALKS: dict[str, tuple[str, ...]] = {
    "kepala": ("", "tampilan"),
    "analis": ("", "tampilan", "terima-data", "kelengkapan", "mockup"),
    "direktur": ("", "tampilan", "permintaan", "tinjau-mockup", "penerimaan"),
    "verifikator": ("", "tampilan", "terima-data", "verifikasi-data"),
    "kabalai": ("", "tampilan"),
}
DISPLAY = "tampilan"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE_NAME = "ocenter_load"
MAX_USERS, MAX_DURATION = 200, 600.0  # a load run is bounded in count and time


def expectations() -> dict[str, Expectation]:
    """What each address of the walks must draw: its page's title (in Bahasa Indonesia, the demo
    users' language); the display at least one chart (every role of the walks sees the demo's
    displayed dashboard)."""
    from ocenter.i18n import t
    from ocenter.navigation import PAGES

    titles = {page.key: t(page.title_key, "id") for page in PAGES}
    wanted = {address for walk in WALKS.values() for address in walk}
    return {address: Expectation(title=titles[address or "beranda"],
                                 min_charts=1 if address == DISPLAY else 0) for address in wanted}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 is the median's upper value for even counts)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share), at least 1
    return ordered[int(rank) - 1]


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else float("nan")


# --- one configuration -------------------------------------------------------------------------


def _postgres_admin(url: str):  # noqa: ANN202 - an Engine
    import sqlalchemy

    if sqlalchemy.engine.make_url(url).host != LOOPBACK:
        raise SystemExit(f"PostgreSQL is used only on {LOOPBACK}")
    return sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")


def _drop_database(admin, name: str) -> None:  # noqa: ANN001 - an Engine
    import sqlalchemy

    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name})
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))


async def _warm_up(port: int, cookies: dict[str, tuple[str, str]], wanted: dict[str, Expectation],
                   timeout: float) -> list[PageRun]:
    """One user of each role opens each page of its walk once; all must show their content."""
    runs = []
    for role, cookie in cookies.items():
        user = StreamlitUser(port, cookie, timeout=timeout)
        try:
            for address in WALKS[role]:
                run = await user.open(address, wanted[address])
                runs.append(run)
                if run.error:
                    raise RuntimeError(f"warm-up: {role} opening /{address} got {run.error} "
                                       f"(headings {run.headings[:5]})")
        finally:
            await user.close()
    return runs


async def _alone(port: int, pid: int, cookies: dict[str, tuple[str, str]],
                 wanted: dict[str, Expectation], timeout: float, repeat: int = 3) -> dict[str, dict]:
    """The baseline: one user at a time opens each page of its role's walk ``repeat`` times, warm;
    each page's time and the server's CPU for it (nothing else is asked of the server then)."""
    from benchmarks.load_client import process_cpu_seconds

    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for role, cookie in cookies.items():
        user = StreamlitUser(port, cookie, timeout=timeout)
        try:
            await user.open("", wanted[""])
            for address in WALKS[role] * repeat:
                before = process_cpu_seconds(pid)
                run = await user.open(address, wanted[address])
                await asyncio.sleep(0.05)  # the last messages' sending is the server's work too
                if run.error:
                    raise RuntimeError(f"alone: {role} opening /{address} got {run.error}")
                times.setdefault(address or "beranda", []).append(run.ms)
                cpu.setdefault(address or "beranda", []).append(process_cpu_seconds(pid) - before)
        finally:
            await user.close()
    return {page: {"opens": len(times[page]), "median_ms": _median(times[page]),
                   "server_cpu_ms": 1000 * sum(cpu[page]) / len(cpu[page])} for page in times}


async def _simulate(user: StreamlitUser, walk: tuple[str, ...], start: int, wanted: dict[str, Expectation],
                    deadline: float, think: float, rng: random.Random, runs: list[PageRun]) -> None:
    """One user: a staggered start, then the walk in a loop until ``deadline`` (a page opened
    before it is finished), ``think`` seconds (0.5x-1.5x) between pages."""
    await asyncio.sleep(rng.uniform(0, think))
    step = start
    try:
        while time.monotonic() < deadline:
            address = walk[step % len(walk)]
            step += 1
            runs.append(await user.open(address, wanted[address]))
            pause = think * rng.uniform(0.5, 1.5)
            if time.monotonic() + pause >= deadline:
                break
            await asyncio.sleep(pause)
    finally:
        await user.close()


async def _load(port: int, users: list[tuple[str, tuple[str, str]]], wanted: dict[str, Expectation],
                duration: float, think: float, timeout: float, seed: int) -> list[PageRun]:
    runs: list[PageRun] = []
    deadline = time.monotonic() + duration
    tasks = [_simulate(StreamlitUser(port, cookie, timeout=timeout), WALKS[role], index, wanted,
                       deadline, think, random.Random(seed + index), runs)
             for index, (role, cookie) in enumerate(users)]
    await asyncio.wait_for(asyncio.gather(*tasks), duration + timeout + 30)
    return runs


def _summary(runs: list[PageRun]) -> dict:
    times = [run.ms for run in runs if run.error is None]
    return {"pages": len(runs), "errors": sum(1 for run in runs if run.error),
            "median_ms": _median(times), "p95_ms": percentile(times, 0.95),
            "max_ms": max(times, default=float("nan"))}


def run_configuration(db: str, users: int, args: argparse.Namespace, folder: Path) -> dict:
    """Install, log in, serve, warm up and load one database with ``users`` users."""
    home = folder / f"{db}-{users}" / "home"
    environ = {**os.environ, "OCENTER_HOME": str(home), "OCENTER_MODE": "demo"}
    environ.pop("DATABASE_URL", None)
    environ.pop("OCENTER_COOKIE_KEY", None)
    admin = None
    if db == "postgres":
        admin = _postgres_admin(args.postgres_admin_url)
        _drop_database(admin, DATABASE_NAME)  # ours, left by an interrupted run
        import sqlalchemy

        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{DATABASE_NAME}"'))
        environ["DATABASE_URL"] = args.postgres_admin_url.rsplit("/", 1)[0] + f"/{DATABASE_NAME}"
    try:
        subprocess.run([sys.executable, "-m", "ocenter", "init", "--demo"], cwd=REPO, env=environ,
                       check=True, stdout=subprocess.DEVNULL, timeout=600)
        roles = list(WALKS)
        names = [roles[index % len(roles)] for index in range(users)]
        started = time.monotonic()
        cookie_name, tokens = login_cookies(environ, names)
        login_s = time.monotonic() - started
        cookies = [(name, (cookie_name, token)) for name, token in zip(names, tokens, strict=True)]
        first_of_role = {name: cookie for name, cookie in reversed(cookies)}
        wanted = expectations()
        with AppServer(environ, folder / f"{db}-{users}" / "server.log",
                       options=tuple(args.server_option)) as server:
            warm = asyncio.run(_warm_up(server.port, first_of_role, wanted, args.timeout))
            alone = asyncio.run(_alone(server.port, server.pid, first_of_role, wanted, args.timeout))
            load_before = os.getloadavg()
            client_cpu = time.process_time()
            with watched(server.pid) as figures:
                runs = asyncio.run(_load(server.port, cookies, wanted, args.duration, args.think,
                                         args.timeout, args.seed))
            client_cpu = time.process_time() - client_cpu
            load_after = os.getloadavg()
    finally:
        if admin is not None:
            _drop_database(admin, DATABASE_NAME)
            admin.dispose()
    pages = {}
    for address in sorted({run.page for run in runs}):
        pages[address or "beranda"] = _summary([run for run in runs if run.page == address])
    kinds = Counter(run.error for run in runs if run.error)
    summary = _summary(runs)
    return {
        "db": db, "users": users, "duration_s": args.duration, "think_s": args.think,
        **summary, "error_kinds": dict(kinds),
        "error_examples": [{"page": run.page, "error": run.error, "ms": round(run.ms),
                            "headings": run.headings[:3]} for run in runs if run.error][:10],
        "pages_per_s": summary["pages"] / figures["wall_s"],
        "display_median_ms": pages.get(DISPLAY, {}).get("median_ms"),
        "display_p95_ms": pages.get(DISPLAY, {}).get("p95_ms"),
        "server_cpu_s": figures["cpu_s"], "server_cpu_percent": figures["cpu_percent"],
        "server_cpu_ms_per_page": 1000 * figures["cpu_s"] / max(1, summary["pages"]),
        "server_rss_start_mb": figures["rss_start_mb"],
        # The kernel's high-water mark (VmHWM, the whole life of the server, warm-up included)
        # or a sample above it (the kernel updates the mark lazily).
        "server_rss_peak_mb": max(figures["rss_peak_mb"], figures["rss_peak_sampled_mb"]),
        "server_rss_peak_during_load_mb": figures["rss_peak_sampled_mb"],
        "measured_wall_s": figures["wall_s"],
        "client_cpu_percent": 100 * client_cpu / figures["wall_s"],
        "login_s": login_s,
        "warm_up_ms": [[run.page or "beranda", round(run.ms)] for run in warm],
        "load_average_before": load_before, "load_average_after": load_after,
        "per_page": pages,
        "alone": alone,
    }


# --- report ------------------------------------------------------------------------------------


def machine() -> dict:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))
    return {"cpus": os.cpu_count(), "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "system": platform.platform(),
            "load_average": os.getloadavg()}


def table(results: list[dict]) -> str:
    lines = ["| db | users | pages done | pages/s | median ms | p95 ms | display median / p95 ms | errors "
             "| server peak RSS MB | server CPU % | server CPU ms / page |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in results:
        lines.append(
            f"| {row['db']} | {row['users']} | {row['pages']} | {row['pages_per_s']:.1f} "
            f"| {row['median_ms']:.0f} | {row['p95_ms']:.0f} "
            f"| {row['display_median_ms']:.0f} / {row['display_p95_ms']:.0f} | {row['errors']} "
            f"| {row['server_rss_peak_mb']:.0f} | {row['server_cpu_percent']:.0f} "
            f"| {row['server_cpu_ms_per_page']:.0f} |")
    return "\n".join(lines)


def alone_table(results: list[dict]) -> str:
    """One user at a time, warm: each page's median time and the server's CPU per open."""
    columns = [f"{row['db']}, {row['users']} users' server" for row in results]
    pages = sorted({page for row in results for page in row["alone"]})
    lines = ["| page | " + " | ".join(f"{name}: ms (CPU ms)" for name in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for page in pages:
        cells = [f"{row['alone'][page]['median_ms']:.0f} ({row['alone'][page]['server_cpu_ms']:.0f})"
                 if page in row["alone"] else "" for row in results]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="10,50", help="numbers of simulated users, comma-separated")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per configuration")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a user's pages")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a page run fails")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default=LOOPBACK, help=f"the server's address: {LOOPBACK} only")
    parser.add_argument("--postgres-admin-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--server-option", action="append", default=[], metavar="NAME=VALUE",
                        help="a Streamlit option for the server, e.g. runner.postScriptGC=true")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    try:
        require_loopback(args.host)
        args.user_counts = [int(value) for value in args.users.split(",")]
    except ValueError as refusal:
        parser.error(str(refusal))
    args.databases = [value.strip() for value in args.db.split(",")]
    if not set(args.databases) <= {"sqlite", "postgres"}:
        parser.error("--db takes sqlite and/or postgres")
    if not all(0 < count <= MAX_USERS for count in args.user_counts):
        parser.error(f"--users: 1 to {MAX_USERS}")
    if any("=" not in option or not option.split("=")[0].replace(".", "").isalnum()
           for option in args.server_option):
        parser.error("--server-option takes NAME=VALUE, e.g. runner.postScriptGC=true")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration: up to {MAX_DURATION:.0f} s")
    if "postgres" in args.databases:
        _postgres_admin(args.postgres_admin_url).dispose()  # refuses another host
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    report = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "duration_s": args.duration, "think_s": args.think, "walks": WALKS,
              "server_options": args.server_option, "results": []}
    folder = Path(tempfile.mkdtemp(prefix="ocenter-load-"))
    for db in args.databases:
        for users in args.user_counts:
            print(f"{db}, {users} users: installing, logging in, serving ...", file=sys.stderr)
            try:
                row = run_configuration(db, users, args, folder)
            except BaseException:
                print(f"stopped; the installations and server logs are kept in {folder}", file=sys.stderr)
                raise
            report["results"].append(row)
            print(f"  {row['pages']} pages, median {row['median_ms']:.0f} ms, p95 "
                  f"{row['p95_ms']:.0f} ms, errors {row['errors']} {row['error_kinds'] or ''}",
                  file=sys.stderr)
    shutil.rmtree(folder, ignore_errors=True)
    report["load_average_after"] = os.getloadavg()
    print(table(report["results"]))
    print()
    print(alone_table(report["results"]))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 1 if any(row["errors"] for row in report["results"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
