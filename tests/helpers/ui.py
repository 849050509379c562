"""Driving the kiosk window in tests: press a named button, wait for a flow state and its screen."""

from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.flow import State

TEST_PIN = "582047"          # the admin PIN the UI fixtures set in the real PIN store (the database)


def click(qtbot, window, name):
    from PySide6.QtWidgets import QPushButton
    button = window.findChild(QPushButton, name)
    assert button is not None, name
    assert button.isVisible() and button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_state(qtbot, window, state: State, timeout=10000):
    qtbot.waitUntil(lambda: window.flow.state is state and window.stack.currentWidget() is window.screens[state],
                    timeout=timeout)
