"""Fixtures for the camera: a real MJPEG network camera on 127.0.0.1 (a subprocess) and a short video file.

    def test_x(mjpeg_camera):        # 320x240 @ 30 by default
        camera = Camera(mjpeg_camera.url) ...
        mjpeg_camera.stall()         # connection stays open, no more frames
        mjpeg_camera.resume()
        mjpeg_camera.kill()          # kill -9: the camera vanishes
        mjpeg_camera.restart()       # back on the same port

Other sizes: ``MjpegCamera(size=(640, 360), fps=15).start()`` (call .stop() after).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from tests.harness.mjpeg_server import draw_stamp

ROOT = Path(__file__).resolve().parents[2]


class MjpegCamera:
    def __init__(self, size: tuple[int, int] = (320, 240), fps: float = 30.0) -> None:
        self.size, self.fps = size, fps
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 10.0) -> "MjpegCamera":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.mjpeg_server", "--port", str(self.port),
             "--size", f"{self.size[0]}x{self.size[1]}", "--fps", str(self.fps)],
            cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()      # "PORT n" once it listens
        if not line.startswith("PORT ") or time.monotonic() > deadline:
            self.proc.kill()
            raise RuntimeError(f"MJPEG server did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stall(self) -> None:
        self.proc.send_signal(signal.SIGUSR1)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGUSR2)

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def restart(self) -> "MjpegCamera":
        """Kill (if running) and start again on the same port."""
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def mjpeg_camera():
    camera = MjpegCamera().start()
    yield camera
    camera.stop()


def write_stamped_video(path: Path, frames: int = 30, fps: int = 15, size: tuple[int, int] = (320, 240)) -> Path:
    """A small video whose frame i carries the stamp (frame=i, t=i/fps); MPEG-4 Part 2 in Matroska: fast, everywhere."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.options = {"qscale": "3"}
        for i in range(frames):
            image = np.full((size[1], size[0], 3), 90, np.uint8)
            draw_stamp(image, i, i / fps)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture
def video_file(tmp_path) -> Path:
    """30 stamped frames at 15 fps (2 s), 320x240."""
    return write_stamped_video(tmp_path / "clip.mkv")
