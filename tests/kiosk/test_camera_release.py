"""A clean slate (issue 11, item 4), engine side: the recorder closes the camera device between candidates and opens
it again at consent. Proof on the real MJPEG network camera: its TCP connection is gone while released (`ss`)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from kiosk.capture import sources
from kiosk.events import EventBus
from kiosk.recorder import Recorder, RecorderError, RecorderSettings

SIZE = (320, 240)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def connections(port: int) -> int:
    """Established TCP connections to the camera server's port, as the kernel sees them."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"], capture_output=True,
                         text=True, check=True).stdout
    return len([line for line in out.splitlines() if line.strip()])


@pytest.fixture
def recorder(mjpeg_camera):
    video = sources.open_camera(mjpeg_camera.url, SIZE, 30, 3.0, 1.0)
    recorder = Recorder(video, None, RecorderSettings(size=SIZE, fps=30, min_free_mb=50), EventBus())
    recorder.open()
    yield recorder
    recorder.close()


def test_released_camera_is_closed_and_reopens_with_its_open_time(recorder, mjpeg_camera):
    events = []
    recorder.bus.subscribe(events.append, "camera.")
    assert wait_for(lambda: recorder.latest_frame() is not None, 10) and connections(mjpeg_camera.port) == 1

    recorder.release_camera().result(timeout=10)
    assert wait_for(lambda: connections(mjpeg_camera.port) == 0, 5)
    assert recorder.latest_frame() is None and recorder.status()["camera"] == "released"
    time.sleep(1.5)                                      # longer than the stall limit: still nothing "lost"
    assert recorder.status()["camera"] == "released" and events == []

    recorder.reopen_camera().result(timeout=10)
    assert wait_for(lambda: recorder.status()["camera"] == "ok", 10)
    assert recorder.latest_frame() is not None and connections(mjpeg_camera.port) == 1
    assert 0 < recorder.camera_open_s < 5 and events == []


def test_the_camera_is_not_released_during_a_take(recorder, tmp_path: Path):
    assert wait_for(lambda: recorder.latest_frame() is not None, 10)
    recorder.start_take(tmp_path / "take.webm")
    time.sleep(1.0)
    with pytest.raises(RecorderError, match="during a take"):
        recorder.release_camera()
    assert recorder.stop_take().result(timeout=60).ok


def test_opened_without_the_camera_it_stays_closed_until_reopened(mjpeg_camera):
    video = sources.open_camera(mjpeg_camera.url, SIZE, 30, 3.0, 1.0)
    recorder = Recorder(video, None, RecorderSettings(size=SIZE, fps=30, min_free_mb=50), EventBus())
    recorder.open(with_camera=False)
    try:
        time.sleep(1.5)
        assert connections(mjpeg_camera.port) == 0 and recorder.status()["camera"] == "released"
        recorder.reopen_camera()
        assert wait_for(lambda: recorder.status()["camera"] == "ok", 10) and connections(mjpeg_camera.port) == 1
    finally:
        recorder.close()
    assert wait_for(lambda: connections(mjpeg_camera.port) == 0, 5)
