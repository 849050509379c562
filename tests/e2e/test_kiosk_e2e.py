"""End to end on a real X display: `python -m launcher` (the `kiosk` app) on Xvfb with the PulseAudio virtual microphone and the MJPEG
network camera; xdotool walks one full interview of two questions like a candidate would; a root-window screenshot
at each screen must show the app's own pixels out to all four edges; the session row and the file are checked.

Screenshots go to the test's tmp dir; with KIOSK_UPDATE_SCREENSHOTS=1 small copies replace docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.helpers.kiosk_process import ROOT, Driver, edge_report
from tests.harness.camera import MjpegCamera
from tests.harness.mjpeg_server import decode_stamp
from tests.harness.pulse import speech_wav

DOCS_SHOTS = ROOT / "docs" / "screenshots"

TEMPLATE = """
[template]
name = "e2e"
title = "End-to-end interview"
consent_version = "e2e-1"
consent_text = "We record your answers on video and sound. Press I agree to start."

[practice]
text = "Practice: say your first name."
think_s = 5
answer_s = 5

[[questions]]
text = "Please introduce yourself: who are you and where are you from?"
think_s = 2
answer_s = 8
retakes = 1

[[questions]]
text = "Tell us about a moment that changed how you see your town."
think_s = 2
answer_s = 6
retakes = 0
"""

CONFIG = """
[camera]
spec = "{url}"
size = "640x360"
fps = 15
[mic]
spec = "default"
[recording]
profile = "webm-vp9-opus"
video_bitrate_kbps = 800
[storage]
min_free_mb = 50
[ui]
idle_timeout_s = 120
"""


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_one_full_interview_on_a_real_display(tmp_path, xvfb, pulse):
    from kiosk.paths import DataDir
    from kiosk.sessions import SessionStore, queries
    camera = MjpegCamera(size=(640, 360), fps=15).start()
    data = DataDir(tmp_path / "data").ensure()
    (tmp_path / "e2e.toml").write_text(TEMPLATE)
    store = SessionStore.open(data)
    store.import_template(tmp_path / "e2e.toml")
    store.schedule("e2e", code="2468", candidate_name="E2E")
    from kiosk.admin_auth import for_database
    for_database().set_pin("582047")     # else the kiosk opens on the PIN pad (first start: a PIN must be chosen)
    from kiosk.db import close_database
    close_database()
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(url=camera.url))
    shots = tmp_path / "shots"
    shots.mkdir()
    speech = speech_wav("My name is Ada. I come from a small town by the sea, and I love it there.",
                        tmp_path / "speech.wav")
    # Before the app: the bare root window, to prove the edge check can tell it from the app.
    root_edges = edge_report(xvfb.screenshot(tmp_path / "root.png"))
    assert root_edges[1] < root_edges[0] // 2
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "KIOSK_CONFIG")}
    map_path = tmp_path / "ui.json"
    env.update(xvfb.env, KIOSK_UI_MAP=str(map_path), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "app.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "launcher", "--data-dir", str(data.root), "--config", str(config)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    drive = Driver(xvfb, map_path, proc, shots)
    try:
        drive.wait("attract", timeout=60, button="start")
        drive.shot("attract")
        drive.click("start")
        drive.wait("code", button="key_2")
        for key in "2468":
            drive.click(f"key_{key}")
        drive.shot("code")
        drive.click("key_ok")
        drive.wait("consent", button="accept")
        drive.shot("consent")
        drive.click("accept")
        drive.wait("device_check", button="devices_ok")
        time.sleep(1.5)              # the live preview and the level meter are running
        drive.shot("device_check")
        drive.click("devices_ok")
        drive.wait("think", button="skip_practice")
        drive.shot("practice")
        drive.click("skip_practice")
        drive.wait("think", button="start_now")
        drive.shot("question_think")
        # think time (2 s) runs out: the recording starts by itself
        drive.wait("answer", timeout=10, button="done")
        pulse.play(speech, wait=False)
        time.sleep(3.5)
        drive.shot("question_recording")
        drive.click("done")
        drive.wait("think", button="start_now")
        drive.click("start_now")
        drive.wait("answer", button="done")
        time.sleep(2.0)
        drive.shot("question2_recording")
        # the answer time (6 s) runs out by itself -> saving -> thank you
        drive.wait("thanks", timeout=60, button="thanks_home")
        drive.shot("thanks")
        drive.click("thanks_home")
        drive.wait("attract", button="start")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        log.close()
        camera.stop()
    output = (tmp_path / "app.out").read_text()
    assert code == 0, output[-3000:]

    # Every screen: the app's pixels out to all four edges, the full 1920x1080 root window.
    for name, path in drive.taken:
        total, ours, size = edge_report(path)
        assert size == (1920, 1080)
        assert ours == total, f"{name}: {total - ours} of {total} edge pixels are not the app's"

    # The session row and its one file.
    store = SessionStore.open(data)
    interview = queries.list_interviews()[0]
    assert interview.code == "2468" and interview.status == "completed" and interview.consent_at is not None
    recording = interview.recordings.get()
    assert recording.state == "finalized" and Path(recording.path).exists()
    metadata = interview.recording_data
    assert [c["label"] for c in metadata["chapters"]][:2] == ["Q1", "Q2"]
    assert 8 < recording.duration < 20           # two answers, no think time, no practice
    with av.open(recording.path) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) > 15 * 8 * 0.6
    stamps = [decode_stamp(f) for f in frames[::10]]
    assert sum(s is not None for s in stamps) >= len(stamps) // 2      # the network camera's own frames
    with av.open(recording.path) as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2)) + 1e-12)
    assert rms_db > -45, f"the speech played into the microphone is not in the file (rms {rms_db:.1f} dBFS)"
    events = {e.kind for e in interview.events}
    assert {"consent.given", "answer.started"} <= events
    store_close()

    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in drive.taken:
            small = cv2.resize(cv2.imread(str(path)), (960, 540), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(DOCS_SHOTS / path.name), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def store_close():
    from kiosk.db import close_database
    close_database()
