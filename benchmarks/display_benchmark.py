"""Benchmark of the display page (Tampilan Operational Center) at 1,000,000 and 5,000,000 rows,
next to the floor: a minimal Streamlit script that reads the same Parquet file, caches the same
group-bys with ``st.cache_data`` and draws the same Altair charts.

Usage: ``python benchmarks/display_benchmark.py [--rows 1000000 5000000] [--repeat 15]
[--cold 5] [--viewers-rows 1000000] [--rounds 3] [--reruns 3] [--browser] [--keep]``

For each size a seeded dataset shaped like the demo's (``ocenter.demo_data``: every UPT's
product samples over the last 24 months) is installed in a temporary OCenter home with the demo
content, through the real steps: sent as national CSV files by PPPOMN (one per 1,500,000 rows,
each under the 200 MB a file may have, split by UPT), received, verified, accepted and
integrated (they replace every demo partition, so the dashboard reads exactly these rows).
Everything runs in processes of its own with the same environment (``OPENBLAS_NUM_THREADS=1``),
each bounded by a timeout; the first two measurements through Streamlit's AppTest (no server):

* page: one process holds Kepala BPOM's session on the display page (through ``Home.py``,
  logged in) and a session of the floor script; after warm-up it reruns them interleaved, each
  first in turn (warm rerun), then empties both caches of data and runs each again (cold first
  view: the first view of a new data version, the process and the database already up);
* viewers (1,000,000 rows): one process per contender and round, contenders alternating: ten
  sessions open the page at the same time (threads), then rerun it three times each; it prints
  the process's peak memory over those runs (resident memory sampled every 5 ms) and its CPU
  time per page load. Ten OCenter viewers log in first (not counted): four BPOM-wide, two of a
  central unit, two heads of UPT of different regions, so the display computes four cuts; the
  floor has no authority and computes one. Before measuring, each contender serves 20,000 rows
  of its own once, so that its libraries are loaded as on a server that has shown a dashboard;
* browser (``--browser``): both served by ``streamlit run`` on 127.0.0.1 and drawn by Chromium
  (``/usr/bin/chromium``, through playwright): the first view after start, warm views (a new tab
  each time), and ten tabs at once on fresh servers (the server's CPU per view and peak memory).

Targets (ratios to the floor measured in the same run): warm rerun within 1.5x and under 300 ms;
cold first view within 2x; ten viewers: peak memory within 1.5x and CPU per load within 2x.
Figures move from run to run on a shared machine: compare the ratios of one run, and repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DATASET = "sampling-pengujian"
#: The viewers of the "viewers" measurement: BPOM-wide, a central unit, two UPT regions.
VIEWERS = ["kepala", "deputi", "analis", "verifikator", "direktur", "kabalai", "kabalai2",
           "kepala", "deputi", "direktur"]
SECOND_UPT = "UPT-1101"
ENV = {"OPENBLAS_NUM_THREADS": "1", "OCENTER_MODE": "demo"}
TIMEOUT = 1800

def sampling_rows(rows: int, today: date, seed: int = 12, months: int = 24):  # noqa: ANN201 - pa.Table
    """``rows`` product sampling results shaped like the demo's (``ocenter.demo_data``): every
    UPT sampling in its region over the ``months`` up to ``today``, the same categories, products,
    findings and TMS rates, every cell text as a sender's CSV holds it; seeded, vectorised."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ocenter.demo_data import CATEGORY_SHARE, FOOD_BRANDS, KIND_WEIGHT, MAKERS, PRODUCTS, TMS_RATE
    from ocenter.reference import reference_rows

    rng = np.random.default_rng(seed)
    upts = list(reference_rows("upt"))
    weights = np.array([KIND_WEIGHT[u["kind"]] for u in upts])
    upt = rng.choice(len(upts), size=rows, p=weights / weights.sum())
    upt_factor = rng.uniform(0.6, 1.6, size=len(upts))
    first = np.datetime64(f"{today.year}-{today.month:02d}", "M") - (months - 1)
    month_index = rng.integers(0, months, size=rows)
    month_start = (first + month_index).astype("datetime64[D]")
    month_days = ((first + month_index + 1).astype("datetime64[D]") - month_start).astype(int)
    day = month_start + (rng.random(rows) * month_days).astype(int)
    day = np.minimum(day, np.datetime64(today.isoformat(), "D"))

    categories = list(CATEGORY_SHARE)
    shares = np.array([CATEGORY_SHARE[c] for c in categories])
    category = rng.choice(len(categories), size=rows, p=shares / shares.sum())
    # Every product of every category in one flat list; a row picks one of its category's.
    products = [(c, name, params) for c, cat in enumerate(categories) for name, params in PRODUCTS[cat]]
    first_product = np.array([next(i for i, p in enumerate(products) if p[0] == c)
                              for c in range(len(categories))])
    product_count = np.array([len(PRODUCTS[cat]) for cat in categories])
    product = first_product[category] + (rng.random(rows) * product_count[category]).astype(int)
    brand_lists = [FOOD_BRANDS if categories[c] == "pangan-olahan" else MAKERS for c, _, _ in products]
    width = max(len(b) for b in brand_lists)
    names = [f"{name} ({brands[b % len(brands)]})"
             for (_, name, _), brands in zip(products, brand_lists, strict=True) for b in range(width)]
    brand = (rng.random(rows) * np.array([len(b) for b in brand_lists])[product]).astype(int)
    params = [param for _, _, plist in products for param in plist]
    first_param = np.cumsum([0] + [len(p[2]) for p in products])[:-1]
    param_count = np.array([len(p[2]) for p in products])
    param = first_param[product] + (rng.random(rows) * param_count[product]).astype(int)

    trend = 1.0 - 0.2 * month_index / max(months - 1, 1)
    tms_rate = np.array([TMS_RATE[c] for c in categories])[category] * upt_factor[upt] * trend
    tms = rng.random(rows) < tms_rate
    size = np.clip(np.rint(rng.lognormal(1.6, 0.7, size=rows)), 1, 50).astype(np.int64)

    def pick(values: list[str], index: np.ndarray) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(index))

    serial = np.arange(rows)
    # The contract's pattern is S-dddd-dddddd: a million numbers per four-digit block.
    ids = pc.binary_join_element_wise(
        "S-", pc.utf8_lpad(pc.cast(pa.array(2000 + serial // 1_000_000), pa.string()), 4, "0"), "-",
        pc.utf8_lpad(pc.cast(pa.array(serial % 1_000_000), pa.string()), 6, "0"), "")
    return pa.table({
        "id_sampel": ids,
        "tanggal_sampling": pc.cast(pa.array(day), pa.string()),
        "kode_upt": pick([u["code"] for u in upts], upt),
        "kode_provinsi": pick([u["province_code"] for u in upts], upt),
        "kategori_produk": pick(categories, category),
        "nama_produk": pick(names, product * width + brand),
        "hasil_uji": pick(["MS", "TMS"], tms.astype(int)),
        "jumlah_sampel": pc.cast(pa.array(size), pa.string()),
        "parameter_tms": pick(["", *params], np.where(tms, param + 1, 0)),
    })


# --- the installation ---------------------------------------------------------------------------


def install(home: Path, rows: int) -> None:
    """A demo installation in ``home`` whose sampling dataset is ``rows`` generated rows; prints
    the integrated Parquet file's path, rows and size as JSON."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    from ocenter import procedure
    from ocenter.accounts.admin import add_user
    from ocenter.accounts.levels import Level, Role, ScopeKind
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import DEMO_PASSWORD, initialise
    from ocenter.config import load_settings
    from ocenter.verification.datasets import dataset_dir

    ctx = initialise(load_settings({**os.environ, "OCENTER_HOME": str(home)}), demo=True,
                     progress=lambda _message: None)
    add_user(ctx, None, username="kabalai2", name="Kepala Balai POM di Banda Aceh",
             role=Role.KABALAI, clearance=Level.RAHASIA, scope=ScopeKind.UPT,
             unit_code=SECOND_UPT, password=DEMO_PASSWORD)
    table = sampling_rows(rows, ctx.clock.today())
    who = {name: authority_of(ctx.engine, name, production=False) for name in ("pppomn", "verifikator")}
    # One national file, or several by UPT when it would pass the 200 MB a file may have.
    codes = sorted(set(table.column("kode_upt").to_pylist()))
    parts = max(1, -(-rows // 1_500_000))
    csv_bytes = 0
    for part in range(parts):
        chosen = pa.array(codes[part::parts])
        rows_of_part = table.filter(pc.is_in(table.column("kode_upt"), value_set=chosen))
        sink = pa.BufferOutputStream()
        pv.write_csv(rows_of_part, sink)
        content = sink.getvalue().to_pybytes()
        csv_bytes += len(content)
        submission = procedure.submit_data(
            ctx, who["pppomn"], dataset_id=DATASET, level=Level.TERBATAS,
            filename=f"sampling-pengujian-nasional-{part + 1}.csv", content=content)
        del content, sink, rows_of_part
        procedure.receive_submission(ctx, who["verifikator"], submission.id)
        report = procedure.check_submission(ctx, who["verifikator"], submission.id)
        if not report.valid:
            raise SystemExit(f"the generated data does not pass its contract: {report.summary[:5]}")
        procedure.decide_submission(ctx, who["verifikator"], submission.id, accept=True,
                                    note="benchmark")
    build = procedure.latest_versions(ctx)[DATASET]
    path = dataset_dir(ctx.home, DATASET) / f"{build.sha256}.parquet"
    if build.rows != rows:
        raise SystemExit(f"the integrated dataset holds {build.rows} rows, not {rows}")
    print(json.dumps({"parquet": str(path), "rows": build.rows, "csv_mb": csv_bytes / 1e6,
                      "parquet_mb": path.stat().st_size / 1e6}))


# --- the floor ----------------------------------------------------------------------------------

FLOOR = textwrap.dedent('''
    """The floor: the demo dashboard as a minimal Streamlit script would draw it for Kepala BPOM
    (every region, the latest 24 months), its group-bys cached with st.cache_data."""
    import os

    import altair as alt
    import pandas as pd
    import streamlit as st

    COLUMNS = ["tanggal_sampling", "kode_provinsi", "kategori_produk", "hasil_uji",
               "jumlah_sampel", "parameter_tms"]


    @st.cache_data(show_spinner=False)
    def aggregates(path, provinces):
        rows = pd.read_parquet(path, columns=COLUMNS)
        month = pd.to_datetime(rows["tanggal_sampling"]).dt.to_period("M").dt.to_timestamp()
        start = (month.max().to_period("M") - 23).to_timestamp()
        rows, month = rows[month >= start], month[month >= start]
        tms = rows["hasil_uji"] == "TMS"
        centroids = pd.read_csv(provinces, dtype=str)[["code", "name", "lat", "lon"]]
        by_province = (rows[tms].groupby("kode_provinsi").size().rename("value").reset_index()
                       .merge(centroids, left_on="kode_provinsi", right_on="code"))
        return {
            "sampled": len(rows),
            "tms": int(tms.sum()),
            "per_category": rows[tms].groupby("kategori_produk").size().rename("value")
                            .sort_values(ascending=False).reset_index(),
            "per_month": rows.groupby(month)["jumlah_sampel"].sum().rename("value").reset_index(),
            "per_province": by_province.astype({"lat": float, "lon": float}),
            "outline": centroids.astype({"lat": float, "lon": float}),
            "top_parameters": rows[tms].groupby("parameter_tms").size().nlargest(10)
                              .rename("value").reset_index(),
            "category_month": rows[tms].groupby([month[tms], "kategori_produk"]).size()
                              .rename("value").reset_index(),
        }


    st.title("Pantauan Hasil Sampling dan Pengujian")
    if st.query_params.get("warm"):  # a first visit that only loads the libraries
        st.stop()
    data = aggregates(os.environ["OCENTER_FLOOR_PARQUET"], os.environ["OCENTER_FLOOR_PROVINCES"])
    left, right = st.columns(2)
    left.metric("Produk disampling", f"{data['sampled']:,}")
    right.metric("Produk TMS", f"{data['tms']:,}")
    st.altair_chart(alt.Chart(data["per_category"]).mark_bar().encode(
        y=alt.Y("kategori_produk:N", sort="-x"), x="value:Q",
        tooltip=["kategori_produk", "value"]).properties(height=320), width="stretch")
    st.altair_chart(alt.Chart(data["per_month"]).mark_line(point=True).encode(
        x=alt.X("tanggal_sampling:T", axis=alt.Axis(format="%Y-%m")), y="value:Q",
        tooltip=["tanggal_sampling", "value"]).properties(height=320), width="stretch")
    dots = alt.Chart(data["outline"]).mark_circle(size=25, color="#c8c8c8").encode(
        longitude="lon:Q", latitude="lat:Q")
    bubbles = alt.Chart(data["per_province"]).mark_circle(opacity=0.75).encode(
        longitude="lon:Q", latitude="lat:Q", size="value:Q",
        color=alt.Color("value:Q", scale=alt.Scale(scheme="orangered")),
        tooltip=["name", "value"])
    st.altair_chart(alt.layer(dots, bubbles).project(type="mercator").properties(height=380),
                    width="stretch")
    st.dataframe(data["top_parameters"], hide_index=True, width="stretch")
    st.altair_chart(alt.Chart(data["category_month"]).mark_rect().encode(
        x=alt.X("tanggal_sampling:O", timeUnit="yearmonth"), y="kategori_produk:N",
        color=alt.Color("value:Q", scale=alt.Scale(scheme="orangered")),
        tooltip=["tanggal_sampling", "kategori_produk", "value"]).properties(height=320),
        width="stretch")
''')


# --- measuring in a child process ---------------------------------------------------------------


def _ocenter_session(user: str):  # noqa: ANN202 - AppTest
    """A session of the app through Home.py, logged in as ``user`` (not yet on the display)."""
    from streamlit.testing.v1 import AppTest

    from ocenter.bootstrap import DEMO_PASSWORD

    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=TIMEOUT)
    at.run()
    at.text_input[0].input(user)
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click()
    at.run()
    at.run()  # a browser's cookie component reruns once after login
    if at.exception:
        raise SystemExit(f"login of {user} failed: {at.exception}")
    return at


def _floor_session(floor: Path):  # noqa: ANN202 - AppTest
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(floor), default_timeout=TIMEOUT)


def _metrics(at) -> list[str]:  # noqa: ANN001 - AppTest
    if at.exception:
        stack = "\n".join(line for e in at.exception for line in e.stack_trace)
        raise SystemExit(f"the page failed: {at.exception}\n{stack}")
    return [m.value for m in at.metric]


def _timed_run(at) -> tuple[float, float]:  # noqa: ANN001 - AppTest
    """Wall and CPU seconds (every thread of the process) of one run of ``at``."""
    wall, cpu = time.perf_counter(), time.process_time()
    at.run()
    return time.perf_counter() - wall, time.process_time() - cpu


def _empty_data_caches() -> None:
    """What OCenter keeps of data (the read files and everything computed from them), and the
    floor's st.cache_data: what a new data version, or a restarted server, starts without."""
    import streamlit as st

    from ocenter import ui
    from ocenter.display import cache

    ui._dataset_table.clear()
    cache.clear()
    st.cache_data.clear()


def page_child(floor: Path, repeat: int, cold: int) -> None:
    ours = _ocenter_session("kepala")
    ours.switch_page("pages/tampilan.py").run()
    theirs = _floor_session(floor)
    theirs.run()
    shown = {"ocenter": _metrics(ours), "floor": _metrics(theirs)}
    for _ in range(3):  # warm-up
        ours.run(), theirs.run()
    runs: dict[str, dict[str, list[float]]] = {
        kind: {"ocenter": [], "floor": [], "ocenter_cpu": [], "floor_cpu": []}
        for kind in ("warm", "cold")
    }

    def both(kind: str, turn: int) -> None:
        order = [("ocenter", ours), ("floor", theirs)]
        for name, at in order if turn % 2 == 0 else order[::-1]:
            if kind == "cold":
                _empty_data_caches()
            wall, cpu = _timed_run(at)
            _metrics(at)
            runs[kind][name].append(wall)
            runs[kind][f"{name}_cpu"].append(cpu)

    for turn in range(repeat):
        both("warm", turn)
    for turn in range(cold):
        both("cold", turn)
        for _ in range(2):  # warm again, so that a cold run follows warm ones on both sides
            ours.run(), theirs.run()
    print(json.dumps({"shown": shown, "runs": runs}))


class _PeakMemory:
    """Resident memory of this process, sampled every 5 ms on a thread of its own."""

    def __init__(self) -> None:
        import threading

        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.now())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self.now())


def _warm_up(contender: str, floor: Path, folder: Path) -> None:
    """Bring the process to where a server stands once it has shown a dashboard before: its
    libraries' code loaded and their own caches filled (Altair's Vega-Lite schema, Arrow's
    kernels, pandas' group-bys), each contender on 20,000 rows of its own, then its caches of
    data emptied, so that the peak measured is that of serving the data."""
    import pyarrow.parquet as pq
    import streamlit as st
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from ocenter.accounts.authority import Authority
    from ocenter.accounts.levels import Level, Role, ScopeKind
    from ocenter.demo_data import sampling_contract, sampling_dashboard, sampling_lifecycle
    from ocenter.display import cache
    from ocenter.display.render import render_dashboard
    from ocenter.verification.typed import typed_table

    contract = sampling_contract()
    small = typed_table(contract, sampling_rows(20_000, date.today(), seed=1))
    if contender == "ocenter":
        kepala = Authority(username="warm-up", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA,
                           scope=ScopeKind.BPOM)
        rendered = render_dashboard(sampling_dashboard(), {DATASET: contract},
                                    {DATASET: cache.VersionedTable(small, "warm-up")}, kepala, "id",
                                    sampling_lifecycle())
        for item in rendered:
            if item.chart is not None:
                _convert_altair_to_vega_lite_spec(item.chart)
        cache.clear()
    else:
        path = folder / "warm-up.parquet"
        pq.write_table(small, path)
        real, os.environ["OCENTER_FLOOR_PARQUET"] = os.environ["OCENTER_FLOOR_PARQUET"], str(path)
        _metrics(_floor_session(floor).run())
        st.cache_data.clear()
        os.environ["OCENTER_FLOOR_PARQUET"] = real


def _compile_pages_one_at_a_time() -> None:
    """Compile page scripts under one lock, as a server does. A server has one script cache,
    whose lock compiles a page once; each AppTest has its own, so ten sessions opening a page
    at once compile it together, which CPython 3.11.7 may fail ("AST constructor recursion depth
    mismatch", python/cpython#106905)."""
    import threading

    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    original, lock = ScriptCache.get_bytecode, threading.Lock()

    def get_bytecode(self: ScriptCache, script_path: str) -> object:
        with lock:
            return original(self, script_path)

    ScriptCache.get_bytecode = get_bytecode  # type: ignore[method-assign]


def viewers_child(contender: str, floor: Path, reruns: int) -> None:
    import gc
    import threading

    _compile_pages_one_at_a_time()

    if contender == "ocenter":
        sessions = [_ocenter_session(user) for user in VIEWERS]

        def first(at) -> None:  # noqa: ANN001 - AppTest
            at.switch_page("pages/tampilan.py").run()
    else:
        sessions = [_floor_session(floor) for _ in VIEWERS]

        def first(at) -> None:  # noqa: ANN001 - AppTest
            at.run()

    def together(action) -> float:  # noqa: ANN001 - a callable taking an AppTest
        threads = [threading.Thread(target=action, args=(at,)) for at in sessions]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    _warm_up(contender, floor, floor.parent)
    gc.collect()
    before = _PeakMemory.now()
    memory = _PeakMemory()
    cpu = time.process_time()
    wall_first = together(first)
    cpu_first = time.process_time() - cpu
    for at in sessions:
        _metrics(at)
    cpu = time.process_time()
    wall_reruns = sum(together(lambda at: at.run()) for _ in range(reruns))
    cpu_reruns = time.process_time() - cpu
    peak = memory.stop()
    for at in sessions:
        _metrics(at)
    print(json.dumps({
        "before_mb": before / 2**20, "peak_mb": peak / 2**20,
        "cpu_per_first_load": cpu_first / len(sessions),
        "cpu_per_rerun": cpu_reruns / (len(sessions) * reruns),
        "cpu_per_load": (cpu_first + cpu_reruns) / (len(sessions) * (1 + reruns)),
        "wall_first": wall_first, "wall_reruns": wall_reruns / reruns,
    }))


# --- in a real browser --------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


class _Server:
    """``streamlit run`` of a script on a free port of 127.0.0.1, its CPU time and memory read
    from /proc."""

    def __init__(self, script: Path, log: Path) -> None:
        import socket

        from benchmarks.load_client import wait_until_healthy

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(self.url, self.process, 120)
        except RuntimeError as problem:
            self.stop()
            raise SystemExit(f"{script.name} did not start ({problem}): {log.read_text()[-2000:]}") from None

    def cpu(self) -> float:
        """User and system seconds the server has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> tuple[float, float]:
        """Resident memory now and its peak so far (VmRSS, VmHWM), MB."""
        status = dict(line.split(":", 1) for line in
                      Path(f"/proc/{self.process.pid}/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def _drawn(page, url: str) -> float:  # noqa: ANN001 - a playwright Page
    """Seconds from asking for ``url`` until its two numbers, four charts and table are drawn."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.locator(".vega-embed canvas, .vega-embed svg").nth(3).wait_for(timeout=300_000)
    page.locator('[data-testid="stMetricValue"]').nth(1).wait_for(timeout=300_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=300_000)
    return time.perf_counter() - started


def _browser_login(page, server: str, user: str) -> None:  # noqa: ANN001 - a playwright Page
    from ocenter.bootstrap import DEMO_PASSWORD

    page.goto(server)
    page.get_by_label("Nama pengguna").fill(user)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Beranda").first.wait_for(timeout=300_000)
    for _ in range(200):  # the login cookie is set by a component after the page appears
        if any(c["name"] == "ocenter_login" for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise SystemExit("the login cookie was never set")


def browser_child(floor: Path, repeat: int, viewers: int) -> None:
    """Both contenders served by ``streamlit run`` and drawn by Chromium: the first view after
    the server started (OCenter: after logging in; the floor: after a visit that loads its
    libraries), warm views interleaved (each a new page, so a new session), then, on servers
    started afresh, ``viewers`` tabs opened at once: the server's peak memory and CPU per view."""
    from playwright.sync_api import sync_playwright

    folder = floor.parent
    result: dict = {"ocenter": {}, "floor": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])

        def tab(server: _Server, contender: str):  # noqa: ANN202 - a playwright Page
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.set_default_timeout(300_000)
            if contender == "ocenter":
                _browser_login(page, server.url, "kepala")
            else:
                page.goto(f"{server.url}/?warm=1")
                page.get_by_role("heading", name="Pantauan Hasil Sampling").first.wait_for()
            return page

        def address(server: _Server, contender: str) -> str:
            return f"{server.url}/tampilan" if contender == "ocenter" else server.url

        servers = {"ocenter": _Server(REPO / "Home.py", folder / "ocenter.log"),
                   "floor": _Server(floor, folder / "floor.log")}
        try:
            pages = {name: tab(server, name) for name, server in servers.items()}
            for name, server in servers.items():
                result[name]["first_view"] = _drawn(pages[name], address(server, name))
            warm: dict[str, list[float]] = {"ocenter": [], "floor": []}
            for turn in range(repeat):
                order = ["ocenter", "floor"] if turn % 2 == 0 else ["floor", "ocenter"]
                for name in order:
                    warm[name].append(_drawn(pages[name], address(servers[name], name)))
            for name in servers:
                result[name]["warm_view"] = statistics.median(warm[name])
        finally:
            for server in servers.values():
                server.stop()
        for name in ("ocenter", "floor"):  # each on a fresh server, one after the other
            server = _Server(REPO / "Home.py" if name == "ocenter" else floor, folder / f"{name}-10.log")
            try:
                first = tab(server, name)
                others = [first.context.new_page() for _ in range(viewers - 1)]
                cpu = server.cpu()
                started = time.perf_counter()
                for page in [first, *others]:
                    page.goto(address(server, name), wait_until="commit")
                for page in [first, *others]:
                    _drawn_here(page)
                result[name]["viewers_wall"] = time.perf_counter() - started
                result[name]["viewers_cpu_per_view"] = (server.cpu() - cpu) / viewers
                result[name]["viewers_rss_mb"], result[name]["viewers_peak_mb"] = server.memory_mb()
            finally:
                server.stop()
        browser.close()
    print(json.dumps(result))


def _drawn_here(page) -> None:  # noqa: ANN001 - a playwright Page
    page.locator(".vega-embed canvas, .vega-embed svg").nth(3).wait_for(timeout=300_000)
    page.locator('[data-testid="stMetricValue"]').nth(1).wait_for(timeout=300_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=300_000)


def report_browser(rows: int, viewers: int, result: dict) -> list[str]:
    ours, floor = result["ocenter"], result["floor"]
    lines = [f"\nin Chromium, {rows:,} rows (streamlit run on 127.0.0.1):",
             f"{'':<34}{'OCenter':>12}{'floor':>12}{'ratio':>8}"]
    for title, key, show in (
        ("first view after start", "first_view", _ms),
        ("warm view (median)", "warm_view", _ms),
        (f"{viewers} tabs at once: wall", "viewers_wall", _ms),
        (f"{viewers} tabs: server CPU per view", "viewers_cpu_per_view", _ms),
        (f"{viewers} tabs: server peak (MB)", "viewers_peak_mb", lambda v: f"{v:,.0f}"),
    ):
        lines.append(f"{title:<34}{show(ours[key]):>12}{show(floor[key]):>12}"
                     f"{ours[key] / floor[key]:>7.2f}x")
    return lines


# --- the parent ---------------------------------------------------------------------------------


def _child(args: list[str], home: Path, floor_parquet: str = "") -> dict:
    env = {**os.environ, **ENV, "OCENTER_HOME": str(home),
           "OCENTER_FLOOR_PARQUET": floor_parquet,
           "OCENTER_FLOOR_PROVINCES": str(REPO / "ocenter" / "reference" / "provinsi.csv")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, __file__, "--child", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_page(rows: int, result: dict) -> list[str]:
    runs = result["runs"]
    lines = [f"\n{rows:,} rows; shown: OCenter {result['shown']['ocenter']}, "
             f"floor {result['shown']['floor']}",
             f"{'':<24}{'OCenter':>12}{'floor':>12}{'ratio':>8}{'CPU OC':>10}{'CPU floor':>10}"]
    targets = []
    for kind, title in (("warm", "warm rerun"), ("cold", "cold first view")):
        ours, floor = statistics.median(runs[kind]["ocenter"]), statistics.median(runs[kind]["floor"])
        cpu_ours = statistics.median(runs[kind]["ocenter_cpu"])
        cpu_floor = statistics.median(runs[kind]["floor_cpu"])
        label = f"{title} (median of {len(runs[kind]['ocenter'])})"
        lines.append(f"{label:<24}{_ms(ours):>12}{_ms(floor):>12}{ours / floor:>7.2f}x"
                     f"{_ms(cpu_ours):>10}{_ms(cpu_floor):>10}")
        if kind == "warm":
            met = ours <= 1.5 * floor and ours < 0.3
            targets.append(f"target at {rows:,}: warm rerun within 1.5x the floor and under 300 ms: "
                           f"{ours / floor:.2f}x, {_ms(ours)}: {_verdict(met)}")
        else:
            targets.append(f"target at {rows:,}: cold first view within 2x the floor: "
                           f"{ours / floor:.2f}x: {_verdict(ours <= 2 * floor)}")
    return lines + targets


def report_viewers(rows: int, results: dict[str, list[dict]]) -> list[str]:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    lines = [f"\nten viewers at once, {rows:,} rows (median of {len(results['ocenter'])} rounds):",
             f"{'':<30}{'OCenter':>12}{'floor':>12}{'ratio':>8}"]
    measures = [("memory before the page (MB)", "before_mb", "{:,.0f}"),
            ("peak memory (MB)", "peak_mb", "{:,.0f}"),
            ("CPU per first load", "cpu_per_first_load", None),
            ("CPU per rerun", "cpu_per_rerun", None),
            ("CPU per page load (all)", "cpu_per_load", None),
            ("wall, ten first loads", "wall_first", None)]
    for title, key, fmt in measures:
        ours, floor = median("ocenter", key), median("floor", key)
        show = (lambda v: fmt.format(v)) if fmt else _ms  # noqa: B023 - used at once
        lines.append(f"{title:<30}{show(ours):>12}{show(floor):>12}{ours / floor:>7.2f}x")
    peak = median("ocenter", "peak_mb") / median("floor", "peak_mb")
    cpu = median("ocenter", "cpu_per_load") / median("floor", "cpu_per_load")
    lines.append(f"target: ten viewers, peak memory within 1.5x the floor: {peak:.2f}x: "
                 f"{_verdict(peak <= 1.5)}")
    lines.append(f"target: ten viewers, CPU per page load within 2x the floor: {cpu:.2f}x: "
                 f"{_verdict(cpu <= 2)}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=15, help="warm reruns of each, interleaved")
    parser.add_argument("--cold", type=int, default=5, help="cold first views of each")
    parser.add_argument("--viewers-rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="ten-viewer processes per contender")
    parser.add_argument("--reruns", type=int, default=3, help="reruns per viewer after the first load")
    parser.add_argument("--browser", action="store_true",
                        help=f"also in Chromium ({CHROMIUM}, through playwright), at --viewers-rows")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "install":
            install(Path(os.environ["OCENTER_HOME"]), int(rest[0]))
        elif kind == "page":
            page_child(Path(rest[0]), int(rest[1]), int(rest[2]))
        elif kind == "browser":
            browser_child(Path(rest[0]), int(rest[1]), int(rest[2]))
        else:
            viewers_child(rest[0], Path(rest[1]), int(rest[2]))
        sys.stdout.flush()
        os._exit(0)  # the sessions' threads and caches need no teardown

    folder = Path(tempfile.mkdtemp(prefix="ocenter-display-bench-"))
    floor = folder / "floor.py"
    floor.write_text(FLOOR, encoding="utf-8")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}, {folder}")
    lines: list[str] = []
    try:
        homes: dict[int, tuple[Path, dict]] = {}
        for rows in sorted(set(args.rows) | {args.viewers_rows}):
            home = folder / f"home-{rows}"
            started = time.perf_counter()
            installed = _child(["install", str(rows)], home)
            homes[rows] = (home, installed)
            print(f"installed {rows:,} rows ({installed['csv_mb']:.0f} MB of CSV, "
                  f"{installed['parquet_mb']:.0f} MB of Parquet) in {time.perf_counter() - started:.0f} s")
        for rows in args.rows:
            home, installed = homes[rows]
            result = _child(["page", str(floor), str(args.repeat), str(args.cold)], home,
                            installed["parquet"])
            lines += report_page(rows, result)
            print("\n".join(report_page(rows, result)), flush=True)
        home, installed = homes[args.viewers_rows]
        results: dict[str, list[dict]] = {"ocenter": [], "floor": []}
        for turn in range(args.rounds):
            order = ["ocenter", "floor"] if turn % 2 == 0 else ["floor", "ocenter"]
            for contender in order:
                results[contender].append(_child(
                    ["viewers", contender, str(floor), str(args.reruns)], home, installed["parquet"]))
        lines += report_viewers(args.viewers_rows, results)
        print("\n".join(report_viewers(args.viewers_rows, results)), flush=True)
        if args.browser:
            shown = _child(["browser", str(floor), str(max(5, args.repeat // 2)), "10"], home,
                           installed["parquet"])
            print("\n".join(report_browser(args.viewers_rows, 10, shown)))
        print("\nsummary:" + "\n".join(line for line in lines if line.startswith("target")).join(["\n", ""]))
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
