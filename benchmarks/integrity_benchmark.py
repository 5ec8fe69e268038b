"""Benchmark of the evidence checks: what checking a dataset file's SHA-256 adds to a dashboard's
read, and what the event log's hash chain costs to append to and to verify.

Reading a stored file as dashboards do (``load_dataset`` with the recorded digest: read the bytes,
hash them, parse them from memory) is compared with reading it unchecked (parse from the file),
interleaved. A page run that finds the file in the process's cache pays only a ``stat``
(the cache is keyed by the verified digest and the file's inode, size and times), also printed.

Run from the project root: ``python benchmarks/integrity_benchmark.py [--copies 25] [--repeat 30]
[--events 20000]`` (``--copies`` multiplies the demo's two years of about 20,000 rows).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from ocenter.audit import verify_event_log  # noqa: E402
from ocenter.database import make_engine  # noqa: E402
from ocenter.demo_data import generate_sampling_dataset, sampling_contract  # noqa: E402
from ocenter.events import record  # noqa: E402
from ocenter.verification.datasets import load_dataset, store_dataset_version  # noqa: E402


def text_table(frame: pd.DataFrame) -> pa.Table:
    return pa.table({c: pa.array(frame[c].astype(str).tolist(), pa.string()) for c in frame.columns})


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def file_reads(home: Path, copies: int, repeat: int) -> None:
    contract = sampling_contract()
    frame = pd.concat([generate_sampling_dataset(seed=2026 + i) for i in range(copies)],
                      ignore_index=True)
    stored = store_dataset_version(home, contract, text_table(frame), b"one national file", "a.csv")
    size = stored.parquet_path.stat().st_size
    print(f"file: {len(frame):,} rows, {size / 1e6:.1f} MB of Parquet")

    def timed(check: bool) -> float:
        started = time.perf_counter()
        table = load_dataset(home, contract.id, stored.sha256,
                             file_sha256=stored.file_sha256 if check else None)
        assert table.num_rows == len(frame)
        return time.perf_counter() - started

    timed(True), timed(False)  # warm-up: the page cache and Arrow's allocator
    plain, checked = [], []
    for turn in range(repeat):  # interleaved, each first in turn
        first, second = (plain, checked) if turn % 2 else (checked, plain)
        first.append(timed(first is checked))
        second.append(timed(second is checked))
    data = stored.parquet_path.read_bytes()
    hashing = []
    for _ in range(repeat):
        started = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        hashing.append(time.perf_counter() - started)
    stats = []
    for _ in range(repeat * 100):
        started = time.perf_counter()
        stored.parquet_path.stat()
        stats.append(time.perf_counter() - started)
    floor, ours = statistics.median(plain), statistics.median(checked)
    print(f"read for a dashboard, median of {repeat}: unchecked {_ms(floor)}, checked {_ms(ours)} "
          f"(+{_ms(ours - floor)}, {ours / floor:.2f}x); SHA-256 of the bytes alone "
          f"{_ms(statistics.median(hashing))} ({size / statistics.median(hashing) / 1e9:.2f} GB/s)")
    print(f"a page run served from the cache: one stat, median {statistics.median(stats) * 1e6:.1f} us")


def event_log(home: Path, events: int) -> None:
    engine = make_engine(f"sqlite:///{home / 'log.db'}")
    try:
        appends = []
        for number in range(events):
            started = time.perf_counter()
            with Session(engine) as session:
                record(session, "verifikator", "data.received", step=2, submission_id=number,
                       detail=f"kiriman {number}")
                session.commit()
            appends.append(time.perf_counter() - started)
        started = time.perf_counter()
        audit = verify_event_log(engine)
        verify = time.perf_counter() - started
        assert audit.intact
        print(f"event log on SQLite: appending one event in its own transaction, median "
              f"{_ms(statistics.median(appends))}; audit verify of {events:,} entries {verify:.2f} s "
              f"({events / verify:,.0f} entries/s)")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ocenter-integrity-bench-"))
    try:
        file_reads(home, args.copies, args.repeat)
        event_log(home, args.events)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
