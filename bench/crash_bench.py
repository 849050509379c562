"""Crash loss at random instants: `kiosk record` (demo sources) killed with SIGKILL, then `kiosk.media.finalize.recover`.

    python bench/crash_bench.py [--kills 50] [--profiles webm-vp9-opus,webm-vp8-opus,mp4-h264-aac,audio-opus]

loss = file time captured at the instant of the kill (from the started line's clock_start, CLOCK_MONOTONIC) minus the
duration that survived. Prints one JSON object per profile: the loss distribution and the recovery time.

With --snapshots N, also (in this process, real recorder and demo sources) N byte-for-byte copies of the live file
taken at random instants of one take, each recovered: "held" = where the last packet the writer had muxed ends
minus what the copy recovers. That is what the file itself holds back (muxer plus OS), without the writer's backlog
that a CPU-starved machine adds to a real kill.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.media import finalize  # noqa: E402
from tests.harness.crash import live_snapshots, record_and_kill  # noqa: E402


def run(profile: str, kills: int, max_after: float, size: str, rng: random.Random) -> dict:
    losses, recover_s, failures = [], [], []
    for _ in range(kills):
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / ("take.mp4" if profile.startswith("mp4") else "take.webm")
            killed = record_and_kill(Path(folder), out, rng.uniform(0.0, max_after), profile=profile, size=size)
            started = time.perf_counter()
            result = finalize.recover(killed.path)
            recover_s.append(time.perf_counter() - started)
            if not result.ok:
                failures.append(result.message)
                continue
            losses.append(killed.file_time_at_kill - result.duration)
    return {"profile": profile, "size": size, "kills": kills, "recovered": len(losses), "failures": failures,
            "loss_s": distribution(losses), "over_0.1_s": sum(1 for x in losses if x > 0.1),
            "recover_s_median": round(statistics.median(recover_s), 3)}


def distribution(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {}
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 3)  # noqa: E731
    return {"min": pick(0), "median": pick(0.5), "p90": pick(0.9), "max": pick(1.0),
            "mean": round(statistics.fmean(values), 3)}


def snapshots(profile: str, count: int, size: str, rng: random.Random) -> dict:
    width, height = (int(v) for v in size.split("x"))
    held, failures = [], []
    with tempfile.TemporaryDirectory() as folder:
        delays = [rng.uniform(0.05, 0.5) for _ in range(count)]
        for snapshot in live_snapshots(Path(folder), profile, (width, height), delays):
            result = finalize.recover(snapshot.path)
            if not result.ok:
                failures.append(result.message)
                continue
            held.append(snapshot.muxed_end - result.duration)
            for leftover in Path(folder).glob(snapshot.path.stem + "*"):
                leftover.unlink()
    return {"profile": profile, "size": size, "snapshots": count, "recovered": len(held), "failures": failures,
            "held_by_file_s": distribution(held)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--profiles", default="webm-vp9-opus,webm-vp8-opus,mp4-h264-aac,audio-opus")
    parser.add_argument("--max-after", type=float, default=3.0, help="kill up to this long after started (s)")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--snapshots", type=int, default=0, help="also copy the live file this many times")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for profile in args.profiles.split(","):
        if args.kills:
            print(json.dumps(run(profile, args.kills, args.max_after, args.size, rng)), flush=True)
        if args.snapshots:
            print(json.dumps(snapshots(profile, args.snapshots, args.size, rng)), flush=True)


if __name__ == "__main__":
    main()
