"""Honest devices (issue 11, item 3): the booth's state from kiosk.capture.health, on this machine's real (absent)
cameras, the MJPEG camera server started late, the PulseAudio virtual mic, and `kiosk record` / `kiosk doctor`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from kiosk.capture import health
from kiosk.config import Config
from kiosk.events import EventBus
from tests.harness.camera import MjpegCamera

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def config(**values) -> Config:
    settings = Config()
    for name, value in values.items():
        settings.set(name.replace("__", "."), value)
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_camera_under_auto_makes_the_booth_not_ready():
    assert not any(os.path.exists(f"/dev/video{i}") for i in range(10))      # this machine has none
    state = health.booth_state(config(), live_mic="ok")
    assert state.camera.status == health.MISSING and not state.ready
    assert state.notice == ("This booth is not ready: the camera is not connected. Please ask a member of staff.")
    assert state.demo_badge == "" and "kiosk devices" in state.camera.detail


def test_demo_only_when_asked_and_its_badge_does_not_say_none_found():
    asked = health.booth_state(config(camera__spec="demo", mic__spec="demo"), live_mic="ok")
    assert asked.ready and asked.demo_badge == "DEMO camera and microphone"
    flag = health.booth_state(config(), live_mic="ok", demo=True)
    assert flag.ready and flag.demo_badge == "DEMO camera and microphone"
    camera_only = health.booth_state(config(camera__spec="demo"), live_mic="ok")
    assert camera_only.ready and camera_only.demo_badge == "DEMO camera"
    assert all("found" not in s.demo_badge for s in (asked, flag, camera_only))


def test_audio_only_profile_needs_no_camera():
    state = health.booth_state(config(recording__profile="audio-opus"), live_mic="ok")
    assert state.ready and state.camera.status == health.NOT_USED and state.notice == ""


def test_microphone_states_from_the_live_recorder_and_from_portaudio():
    assert health.microphone_state(config(), live="lost").status == health.MISSING
    both = health.booth_state(config(), live_mic="lost")
    assert both.notice == ("This booth is not ready: the camera is not connected and the microphone is not "
                           "connected. Please ask a member of staff.")
    assert health.microphone_state(config(), live=None).status == health.READY       # the PulseAudio virtual mic
    missing = health.microphone_state(config(mic__spec="no such microphone"), live=None)
    assert missing.status == health.MISSING and "mic.spec" in missing.detail
    assert health.microphone_state(config(mic__spec="none"), live=None).status == health.NOT_USED


def test_a_network_camera_started_later_is_seen_within_3_s():
    camera = MjpegCamera()
    camera.port = free_port()
    settings = config(camera__spec=camera.url)
    bus = EventBus()
    seen: list[dict] = []
    changed = threading.Event()
    bus.subscribe(lambda event: (seen.append(event.data), changed.set()), "booth.devices")
    watch = health.DeviceWatch(settings, None, bus)
    assert watch.state().camera.status == health.MISSING and not watch.state().ready
    watch.start()
    try:
        time.sleep(1.5)
        assert seen == []                                   # nothing changed: nothing published
        camera.start()
        started = time.monotonic()
        assert changed.wait(5.0)
        assert time.monotonic() - started < 3.0
        assert seen[-1]["ready"] is True and seen[-1]["camera"]["status"] == health.READY
        assert seen[-1]["camera"]["name"] == f"network camera {camera.url}"
        changed.clear()
        camera.stop()
        assert changed.wait(5.0) and seen[-1]["camera"]["status"] == health.MISSING
    finally:
        watch.stop()
        camera.stop()


def test_a_camera_in_use_keeps_its_last_answer():
    """While a candidate has the camera open, the watch does not look (the recorder reports its own losses)."""
    in_use = threading.Event()
    watch = health.DeviceWatch(config(camera__spec="demo"), None, EventBus(), camera_open=in_use.is_set)
    in_use.set()
    watch.config = config()                                # the camera would now be missing ...
    assert watch.check_now().camera.status == health.DEMO  # ... but it is in use: the answer stands
    in_use.clear()
    assert watch.check_now().camera.status == health.MISSING


def test_record_with_auto_and_no_camera_exits_naming_the_camera(data_dir):
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "record", "--duration", "1",
                           "--camera", "auto", "--mic", "demo"], env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no camera is connected (camera 'auto' looked at indices 0..9)" in proc.stdout
    assert "--camera demo" in proc.stdout and not list((data_dir / "media").rglob("*.webm"))


def test_doctor_says_the_same_as_the_welcome_screen(data_dir, tmp_path):
    settings = tmp_path / "kiosk.toml"
    settings.write_text('[mic]\nspec = "demo"\n')
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "--config", str(settings),
                           "doctor", "--json"], env=ENV, capture_output=True, text=True, timeout=120)
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    state = health.camera_state(config())
    assert proc.returncode == 1 and checks["camera"]["status"] == "fail" and checks["camera"]["blocks"]
    assert checks["camera"]["detail"] == f"{state.name}: {state.problem}" == "camera (auto): the camera is not connected"
    assert checks["camera"]["fix"] == state.detail
