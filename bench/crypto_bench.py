"""Encryption at rest: how fast the kiosk seals a take, on one core, against the `age` CLI on the same file.

    .venv/bin/python bench/crypto_bench.py [--mb 512] [--rounds 3]

Each round, in a process pinned to one core: `kiosk.privacy.crypto.seal` of a file of random bytes (encrypt to one
centre recipient + the ephemeral check recipient, fsync, decrypt-and-compare pass, rename, remove the plaintext),
timed as a whole and per pass; then `age -r` on the same bytes. Peak RSS (VmHWM) of the sealing process shows that
memory does not grow with the file. Goal: encryption >= 200 MB/s on one core (a 60-minute 720p take, ~1.1 GB at
2.5 Mbit/s, sealed in seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: str, recipient: str) -> None:
    """One sealing, timed by pass, in this (pinned) process; prints one JSON line."""
    import pyrage

    from kiosk.privacy import crypto

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    recipients = crypto.parse_recipients([recipient])
    plain = Path(path)
    size = plain.stat().st_size
    # The encrypt pass alone, as the seal's first half does it (into a file, with the check recipient).
    check = pyrage.x25519.Identity.generate()
    start = time.perf_counter()
    with open(plain, "rb") as source, open(plain.with_name("alone.age"), "wb") as sink:
        pyrage.encrypt_io(source, sink, [*recipients, check.to_public()])
        sink.flush()
        os.fsync(sink.fileno())
    encrypt_s = time.perf_counter() - start
    os.unlink(plain.with_name("alone.age"))
    start = time.perf_counter()
    sealed = crypto.seal(plain, recipients, remove_plain=False)
    seal_s = time.perf_counter() - start
    os.unlink(sealed.path)
    print(json.dumps({"mb": size / 1e6, "encrypt_mb_s": size / 1e6 / encrypt_s, "seal_mb_s": size / 1e6 / seal_s,
                      "seal_s": seal_s, "peak_rss_mb": _peak_rss_mb()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=512, help="size of the test file in MB (default 512)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("FILE", "RECIPIENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if shutil.which("age") is None:
        print("age is not installed. Fix: apt-get install age", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        tmp = Path(folder)
        made = subprocess.run(["age-keygen", "-o", str(tmp / "centre.key")], capture_output=True, text=True,
                              check=True)
        recipient = made.stderr.split("Public key: ", 1)[1].split()[0]
        plain = tmp / "take.webm"
        with open(plain, "wb") as handle:
            for _ in range(args.mb):
                handle.write(os.urandom(1_000_000))
        print(f"# crypto bench: {args.mb} MB, {args.rounds} rounds, one core, load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("| round | encrypt MB/s | seal (encrypt + check + fsync) MB/s | age CLI MB/s | kiosk/age | peak RSS MB |")
        print("|---|---|---|---|---|---|")
        rows = []
        for number in range(1, args.rounds + 1):
            done = subprocess.run([sys.executable, __file__, "--child", str(plain), recipient], capture_output=True,
                                  text=True, check=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
            row = json.loads(done.stdout.strip().splitlines()[-1])
            core = str(sorted(os.sched_getaffinity(0))[0])
            start = time.perf_counter()
            subprocess.run(["taskset", "-c", core, "age", "-r", recipient, "-o", str(tmp / "cli.age"), str(plain)],
                           check=True)
            row["age_mb_s"] = args.mb / (time.perf_counter() - start)
            (tmp / "cli.age").unlink()
            rows.append(row)
            print(f"| {number} | {row['encrypt_mb_s']:.0f} | {row['seal_mb_s']:.0f} | {row['age_mb_s']:.0f} | "
                  f"{row['encrypt_mb_s'] / row['age_mb_s']:.2f} | {row['peak_rss_mb']:.1f} |")
        best = max(r["encrypt_mb_s"] for r in rows)
        print(f"best encrypt {best:.0f} MB/s (goal >= 200): {'met' if best >= 200 else 'NOT met'}; "
              f"60-minute take (1.1 GB) sealed in {1100 / max(r['seal_mb_s'] for r in rows):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
