"""Screens and transitions besides the happy path: decline, codes, idle reset, failsafe, exit keys, camera toggle,
device notices, the device-check clip, the admin entry."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import av
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QTextBrowser

from kiosk.flow import State
from tests.helpers.ui import TEST_PIN, click, wait_state


def test_decline_ends_politely_and_records_nothing(qtbot, make_window):
    from kiosk.db.models import Interview, Recording
    window = make_window()
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    wait_state(qtbot, window, State.CONSENT)
    click(qtbot, window, "decline")
    wait_state(qtbot, window, State.DECLINED)
    assert Interview.select().count() == 0 and Recording.select().count() == 0
    click(qtbot, window, "declined_home")
    wait_state(qtbot, window, State.ATTRACT)
    assert window.screens[State.CONSENT].text.toPlainText() == ""


def test_codes_wrong_then_scheduled(qtbot, make_window):
    window = make_window()
    scheduled = window.services.store.schedule("uitest", code="4711", candidate_name="Ada")
    click(qtbot, window, "start")
    wait_state(qtbot, window, State.CODE)
    screen = window.screens[State.CODE]
    for key in "123":
        click(qtbot, window, f"key_{key}")
    assert screen.keypad.code == "123"
    click(qtbot, window, "key_ok")
    assert window.flow.state is State.CODE and "not found" in screen.error.text()
    assert screen.keypad.code == ""                     # cleared for the next try
    for key in "4712":
        click(qtbot, window, f"key_{key}")
    click(qtbot, window, "key_del")
    click(qtbot, window, "key_1")
    click(qtbot, window, "key_ok")
    wait_state(qtbot, window, State.CONSENT)
    assert window.flow.plan.code == "4711" and window.flow.plan.ref == scheduled.id
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    scheduled = type(scheduled).get_by_id(scheduled.id)
    assert scheduled.status == "in_progress" and scheduled.consent_at is not None


def test_idle_anywhere_resets_to_attract_and_forgets(qtbot, make_window):
    from kiosk.db.models import Interview
    window = make_window()
    window.flow.timing = dataclasses.replace(window.flow.timing, idle_timeout_s=1.5)
    click(qtbot, window, "start")
    for key in "98":
        click(qtbot, window, f"key_{key}")
    wait_state(qtbot, window, State.ATTRACT, timeout=6000)
    assert window.screens[State.CODE].keypad.code == ""
    # again from the device check, where a session is open: it is closed as interrupted
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    click(qtbot, window, "help")
    wait_state(qtbot, window, State.ATTRACT, timeout=6000)
    assert window.flow.plan is None and window.runner.session is None and window.runner.path is None
    assert not window.screens[State.DEVICE_CHECK].help.isVisible()
    assert [i.status for i in Interview.select()] == ["interrupted"]
    # nothing of the candidate is left on any screen, visible or not
    texts = [w.text() for w in window.findChildren(QLabel) + window.findChildren(QPushButton)]
    texts += [w.toPlainText() for w in window.findChildren(QTextBrowser)]
    joined = "\n".join(texts)
    for private in ("We record your answers", "First question", "Practice: say", "9 8"):
        assert private not in joined
    assert all(screen.preview._image is None and screen.preview._array is None for screen in (window.screens[State.DEVICE_CHECK],
                                                           window.screens[State.THINK]))


def test_exception_in_a_screen_goes_to_failsafe_keeps_the_recording(qtbot, make_window, monkeypatch, expect_log):
    from kiosk.db.models import Interview, Recording
    expect_log("kiosk.flow", r"^failsafe in state answer")
    window = make_window(ui__failsafe_timeout_s=3)
    monkeypatch.setattr(sys, "excepthook", window.handle_exception)
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    click(qtbot, window, "devices_ok")
    click(qtbot, window, "skip_practice")
    click(qtbot, window, "start_now")
    wait_state(qtbot, window, State.ANSWER)
    qtbot.waitUntil(lambda: window.recorder.state == "recording", timeout=5000)
    qtbot.wait(1500)
    screen = window.screens[State.ANSWER]

    def broken(snapshot, now):
        raise ZeroDivisionError("a bug in a screen")
    monkeypatch.setattr(screen, "update_from", broken)
    wait_state(qtbot, window, State.FAILSAFE, timeout=3000)
    assert "ZeroDivisionError" in window.flow.message
    assert "Restarting in" in window.screens[State.FAILSAFE].countdown.text()
    # the recording is finalized and kept; the session says what happened
    qtbot.waitUntil(lambda: Recording.get().state != "recording", timeout=20000)
    recording = Recording.get()
    assert recording.state == "finalized" and recording.duration > 1
    with av.open(recording.path) as container:
        assert sum(1 for _ in container.decode(video=0)) > 10
    assert Interview.get().status == "failed"
    wait_state(qtbot, window, State.ATTRACT, timeout=8000)


def test_exit_keys_do_nothing_in_kiosk_mode(qtbot, make_window):
    window = make_window()
    for key, modifier in ((Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                          (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
                          (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
                          (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier)):
        qtbot.keyClick(window, key, modifier)
    assert not window.close()                          # a close request (Alt+F4 from a WM) is refused
    assert window.isVisible() and window.isFullScreen()
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.cursor().shape() == Qt.CursorShape.BlankCursor


def test_windowed_mode_can_close(qtbot, make_window):
    window = make_window(kiosk_mode=False)
    assert not window.isFullScreen()
    assert window.close()


def test_camera_toggle_keeps_audio_and_device_notices(qtbot, make_window, expect_log):
    expect_log("kiosk.recorder", r"camera")
    window = make_window()
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    screen = window.screens[State.DEVICE_CHECK]
    toggle = screen.camera
    assert toggle.isChecked() and toggle.property("role") == "primary"
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert window.recorder.camera_enabled is False
    assert not toggle.isChecked() and toggle.property("role") == "danger" and "audio" in toggle.text()
    shown = screen.preview.frames_shown
    qtbot.waitUntil(lambda: screen.preview.frames_shown > shown + 2, timeout=3000)
    # the slate, not the camera: uniform dark grey around the edges
    assert int(screen.preview._array[2, 2].max()) < 40
    qtbot.waitUntil(lambda: screen.meter.rms_db > -60, timeout=3000)    # audio still flows
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert window.recorder.camera_enabled is True and toggle.isChecked()
    # the camera really stops delivering -> a clear notice; back -> another
    window.recorder.video.stop()
    qtbot.waitUntil(lambda: window.notice.isVisible() and "camera" in window.notice.text().lower(), timeout=8000)
    threading.Thread(target=lambda: window.services.bus.publish("camera.back", detail="test")).start()
    qtbot.waitUntil(lambda: window.notice.text() == "The camera is back.", timeout=3000)


def test_admin_entry_by_key_chord_then_cancel_returns_to_attract(qtbot, make_window):
    window = make_window()
    click(qtbot, window, "start")
    wait_state(qtbot, window, State.CODE)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.admin_widget is not None, timeout=3000)
    pad = window.admin_widget
    assert type(pad).__name__ == "PinPad" and window.stack.currentWidget() is pad
    pad.cancelled.emit()
    qtbot.waitUntil(lambda: window.admin_widget is None, timeout=3000)
    wait_state(qtbot, window, State.ATTRACT)


def test_admin_entry_by_corner_long_press(qtbot, make_window):
    window = make_window()
    window.watcher.hold.setInterval(300)
    attract = window.screens[State.ATTRACT]
    qtbot.mousePress(attract, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    qtbot.waitUntil(lambda: window.admin_widget is not None, timeout=3000)
    qtbot.mouseRelease(attract, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    window.admin_widget.cancelled.emit()
    wait_state(qtbot, window, State.ATTRACT)       # leaving the admin side always lands on the welcome screen


@pytest.mark.qt_log_ignore("pipewire")      # the console's player loads QtMultimedia, which looks for PipeWire first
def test_admin_console_after_the_pin_and_back_to_attract(qtbot, make_window):
    window = make_window()                    # the fixture set TEST_PIN in the database's PIN store
    click(qtbot, window, "start")
    wait_state(qtbot, window, State.CODE)
    window.open_admin()
    pad = window.admin_widget
    for digit in TEST_PIN:
        pad.press(digit)
    pad.submit()
    qtbot.waitUntil(lambda: type(window.admin_widget).__name__ == "AdminConsole", timeout=5000)
    assert window.flow.state is State.ATTRACT            # the candidate side was reset before the console opened
    window.admin_widget.closed.emit()
    qtbot.waitUntil(lambda: window.admin_widget is None, timeout=3000)
    wait_state(qtbot, window, State.ATTRACT)


def test_shutdown_mid_answer_finalizes_the_take_and_closes_the_session(qtbot, make_window):
    from kiosk.db.models import Interview, Recording
    window = make_window()
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    click(qtbot, window, "accept")
    click(qtbot, window, "devices_ok")
    click(qtbot, window, "skip_practice")
    click(qtbot, window, "start_now")
    qtbot.waitUntil(lambda: window.recorder.state == "recording", timeout=5000)
    qtbot.wait(1500)
    window.shutdown()                            # what SIGTERM and the admin's "quit" end in
    assert Recording.get().state == "finalized" and Recording.get().duration > 1
    assert Interview.get().status == "interrupted"


def test_without_a_pin_the_screen_offers_no_admin_console_until_set_pin(qtbot, make_services, data_dir):
    """The real PIN store (the database's Setting table): a data dir without a PIN hash (new, or a damaged database
    moved aside) lets nobody at the screen choose one. The welcome screen says "not set up"; the key chord and the
    corner open nothing; candidates can still be interviewed. `kiosk admin set-pin` (the real CLI) sets it."""
    from kiosk.db.models import Setting
    from ui.main_window import KioskWindow
    services = make_services()
    Setting.delete().where(Setting.key == "admin.pin_hash").execute()      # as a fresh data dir has it
    assert services.auth.needs_pin()
    window = KioskWindow(services, demo_badge=services.demo_badge)
    qtbot.addWidget(window)
    window.show_kiosk()
    try:
        wait_state(qtbot, window, State.ATTRACT)
        unset = window.screens[State.ATTRACT].admin_unset
        assert unset.isVisible() and "not set up" in unset.text() and "kiosk admin set-pin" in unset.text()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=3000)
        qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                       | Qt.KeyboardModifier.ShiftModifier)
        window.watcher.hold.setInterval(200)
        attract = window.screens[State.ATTRACT]
        qtbot.mousePress(attract, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
        qtbot.wait(500)
        qtbot.mouseRelease(attract, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
        assert window.admin_widget is None                              # no PIN pad, no choose-a-PIN
        wait_state(qtbot, window, State.CODE)           # the press was an ordinary touch: candidates are not held up
        click(qtbot, window, "code_back")
        wait_state(qtbot, window, State.ATTRACT)

        root = Path(__file__).resolve().parents[2]
        proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(services.ctx.data.root), "admin",
                               "set-pin", "--stdin"], input="731904\n", capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(root)})
        assert proc.returncode == 0, proc.stderr
        assert not services.auth.needs_pin()
        window.open_admin()
        pad = window.admin_widget
        assert type(pad).__name__ == "PinPad" and pad.mode == "enter"
        pad.cancelled.emit()
        wait_state(qtbot, window, State.ATTRACT)
    finally:
        window.shutdown()


def test_not_enough_space_shows_a_calm_screen_and_returns_to_attract(qtbot, make_window, expect_log):
    """The real estimate with a reserve larger than any disk: refused when the plan is chosen, before the consent;
    the candidate reads a calm sentence, staff find the figures and the fix in the log and the audit log."""
    from kiosk.db.models import AuditLog, Interview, Recording
    expect_log("kiosk.flow", r"^an interview was refused: Not enough disk space to record: .*MB are free.* Fix: ")
    window = make_window(storage__min_free_mb=10 ** 9, ui__failsafe_timeout_s=3)
    shown = []
    window.state_shown.connect(shown.append)
    click(qtbot, window, "start")
    click(qtbot, window, "walk_in")
    wait_state(qtbot, window, State.UNAVAILABLE)
    assert shown == ["code", "unavailable"]                         # the consent was never shown
    screen = window.screens[State.UNAVAILABLE]
    texts = [label.text() for label in screen.findChildren(QLabel) if label.isVisible()]
    assert texts == ["This kiosk cannot record right now.", "Please ask a member of staff."]
    assert not [b for b in screen.findChildren(QPushButton) if b.isVisible()]
    assert Interview.select().count() == 0 and Recording.select().count() == 0
    assert not list(window.services.ctx.data.recordings.glob("*"))
    audit = AuditLog.get(AuditLog.action == "session.refused")
    assert audit.detail["needed_bytes"] > audit.detail["free_bytes"] and "Fix:" in audit.detail["message"]
    qtbot.mouseClick(screen, Qt.MouseButton.LeftButton)             # a tap changes nothing
    assert window.flow.state is State.UNAVAILABLE
    wait_state(qtbot, window, State.ATTRACT, timeout=8000)          # ui.failsafe_timeout_s
    assert window.flow.plan is None and window.recorder.state == "previewing"
