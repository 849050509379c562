"""SPEC parsing, device listing and `kiosk devices`, on this machine's real (absent) cameras and PulseAudio mic."""

from __future__ import annotations

import json
import logging

import cv2
import pytest

from kiosk import cli
from kiosk.capture.camera import Camera
from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.capture.microphone import Microphone
from kiosk.capture.frames import SourceHealth
from kiosk.capture.sources import AutoCamera, list_devices, open_camera, open_microphone


def _no_camera_devices() -> bool:
    """The truth of this machine, asked of OpenCV directly (CI has no /dev/video*)."""
    return not any(cv2.VideoCapture(i).isOpened() for i in range(10))


def test_camera_specs_demo_and_auto_without_devices(caplog):
    assert isinstance(open_camera("demo", (320, 240), 15), DemoCamera)
    assert _no_camera_devices()
    with caplog.at_level(logging.INFO, logger="kiosk.capture.sources"):
        camera = open_camera("auto", (320, 240), 15)
    # Never the demo camera unasked: no camera, said so, and it keeps looking.
    assert isinstance(camera, AutoCamera) and camera.camera is None and camera.health == SourceHealth.FAILED
    assert (camera.size, camera.fps, camera.name) == ((320, 240), 15, "camera (auto)")
    assert any("no camera opens at indices 0..9 yet" in r.getMessage() and r.levelno == logging.INFO
               for r in caplog.records)
    reports = []
    camera.start(lambda frame: None, lambda health, detail: reports.append((health, detail)))
    camera.stop()
    assert reports == [(SourceHealth.FAILED, "no camera is connected (camera.spec = 'auto'); looking for one")]


def test_camera_spec_url_and_file(mjpeg_camera, video_file):
    network = open_camera(mjpeg_camera.url, (320, 240), 30, open_timeout_s=2, read_timeout_s=1)
    assert isinstance(network, Camera) and not network.is_file and network.size == (320, 240)
    assert network.open_timeout_s == 2 and network.read_timeout_s == 1
    network.stop()
    clip = open_camera(str(video_file))
    assert isinstance(clip, Camera) and clip.is_file and clip.fps == pytest.approx(15)
    clip.stop()


def test_camera_spec_index_that_does_not_open_is_returned_to_report_failed():
    camera = open_camera(" 7 ")
    assert isinstance(camera, Camera) and camera.source == 7 and not camera.is_file


@pytest.mark.parametrize("spec,fragment", [
    ("foo", "camera 'foo': no such file or device; use an index like 0, a file path, a URL"),
    ("", "camera '': empty"),
    ("/tmp", "not a video file or device"),
])
def test_bad_camera_specs_say_how_to_fix_them(spec, fragment):
    with pytest.raises(ValueError) as error:
        open_camera(spec)
    assert fragment in str(error.value)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    with pytest.raises(ValueError, match="cannot be read as a video"):
        open_camera(str(text))


def test_microphone_specs(pulse):
    assert open_microphone("none") is None
    assert open_microphone(" None ") is None
    demo = open_microphone("demo", 48000, 2)
    assert isinstance(demo, DemoMicrophone) and demo.channels == 2
    default = open_microphone("default")
    assert isinstance(default, Microphone) and default.device is None
    by_name = open_microphone("pulse")
    assert isinstance(by_name, Microphone) and by_name.device == "pulse"
    index = next(m["index"] for m in list_devices(refresh=False)["microphones"])
    assert open_microphone(str(index)).device == index


@pytest.mark.parametrize("spec,fragment", [
    ("no-such-microphone", "no input device has that in its name; inputs are: 'pulse', 'default'"),
    ("99", "microphone 99: no input device with that index"),
    ("", "microphone '': empty"),
])
def test_bad_microphone_specs_say_how_to_fix_them(pulse, spec, fragment):
    with pytest.raises(ValueError) as error:
        open_microphone(spec)
    assert fragment in str(error.value)


def test_list_devices_shows_what_opens(pulse):
    devices = list_devices()
    assert devices["cameras"] == []            # no camera device exists on this machine (checked above)
    names = [m["name"] for m in devices["microphones"]]
    assert "pulse" in names and "default" in names
    assert sum(m["default"] for m in devices["microphones"]) == 1
    assert all(m["channels"] > 0 for m in devices["microphones"])


def test_kiosk_devices_command(pulse, data_dir, capsys):
    assert cli.main(["--data-dir", str(data_dir), "devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed["microphones"]] == [m["name"] for m in list_devices()["microphones"]]
    assert cli.main(["--data-dir", str(data_dir), "devices"]) == 0
    text = capsys.readouterr().out
    assert "Cameras (camera.spec):\n  none at indices 0..9" in text
    assert "* " in text and "default" in text
