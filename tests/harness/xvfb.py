"""A real X display for end-to-end tests: Xvfb on a free display number, private to the test.

    def test_x(xvfb):                  # 1920x1080x24
        subprocess.run([...], env={**os.environ, **xvfb.env})
        xvfb.screenshot(path)          # `import -window root`: exactly what a person would see
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SOCKET_DIR = Path("/tmp/.X11-unix")


def _free_display(start: int = 90) -> int:
    for number in range(start, start + 200):
        if not (SOCKET_DIR / f"X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :289. Fix: remove stale /tmp/.X*-lock files.")


class Xvfb:
    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24) -> None:
        self.size = (width, height)
        self.depth = depth
        self.number: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def display(self) -> str:
        return f":{self.number}"

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display}

    def start(self, timeout: float = 15.0) -> "Xvfb":
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed. Fix: run 'make test' (it installs xvfb).")
        for _attempt in range(5):      # another run may take the same number at the same moment: try the next
            self.number = _free_display()
            self.proc = subprocess.Popen(
                ["Xvfb", self.display, "-screen", "0", f"{self.size[0]}x{self.size[1]}x{self.depth}",
                 "-nolisten", "tcp"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if (SOCKET_DIR / f"X{self.number}").exists():
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("Xvfb did not start (its socket never appeared)")

    def screenshot(self, path: Path) -> Path:
        subprocess.run(["import", "-window", "root", str(path)], env={**os.environ, **self.env}, check=True,
                       capture_output=True, timeout=30)
        return path

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(["xdotool", *args], env={**os.environ, **self.env}, check=True,
                                capture_output=True, text=True, timeout=30)
        return result.stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def xvfb():
    display = Xvfb().start()
    yield display
    display.stop()
