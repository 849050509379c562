"""All engine benchmarks in one run; prints a table per goal and, with --json, every figure.

    python bench/run_all.py                 # 60 s per live case (the issue's figures; ~15 min)
    python bench/run_all.py --seconds 10    # a quick look
    python bench/run_all.py --sizes 1920x1080 --profiles webm-vp9-opus

For 720p30 and 1080p30 and each profile, a live recording from the demo sources in a process of its own: frames
dropped, CPU share of the machine, peak RSS and its growth, A/V offset measured from the demo markers in the decoded
file, stop -> final time. Then the encoder throughput of our settings in PyAV against the ffmpeg CLI with the same
settings, and the UI-thread stall / GIL share while 1080p is recorded. Goals: 0 dropped at 1080p30 VP9 with <= 50 %
of 2 cores, |A/V offset| <= 10 ms, RSS growth <= 5 MB/hour, throughput ratio >= 0.95, UI stall <= 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import throughput  # noqa: E402

PROFILES = ["webm-vp9-opus", "webm-vp8-opus", "mp4-h264-aac", "audio-opus"]
SIZES = ["1280x720", "1920x1080"]
ENCODERS = {"webm-vp9-opus": "libvpx-vp9", "webm-vp8-opus": "libvpx", "mp4-h264-aac": "libx264"}


def child(script: str, *args: str, timeout: float) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each live case (default 60)")
    parser.add_argument("--sizes", nargs="+", default=SIZES)
    parser.add_argument("--profiles", nargs="+", default=PROFILES)
    parser.add_argument("--frames", type=int, default=150, help="frames for the throughput ratio")
    parser.add_argument("--ui-seconds", type=float, default=20.0)
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    args = parser.parse_args()

    report: dict = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.processor()
                    or platform.machine(), "cores": len(os.sched_getaffinity(0)), "load_before": load(),
                    "live": [], "throughput": [], "ui": []}
    print(f"# kiosk engine bench, {report['when']}, {report['cores']} cores, load {report['load_before']}")
    print("\n## live recording (demo sources), per case")
    print(f"{'size':>9} {'profile':>14} {'codec':>5} {'dropped':>8} {'cpu':>5} {'rssMB':>6} {'MB/h':>7} "
          f"{'|AV|ms':>7} {'stop->final':>11} {'load':>14}")
    for size in args.sizes:
        for profile in args.profiles:
            before = load()
            r = child("record_case.py", "--size", size, "--profile", profile, "--seconds", str(args.seconds),
                      timeout=args.seconds * 4 + 120)
            r["load"] = before
            report["live"].append(r)
            if "error" in r:
                print(f"{size:>9} {profile:>14} ERROR {r['error'][-300:]}")
                continue
            print(f"{size:>9} {profile:>14} {str(r['video_codec']):>5} "
                  f"{r['frames_dropped']:>4}/{r['frames_written'] + r['frames_dropped']:<4}"
                  f"{r['cpu_share_of_machine']:>5.0%} {r['rss_peak_mb']:>6} {r['rss_growth_mb_per_hour']:>7} "
                  f"{r['av_offset_ms_max_abs']:>7} {r['stop_to_final_s']:>10}s {before:>14}")

    print("\n## encoder throughput: PyAV with our settings / ffmpeg CLI with the same settings (same frames)")
    for size in args.sizes:
        for profile in args.profiles:
            if profile not in ENCODERS:
                continue
            r = throughput.measure(tuple(int(v) for v in size.split("x")), ENCODERS[profile], args.frames)
            report["throughput"].append(r)
            print(f"{size:>9} {r['encoder']:>11}: PyAV {r['pyav_fps']:>6} fps, ffmpeg {r['ffmpeg_fps']:>6} fps, "
                  f"ratio {r['ratio']:.3f}")

    print("\n## UI thread and GIL while recording 1080p VP9 in this process's threads")
    r = child("ui_stall.py", "--size", "1920x1080", "--seconds", str(args.ui_seconds), timeout=args.ui_seconds * 5 + 60)
    report["ui"].append(r)
    if "error" in r:
        print("ERROR", r["error"][-500:])
    else:
        for phase in ("previewing", "recording"):
            p = r[phase]
            print(f"{phase:>11}: max stall {p['ui_max_stall_ms']} ms, p99 {p['ui_p99_stall_ms']} ms, "
                  f">16 ms: {p['ui_stalls_over_16ms']} of {p['probes']}")
        print(f"GIL share left for other Python code while recording: {r['gil_share_left_for_python']:.0%}; "
              f"with a busy Python thread the UI's max stall was {r['ui_max_stall_ms_recording_with_busy_python_thread']}"
              f" ms; frames dropped meanwhile {r['frames_dropped']} of {r['frames_written'] + r['frames_dropped']}")
    report["load_after"] = load()
    print(f"\nload after: {report['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
