"""Boot to kiosk with cage: `kiosk install-autostart --method cage` writes a system unit, and its ExecStart runs for
real (cage headless, the kiosk as its only client) under a real systemd user manager with the unit's own supervision
settings (Type=notify, NotifyAccess=all, its Environment=, Restart=always): the kiosk inside cage tells systemd it
is ready and keeps the watchdog fed (0 restarts past WatchdogSec), and grim's screenshot shows the welcome screen
filling the output.

Not run here: the keys that need a system manager, a tty and logind (User=, PAMName=, TTYPath=, Utmp*); the
[Unit] ordering against getty. With KIOSK_UPDATE_SCREENSHOTS=1 the shot replaces docs/screenshots/cage-welcome.png.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest

from tests.helpers.kiosk_process import (ROOT, app_env, edge_report, kiosk_command, log_lines, set_pin,
                                         wait_for)
from tests.harness import cage
from tests.harness.camera import MjpegCamera
from ui.theme import BACKGROUND_RGB

# What only a system manager with a tty and logind can do; the rest of [Service] is used as written.
SYSTEM_ONLY = {"User", "PAMName", "TTYPath", "TTYReset", "TTYVHangup", "TTYVTDisallocate", "StandardInput",
               "UtmpIdentifier", "UtmpMode"}
TEST_UNIT = "kiosk-cage-test.service"
WATCHDOG_S = 4


def service_lines(unit_text: str) -> list[tuple[str, str]]:
    """[Service] as (key, value) pairs, repeated keys (Environment=) kept."""
    lines, section = [], None
    for raw in unit_text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            lines.append((key, value))
    return lines


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_cage_unit_boots_the_kiosk_full_screen_and_supervised(user_manager, tmp_path, pulse):
    cage.check_tools()
    manager = user_manager
    # Real devices (the MJPEG network camera, the PulseAudio virtual microphone), as on a booth: no demo badge.
    camera = MjpegCamera(size=(640, 360), fps=15).start()
    data, config = tmp_path / "data", tmp_path / "kiosk.toml"
    config.write_text(f'[camera]\nspec = "{camera.url}"\nsize = "640x360"\nfps = 15\n[mic]\nspec = "default"\n')
    env = app_env(**manager.env)
    set_pin(data, env)
    result = subprocess.run(kiosk_command("--data-dir", str(data), "--config", str(config), "install-autostart",
                                          "--method", "cage", "--user", "kiosk", "--unit-dir", str(tmp_path / "units")),
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"cage: {tmp_path / 'units'}/kiosk-interview-recorder-cage.service: written")
    unit_text = (tmp_path / "units" / "kiosk-interview-recorder-cage.service").read_text()
    service = service_lines(unit_text)
    assert ("User", "kiosk") in service and ("PAMName", "login") in service and ("Type", "notify") in service
    exec_start = shlex.split(dict(service)["ExecStart"])
    assert exec_start[0] == shutil.which("cage") and "-s" not in exec_start[:exec_start.index("--")]
    assert exec_start[exec_start.index("--") + 1:] == kiosk_command("--data-dir", str(data), "--config", str(config))

    runtime = manager.base / "rt"            # the manager's XDG_RUNTIME_DIR: cage puts wayland-0 there
    kept = [(key, value) for key, value in service if key not in SYSTEM_ONLY and key != "ExecStart"]
    run = shlex.join(cage.in_user_namespace(cage.with_headless_workaround(exec_start)))
    (manager.unit_dir / TEST_UNIT).write_text("\n".join(
        ["[Service]", *(f"{k}={v}" for k, v in kept), f"ExecStart={run}",
         *(f"Environment={k}={v}" for k, v in cage.headless_env(runtime).items()),
         *(f"Environment={k}={v}" for k, v in pulse.env.items()),
         f"WatchdogSec={WATCHDOG_S}", "TimeoutStartSec=30", "TimeoutStopSec=20",
         ""]))
    manager.ctl("daemon-reload")
    started = time.monotonic()
    manager.ctl("start", "--no-block", TEST_UNIT)
    try:
        wait_for(lambda: manager.show(TEST_UNIT)["ActiveState"] == "active", 40,
                 "the kiosk inside cage tells systemd it is ready")
        ready_s = time.monotonic() - started
        wait_for(lambda: log_lines(data, r"kiosk window shown: 1280x720, kiosk mode True, real devices"), 20,
                 "the kiosk window fills cage's output")
        time.sleep(2 * WATCHDOG_S + 1)       # past the watchdog's limit: only the kiosk's pings keep it alive
        state = manager.show(TEST_UNIT)
        assert (state["ActiveState"], state["SubState"], state["NRestarts"]) == ("active", "running", "0"), (
            state, manager.journal(TEST_UNIT)[-3000:])
        shot = cage.screenshot(runtime, tmp_path / "cage-welcome.png")
    finally:
        manager.ctl("stop", TEST_UNIT)
        camera.stop()
    total, ours, size = edge_report(shot)
    assert size == cage.OUTPUT_SIZE and ours == total, f"{total - ours} of {total} edge pixels are not the app's"
    image = cv2.imread(str(shot))
    background = np.array(BACKGROUND_RGB[::-1], np.uint8)
    # The welcome screen's text and button are there, not an empty background or a black stale frame.
    middle = image[image.shape[0] // 4: 3 * image.shape[0] // 4]
    assert np.count_nonzero(np.any(middle != background, axis=2)) > 0.01 * middle.shape[0] * middle.shape[1]
    if os.environ.get("KIOSK_UPDATE_SCREENSHOTS") == "1":
        cv2.imwrite(str(ROOT / "docs" / "screenshots" / "cage-welcome.png"), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"cage: READY {ready_s:.1f} s after start")
