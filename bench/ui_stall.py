"""UI-thread stalls and GIL contention while the recorder runs in this process's threads (the chosen shape).

    python bench/ui_stall.py --size 1920x1080 --seconds 20

A Qt event loop (offscreen) runs what the kiosk's UI thread runs while recording: a 30 fps preview that converts the
recorder's latest frame to a scaled QImage, and a 4 ms QTimer probe whose lateness is the UI stall. Measured twice,
back to back: previewing only (no take) and recording. A pure-Python counting thread measures how much of the GIL
Python code still gets (iterations per second, recording vs previewing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QElapsedTimer, QTimer, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.capture.demo import DemoCamera, DemoMicrophone  # noqa: E402
from kiosk.recorder import Recorder, RecorderSettings  # noqa: E402

PROBE_MS = 4


def phase(app: QApplication, recorder: Recorder | None, seconds: float, with_counter: bool) -> dict:
    lateness: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    previews = [0]
    count = [0]
    stop = threading.Event()

    def counter() -> None:       # pure Python: competes for the GIL like any Python code in the app
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1
            count[0] = n

    def probe() -> None:
        now = clock.nsecsElapsed()
        lateness.append(max(0.0, (now - last[0]) / 1e6 - PROBE_MS))
        last[0] = now

    def preview() -> None:
        frame = recorder.latest_frame() if recorder is not None else None
        if frame is None:
            return
        image = frame.image
        h, w = image.shape[:2]
        qimage = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)
        qimage.scaled(640, 360, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
        previews[0] += 1

    t_probe, t_preview = QTimer(), QTimer()
    t_probe.setTimerType(Qt.TimerType.PreciseTimer)
    t_probe.timeout.connect(probe)
    t_preview.timeout.connect(preview)
    t_probe.start(PROBE_MS)
    t_preview.start(33)
    thread = threading.Thread(target=counter, daemon=True)
    if with_counter:
        thread.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    t_probe.stop()
    t_preview.stop()
    stop.set()
    if with_counter:
        thread.join()
    lateness = lateness[5:]
    ordered = sorted(lateness)
    return {"ui_max_stall_ms": round(ordered[-1], 2), "ui_p99_stall_ms": round(ordered[int(len(ordered) * 0.99)], 2),
            "ui_mean_stall_ms": round(statistics.fmean(lateness), 3),
            "ui_stalls_over_16ms": sum(1 for x in lateness if x > 16), "probes": len(lateness),
            "previews": previews[0], "python_iterations_per_s": round(count[0] / seconds)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--profile", default="webm-vp9-opus")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    app = QApplication([])
    sys.setswitchinterval(0.0005)       # what the writer sets when a take opens; the same for every phase
    gil_idle = phase(app, None, args.seconds / 2, with_counter=True)
    recorder = Recorder(DemoCamera(size, 30), DemoMicrophone(),
                        RecorderSettings(profile=args.profile, size=size, fps=30, min_free_mb=100))
    recorder.open()
    with tempfile.TemporaryDirectory(prefix="kiosk-ui-") as folder:
        previewing = phase(app, recorder, args.seconds, with_counter=False)
        recorder.start_take(Path(folder) / "ui.webm")
        recording = phase(app, recorder, args.seconds, with_counter=False)
        gil_recording = phase(app, recorder, args.seconds / 2, with_counter=True)
        result = recorder.stop_take().result()
        recorder.close()
    print(json.dumps({
        "size": args.size, "profile": args.profile, "seconds": args.seconds,
        "previewing": previewing, "recording": recording,
        "python_iterations_per_s_idle": gil_idle["python_iterations_per_s"],
        "python_iterations_per_s_recording": gil_recording["python_iterations_per_s"],
        "ui_max_stall_ms_recording_with_busy_python_thread": gil_recording["ui_max_stall_ms"],
        "gil_share_left_for_python": round(gil_recording["python_iterations_per_s"] /
                                           max(1, gil_idle["python_iterations_per_s"]), 3),
        "frames_dropped": result.metadata["frames_dropped"], "frames_written": result.metadata["frames_written"],
        "switch_interval_s": sys.getswitchinterval(),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
