"""The real app as a process, for end-to-end tests: its environment, a data dir with an admin PIN, and a Driver that
reads the app's automation map (KIOSK_UI_MAP) and clicks its buttons with xdotool."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ui.theme import BACKGROUND_RGB

ROOT = Path(__file__).resolve().parents[2]
PIN = "582047"
DEMO_DEVICES = '[camera]\nspec = "demo"\nsize = "640x360"\nfps = 15\n[mic]\nspec = "demo"\n'


def kiosk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "launcher", *args]      # the `kiosk` entry point (app and commands)


def app_env(**extra: str) -> dict[str, str]:
    """This process's environment minus the widget tests' offscreen platform, plus the checkout on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "KIOSK_CONFIG")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def set_pin(data_root: Path, env: dict[str, str] | None = None) -> None:
    """Through the CLI, as the install steps say: else the app opens on the PIN pad."""
    result = subprocess.run(kiosk_command("--data-dir", str(data_root), "admin", "set-pin", "--stdin"),
                            input=PIN + "\n", env=env or app_env(), cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")


def log_lines(data_root: Path, pattern: str) -> list[str]:
    """Lines of the app's own log (D/logs/kiosk.log) that match."""
    path = data_root / "logs" / "kiosk.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line for line in text.splitlines() if re.search(pattern, line)]


class Driver:
    """Reads the app's automation map (KIOSK_UI_MAP) and clicks its buttons with xdotool."""

    def __init__(self, xvfb, map_path: Path, proc: subprocess.Popen | None, shots: Path | None = None) -> None:
        self.xvfb, self.map_path, self.proc, self.shots = xvfb, map_path, proc, shots
        self.taken: list[tuple[str, Path]] = []

    def ui(self) -> dict:
        try:
            return json.loads(self.map_path.read_text())
        except (OSError, ValueError):
            return {"state": None, "buttons": {}}

    def wait(self, state: str, timeout: float = 30.0, button: str | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is None or self.proc.poll() is None, f"the app exited with {self.proc.returncode}"
            ui = self.ui()
            if ui["state"] == state and (button is None or button in ui["buttons"]):
                return ui
            time.sleep(0.05)
        raise AssertionError(f"state {state!r} (button {button}) not reached in {timeout} s; on screen: {self.ui()}")

    def click(self, name: str, timeout: float = 10.0) -> None:
        ui = self.wait(self.ui()["state"], timeout, button=name)
        x, y, w, h = ui["buttons"][name]
        self.xvfb.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "1")

    def shot(self, name: str) -> Path:
        time.sleep(0.4)             # let the screen finish painting
        path = self.xvfb.screenshot(self.shots / f"{len(self.taken) + 1:02d}_{name}.png")
        self.taken.append((name, path))
        return path


def edge_report(path: Path) -> tuple[int, int, tuple[int, int]]:
    """(pixels on the four edges, how many are the app's background, image size)."""
    image = cv2.imread(str(path))
    rgb = np.array(BACKGROUND_RGB[::-1], np.uint8)      # OpenCV reads BGR
    edges = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return len(edges), int(np.all(edges == rgb, axis=1).sum()), (image.shape[1], image.shape[0])
