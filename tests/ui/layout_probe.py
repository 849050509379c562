"""Run as `python -m tests.ui.layout_probe WIDTH HEIGHT [--high-contrast]`: shows every screen of the kiosk window on
an offscreen screen of that size and prints a JSON report of layout problems (coverage, overflow, clipped text, small
touch targets, edge pixels that are not the app's). Its own process, because a screen's size is fixed per process."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main(width: int, height: int, high_contrast: bool, language: str = "") -> dict:
    folder = Path(tempfile.mkdtemp(prefix="kiosk-layout-"))
    screen_json = folder / "screen.json"
    screen_json.write_text(json.dumps({"screens": [{"name": "S", "x": 0, "y": 0, "width": width, "height": height,
                                                    "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen_json}"
    from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

    from kiosk.cli import Context
    from kiosk.config import Config
    from kiosk.events import EventBus
    from kiosk.admin_auth import AdminAuth, MemoryStore
    from kiosk.capture.health import DeviceWatch
    from kiosk.flow import InterviewPlan, Question, State
    from kiosk.paths import DataDir
    from ui.main_window import KioskWindow
    from ui.services import AppServices
    from ui.theme import BACKGROUND_RGB, HIGH_CONTRAST_BACKGROUND_RGB

    app = QApplication([])
    if language:
        from ui.app import install_translators
        assert install_translators(app, language), f"no catalogue for {language}"
    config = Config()
    config.set("ui.high_contrast", high_contrast)
    ctx = Context(data=DataDir(folder / "data"), config=config)
    bus = EventBus()
    auth = AdminAuth(MemoryStore())            # no database in this probe: only the layout is looked at
    auth.set_pin("582047")
    services = AppServices(ctx=ctx, bus=bus, store=None, db=None, recorder=None, sessions=None, auth=auth,
                           demo_badge="DEMO camera and microphone", devices=DeviceWatch(config, None, bus, demo=True))
    window = KioskWindow(services, kiosk_mode=True, demo_badge=services.demo_badge)
    window.show_kiosk()
    app.processEvents()
    long_text = ("Tell us about a moment that changed how you see your town, and about the people who were "
                 "there with you when it happened. ") * 2
    plan = InterviewPlan(title="Layout", consent_text="We record you. " * 80,
                         questions=(Question(long_text, 20, 120, 2), Question("Second?", 20, 120, 0)))
    screen_rect = app.primaryScreen().geometry()
    problems: list[str] = []
    touch_min = 48 * min(width, height) / 1080
    background = HIGH_CONTRAST_BACKGROUND_RGB if high_contrast else BACKGROUND_RGB
    window.notice.setText("The camera has stopped. We keep recording your voice; please wait or ask for help.")
    window.notice.show()
    for state in State:
        flow = window.flow
        flow.state, flow.plan, flow.deadline = state, plan, window.clock() + 20
        flow.question_index, flow.practice, flow.retakes_left, flow.attempt = 0, False, 2, 1
        flow.help_shown = state is State.DEVICE_CHECK
        flow.message = "code_locked" if state is State.CODE else ""      # the longest message there
        window.screens[State.ATTRACT].show_admin_not_set_up(state is State.ATTRACT)
        window._show(flow.snapshot())
        app.processEvents()
        if window.geometry() != screen_rect:
            problems.append(f"{state.value}: window {window.geometry()} does not cover the screen {screen_rect}")
        page = window.stack.currentWidget()
        if page.minimumSizeHint().height() > window.stack.height() or \
                page.minimumSizeHint().width() > window.stack.width():
            problems.append(f"{state.value}: needs {page.minimumSizeHint()} but has {window.stack.size()}")
        for widget in [window.notice, window.badge] + page.findChildren(QWidget):
            if not widget.isVisible() or widget.window() is not window:
                continue
            top_left = widget.mapTo(window, widget.rect().topLeft())
            bottom_right = widget.mapTo(window, widget.rect().bottomRight())
            if not (window.rect().contains(top_left) and window.rect().contains(bottom_right)):
                problems.append(f"{state.value}: {widget.objectName() or type(widget).__name__} "
                                f"overflows the window ({top_left}..{bottom_right})")
            if isinstance(widget, QAbstractButton):
                if widget.height() < touch_min or widget.width() < touch_min:
                    problems.append(f"{state.value}: button {widget.objectName()} is {widget.width()}x"
                                    f"{widget.height()}, under {touch_min:.0f} px")
                needed = widget.fontMetrics().horizontalAdvance(widget.text()) + \
                    (widget.iconSize().width() if not widget.icon().isNull() else 0)
                if needed > widget.width():
                    problems.append(f"{state.value}: button {widget.objectName()} text is clipped "
                                    f"({needed} > {widget.width()} px)")
            if isinstance(widget, QLabel) and widget.wordWrap() and widget.text():
                if widget.heightForWidth(widget.width()) > widget.height() + 1:
                    problems.append(f"{state.value}: label {widget.objectName() or widget.text()[:30]!r} is cut "
                                    f"({widget.heightForWidth(widget.width())} > {widget.height()} px)")
        image = window.grab().toImage()
        if (image.width(), image.height()) != (width, height):
            problems.append(f"{state.value}: grab is {image.width()}x{image.height()}")
        if state is State.ATTRACT:
            window.notice.hide()
            window.badge.hide()
            app.processEvents()
            image = window.grab().toImage()
            edges = [(x, 0) for x in range(0, width, 7)] + [(x, height - 1) for x in range(0, width, 7)] + \
                    [(0, y) for y in range(0, height, 7)] + [(width - 1, y) for y in range(0, height, 7)]
            wrong = [(x, y) for x, y in edges if image.pixelColor(x, y).getRgb()[:3] != background]
            if wrong:
                problems.append(f"attract: {len(wrong)} edge pixels are not the background, e.g. {wrong[:3]}")
            window.notice.show()
            window.badge.show()
    report = {"size": [width, height], "unit": window.metrics.unit, "touch": window.metrics.touch,
              "problems": problems}
    window.shutdown()
    return report


if __name__ == "__main__":
    w, h = int(sys.argv[1]), int(sys.argv[2])
    lang = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--language=")), "")
    print(json.dumps(main(w, h, "--high-contrast" in sys.argv, lang)))
