"""systemd's notify protocol (sd_notify), so the boot-to-kiosk unit knows when the app is up and can restart a hung
app, not only a dead one.

The app sends READY=1 once its window is up, WATCHDOG=1 from a timer on its UI thread (if the UI thread stops
turning, the pings stop and systemd restarts the app; the take in progress is recovered at the next start),
STATUS=<what the booth is doing> on every screen change and STOPPING=1 when it leaves. Outside systemd (no
NOTIFY_SOCKET) every call is a no-op. Status lines name the screen only, never a candidate (`systemctl status` and
the journal are readable by the whole admin group).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

# Flow state (kiosk.flow.State values) -> what `systemctl status` shows. Questions are numbered from 1.
_STATUS = {
    "attract": "waiting for a candidate",
    "code": "candidate entering a code",
    "consent": "showing the consent text",
    "declined": "consent declined",
    "device_check": "device check",
    "saving": "saving the recording",
    "thanks": "interview finished",
    "failsafe": "failsafe screen: staff needed",
    "unavailable": "not ready to record: staff needed",
    "admin": "admin console open",
}


def notify(*states: str) -> bool:
    """Send e.g. notify("READY=1") or notify("WATCHDOG=1"); True if a supervisor received it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):            # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
        return True
    except OSError:
        return False


def watchdog_interval_s() -> float | None:
    """Half the supervisor's watchdog timeout (how often to ping), or None when there is no watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6
    except ValueError:
        return None


def extend_start(seconds: float, status: str) -> bool:
    """Before start-up work that can be slow (repairing a long take cut off by a crash): more time before the start
    timeout, so a booth is not killed in the middle of a repair only to start it again, forever."""
    return notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}", f"STATUS={status}")


def status_line(state: str, question_index: int | None = None, practice: bool = False,
                device_problems: Sequence[str] = ()) -> str:
    """The STATUS= text for a flow state: "recording Q2", "waiting for a candidate", "not ready: the camera is not
    connected" (the welcome screen while kiosk.capture.health finds a device missing); no personal data."""
    if state == "attract" and device_problems:
        return f"not ready: {' and '.join(device_problems)}"
    if state in ("think", "answer"):
        if practice or question_index is None:
            return "practice question" if state == "think" else "practice answer (not recorded)"
        number = question_index + 1
        return f"question Q{number}: thinking" if state == "think" else f"recording Q{number}"
    return _STATUS.get(state, state)
