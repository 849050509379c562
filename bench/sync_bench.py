"""Sync upload throughput: the kiosk's tus client against a plain `curl -T` PATCH to the same @tus/server, one run.

    .venv/bin/python bench/sync_bench.py [--mb 256] [--rounds 3] [--chunks 4,16]

Each round uploads the same file once with curl (one PATCH of the whole file) and once with the kiosk client per
chunk size (a fresh child process each, verify off so only the upload is timed), alternating so both see the same
machine load; then once more with the read-back verification on. Prints the median throughputs, the ratio
client / curl (goal >= 0.9) and each uploader's peak RSS (VmHWM of the child process). curl's time is its own time_total, the client's is
measured inside the child around upload() (interpreter start-up excluded for both).
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

from kiosk.sync.tus import file_sha256  # noqa: E402
from tests.harness.tus import TusServer  # noqa: E402

MiB = 1024 * 1024

CLIENT = r"""
import json, sys, time
from kiosk.sync.tus import TusClient, MemoryRecord, Throttle
url, path, chunk, verify, sha = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
rate = int(sys.argv[6])
with TusClient(url, chunk_size=chunk, verify=verify, throttle=Throttle(rate) if rate else None) as client:
    client.capabilities()
    started = time.perf_counter()
    result = client.upload(path, MemoryRecord(), metadata={"filename": "bench.bin"}, sha256=sha)
    seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "verified_by": result.verified_by}))
"""



def create_upload(url: str, size: int) -> str:
    import requests
    response = requests.post(url, headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size)}, timeout=10)
    response.raise_for_status()
    return requests.compat.urljoin(url, response.headers["Location"])


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def run_measured(cmd: list[str], **kwargs) -> tuple[str, float]:
    """Run a child; return its stdout and its peak RSS in MB (VmHWM of its own address space, polled until it exits:
    ru_maxrss would include the forking parent's memory)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, **kwargs)
        peak = 0.0
        while proc.poll() is None:
            hwm = _hwm_mb(proc.pid)
            if hwm is not None:
                peak = max(peak, hwm)
            time.sleep(0.005)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {err.read().decode(errors='replace')}")
        return out.read().decode(), peak


def run_curl(url: str, path: Path, rate: int = 0) -> tuple[float, float]:
    upload = create_upload(url, path.stat().st_size)
    limit = ["--limit-rate", str(rate)] if rate else []
    stdout, rss = run_measured(["curl", "-sS", "-f", *limit, "-o", "/dev/null", "-w", "%{time_total}", "-X", "PATCH",
                                "-T", str(path), "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
                                "-H", "Content-Type: application/offset+octet-stream", "-H", "Expect:", upload])
    return float(stdout.strip()), rss


def run_client(url: str, path: Path, chunk: int, verify: bool, sha: str, rate: int = 0
               ) -> tuple[float, float, list[str]]:
    stdout, rss = run_measured([sys.executable, "-c", CLIENT, url, str(path), str(chunk), "1" if verify else "0",
                                sha, str(rate)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(stdout)
    return result["seconds"], rss, result["verified_by"]


def scenario(url: str, path: Path, sha: str, store: Path, chunks: list[int], rounds: int, rate: int) -> dict:
    """Alternate curl and the client `rounds` times at one link speed (bytes/s, 0 = unlimited)."""
    times: dict[str, list[float]] = {"curl": [], **{f"{c // MiB}MiB": [] for c in chunks}}
    rss: dict[str, float] = {name: 0.0 for name in times}
    for _ in range(rounds):
        seconds, peak = run_curl(url, path, rate)
        times["curl"].append(seconds)
        rss["curl"] = max(rss["curl"], peak)
        for chunk in chunks:
            seconds, peak, _ = run_client(url, path, chunk, False, sha, rate)
            times[f"{chunk // MiB}MiB"].append(seconds)
            rss[f"{chunk // MiB}MiB"] = max(rss[f"{chunk // MiB}MiB"], peak)
        for f in store.iterdir():       # keep the disk use to one round
            f.unlink()
    size_mb = path.stat().st_size / 1e6
    result = {}
    for name, values in times.items():
        result[name] = {"MB_s_median": round(size_mb / statistics.median(values), 1),
                        "MB_s_best": round(size_mb / min(values), 1), "peak_rss_mb": round(rss[name], 1)}
    for name in result:
        result[name]["ratio_median"] = round(result[name]["MB_s_median"] / result["curl"]["MB_s_median"], 3)
        result[name]["ratio_best"] = round(result[name]["MB_s_best"] / result["curl"]["MB_s_best"], 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=128, help="file size in MiB for the unlimited run")
    parser.add_argument("--link-mb", type=int, default=32, help="file size in MiB for the capped runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunks", default="4,16,32", help="client chunk sizes in MiB, comma-separated")
    parser.add_argument("--links", default="0,100", help="link speeds in Mbit/s (0 = unlimited loopback); the "
                        "cap is curl --limit-rate and the client's own Throttle")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chunks = [int(float(c) * MiB) for c in args.chunks.split(",")]
    report = {"rounds": args.rounds, "scenarios": {}}
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        tmp = Path(tmp)
        server = TusServer(tmp / "store").start()
        try:
            for link in (int(x) for x in args.links.split(",")):
                mb = args.mb if link == 0 else args.link_mb
                path = tmp / f"bench-{mb}.bin"
                if not path.exists():
                    with open(path, "wb") as f:
                        for _ in range(mb):
                            f.write(os.urandom(MiB))
                sha = file_sha256(path)
                rate = link * 1_000_000 // 8
                name = "loopback" if link == 0 else f"{link} Mbit/s"
                report["scenarios"][name] = {"file_mb": round(mb * MiB / 1e6, 1),
                                             **scenario(server.url, path, sha, tmp / "store", chunks, args.rounds,
                                                        rate)}
            path = tmp / f"bench-{args.mb}.bin"
            seconds, peak, verified_by = run_client(server.url, path, chunks[0], True, file_sha256(path), 0)
            report["readback"] = {"chunk_MiB": chunks[0] // MiB, "MB_s_upload_plus_readback":
                                  round(path.stat().st_size / 1e6 / seconds, 1), "verified_by": verified_by,
                                  "peak_rss_mb": round(peak, 1)}
        finally:
            server.stop()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"@tus/server 2.4.5 + file store on 127.0.0.1; curl = one PATCH of the whole file (curl -T); "
          f"{args.rounds} rounds, alternating")
    for name, rows in report["scenarios"].items():
        print(f"\n{name}, file {rows['file_mb']} MB")
        print(f"{'uploader':26} {'MB/s med':>9} {'ratio':>6} {'MB/s best':>10} {'ratio':>6} {'peak RSS MB':>12}")
        for who, row in rows.items():
            if who == "file_mb":
                continue
            label = "curl -T" if who == "curl" else f"kiosk client, {who} chunks"
            print(f"{label:26} {row['MB_s_median']:9.1f} {row['ratio_median']:6.3f} {row['MB_s_best']:10.1f} "
                  f"{row['ratio_best']:6.3f} {row['peak_rss_mb']:12.1f}")
    r = report["readback"]
    print(f"\nkiosk client, {r['chunk_MiB']}MiB chunks, upload + GET read-back sha256: "
          f"{r['MB_s_upload_plus_readback']:.1f} MB/s end to end, peak RSS {r['peak_rss_mb']:.1f} MB "
          f"(verified by {'+'.join(r['verified_by'])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
