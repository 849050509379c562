"""The app with a bad kiosk.toml on a real X display (`python -m launcher`, as the `kiosk` command and its systemd
unit start it): the settings error full screen for staff, the process stays up (a supervisor does not restart it in a
loop), SIGTERM ends it cleanly. The screenshot goes to docs/screenshots with KIOSK_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from kiosk import config as configmod
from tests.helpers.kiosk_process import DEMO_DEVICES, Driver
from ui.theme import BACKGROUND_RGB

ROOT = Path(__file__).resolve().parents[2]


def window_named(xvfb, title: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = xvfb.xdotool("search", "--name", title).split()
        except subprocess.CalledProcessError:      # xdotool exits 1 while nothing matches
            found = []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no window named {title!r} within {timeout} s")


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_bad_config_shows_the_error_full_screen_and_stays_up(tmp_path, xvfb):
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[camera]\nspec = "auto"\nfsp = 30\n')
    with pytest.raises(configmod.ConfigError) as caught:
        configmod.load(bad)
    # A supervisor's notify socket (the protocol systemd speaks), read here: the screen counts as ready and pings.
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "KIOSK_CONFIG")}
    env.update(xvfb.env, PYTHONPATH=str(ROOT), NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="1000000")
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "launcher", "--data-dir", str(data), "--config", str(bad)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        window = window_named(xvfb, "Interview kiosk: settings error")
        # (Other processes the app starts may speak the protocol too, e.g. a D-Bus daemon saying READY=1;
        # systemd's NotifyAccess=main keeps only the kiosk's own.)
        messages: list[str] = []
        while sum(m == "WATCHDOG=1" for m in messages) < 2:
            messages.append(notify.recv(4096).decode())
        ours = [m for m in messages if m.startswith("READY=1\nSTATUS=")]
        assert ours == ["READY=1\nSTATUS=settings error in kiosk.toml: see the screen"], messages
        assert messages.index(ours[0]) < messages.index("WATCHDOG=1")   # pings from the UI thread after READY
        time.sleep(3.0)                                   # well past where the old app had exited with code 2
        assert proc.poll() is None
        geometry = xvfb.xdotool("getwindowgeometry", window)
        assert "1920x1080" in geometry
        time.sleep(0.5)
        shot = xvfb.screenshot(tmp_path / "config_error.png")
        image = cv2.imread(str(shot))
        assert tuple(int(v) for v in image[5, 5][::-1]) == BACKGROUND_RGB        # the app's screen, edge to edge
        if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
            small = cv2.resize(image, (960, 540), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(ROOT / "docs" / "screenshots" / "config_error.png"), small)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    output = proc.stdout.read()
    assert code == 0, output
    rest = []
    notify.settimeout(0.5)
    try:
        while True:
            rest.append(notify.recv(4096).decode())
    except TimeoutError:
        pass
    notify.close()
    assert rest and rest[-1].startswith("STOPPING=1")
    assert f"kiosk: configuration error: {caught.value}" in output
    log = (data / "logs" / "kiosk.log").read_text()
    assert "the kiosk shows a settings error instead of starting" in log and "line 3" in log


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_saving_the_corrected_file_starts_the_kiosk_in_the_same_process(tmp_path, xvfb):
    config = tmp_path / "kiosk.toml"
    config.write_text("[camera\n")                                     # a syntax error
    map_path = tmp_path / "ui.json"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "KIOSK_CONFIG")}
    env.update(xvfb.env, PYTHONPATH=str(ROOT), KIOSK_UI_MAP=str(map_path))
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "launcher", "--data-dir", str(data), "--config", str(config)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        window_named(xvfb, "Interview kiosk: settings error")
        config.write_text(DEMO_DEVICES)                                 # staff fix it and save
        Driver(xvfb, map_path, proc).wait("attract", timeout=90, button="start")
        assert proc.poll() is None                                      # the same process (and PID): no restart
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    output = proc.stdout.read()
    assert code == 0, output
    log = (data / "logs" / "kiosk.log").read_text()
    assert f"{config} is valid now: starting the kiosk" in log
