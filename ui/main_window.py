"""The full-screen kiosk window: one page per flow state, a status strip, kiosk-mode key handling, admin entry."""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from kiosk.flow import (ClearCandidate, Effect, Event, Flow, FlowRunner, RecordTestClip, Snapshot, Speak, State,
                        StopSpeaking, Timing)
from ui.bridge import EventBridge
from ui.lockdown import Lockdown
from ui.screens.base import Screen, guarded
from ui.screens.code import CodeScreen
from ui.screens.device_check import DeviceCheckClip, DeviceCheckScreen
from ui.screens.media import MediaScreen, QuestionScreen
from ui.screens.simple import (AttractScreen, ConsentScreen, DeclinedScreen, FailsafeScreen, SavingScreen,
                               ThanksScreen, UnavailableScreen)
from ui.theme import Metrics, stylesheet

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls

log = logging.getLogger("ui.main_window")

# The words kiosk.capture.health can give for the welcome screen and the badge, here so that lupdate finds them.
BOOTH_TEXTS = (
    QT_TRANSLATE_NOOP("KioskWindow", "This booth is not ready: the camera is not connected. Please ask a member of "
                                     "staff."),
    QT_TRANSLATE_NOOP("KioskWindow", "This booth is not ready: the microphone is not connected. Please ask a member "
                                     "of staff."),
    QT_TRANSLATE_NOOP("KioskWindow", "This booth is not ready: the camera is not connected and the microphone is not "
                                     "connected. Please ask a member of staff."),
    QT_TRANSLATE_NOOP("KioskApp", "DEMO camera"),
    QT_TRANSLATE_NOOP("KioskApp", "DEMO microphone"),
    QT_TRANSLATE_NOOP("KioskApp", "DEMO camera and microphone"),
)

EXIT_KEYS = (QKeySequence("Ctrl+Q"), QKeySequence("Ctrl+W"), QKeySequence("Alt+F4"), QKeySequence("Esc"))
CORNER_HOLD_MS = 3000


