"""Benchmark of keeping datasets in a shared bucket: what a write and a first read (a cache miss,
fetched from the bucket) cost, against the local folders alone and a read from the local cache.

The bucket is moto's S3 server on this machine, started in a process of its own (as a real
server would be), so the figures show the work of the app and the protocol, not a network;
add the round trips of a real bucket (a write makes five requests: size, temporary upload, copy,
delete, folder marker; a miss makes one HEAD and one GET) to judge a deployment.

Sizes stay under 10 MB: above that pyarrow uploads in parts, and moto 5.2.1 answers pyarrow 26's
CompleteMultipartUpload with a reply the SDK reads as an error (real S3 and MinIO do not).

Run from the project root: ``python benchmarks/storage_benchmark.py [--mb 1 8] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load_client import free_port  # noqa: E402
from ocenter.storage import Bucket, attach_bucket, files_of, parse_bucket_url  # noqa: E402
from tests.s3_server import TEST_AWS_ENV, new_bucket  # noqa: E402


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.update(TEST_AWS_ENV)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = Path(tempfile.mkdtemp(prefix="storage-bench-"))
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        bucket = new_bucket(endpoint)
        writer_home, reader_home, local_home = root / "writer", root / "reader", root / "local"
        for home in (writer_home, reader_home):
            attach_bucket(home, Bucket(parse_bucket_url(f"s3://{bucket}/bench", endpoint)))
        print(f"moto S3 server on {endpoint}; medians of {args.repeat} runs")
        print(f"{'size':>6} {'local write':>14} {'bucket write':>14} {'miss (fetch)':>14} {'cache hit':>14}")
        for mb in args.mb:
            timings: dict[str, list[float]] = {"local": [], "bucket": [], "miss": [], "hit": []}
            for n in range(args.repeat):
                data = os.urandom(mb * 1024 * 1024)
                name = Path("datasets") / "bench" / f"{mb}-{n}.parquet"
                for label, home in (("local", local_home), ("bucket", writer_home)):
                    path = home / name
                    start = time.perf_counter()
                    files_of(path).put(path, data)
                    timings[label].append(time.perf_counter() - start)
                path = reader_home / name
                start = time.perf_counter()
                assert files_of(path).fetch(path) and path.read_bytes() == data
                timings["miss"].append(time.perf_counter() - start)
                start = time.perf_counter()
                assert files_of(path).fetch(path) and len(path.read_bytes()) == len(data)
                timings["hit"].append(time.perf_counter() - start)
            print(f"{mb:>4} MB {_median_ms(timings['local'])} {_median_ms(timings['bucket'])} "
                  f"{_median_ms(timings['miss'])} {_median_ms(timings['hit'])}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
