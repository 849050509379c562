"""Boot to kiosk on Linux: the cage kiosk compositor on tty1 (a system unit; the recommended set-up), a systemd
user unit in an existing desktop session, or an XDG autostart entry. systemd restarts the app on death and, through
its watchdog, on a hang (the app pings from its UI thread: kiosk.supervision).

The desktop methods turn screen blanking off before the app starts (the app also does while it runs). Files are ours
alone: install refuses to replace a file it did not write, so an admin's own unit is never clobbered.
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
CAGE_UNIT_NAME = "kiosk-interview-recorder-cage.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
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


def cage_unit_path(unit_dir: Path = SYSTEM_UNIT_DIR) -> Path:
    return unit_dir / CAGE_UNIT_NAME


def kiosk_command(data_dir: Path | None, config_file: Path | None) -> list[str]:
    """The command line that starts the app: the frozen bundle itself, else this interpreter's `-m launcher` (the
    `kiosk` entry point)."""
    command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "launcher"]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    if config_file is not None:
        command += ["--config", str(config_file)]
    return command


def _supervised_service(wanted_by: str) -> list[str]:
    """The end of every unit the kiosk writes: restarted when it dies or its watchdog stops, stopped gently."""
    return [
        "Restart=always",
        "RestartSec=2",
        f"WatchdogSec={WATCHDOG_S}",
        # A take in progress is finalized on SIGTERM; give it time to finish.
        "TimeoutStopSec=60",
        "KillSignal=SIGTERM",
        # A core dump of the kiosk would hold a candidate's frames and voice: never write one.
        "LimitCORE=0",
        "",
        "[Install]",
        f"WantedBy={wanted_by}",
        "",
    ]


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
        *_supervised_service("graphical-session.target"),
    ])


def render_cage_unit(command: list[str], user: str, tty: int, cage: str) -> str:
    """A system unit that opens a login session for `user` on tty`tty` (PAM, logind: this is the autologin) and
    runs the kiosk as the only client of cage, which gives it the whole screen and has no desktop to escape to."""
    return "\n".join([
        "# Written by `kiosk install-autostart --method cage`; removed by `kiosk uninstall-autostart`.",
        f"# {MARKER}",
        "[Unit]",
        "Description=Interview recording kiosk (cage kiosk compositor)",
        "After=systemd-user-sessions.service plymouth-quit-wait.service dbus.socket systemd-logind.service",
        f"After=getty@tty{tty}.service",
        f"Conflicts=getty@tty{tty}.service",
        "Wants=dbus.socket systemd-logind.service",
        f"ConditionPathExists=/dev/tty{tty}",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=notify",
        # The kiosk is cage's child, not the main process: let it send READY/WATCHDOG, and tell it the watchdog is
        # its own to ping (an empty WATCHDOG_PID overrides systemd's, which names cage).
        "NotifyAccess=all",
        "Environment=WATCHDOG_PID=",
        f"User={user}",
        "PAMName=login",
        f"TTYPath=/dev/tty{tty}",
        "TTYReset=yes",
        "TTYVHangup=yes",
        "TTYVTDisallocate=yes",
        "StandardInput=tty-fail",
        "StandardOutput=journal",
        "StandardError=journal",
        f"UtmpIdentifier=tty{tty}",
        "UtmpMode=user",
        "Environment=XDG_SESSION_TYPE=wayland",
        "Environment=QT_QPA_PLATFORM=wayland",
        # cage without -s: no VT switching (Ctrl+Alt+Fn) from the kiosk's keyboard.
        "ExecStart=" + " ".join(shlex.quote(part) for part in [cage, "-d", "--", *command]),
        *_supervised_service("graphical.target"),
    ])


def unreachable_for_others(command: list[str]) -> Path | None:
    """The first folder on the way to the command that other users cannot enter (e.g. /root), or None."""
    target = Path(command[0]).resolve()
    for folder in reversed(target.parents):
        if not folder.stat().st_mode & 0o001:
            return folder
    return None


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


def install_cage(command: list[str], user: str, tty: int = 1, unit_dir: Path = SYSTEM_UNIT_DIR) -> InstallResult:
    cage = shutil.which("cage")
    if cage is None:
        raise AutostartError("cage is not installed. Fix: apt-get install cage (and run install-autostart again).")
    if not user or user == "root":
        raise AutostartError("the kiosk must not run as root. Fix: create a user for it (adduser --disabled-password "
                             "kiosk) and pass --user kiosk.")
    path = cage_unit_path(unit_dir)
    if unit_dir == SYSTEM_UNIT_DIR and os.geteuid() != 0:
        raise AutostartError(f"writing {path} needs root. Fix: sudo kiosk install-autostart --method cage "
                             f"--user {user} (with the same --data-dir and --config).")
    try:
        _write_ours(path, render_cage_unit(command, user, tty, cage))
    except PermissionError as exc:
        raise AutostartError(f"cannot write {path}: {exc.strerror}. Fix: run it as root, or pass --unit-dir "
                             f"a folder you may write.") from None
    activated = unit_dir == SYSTEM_UNIT_DIR and _systemctl_system("daemon-reload") and _systemctl_system(
        "enable", CAGE_UNIT_NAME)
    message = (f"enabled; the kiosk starts on tty{tty} as {user} at the next boot" if activated else
               f"written; enable it with `systemctl enable {CAGE_UNIT_NAME}` on the kiosk machine")
    blocked = unreachable_for_others(command)
    if blocked is not None:
        message += (f". Warning: {user} cannot enter {blocked}, so the kiosk will not start; install it where every "
                    f"user can read it (e.g. a venv or the bundle in /opt/kiosk) and run install-autostart from there")
    return InstallResult(path, "cage", activated, message)


def _systemctl_system(*args: str) -> bool:
    if shutil.which("systemctl") is None or not Path("/run/systemd/system").exists():
        return False
    result = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=30)
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
    raise AutostartError(f"unknown method {method!r}. Fix: use cage, systemd, xdg or auto.")


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
    cage_unit = cage_unit_path()
    if cage_unit.exists() and MARKER in cage_unit.read_text(errors="replace"):
        if os.geteuid() != 0:
            raise AutostartError(f"removing {cage_unit} needs root. Fix: sudo kiosk uninstall-autostart.")
        _systemctl_system("disable", CAGE_UNIT_NAME)
        cage_unit.unlink()
        _systemctl_system("daemon-reload")
        removed.append(cage_unit)
    return removed


def status() -> dict:
    return {"systemd_unit": str(unit_path()) if unit_path().exists() else None,
            "xdg_autostart": str(desktop_path()) if desktop_path().exists() else None,
            "cage_unit": str(cage_unit_path()) if cage_unit_path().exists() else None}
