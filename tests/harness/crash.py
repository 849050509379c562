"""Kill -9 of the real recorder (`kiosk record` in its own process) at a chosen instant, as a crash would.

The `started` line carries `clock_start`, the engine clock (CLOCK_MONOTONIC, shared by every process on the machine)
at file time 0, so the file time at the instant of the kill is known exactly: `loss = file_time_at_kill - duration
recovered` is what the crash took. Used by tests/kiosk/test_crash_loss.py and bench/crash_bench.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def kiosk_cmd(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *args]


@dataclass
class Killed:
    path: Path                 # the cut-off take
    started: dict              # the `started` line
    file_time_at_kill: float   # s of the take's timeline captured when SIGKILL (with stop_first_s: SIGTERM) was sent


def record_and_kill(data_dir: Path, out: Path, after_s: float, profile: str = "webm-vp9-opus",
                    size: str = "320x240", fps: int = 30, timeout: float = 60.0,
                    stop_first_s: float | None = None) -> Killed:
    """Start `kiosk record` (demo camera and microphone), SIGKILL it `after_s` after its `started` line.

    With `stop_first_s`, SIGTERM it at `after_s` (it stops and finalizes) and SIGKILL it `stop_first_s` later: a
    kill somewhere in the middle of finalize (or just before or after it)."""
    proc = subprocess.Popen(kiosk_cmd(data_dir, "record", "--out", str(out), "--duration", "600", "--camera", "demo",
                                      "--mic", "demo", "--size", size, "--fps", str(fps), "--profile", profile,
                                      "--json"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + timeout
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise AssertionError("kiosk record printed no started line")
        started = json.loads(line)
        assert started.get("event") == "started", started
        target = time.monotonic() + after_s
        while time.monotonic() < target:
            time.sleep(min(0.01, max(0.0, target - time.monotonic())))
        if stop_first_s is not None:
            os.kill(proc.pid, signal.SIGTERM)
            at_stop = time.monotonic()
            while time.monotonic() < at_stop + stop_first_s:
                time.sleep(min(0.002, max(0.0, at_stop + stop_first_s - time.monotonic())))
        at_kill = time.monotonic() if stop_first_s is None else at_stop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    return Killed(Path(started["path"]), started, at_kill - started["clock_start"])


@dataclass
class Snapshot:
    path: Path                 # a byte-for-byte copy of the live file (and its journal): what a kill leaves
    muxed_end: float           # where the last packet the writer had handed to the muxer ends (s)


def live_snapshots(folder: Path, profile: str, size: tuple[int, int], delays: list[float]):
    """Record a take with the real recorder (demo sources) and, `delays[i]` seconds apart, copy its live file: yields
    a Snapshot per delay. `muxed_end - recovered duration` is what the file itself held back at that instant (the
    muxer's open cluster and the OS), without the backlog a CPU-starved writer adds to a real kill."""
    import shutil

    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.media import journal
    from kiosk.recorder import Recorder, RecorderSettings

    recorder = Recorder(DemoCamera(size, 30), DemoMicrophone(),
                        RecorderSettings(profile=profile, size=size, fps=30, min_free_mb=50))
    live = folder / "live" / ("take.mp4" if profile.startswith("mp4") else "take.webm")
    recorder.open()
    try:
        recorder.start_take(live, label="Q1")
        take = recorder._take
        deadline = time.monotonic() + 30
        while not take.started and time.monotonic() < deadline:   # "started": the first frame is in the file
            time.sleep(0.01)
        for n, delay in enumerate(delays):
            time.sleep(delay)
            muxed_end = take.writer.stats.media_end_s      # read first: packets muxed later only add to the copy
            copy = folder / f"cut{n}{live.suffix}"
            shutil.copyfile(live, copy)
            shutil.copyfile(journal.journal_path(live), journal.journal_path(copy))
            yield Snapshot(copy, muxed_end)
        recorder.stop_take().result(timeout=60)
    finally:
        recorder.close()
