"""The PIN pad: choose a PIN on first start, accept the right one, lock after five wrong ones, big keys."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kiosk import admin_auth
from kiosk.admin_auth import AdminAuth, MemoryStore
from ui.admin.pin_pad import PinPad

# The offscreen platform cannot pass size hints to a top-level window and says so; the app hosts the pad inside its
# full-screen window, where this does not arise.
pytestmark = pytest.mark.qt_log_ignore(r"does not support propagateSizeHints")


class WallClock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def type_pin(qtbot, pad: PinPad, pin: str) -> None:
    for digit in pin:
        qtbot.mouseClick(pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys["OK"], Qt.MouseButton.LeftButton)


def test_first_start_forces_choosing_a_pin(qtbot):
    auth = AdminAuth(MemoryStore())
    pad = PinPad(auth)
    qtbot.addWidget(pad)
    pad.show()
    assert pad.mode == "new" and not pad.cancel_button.isVisible()
    type_pin(qtbot, pad, "1111")                                  # too weak: refused with the reason
    assert pad.mode == "new" and "repeated" in pad.message.text()
    type_pin(qtbot, pad, "2580")
    assert pad.mode == "confirm"
    type_pin(qtbot, pad, "2581")                                  # mismatch: start over
    assert pad.mode == "new" and "differ" in pad.message.text()
    type_pin(qtbot, pad, "2580")
    with qtbot.waitSignal(pad.accepted, timeout=5000):
        type_pin(qtbot, pad, "2580")
    assert not auth.needs_pin() and auth.check("2580").ok
    assert pad.mode == "enter" and pad.cancel_button.isVisible()


def test_right_pin_accepts_by_keyboard_and_escape_cancels(qtbot):
    auth = AdminAuth(MemoryStore())
    auth.set_pin("7319")
    pad = PinPad(auth)
    qtbot.addWidget(pad)
    pad.show()
    qtbot.keyClicks(pad, "731")
    assert pad.display.text() == "● ● ●"
    qtbot.keyClick(pad, Qt.Key.Key_Backspace)
    qtbot.keyClicks(pad, "19")
    with qtbot.waitSignal(pad.accepted, timeout=5000):
        qtbot.keyClick(pad, Qt.Key.Key_Return)
    with qtbot.waitSignal(pad.cancelled, timeout=5000):
        qtbot.keyClick(pad, Qt.Key.Key_Escape)


def test_five_wrong_tries_lock_the_keys_and_count_down(qtbot, expect_log):
    expect_log("kiosk.admin_auth", r"locked for")
    clock = WallClock()
    auth = AdminAuth(MemoryStore(), clock=clock)
    auth.set_pin("7319")
    pad = PinPad(auth)
    qtbot.addWidget(pad)
    pad.show()
    accepted = []
    pad.accepted.connect(lambda: accepted.append(True))
    for n in range(admin_auth.MAX_TRIES - 1):
        type_pin(qtbot, pad, "0001")
        assert f"{admin_auth.MAX_TRIES - 1 - n}" in pad.message.text()
    type_pin(qtbot, pad, "0001")
    assert pad.locked and not pad.keys["7"].isEnabled() and "Locked for 30 s" in pad.message.text()
    type_pin(qtbot, pad, "7319")                                   # disabled keys: nothing happens
    pad.press("7")
    pad.submit()
    assert not accepted
    clock.t += 20
    qtbot.waitUntil(lambda: "Locked for 10 s" in pad.message.text(), timeout=3000)
    clock.t += 10.5
    qtbot.waitUntil(lambda: pad.keys["7"].isEnabled(), timeout=3000)
    assert not pad.locked
    type_pin(qtbot, pad, "7319")
    assert accepted == [True]


def test_keys_are_touch_sized(qtbot):
    pad = PinPad(AdminAuth(MemoryStore()))
    qtbot.addWidget(pad)
    short_side = min(pad.screen().size().width(), pad.screen().size().height())
    for button in [*pad.keys.values(), pad.cancel_button]:
        # >= 48 px on a 1080p screen, scaled with the screen (the offscreen one is 800 px).
        assert button.minimumHeight() >= 48 * short_side / 1080
