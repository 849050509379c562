"""Boot to kiosk on Linux: a systemd user unit (restart on death, watchdog on hang) or an XDG autostart entry.

Both turn screen blanking off before the app starts (the app also does while it runs). Files are ours alone:
install refuses to replace a file it did not write, so an admin's own unit is never clobbered.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "kiosk-interview-recorder.service"
DESKTOP_NAME = "kiosk-interview-recorder.desktop"
MARKER = "X-Kiosk-Generated=true"
WATCHDOG_S = 60
BLANKING_OFF = "xset s off -dpms s noblank"


class AutostartError(RuntimeError):
    pass


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def unit_path() -> Path:
    return _config_home() / "systemd" / "user" / UNIT_NAME


def desktop_path() -> Path:
    return _config_home() / "autostart" / DESKTOP_NAME


def kiosk_command(data_dir: Path | None, config_file: Path | None) -> list[str]:
    """The command line that starts the app: the frozen bundle itself, else this interpreter's `-m launcher` (the
    `kiosk` entry point)."""
    command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "launcher"]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    if config_file is not None:
        command += ["--config", str(config_file)]
    return command


def render_unit(command: list[str]) -> str:
    xset = shutil.which("xset") or "/usr/bin/xset"
    return "\n".join([
        "# Written by `kiosk install-autostart`; removed by `kiosk uninstall-autostart`.",
        f"# {MARKER}",
        "[Unit]",
        "Description=Interview recording kiosk",
        "After=graphical-session.target",
        "PartOf=graphical-session.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStartPre=-{xset} {BLANKING_OFF.split(' ', 1)[1]}",
        "ExecStart=" + " ".join(shlex.quote(part) for part in command),
        "Restart=always",
        "RestartSec=2",
        f"WatchdogSec={WATCHDOG_S}",
        # A take in progress is finalized on SIGTERM; give the remux time to finish.
        "TimeoutStopSec=60",
        "KillSignal=SIGTERM",
        "",
        "[Install]",
        "WantedBy=graphical-session.target",
        "",
    ])


def render_desktop(command: list[str]) -> str:
    # No supervisor here: a shell loop restarts the app whenever it exits.
    loop = f"{BLANKING_OFF} 2>/dev/null; while :; do {' '.join(shlex.quote(p) for p in command)}; sleep 2; done"
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=Interview kiosk",
        "Comment=Starts the interview recording kiosk at login and restarts it if it exits",
        f"Exec=/bin/sh -c {shlex.quote(loop)}",
        "X-GNOME-Autostart-enabled=true",
        "NoDisplay=true",
        MARKER,
        "",
    ])


@dataclass
class InstallResult:
    path: Path
    method: str
    activated: bool
    message: str


def _write_ours(path: Path, text: str) -> None:
    if path.exists() and MARKER not in path.read_text(errors="replace"):
        raise AutostartError(f"{path} exists and was not written by kiosk. "
                             f"Fix: move it away (or remove it) and run install-autostart again.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _systemctl(*args: str) -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)
    return result.returncode == 0


def install(method: str, command: list[str]) -> InstallResult:
    if method == "auto":
        method = "systemd" if shutil.which("systemctl") else "xdg"
    if method == "systemd":
        path = unit_path()
        _write_ours(path, render_unit(command))
        activated = _systemctl("daemon-reload") and _systemctl("enable", UNIT_NAME)
        message = ("enabled; starts with the graphical session" if activated else
                   "written; no systemd user session here, so run `systemctl --user enable "
                   f"{UNIT_NAME}` in the kiosk user's session")
        return InstallResult(path, method, activated, message)
    if method == "xdg":
        path = desktop_path()
        _write_ours(path, render_desktop(command))
        return InstallResult(path, method, True, "starts at the next graphical login")
    raise AutostartError(f"unknown method {method!r}. Fix: use systemd, xdg or auto.")


def uninstall() -> list[Path]:
    removed = []
    for path in (unit_path(), desktop_path()):
        if path.exists() and MARKER in path.read_text(errors="replace"):
            if path == unit_path():
                _systemctl("disable", UNIT_NAME)
            path.unlink()
            removed.append(path)
    if removed:
        _systemctl("daemon-reload")
    return removed


def status() -> dict:
    return {"systemd_unit": str(unit_path()) if unit_path().exists() else None,
            "xdg_autostart": str(desktop_path()) if desktop_path().exists() else None}
