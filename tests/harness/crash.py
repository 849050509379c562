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
    file_time_at_kill: float   # s of the take's timeline that had been captured when SIGKILL was sent


def record_and_kill(data_dir: Path, out: Path, after_s: float, profile: str = "webm-vp9-opus",
                    size: str = "320x240", fps: int = 30, timeout: float = 60.0) -> Killed:
    """Start `kiosk record` (demo camera and microphone), SIGKILL it `after_s` after its `started` line."""
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
        at_kill = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    return Killed(Path(started["path"]), started, at_kill - started["clock_start"])
