"""Benchmark of integrated data: what a dashboard reads when 76 UPT each send 24 months.

Reading the integrated dataset (the newest version of each of the 76 x 24 partitions) is compared
with reading one accepted file of the same rows, the floor: the target is that it costs no more.
Also printed: what integrating one UPT's file costs when it is accepted.

Run from the project root: ``python benchmarks/integration_benchmark.py [--copies 25] [--repeat 30]``
(``--copies`` multiplies the demo's two years of about 20,000 rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from ocenter.demo_data import generate_sampling_dataset, sampling_contract  # noqa: E402
from ocenter.integration.build import build_integrated, current_partitions  # noqa: E402
from ocenter.integration.partitions import PartitionState, keys_of  # noqa: E402
from ocenter.verification.datasets import load_dataset, store_dataset_version  # noqa: E402

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def text_table(frame: pd.DataFrame) -> pa.Table:
    return pa.table({c: pa.array(frame[c].astype(str).tolist(), pa.string()) for c in frame.columns})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    contract = sampling_contract()
    frame = pd.concat([generate_sampling_dataset(seed=2026 + i) for i in range(args.copies)],
                      ignore_index=True)
    home = Path(tempfile.mkdtemp(prefix="ocenter-integration-bench-"))
    print(f"data: {len(frame):,} rows, {frame['kode_upt'].nunique()} UPT, "
          f"{frame['tanggal_sampling'].str[:7].nunique()} months")

    whole = store_dataset_version(home, contract, text_table(frame), b"one national file", "a.csv")

    states: list[PartitionState] = []
    previous = None
    builds = []
    for code, part in frame.groupby("kode_upt", sort=True):
        stored = store_dataset_version(home, contract, text_table(part), code.encode(), "u.csv")
        keys = keys_of(contract, load_dataset(home, contract.id, stored.sha256))
        for (sender, period), rows in keys.items():
            states.append(PartitionState(len(states) + 1, sender, period, stored.sha256, rows,
                                         "accepted", NOW))
        started = time.perf_counter()
        built = build_integrated(home, contract, current_partitions(states), previous, keys)
        builds.append(time.perf_counter() - started)
        previous = built.sha256
    partitions = len(current_partitions(states))
    print(f"integrated: {built.rows:,} rows in {partitions} partitions "
          f"(same rows as the single file: {built.rows == whole.rows})")
    print(f"integrating one UPT's file when it is accepted: median "
          f"{statistics.median(builds) * 1000:.0f} ms, max {max(builds) * 1000:.0f} ms "
          f"over {len(builds)} files")

    def read(sha256: str) -> float:
        started = time.perf_counter()
        table = load_dataset(home, contract.id, sha256)
        assert table.num_rows == whole.rows
        return time.perf_counter() - started

    read(whole.sha256), read(previous)  # warm-up: the page cache and Arrow's allocator
    single, integrated = [], []
    for turn in range(args.repeat):  # interleaved, each first in turn, so both see the same machine
        if turn % 2:
            integrated.append(read(previous))
            single.append(read(whole.sha256))
        else:
            single.append(read(whole.sha256))
            integrated.append(read(previous))
    floor, ours = statistics.median(single), statistics.median(integrated)
    print(f"read for a dashboard, median of {args.repeat}: one accepted file {floor * 1000:.1f} ms, "
          f"integrated dataset {ours * 1000:.1f} ms, ratio {ours / floor:.2f}x (target <= 1x: "
          f"{'met' if ours <= floor * 1.05 else 'NOT met'}, 5% noise allowed)")


if __name__ == "__main__":
    main()
