"""The kiosk's settings are wrong: the error, full screen, for staff, instead of the kiosk.

Exiting would not help anyone: under a supervisor (systemd, cage at boot) the app would restart in a loop with nothing
on screen. So the window stays up with the message (file, line and fix, as `kiosk config check` prints it) until the
app is stopped or the file is corrected: it is checked every 2 s, and once it loads the kiosk starts in the same
process (re-executed with the same command line), so staff only have to save the fixed file.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui.theme import Metrics, stylesheet

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls

log = logging.getLogger("ui.config_error")

SWALLOWED_KEYS = ("Ctrl+Q", "Ctrl+W", "Alt+F4", "Esc")


class ConfigErrorScreen(QWidget):
    state_shown = Signal(str)          # the supervisor's view (ui.supervision): this screen is its only state

    def __init__(self, message: str, config_file: str, *, kiosk_mode: bool = True,
                 screen_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.setObjectName("ConfigErrorScreen")
        self.setProperty("screen", True)                 # the theme's screen background
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setWindowTitle(translate("ConfigError", "Interview kiosk: settings error"))
        self.kiosk_mode = kiosk_mode
        screen = QGuiApplication.primaryScreen()
        size = screen_size or (screen.geometry().width(), screen.geometry().height())
        metrics = Metrics.for_size(*size)
        self.setStyleSheet(stylesheet(metrics, False))
        self.title = self._label(translate("ConfigError", "This kiosk is not set up correctly."), "big",
                                 "config_error_title")
        self.candidate = self._label(translate("ConfigError", "Please ask a member of staff."), "title",
                                     "config_error_candidate")
        self.message = self._label(message, "error", "config_error_message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.howto = self._label(translate("ConfigError", "For staff: correct the file (check it with\n"
                                                          "kiosk config check {file}).\nThe kiosk starts by "
                                                          "itself once the file is valid.")
                                 .format(file=config_file), "hint", "config_error_howto")
        layout = QVBoxLayout(self)
        unit = metrics.unit
        layout.setContentsMargins(unit, unit, unit, unit)
        layout.setSpacing(max(4, unit // 2))
        layout.addStretch(1)
        for widget in (self.title, self.candidate, self.message, self.howto):
            layout.addWidget(widget)
        layout.addStretch(1)
        if kiosk_mode:
            self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
            for keys in SWALLOWED_KEYS:      # as in the kiosk window: a candidate cannot leave to the desktop
                QShortcut(QKeySequence(keys), self).setContext(Qt.ShortcutContext.ApplicationShortcut)
        self._allow_close = not kiosk_mode

    @staticmethod
    def _label(text: str, role: str, name: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setProperty("role", role)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label

    def show_full(self) -> None:
        if self.kiosk_mode:
            self.setGeometry(QGuiApplication.primaryScreen().geometry())
            self.showFullScreen()
        else:
            self.resize(1280, 800)
            self.show()

    def closeEvent(self, event) -> None:
        if not self._allow_close:
            event.ignore()
            return
        super().closeEvent(event)

    def quit(self) -> None:
        self._allow_close = True
        self.close()


RECHECK_MS = 2000


def _restart_when_fixed(config_file: str) -> None:
    """The file is good again: start the kiosk in this same process (same command line and environment, same PID
    for a supervisor), so staff only have to save the corrected file."""
    from kiosk import config as configmod
    try:
        configmod.load(Path(config_file))
    except configmod.ConfigError:
        return
    log.info("%s is valid now: starting the kiosk", config_file)
    os.execv(sys.executable, [sys.executable, *sys.argv])


def run(message: str, config_file: str, kiosk_mode: bool = True) -> int:
    """Show `message` full screen until the app is stopped (SIGTERM, Ctrl+C) or the file is corrected (then the
    kiosk starts in its place); returns the exit code, 0."""
    from ui.app import EXIT_USAGE, display_problem, qt_application, quit_on_signals
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    app = qt_application()
    window = ConfigErrorScreen(message, config_file, kiosk_mode=kiosk_mode)
    quit_on_signals(window)
    window.show_full()
    log.error("the kiosk shows a settings error instead of starting: %s", message)
    # Ready (and pinging the watchdog) as far as systemd is concerned: the screen is what staff need, and a unit
    # that never became ready would be killed and restarted at its start timeout, again and again.
    from ui.supervision import Supervision
    supervision = Supervision(window, status=lambda state=None: "settings error in kiosk.toml: see the screen")
    supervision.start()
    recheck = QTimer()
    recheck.timeout.connect(lambda: _restart_when_fixed(config_file))
    recheck.start(RECHECK_MS)
    app.setQuitOnLastWindowClosed(True)
    try:
        return app.exec()
    finally:
        supervision.stopping()
