"""The app's side of systemd supervision (protocol in kiosk.supervision): READY=1 once the window is on screen,
WATCHDOG=1 from a timer on the UI thread, STATUS= on every screen change, STOPPING=1 on the way out.

The pings come from the UI thread on purpose: a hung UI thread (a deadlock, an endless loop, SIGSTOP) stops them, and
systemd restarts the app after WatchdogSec; a busy engine thread alone does not.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QTimer

from kiosk import supervision

log = logging.getLogger("ui.supervision")

EXPOSE_POLL_MS = 50


class Supervision(QObject):
    """`window` has a state_shown(str) signal; `status` gives the STATUS= line for the state shown (default: the kiosk
    window's flow and the booth's device state, updated on every device change)."""

    def __init__(self, window, status: Callable[[str | None], str] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self._status_of = status or self._kiosk_status
        self.ready_sent = False
        self.status = ""
        self.interval_s = supervision.watchdog_interval_s()
        self.pinger = QTimer(self)
        self.pinger.timeout.connect(self._ping)
        self.exposed_poll = QTimer(self)
        self.exposed_poll.setInterval(EXPOSE_POLL_MS)
        self.exposed_poll.timeout.connect(self._send_ready_once_exposed)
        self.shown_state: str | None = None
        window.state_shown.connect(self._state_shown)
        if status is None:                    # the kiosk window: its device changes change the status line too
            window.bridge.event.connect(self._engine_event)

    def start(self) -> None:
        """Call after the window was shown: READY=1 follows as soon as the window system has it on screen."""
        if self.interval_s is not None:
            self.pinger.start(max(100, int(self.interval_s * 1000)))
        self.exposed_poll.start()

    def stopping(self) -> None:
        self.pinger.stop()
        self.exposed_poll.stop()
        supervision.notify("STOPPING=1", "STATUS=shutting down")

    def _send_ready_once_exposed(self) -> None:
        handle = self.window.windowHandle()
        if handle is None or not handle.isExposed():
            return
        self.exposed_poll.stop()
        self.ready_sent = True
        self.status = self._current_status()
        if supervision.notify("READY=1", f"STATUS={self.status}"):
            log.info("told the supervisor the kiosk is ready (watchdog ping every %s s)", self.interval_s)

    def _ping(self) -> None:
        supervision.notify("WATCHDOG=1")

    def _state_shown(self, state: str) -> None:
        self.shown_state = state
        self._update_status()

    def _engine_event(self, kind: str, data: dict) -> None:
        if kind == "booth.devices":           # a camera unplugged or plugged in: the welcome screen's answer changed
            self._update_status()

    def _update_status(self) -> None:
        status = self._current_status()
        if status != self.status:
            self.status = status
            if self.ready_sent:
                supervision.notify(f"STATUS={status}")

    def _current_status(self) -> str:
        return self._status_of(self.shown_state)

    def _kiosk_status(self, state: str | None) -> str:
        snapshot = self.window.flow.snapshot()
        devices = self.window.services.devices
        problems = devices.state().problems if devices is not None else ()
        return supervision.status_line(state or snapshot.state.value, snapshot.question_index,
                                       snapshot.practice, problems)
