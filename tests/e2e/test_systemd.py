"""The kiosk under a real systemd user manager, with the unit `kiosk install-autostart --method systemd` writes:
it becomes active (READY=1), stays up with 0 restarts past its start timeout, reports what it is doing (STATUS=:
"not ready" while its network camera is off, "waiting for a candidate" once it is on, "recording Q1"), and when
its UI thread hangs (SIGSTOP) in the middle of an answer, the watchdog restarts it and the take that was recording
is recovered at the next start.

A drop-in shortens the timeouts (TimeoutStartSec 10 s, WatchdogSec 4 s) so the test takes about a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from kiosk.autostart import UNIT_NAME
from tests.harness.camera import MjpegCamera
from tests.helpers.kiosk_process import (ROOT, Driver, app_env, kiosk_command, set_pin,
                                         wait_for)

TEMPLATE = """
[template]
name = "supervised"
title = "Supervised interview"
consent_version = "s-1"
consent_text = "We record your answers. Press I agree to start."

[[questions]]
text = "Please introduce yourself."
think_s = 2
answer_s = 120
retakes = 0
"""
START_TIMEOUT_S = 10
WATCHDOG_S = 4


def _cli(env, data, config, *args: str) -> str:
    result = subprocess.run(kiosk_command("--data-dir", str(data), "--config", str(config), *args), env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_supervised_kiosk_is_ready_watched_and_recovers_a_hung_take(user_manager, xvfb, tmp_path, request):
    manager = user_manager
    manager.ctl("set-environment", f"DISPLAY={xvfb.display}")
    # The booth's network camera is off when the kiosk starts, and is switched on later.
    camera = MjpegCamera(size=(640, 360), fps=15).start()
    request.addfinalizer(camera.stop)
    camera.kill()
    data, config = tmp_path / "data", tmp_path / "kiosk.toml"
    config.write_text(f'[camera]\nspec = "{camera.url}"\nsize = "640x360"\nfps = 15\n[mic]\nspec = "demo"\n')
    (tmp_path / "supervised.toml").write_text(TEMPLATE)
    env = app_env(**manager.env)
    set_pin(data, env)
    _cli(env, data, config, "templates", "import", str(tmp_path / "supervised.toml"))
    _cli(env, data, config, "sessions", "schedule", "--template", "supervised", "--code", "7351")

    out = _cli(env, data, config, "install-autostart", "--method", "systemd")
    assert out.startswith("systemd: ") and "enabled" in out, out
    unit_text = (manager.unit_dir / UNIT_NAME).read_text()
    assert "Type=notify" in unit_text and "--demo" not in unit_text
    ui_map = tmp_path / "ui.json"
    manager.drop_in(UNIT_NAME, f"[Service]\nTimeoutStartSec={START_TIMEOUT_S}\nWatchdogSec={WATCHDOG_S}\n"
                               f"Environment=KIOSK_UI_MAP={ui_map}\n")
    manager.ctl("daemon-reload")
    started = time.monotonic()
    manager.ctl("start", "--no-block", UNIT_NAME)
    wait_for(lambda: manager.show(UNIT_NAME)["ActiveState"] == "active", 40, "the unit becomes active (READY=1)")
    ready_s = time.monotonic() - started
    # Past the start timeout: still the first process, no restart.
    time.sleep(max(0.0, START_TIMEOUT_S + 2 - ready_s))
    first = manager.show(UNIT_NAME)
    assert (first["ActiveState"], first["SubState"], first["NRestarts"]) == ("active", "running", "0"), first
    assert first["StatusText"] == "not ready: the camera is not connected", first
    camera.start()
    wait_for(lambda: manager.show(UNIT_NAME)["StatusText"] == "waiting for a candidate", 20,
             "STATUS follows the camera being plugged in")

    # A candidate starts answering question 1 (the app driven like a person would, on the display).
    drive = Driver(xvfb, ui_map, None)
    drive.wait("attract", timeout=30, button="start")
    drive.click("start")
    drive.wait("code", button="key_7")
    for key in "7351":
        drive.click(f"key_{key}")
    drive.click("key_ok")
    drive.wait("consent", button="accept")
    drive.click("accept")
    drive.wait("device_check", button="devices_ok")
    drive.click("devices_ok")
    drive.wait("answer", timeout=20)          # the think time runs out: recording
    wait_for(lambda: manager.show(UNIT_NAME)["StatusText"] == "recording Q1", 10, "STATUS says recording Q1")
    time.sleep(3)                              # a few seconds of answer in the file

    # The UI thread hangs: the pings stop, systemd's watchdog kills the app and starts it again.
    hung_pid = int(manager.show(UNIT_NAME)["MainPID"])
    os.kill(hung_pid, signal.SIGSTOP)
    hung_at = time.monotonic()
    wait_for(lambda: manager.show(UNIT_NAME)["NRestarts"] == "1", 60, "the watchdog restarts the hung app")
    wait_for(lambda: manager.show(UNIT_NAME)["ActiveState"] == "active", 40, "the restarted app is ready")
    back_s = time.monotonic() - hung_at
    again = manager.show(UNIT_NAME)
    assert int(again["MainPID"]) != hung_pid
    journal = manager.journal(UNIT_NAME)
    assert "Watchdog timeout" in journal, journal[-3000:]

    # The take cut off by the kill was repaired at the restart.
    listing = json.loads(_cli(env, data, config, "sessions", "list", "--json"))
    assert len(listing) == 1, listing
    interview = json.loads(_cli(env, data, config, "sessions", "show", listing[0]["uuid"], "--json"))
    assert interview["status"] == "recovered", interview
    [recording] = interview["recordings"]
    assert recording["state"] == "recovered" and recording["duration"] >= 2, recording
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json",
                            recording["path"]], capture_output=True, text=True, timeout=60)
    assert {s["codec_name"] for s in json.loads(probe.stdout)["streams"]} == {"vp9", "opus"}
    print(f"supervised kiosk: READY {ready_s:.1f} s after start; hung -> ready again in {back_s:.1f} s "
          f"(WatchdogSec={WATCHDOG_S})")
