"""systemd's notify protocol (sd_notify), so the boot-to-kiosk unit can restart a hung app, not only a dead one.

The app sends READY=1 once its window is up and WATCHDOG=1 from its UI thread's timer: if the UI thread stops
turning, the pings stop and systemd restarts the app (the take in progress is recovered at the next start).
Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket


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
