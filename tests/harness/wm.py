"""A real X11 desktop for lockdown tests: Xvfb, a real window manager (openbox or xfwm4 with their stock key
bindings) and a magenta xterm behind the kiosk, so an escape shows (focus, map state, desktop, magenta pixels, keys
typed into the xterm).

    desktop = WindowManagerDesktop("openbox").start()   # or the `desktop` fixture, parametrised over both WMs
    desktop.kiosk_state(kiosk_window_id) -> DesktopState(...)
    desktop.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.harness.xvfb import Xvfb

WINDOW_MANAGERS = ("openbox", "xfwm4")
OTHER_TITLE = "OTHER"


@dataclass(frozen=True)
class DesktopState:
    active_name: str          # the window with the focus
    kiosk_mapped: bool        # xwininfo "Map State: IsViewable"
    kiosk_geometry: tuple[int, int, int, int]   # x, y, width, height on the screen
    desktop: int              # _NET_CURRENT_DESKTOP
    magenta_share: float      # share of the screen showing the xterm behind the kiosk


class DisplayLost(Exception):
    """Our Xvfb is gone (or was never the one answering on that display number)."""


class WindowManagerDesktop:
    def __init__(self, wm: str, size: tuple[int, int] = (1280, 800)) -> None:
        if wm not in WINDOW_MANAGERS:
            raise ValueError(f"unknown window manager {wm!r}")
        for tool in (wm, "xterm", "xdotool", "wmctrl", "xprop", "xwininfo", "import", "dbus-daemon"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed. Fix: run 'make test' (TEST_DEBS installs it).")
        self.wm = wm
        self.xvfb = Xvfb(*size)
        self.home = Path(tempfile.mkdtemp(prefix="kiosk-wm-"))
        self.procs: list[subprocess.Popen] = []
        self.dbus_pid: int | None = None
        self.env: dict[str, str] = {}

    def start(self, attempts: int = 3) -> "WindowManagerDesktop":
        lost = None
        for _attempt in range(attempts):
            try:
                return self._start_once()
            except DisplayLost as exc:
                lost = exc
                # Another test run started an Xvfb on the same display number at the same moment, and ours lost
                # (tests/harness/xvfb.py picks a free number by looking at /tmp): start again on a new one.
                self.stop(keep_home=True)
                self.xvfb = Xvfb(*self.xvfb.size)
                self.procs, self.dbus_pid = [], None
            except BaseException:
                self.stop()
                raise
        self.stop()
        raise RuntimeError(f"{self.wm} could not start on a display of its own in {attempts} attempts: {lost}")

    def _start_once(self) -> "WindowManagerDesktop":
        self.xvfb.start()
        # The WM reads no settings of the developer's: a private HOME and XDG dirs with the stock defaults.
        self.env = {"PATH": os.environ["PATH"], "HOME": str(self.home), "LANG": "C.UTF-8", "NO_AT_BRIDGE": "1",
                    "XDG_CONFIG_HOME": str(self.home / "cfg"), "XDG_CACHE_HOME": str(self.home / "cache"),
                    "XDG_DATA_HOME": str(self.home / "data"), **self.xvfb.env}
        if self.wm == "xfwm4":
            # xfwm4 reads its key bindings from xfconfd over D-Bus: a session bus of our own, killed last.
            out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                                 env=self.env, capture_output=True, text=True, timeout=30, check=True).stdout.split()
            self.env["DBUS_SESSION_BUS_ADDRESS"], self.dbus_pid = out[0], int(out[1])
            command = ["xfwm4", "--compositor=off"]
        else:
            command = ["openbox", "--sm-disable"]
        wm_log_path = self.home / "wm.log"
        with open(wm_log_path, "w") as wm_log:
            wm = self._spawn(command, stdout=wm_log, stderr=wm_log)

        def wm_running() -> bool:
            if self.xvfb.proc.poll() is not None:
                raise DisplayLost(f"Xvfb {self.xvfb.display} exited")
            if wm.poll() is not None:        # with stock settings, only the display can make it fail
                raise DisplayLost(f"{self.wm} exited ({wm.returncode}): "
                                  f"{wm_log_path.read_text(errors='replace')[-2000:]}")
            return self._root_property("_NET_SUPPORTING_WM_CHECK") is not None
        self.wait_for(wm_running, 30, f"{self.wm} did not take the screen")
        self._spawn(["xterm", "-T", OTHER_TITLE, "-bg", "magenta", "-geometry", "80x24+40+40"], cwd=self.home)
        self.wait_for(lambda: self.magenta_share() > 0.05, 30, "the xterm did not appear")
        return self

    def _spawn(self, command: list[str], **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    @staticmethod
    def wait_for(predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} within {timeout} s")

    def run(self, *command: str, check: bool = True) -> str:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def _root_property(self, name: str) -> str | None:
        # "NAME(CARDINAL) = 0", "NAME(WINDOW): window id # 0x400001", or "NAME:  not found."
        out = self.run("xprop", "-root", name, check=False).strip()
        for separator in (" = ", " # "):
            if separator in out:
                return out.split(separator, 1)[1].strip()
        return None

    def window_by_name(self, name: str) -> int | None:
        out = self.run("xdotool", "search", "--onlyvisible", "--name", f"^{name}$", check=False).split()
        return int(out[0]) if out else None

    def active_name(self) -> str:
        return self.run("xdotool", "getactivewindow", "getwindowname", check=False).strip()

    def mapped(self, window: int) -> bool:
        return "IsViewable" in self.run("xwininfo", "-id", str(window), check=False)

    def geometry(self, window: int) -> tuple[int, int, int, int]:
        info = dict(line.strip().split(":", 1) for line in self.run("xwininfo", "-id", str(window)).splitlines()
                    if ":" in line and not line.startswith("xwininfo"))
        return tuple(int(info[key]) for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"))

    def current_desktop(self) -> int:
        value = self._root_property("_NET_CURRENT_DESKTOP")
        return int(value) if value is not None else 0

    def magenta_share(self) -> float:
        png = self.home / "screen.png"
        self.run("import", "-window", "root", str(png))
        import cv2
        image = cv2.imread(str(png))                           # BGR
        magenta = (image[:, :, 0] > 200) & (image[:, :, 1] < 60) & (image[:, :, 2] > 200)
        return float(np.count_nonzero(magenta)) / magenta.size

    def key(self, keys: str) -> None:
        self.run("xdotool", "key", "--clearmodifiers", keys)

    def type_into_focus(self, text: str) -> None:
        """Types like a person (XTEST): the keys go wherever the X server sends them (the focus, or a grab)."""
        self.run("xdotool", "type", "--delay", "20", text)
        self.run("xdotool", "key", "Return")

    def restore(self, window: int) -> None:
        """Close a menu, back to desktop 0, leave show-desktop, focus `window` (each key is tried from here)."""
        self.key("Escape")
        self.run("wmctrl", "-s", "0", check=False)
        self.run("wmctrl", "-k", "off", check=False)
        self.run("xdotool", "windowactivate", str(window), check=False)
        time.sleep(0.3)

    def state(self, kiosk_window: int) -> DesktopState:
        return DesktopState(self.active_name(), self.mapped(kiosk_window), self.geometry(kiosk_window),
                            self.current_desktop(), self.magenta_share())

    def stop(self, keep_home: bool = False) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.xvfb.stop()
        if self.dbus_pid is not None:            # xfconfd exits with its bus
            try:
                os.kill(self.dbus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(params=WINDOW_MANAGERS)
def desktop(request):
    desktop = WindowManagerDesktop(request.param).start()
    yield desktop
    desktop.stop()
