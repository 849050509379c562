"""How long the camera takes to open at consent: Recorder.reopen_camera() to the first frame, and release_camera()
to the device closed. The kiosk opens the camera when a candidate consents and closes it on the way back to the
welcome screen (issue 11), so this time is spent while the device-check screen appears.

    .venv/bin/python bench/camera_open.py [--rounds 10] [--camera URL|INDEX]

Without --camera it uses the tests' MJPEG network camera on 127.0.0.1 (320x240 @ 30).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.capture import sources  # noqa: E402
from kiosk.events import EventBus  # noqa: E402
from kiosk.recorder import Recorder, RecorderSettings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--camera", help="camera.spec to measure (default: the test MJPEG server)")
    args = parser.parse_args()
    server = None
    if args.camera is None:
        from tests.harness.camera import MjpegCamera
        server = MjpegCamera().start()
        spec = server.url
    else:
        spec = args.camera
    size = (320, 240) if server else (1280, 720)
    recorder = Recorder(sources.open_camera(spec, size, 30, 3.0, 2.0), None,
                        RecorderSettings(size=size, fps=30, min_free_mb=50), EventBus())
    recorder.open()
    opens, closes = [], []
    try:
        deadline = time.monotonic() + 10
        while recorder.status()["camera"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(args.rounds):
            started = time.monotonic()
            recorder.release_camera().result(timeout=30)
            closes.append(time.monotonic() - started)
            time.sleep(0.3)
            recorder.reopen_camera().result(timeout=30)
            deadline = time.monotonic() + 30
            while recorder.status()["camera"] != "ok" and time.monotonic() < deadline:
                time.sleep(0.005)
            opens.append(recorder.camera_open_s)
    finally:
        recorder.close()
        if server is not None:
            server.stop()
    ms = lambda values: f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"  # noqa
    print(f"camera {spec}: open to first frame {ms(opens)}; release {ms(closes)} ({args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