class _InputWatcher(QObject):
    """App-wide: every touch, click or key counts as activity; a long press in the top-left corner opens admin."""

    def __init__(self, window: "KioskWindow") -> None:
        super().__init__(window)
        self.window = window
        self.hold = QTimer(self)
        self.hold.setSingleShot(True)
        self.hold.setInterval(CORNER_HOLD_MS)
        self.hold.timeout.connect(guarded(window.open_admin))

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress):
            self.window.activity()
            if kind == QEvent.Type.MouseButtonPress and self.window.corner_entry:
                pos = event.globalPosition().toPoint() - self.window.mapToGlobal(QPoint(0, 0))
                zone = self.window.metrics.touch * 2
                if 0 <= pos.x() < zone and 0 <= pos.y() < zone:
                    self.hold.start()
        elif kind in (QEvent.Type.MouseButtonRelease, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
            self.hold.stop()
        return False


class KioskWindow(QWidget):
    state_shown = Signal(str)          # the flow state now on screen (tests and e2e wait for it)

    def __init__(self, services, *, kiosk_mode: bool = True, demo_badge: str = "",
                 screen_size: tuple[int, int] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.setObjectName("KioskWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setWindowTitle(translate("KioskWindow", "Interview kiosk"))
        self.services = services
        config = services.ctx.config
        self.kiosk_mode = kiosk_mode
        self.recorder = services.recorder
        screen = QGuiApplication.primaryScreen()
        size = screen_size or (screen.geometry().width(), screen.geometry().height())
        self.metrics = Metrics.for_size(*size)
        self.high_contrast = bool(config["ui.high_contrast"])
        self.setStyleSheet(stylesheet(self.metrics, self.high_contrast))
        entry = config["admin.entry"]
        self.corner_entry = entry in ("corner-long-press", "both")

        self.flow = Flow(Timing.from_config(config))
        services.flow = self.flow            # the background transcripts pause while a candidate is here
        self.runner = FlowRunner(self.flow, self.recorder, services.sessions, clock,
                                 ui_effect=self._ui_effect, on_change=self._show,
                                 booth_ready=lambda: services.devices.state().ready)
        self.clock = clock
        self.speaker = None
        if config["ui.read_questions_aloud"]:
            from ui.speech import Speaker
            self.speaker = Speaker(config["ui.language"], self)

        # status strip: device notices and the demo badge
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setProperty("role", "notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.badge = QLabel(demo_badge)
        self.badge.setObjectName("demo_badge")
        self.badge.setProperty("role", "badge")
        self.badge.setVisible(bool(demo_badge))
        strip = QHBoxLayout()
        strip.setContentsMargins(0, 0, 0, 0)
        strip.addWidget(self.notice, 1)
        strip.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignRight)

        unit = self.metrics.unit
        self.stack = QStackedWidget()
        self.screens: dict[State, Screen] = {}
        question = QuestionScreen(unit, self.recorder)
        code = CodeScreen(unit)
        code.enter_code = self._enter_code
        device_check = DeviceCheckScreen(unit, self.recorder)
        for state, screen in ((State.ATTRACT, AttractScreen(unit)), (State.CODE, code),
                              (State.CONSENT, ConsentScreen(unit)), (State.DECLINED, DeclinedScreen(unit)),
                              (State.DEVICE_CHECK, device_check),
                              (State.THINK, question), (State.ANSWER, question),
                              (State.SAVING, SavingScreen(unit)), (State.THANKS, ThanksScreen(unit)),
                              (State.FAILSAFE, FailsafeScreen(unit)),
                              (State.UNAVAILABLE, UnavailableScreen(unit))):
            screen.send = self.dispatch
            self.screens[state] = screen
            if self.stack.indexOf(screen) < 0:
                self.stack.addWidget(screen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(strip)
        layout.addWidget(self.stack, 1)
        self.admin_widget: QWidget | None = None

        self.bridge = EventBridge(services.bus, parent=self)
        self.bridge.event.connect(guarded(self._on_engine_event))
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(100)
        self.tick_timer.timeout.connect(guarded(self._tick))
        self.tick_timer.start()
        self.watcher = _InputWatcher(self)
        QApplication.instance().installEventFilter(self.watcher)
        if entry in ("key-chord", "both"):
            chord = QShortcut(QKeySequence(config["admin.key_chord"]), self)
            chord.setContext(Qt.ShortcutContext.ApplicationShortcut)
            chord.activated.connect(guarded(self.open_admin))
        if kiosk_mode:
            self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
            for keys in EXIT_KEYS:   # swallow them: a candidate must not be able to leave the app
                shortcut = QShortcut(keys, self)
                shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lockdown = Lockdown(self, enabled=kiosk_mode)
        if not bool(config["ui.show_cursor"]) and kiosk_mode:
            self.setCursor(Qt.CursorShape.BlankCursor)
        self._allow_close = not kiosk_mode
        self._shut_down = False
        self._ui_map_path = Path(os.environ["KIOSK_UI_MAP"]) if os.environ.get("KIOSK_UI_MAP") else None
        self._ui_map_text = ""
        self.device_check_clip = DeviceCheckClip(device_check, self.recorder, services.ctx.data.exports_tmp,
                                  lambda: self.flow.state is State.DEVICE_CHECK, self)
        self._show_booth(services.devices.state().to_json())
        self.screens[State.ATTRACT].show_admin_not_set_up(services.auth.needs_pin())
        self._show(self.flow.snapshot())

    # ---- window
    def show_kiosk(self) -> None:
        """Full screen on the primary screen; geometry first, since with no window manager showFullScreen alone
        leaves the window small."""
        if self.kiosk_mode:
            self.setGeometry(QGuiApplication.primaryScreen().geometry())
            self.showFullScreen()
            self.lockdown.hold()
        else:
            self.resize(1280, 800)
            self.show()

    def closeEvent(self, event) -> None:
        if not self._allow_close:
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def quit(self) -> None:
        """Leave for real (admin 'quit', SIGTERM)."""
        self._allow_close = True
        self.close()

    def shutdown(self, finalize_timeout_s: float = 600.0) -> None:
        """Leave for good: a candidate's take is finalized and the session closed (interrupted) before returning."""
        if self._shut_down:
            return
        self._shut_down = True
        self.lockdown.release()
        self.tick_timer.stop()
        if self.flow.take_open or self.flow.session_open:
            log.info("shutting down during an interview (%s): finalizing the take", self.flow.state.value)
            self.runner.send(Event.ADMIN_EXIT)   # -> attract: FinishTake("abandoned") or EndSession("abandoned")
            future = self.runner.pending
            if future is not None:
                try:
                    future.result(timeout=finalize_timeout_s)
                except Exception:
                    log.exception("finalizing the take at shutdown failed")
                deadline = time.monotonic() + 10   # the Future's callback records the session, then posts
                while self.runner._inbox.empty() and time.monotonic() < deadline:
                    time.sleep(0.02)
        self.runner.close()
        self.bridge.close()
        QApplication.instance().removeEventFilter(self.watcher)
        if self.speaker is not None:
            self.speaker.stop()

    def keyPressEvent(self, event) -> None:
        if self.kiosk_mode and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F4):
            event.accept()
            return
        super().keyPressEvent(event)

    # ---- inputs
    def activity(self) -> None:
        self.runner.send(Event.TOUCH)

    def dispatch(self, event: Event, **data) -> None:
        if event is Event.WALK_IN:           # the runner looks up the walk-in plan, then sends the event with it
            self.runner.walk_in()
        else:
            self.runner.send(event, **data)

    def _enter_code(self, code: str) -> None:
        self.runner.enter_code(code)
        if self.flow.state is State.CODE:
            self.screens[State.CODE].keypad.clear()

    def handle_exception(self, exc_type, exc, tb) -> None:
        """sys.excepthook in the app: anything unexpected -> the failsafe screen, with the context logged."""
        detail = "".join(traceback.format_exception(exc_type, exc, tb))
        self.runner.fail(f"unexpected {exc_type.__name__}: {exc}", detail)

    # ---- flow -> screens
    def _tick(self) -> None:
        self.runner.tick()
        state = self.flow.state
        screen = self.screens[state]
        if state in (State.THINK, State.ANSWER, State.FAILSAFE, State.SAVING):
            screen.update_from(self.flow.snapshot(), self.clock())
        if isinstance(screen, MediaScreen):
            screen.refresh_devices()
        if self._ui_map_path is not None:
            self._write_ui_map()

    def _write_ui_map(self) -> None:
        """For automation (the e2e test drives the app with xdotool): the state on screen and where each visible
        button is, in screen pixels. Only when KIOSK_UI_MAP names a file."""
        from PySide6.QtWidgets import QPushButton
        page = self.stack.currentWidget()
        buttons = {}
        for button in page.findChildren(QPushButton):
            if button.isVisible() and button.isEnabled() and button.objectName():
                top_left = button.mapToGlobal(QPoint(0, 0))
                buttons[button.objectName()] = [top_left.x(), top_left.y(), button.width(), button.height()]
        state = "admin" if self.admin_widget is not None else self.flow.state.value
        text = json.dumps({"state": state, "buttons": buttons}, sort_keys=True)
        if text != self._ui_map_text:
            tmp = self._ui_map_path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, self._ui_map_path)
            self._ui_map_text = text

    def _show(self, snapshot: Snapshot) -> None:
        screen = self.screens[snapshot.state]
        if self.admin_widget is None:
            self.stack.setCurrentWidget(screen)
        screen.update_from(snapshot, self.clock())
        if self.stack.currentWidget() is screen and getattr(self, "_last_state", None) != snapshot.state:
            self._last_state = snapshot.state
            self.state_shown.emit(snapshot.state.value)

    def _ui_effect(self, effect: Effect) -> None:
        if isinstance(effect, Speak):
            if self.speaker is not None:
                self.speaker.say(effect.text)
        elif isinstance(effect, StopSpeaking):
            if self.speaker is not None:
                self.speaker.stop()
        elif isinstance(effect, ClearCandidate):
            self.forget_candidate()
        elif isinstance(effect, RecordTestClip):
            self.device_check_clip.record(effect.seconds)

    def forget_candidate(self) -> None:
        for screen in set(self.screens.values()):
            screen.forget()
        self.notice.hide()
        self.notice.clear()
        self.runner.last_metadata = None
        if self.speaker is not None:
            self.speaker.forget()
        self.device_check_clip.stop_playback()

    # ---- engine events (already on the GUI thread)
    def _on_engine_event(self, kind: str, data: dict) -> None:
        messages = {
            "camera.lost": translate("KioskWindow", "The camera has stopped. We keep recording your voice; "
                                                    "please wait or ask for help."),
            "mic.lost": translate("KioskWindow", "The microphone has stopped. Please ask a member of staff for help."),
            "disk.low": translate("KioskWindow", "The kiosk is running out of space. "
                                                 "Your recording so far has been saved."),
        }
        if kind == "booth.devices":
            self._show_booth(data)
        elif kind in messages and kind in ("camera.lost", "mic.lost") and self.flow.state is State.ATTRACT:
            pass                              # between candidates the welcome screen says whether the booth is ready
        elif kind in messages:
            log.info("notice shown: %s %s", kind, data)
            self.notice.setText(messages[kind])
            self.notice.show()
        elif kind in ("camera.back", "mic.back"):
            self.notice.setText(translate("KioskWindow", "The camera is back.") if kind == "camera.back"
                                else translate("KioskWindow", "The microphone is back."))
            self.notice.show()
            QTimer.singleShot(4000, self._hide_back_notice)
        elif kind == "recording.finalizing":
            self.runner.post(Event.SAVE_PROGRESS, progress=float(data.get("progress", 0.0)))
        elif kind == "camera.toggled":
            for screen in set(self.screens.values()):
                if isinstance(screen, MediaScreen):
                    screen.camera.set_camera(bool(data.get("enabled", True)))

    def _show_booth(self, state: dict) -> None:
        """kiosk.capture.health's answer (BoothState.to_json()): the welcome screen's "not ready" notice and the
        demo badge."""
        self.screens[State.ATTRACT].set_not_ready(translate("KioskWindow", state["notice"]) if state["notice"] else "")
        self.badge.setText(translate("KioskApp", state["demo_badge"]))
        self.badge.setVisible(bool(state["demo_badge"]))

    def _hide_back_notice(self) -> None:
        if self.notice.text() in (translate("KioskWindow", "The camera is back."),
                                  translate("KioskWindow", "The microphone is back.")):
            self.notice.hide()

    # ---- admin
    def open_admin(self) -> None:
        if self.admin_widget is not None:
            return
        if self.flow.state in (State.THINK, State.ANSWER, State.SAVING):
            log.info("admin entry ignored while a candidate is recording")
            return
        if self.services.auth.needs_pin():
            # Whoever stands at the screen must not choose the PIN (a new or moved-aside database has none).
            log.info("admin entry refused: no admin PIN is set (kiosk admin set-pin)")
            self.screens[State.ATTRACT].show_admin_not_set_up(True)
            return
        from ui.admin.pin_pad import PinPad   # lazily: the admin code is not needed to run interviews
        pad = PinPad(self.services.auth)
        pad.accepted.connect(guarded(self._admin_accepted))
        pad.cancelled.connect(guarded(self._close_admin))
        self._set_admin_widget(pad)

    def _admin_accepted(self) -> None:
        from ui.admin.console import AdminConsole
        self.runner.send(Event.ADMIN_EXIT)
        self.lockdown.release()             # staff may use other windows (and the console's file dialogs)
        console = AdminConsole(self.services)
        console.closed.connect(guarded(self._close_admin))
        self._set_admin_widget(console)

    def _set_admin_widget(self, widget: QWidget) -> None:
        old = self.admin_widget
        self.admin_widget = widget
        self.stack.addWidget(widget)
        self.stack.setCurrentWidget(widget)
        widget.setFocus()                  # staff with a keyboard type the PIN at once (the pad reads digit keys)
        if old is not None:
            self.stack.removeWidget(old)
            old.deleteLater()
        self.state_shown.emit("admin")

    def _close_admin(self) -> None:
        old = self.admin_widget
        self.admin_widget = None
        if old is not None:
            self.stack.removeWidget(old)
            old.deleteLater()
        self.lockdown.hold()
        self.runner.send(Event.ADMIN_EXIT)
        self.runner.rest_camera()            # the Devices page may have opened it
        self._last_state = None
        self._show(self.flow.snapshot())

