"""Keep the screen on while the app runs (best effort): `xset s off -dpms` on X11, and a DBus screensaver inhibit."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Callable

log = logging.getLogger("ui.blanking")


def inhibit_blanking() -> Callable[[], None]:
    """Turn blanking off; returns a function that releases the DBus inhibit. Never raises, logs at INFO."""
    done: list[str] = []
    if os.environ.get("DISPLAY"):
        if shutil.which("xset"):
            try:
                subprocess.run(["xset", "s", "off", "-dpms"], timeout=5, capture_output=True, check=True)
                subprocess.run(["xset", "s", "noblank"], timeout=5, capture_output=True)
                done.append("xset")
            except (OSError, subprocess.SubprocessError) as exc:
                log.info("xset could not turn blanking off: %s", exc)
        else:
            log.info("xset not installed: X11 screen blanking left as is. Fix: apt-get install x11-xserver-utils")
    cookie = None
    interface = None
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            interface = QDBusInterface("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver",
                                       "org.freedesktop.ScreenSaver", bus)
            if interface.isValid():
                reply = interface.call("Inhibit", "kiosk-interview-recorder", "recording interviews")
                args = reply.arguments()
                if args:
                    cookie = args[0]
                    done.append("dbus")
        if cookie is None:
            log.info("no org.freedesktop.ScreenSaver on the session bus: nothing to inhibit there")
    except Exception as exc:
        log.info("DBus screensaver inhibit unavailable: %s", exc)
    log.info("screen blanking off via %s", ", ".join(done) or "nothing (none available)")

    def release() -> None:
        if cookie is not None and interface is not None:
            try:
                interface.call("UnInhibit", cookie)
            except Exception as exc:
                log.info("DBus UnInhibit failed: %s", exc)
    return release
