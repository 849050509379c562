"""One live recording case, measured in a process of its own; prints one JSON object.

    python bench/record_case.py --size 1920x1080 --profile webm-vp9-opus --seconds 60

Demo camera + demo microphone (their sync markers give the A/V offset of the decoded file). CPU share is of the whole
machine (all cores) and includes the demo camera's own rendering; RSS is sampled every second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.capture.demo import DemoCamera, DemoMicrophone  # noqa: E402
from kiosk.media import analysis, profiles  # noqa: E402
from kiosk.recorder import Recorder, RecorderSettings  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time, after the first 20 % (encoder warm-up and buffers filling)."""
    tail = samples[len(samples) // 5:]
    if len(tail) < 3:
        return float("nan")
    n = len(tail)
    mt = sum(t for t, _ in tail) / n
    mr = sum(r for _, r in tail) / n
    den = sum((t - mt) ** 2 for t, _ in tail)
    return sum((t - mt) * (r - mr) for t, r in tail) / den * 3600 if den else float("nan")


def run(size: tuple[int, int], fps: float, profile: str, seconds: float, folder: Path, nice: int = 5) -> dict:
    settings = RecorderSettings(profile=profile, size=size, fps=fps, min_free_mb=100, encoder_nice=nice)
    recorder = Recorder(DemoCamera(size, fps), DemoMicrophone(), settings)
    recorder.open()
    time.sleep(1.0)
    rss: list[tuple[float, float]] = []
    backlog_max = 0
    stop = threading.Event()

    frame_mb = size[0] * size[1] * 3 / 1e6

    def sample() -> None:
        # RSS minus the frames waiting in the writer's bounded queue: a leak grows, a full queue comes and goes.
        nonlocal backlog_max
        while not stop.wait(1.0):
            take = recorder._take
            backlog = take.writer.backlog if take is not None else 0
            backlog_max = max(backlog_max, backlog)
            rss.append((time.monotonic(), rss_mb() - backlog * frame_mb))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu0, wall0 = os.times(), time.monotonic()
    recorder.start_take(folder / f"bench-{size[0]}x{size[1]}-{profile}.webm")
    while recorder.status()["elapsed_s"] < seconds:
        time.sleep(0.05)
    cpu1, wall1 = os.times(), time.monotonic()
    stopped = time.monotonic()
    result = recorder.stop_take().result()
    stop_to_final = time.monotonic() - stopped
    stop.set()
    recorder.close()
    cores = profiles.available_cores()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    m = result.metadata
    offsets = analysis.av_offsets(result.path) if profiles.get(profile).has_video else []
    return {
        "size": f"{size[0]}x{size[1]}", "fps": fps, "profile": profile, "seconds": round(wall1 - wall0, 1),
        "video_codec": m.get("video_codec"), "frames_captured": m.get("frames_captured"),
        "frames_written": m.get("frames_written"), "frames_dropped": m.get("frames_dropped"),
        "max_writer_backlog": backlog_max,
        "cpu_share_of_machine": round(cpu / ((wall1 - wall0) * cores), 3), "cores": cores,
        "rss_peak_mb": round(max(r for _, r in rss), 1) if rss else None,
        "rss_growth_mb_per_hour": round(slope_mb_per_hour(rss), 1),
        "rss_trace_mb": [round(r) for _, r in rss[::max(1, len(rss) // 12)]],
        "av_offset_ms_max_abs": round(max((abs(o) for o in offsets), default=float("nan")) * 1000, 2),
        "av_offsets_n": len(offsets),
        "stop_to_final_s": round(stop_to_final, 3), "duration": m.get("duration"),
        "file_mb": round(m.get("file_size", 0) / 1e6, 2), "max_fsync_ms": m.get("max_fsync_ms"),
        "state": m.get("state"),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--profile", default="webm-vp9-opus")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--encoder-nice", type=int, default=5, help="RecorderSettings.encoder_nice (default 5)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as folder:
        figures = run(size, args.fps, args.profile, args.seconds, Path(folder), args.encoder_nice)
    figures["encoder_nice"] = args.encoder_nice
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
