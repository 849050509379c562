"""Kiosk mode under an ordinary X11 window manager: the candidate cannot leave the kiosk with the WM's keys or mouse.

A window manager's shortcuts (Alt+Tab, show desktop, workspace switch, window menu, minimise) are passive key grabs,
and its mouse bindings (openbox: Alt+wheel switches the desktop) passive button grabs; X11 never activates a passive
grab while another client holds an active one. So the kiosk window holds an active keyboard and pointer grab
(through Qt's xcb platform) for as long as a candidate can stand at the screen, and re-takes them every second (a
popup, or a WM busy with a grab of its own, can take them away for a moment). It also stays on top,
takes the focus back when it loses it and undoes a minimise. The admin console releases all of it (its file dialogs
are windows of their own and need the keyboard); closing the console takes it back.

What no X client can hold (Ctrl+Alt+Fn VT switching, the X server's own Ctrl+Alt+Backspace) and Wayland desktops
other than cage are covered in docs/deployment.md.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication

log = logging.getLogger("ui.lockdown")

REASSERT_MS = 1000


class Lockdown(QObject):
    """Holds the kiosk window in place while `held`; a no-op outside kiosk mode and outside X11 (under cage the
    kiosk is the only window there is; other Wayland desktops let no client do any of this)."""

    def __init__(self, window, *, enabled: bool) -> None:
        super().__init__(window)
        self.window = window
        self.enabled = enabled and QGuiApplication.platformName() == "xcb"
        self.held = False
        self.grabbed = False
        self._grab_refused_logged = False
        self.reassert = QTimer(self)
        self.reassert.setInterval(REASSERT_MS)
        self.reassert.timeout.connect(self._reassert)
        if self.enabled:
            window.installEventFilter(self)

    def hold(self) -> None:
        """Take the keyboard and keep the window on top (after show, and when the admin console closes)."""
        if not self.enabled:
            return
        self.held = True
        self.reassert.start()
        QTimer.singleShot(0, self._reassert)

    def release(self) -> None:
        """Let go (the admin console is open, or the app is leaving)."""
        if not self.enabled:
            return
        self.held = False
        self.reassert.stop()
        handle = self.window.windowHandle()
        if self.grabbed and handle is not None:
            handle.setKeyboardGrabEnabled(False)
            handle.setMouseGrabEnabled(False)
            log.info("keyboard and pointer grab released")
        self.grabbed = False

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and self.held:
            kind = event.type()
            if kind == QEvent.Type.WindowStateChange and self.window.windowState() & Qt.WindowState.WindowMinimized:
                log.info("minimise refused")
                QTimer.singleShot(0, self._reassert)
            elif kind in (QEvent.Type.WindowDeactivate, QEvent.Type.Hide):
                QTimer.singleShot(0, self._reassert)
        return False

    def _reassert(self) -> None:
        if not self.held:
            return
        window = self.window
        if window.windowState() & Qt.WindowState.WindowMinimized or not window.isVisible():
            window.setWindowState(Qt.WindowState.WindowFullScreen)
            window.showFullScreen()
        if not window.isActiveWindow():
            window.raise_()
            window.activateWindow()
        self._grab()

    def _grab(self) -> None:
        handle = self.window.windowHandle()
        if handle is None or not handle.isExposed():
            return
        # X11 keeps an active grab until released; taking it again is harmless and catches one a popup dropped.
        # The pointer too: a WM's mouse bindings (openbox: Alt+wheel switches the desktop) are passive grabs as well.
        grabbed = handle.setKeyboardGrabEnabled(True) and handle.setMouseGrabEnabled(True)
        if grabbed and not self.grabbed:
            log.info("keyboard and pointer grab taken: window-manager shortcuts are held off")
            self._grab_refused_logged = False
        elif not grabbed and not self._grab_refused_logged:
            log.info("keyboard or pointer grab refused (another client holds one); retrying every %d ms", REASSERT_MS)
            self._grab_refused_logged = True
        self.grabbed = grabbed
