"""Benchmark of the spec store: a save against raw git plumbing, and snapshots of 10,000 specs.

Run from the project root: ``python benchmarks/store_benchmark.py [--saves 40] [--specs 10000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocenter.contracts.model import ContractField, DataContract, FieldType, contract_to_yaml  # noqa: E402
from ocenter.display.spec import DashboardSpec, Panel, spec_to_yaml  # noqa: E402
from ocenter.store.models import Author
from ocenter.store.spec_store import SpecStore  # noqa: E402

AUTHOR = Author(username="analis", name="Siti Analis")
CONTRACT = DataContract(
    id="sampling-pengujian",
    title="Sampling",
    owner_unit="DIT-X",
    fields=[
        ContractField(name="kategori_produk"),
        ContractField(name="jumlah", type=FieldType.INTEGER),
    ],
)

# The same write as SpecStore.save_spec, by hand: blob, the specs/ tree, the root tree, the
# commit and a compare-and-swap of the ref (ls-tree is needed to know the rest of the trees).
RAW_SAVE = r"""
set -eu
head=$(git rev-parse refs/heads/raw)
blob=$(printf '%s' "$CONTENT" | git hash-object -w --stdin)
specs=$( { git ls-tree "$head:specs" | grep -v "	$NAME\$" || true;
           printf '100644 blob %s\t%s\n' "$blob" "$NAME"; } | git mktree)
root=$( { git ls-tree "$head" | grep -v '	specs$' || true;
          printf '040000 tree %s\tspecs\n' "$specs"; } | git mktree)
commit=$(printf 'raw save\n' | git commit-tree "$root" -p "$head")
git update-ref refs/heads/raw "$commit" "$head"
"""


def spec(dashboard_id: str, title: str) -> DashboardSpec:
    panel = Panel(
        id="per-kategori",
        title="Per kategori",
        kind="bar",
        dataset=CONTRACT.id,
        dimension="kategori_produk",
    )
    return DashboardSpec(
        id=dashboard_id, title=title, owner_unit="DIT-X", datasets=[CONTRACT.id], panels=[panel]
    )


def seed_files(count: int) -> dict[str, str]:
    files = {f"data_contracts/{CONTRACT.id}.yaml": contract_to_yaml(CONTRACT)}
    for i in range(count):
        dashboard_id = f"dash-{i:05d}"
        files[f"specs/{dashboard_id}.yaml"] = spec_to_yaml(spec(dashboard_id, f"Dasbor {i}"))
    return files


def git_env(git_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_DIR": str(git_dir),
        "GIT_AUTHOR_NAME": AUTHOR.name,
        "GIT_AUTHOR_EMAIL": AUTHOR.email,
        "GIT_COMMITTER_NAME": AUTHOR.name,
        "GIT_COMMITTER_EMAIL": AUTHOR.email,
    }


def bench_save(store: SpecStore, saves: int, specs_on_main: int) -> None:
    head = store.start_mockup(1, spec("dash-bench", "v0"), AUTHOR)
    env = git_env(store.path)
    subprocess.run(["git", "update-ref", "refs/heads/raw", head], env=env, check=True)

    store_times, raw_times = [], []
    for i in range(1, saves + 1):
        new = spec("dash-bench", f"v{i}")
        start = time.perf_counter()
        head = store.save_spec(1, new, AUTHOR, head, f"save {i}")
        store_times.append(time.perf_counter() - start)

        content = spec_to_yaml(new)
        start = time.perf_counter()
        subprocess.run(
            ["bash", "-c", RAW_SAVE],
            env=env | {"CONTENT": content, "NAME": "dash-bench.yaml"},
            check=True,
        )
        raw_times.append(time.perf_counter() - start)
    raw_tree = subprocess.run(
        ["git", "rev-parse", "refs/heads/raw^{tree}"], env=env, capture_output=True, text=True
    ).stdout.strip()
    assert raw_tree == store.snapshot(head).tree, "both ways must write the same tree"
    s, r = statistics.median(store_times) * 1000, statistics.median(raw_times) * 1000
    print(
        f"(a) save, {specs_on_main} specs on main, median of {saves}: SpecStore.save_spec "
        f"{s:.1f} ms, raw plumbing in bash {r:.1f} ms, ratio {s / r:.2f}x (target <= 3x)"
    )


def bench_snapshot(path: Path, count: int) -> SpecStore:
    store = SpecStore.open_or_init(path)
    start = time.perf_counter()
    store.seed(AUTHOR, seed_files(count), "seed")
    print(f"(b) seeding {count} specs (validated, one commit): {time.perf_counter() - start:.1f} s")

    fresh = SpecStore(path)  # a new process: nothing cached
    start = time.perf_counter()
    snap = fresh.snapshot("main")
    cold = time.perf_counter() - start
    assert len(snap.specs) == count and not snap.problems

    warm_times, listed_times = [], []
    for _ in range(50):
        start = time.perf_counter()
        snap = fresh.snapshot("main")
        warm_times.append(time.perf_counter() - start)
        listed = snap.valid_specs()
        listed_times.append(time.perf_counter() - start)
    assert len(listed) == count
    print(
        f"(b) {count} specs on main: cold snapshot {cold:.2f} s; warm snapshot('main') median "
        f"{statistics.median(warm_times) * 1000:.1f} ms (max {max(warm_times) * 1000:.1f}); "
        f"warm snapshot + valid_specs() listing median "
        f"{statistics.median(listed_times) * 1000:.1f} ms (max {max(listed_times) * 1000:.1f}) "
        f"(target < 100 ms)"
    )
    return fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--saves", type=int, default=40)
    parser.add_argument("--specs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocenter-bench-") as tmp:
        root = Path(tmp)
        small = SpecStore.open_or_init(root / "small.git")
        small.seed(AUTHOR, seed_files(20), "seed")
        bench_save(small, args.saves, 20)
        big = bench_snapshot(root / "big.git", args.specs)
        bench_save(big, args.saves, args.specs)


if __name__ == "__main__":
    main()
