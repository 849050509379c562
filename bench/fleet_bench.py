"""A fleet against one centre: N booths (each a process of the kiosk's tus client, as `kiosk sync` runs it) upload at
once to one @tus/server, on its file store or on S3 (@tus/s3-store on moto's server); one run per N.

    .venv/bin/python bench/fleet_bench.py [--booths 1,4,8] [--mb 16] [--chunk-mb 4] [--store file|s3] [--json]

Prints per N: the aggregate throughput (all bytes / from the first booth's start to the last booth's end, interpreter
start-up excluded), the median and slowest booth, and the memory per upload (peak RSS of each booth's process,
VmHWM). Read-back is off, so only the upload is timed. On a 2-core machine the booths, the server (and moto) share
the same cores: the figure is the server's capacity on this machine, not a network's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sync_bench import _hwm_mb  # noqa: E402
from kiosk.sync.tus import file_sha256  # noqa: E402
from tests.harness.tus import S3Bucket, TusServer  # noqa: E402

MiB = 1024 * 1024

BOOTH = r"""
import json, sys, time
from kiosk.sync.tus import TusClient, MemoryRecord
url, path, chunk, sha, booth = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
with TusClient(url, chunk_size=chunk, verify=False) as client:
    client.capabilities()
    print("ready", flush=True)
    sys.stdin.readline()                       # all booths start together
    started = time.time()
    client.upload(path, MemoryRecord(), metadata={"filename": "bench.bin", "kiosk_id": booth}, sha256=sha)
    ended = time.time()
print(json.dumps({"started": started, "ended": ended}))
"""


def run_fleet(url: str, files: list[tuple[Path, str]], chunk: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", BOOTH, url, str(path), str(chunk), sha, f"booth-{i}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for i, (path, sha) in enumerate(files)]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a booth did not start")
    peaks = [0.0] * len(procs)
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    while any(p.poll() is None for p in procs):
        for i, proc in enumerate(procs):
            hwm = _hwm_mb(proc.pid)
            if hwm is not None:
                peaks[i] = max(peaks[i], hwm)
        time.sleep(0.01)
    results = []
    for proc in procs:
        if proc.returncode != 0:
            raise RuntimeError("a booth failed")
        results.append(json.loads(proc.stdout.read().strip().splitlines()[-1]))
    total_mb = sum(path.stat().st_size for path, _ in files) / 1e6
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    per_booth = [files[i][0].stat().st_size / 1e6 / (r["ended"] - r["started"]) for i, r in enumerate(results)]
    return {"booths": len(files), "total_mb": round(total_mb, 1), "aggregate_MB_s": round(total_mb / wall, 1),
            "booth_MB_s_median": round(statistics.median(per_booth), 1), "booth_MB_s_min": round(min(per_booth), 1),
            "rss_mb_per_upload_max": round(max(peaks), 1), "rss_mb_per_upload_median": round(statistics.median(peaks),
                                                                                             1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booths", default="1,4,8", help="fleet sizes, comma-separated")
    parser.add_argument("--mb", type=int, default=16, help="MiB each booth uploads")
    parser.add_argument("--chunk-mb", type=float, default=4.0)
    parser.add_argument("--store", choices=("file", "s3"), default="file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(n) for n in args.booths.split(",")]
    report = {"store": args.store, "mb_per_booth": args.mb, "chunk_mb": args.chunk_mb, "load": os.getloadavg(),
              "runs": []}
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        tmp = Path(tmp)
        moto = None
        files = []
        for i in range(max(sizes)):
            path = tmp / f"booth-{i}.bin"
            with open(path, "wb") as f:
                for _ in range(args.mb):
                    f.write(os.urandom(MiB))
            files.append((path, file_sha256(path)))
        try:
            for n in sizes:
                s3 = None
                if args.store == "s3":
                    from tests.harness.s3 import MotoServer
                    moto = moto or MotoServer(tmp).start()
                    s3 = S3Bucket(moto, moto.new_bucket("fleet-bench"))
                server = TusServer(tmp / f"store-{n}", s3=s3).start()
                try:
                    report["runs"].append(run_fleet(server.url, files[:n], int(args.chunk_mb * MiB)))
                finally:
                    server.stop()
        finally:
            if moto is not None:
                moto.stop()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"@tus/server 2.4.5 + {'@tus/s3-store on moto' if args.store == 's3' else 'file store'} on 127.0.0.1; "
          f"{args.mb} MiB per booth, {args.chunk_mb:g} MiB chunks, read-back off; load before "
          f"{' '.join(f'{x:.2f}' for x in report['load'])}")
    print(f"{'booths':>6} {'aggregate MB/s':>15} {'booth median':>13} {'slowest':>8} {'RSS/upload MB':>14}")
    for run in report["runs"]:
        print(f"{run['booths']:6d} {run['aggregate_MB_s']:15.1f} {run['booth_MB_s_median']:13.1f} "
              f"{run['booth_MB_s_min']:8.1f} {run['rss_mb_per_upload_max']:14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
