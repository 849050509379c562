"""Enter the interview code on the on-screen keypad, or start a walk-in interview."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QHBoxLayout

from kiosk.flow import Event, Snapshot
from ui.screens.base import Screen, guarded
from ui.widgets.keypad import Keypad

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


class CodeScreen(Screen):
    def __init__(self, unit: int, parent=None) -> None:
        super().__init__(unit, parent)
        self.title = self.label(translate("Code", "Please enter your interview code"), "title", "code_title")
        self.error = self.label("", "error", "code_error")
        self.keypad = Keypad()
        self.enter_code: Callable[[str], None] = lambda code: None     # set by the main window: look the code up
        self.keypad.submitted.connect(guarded(lambda code: self.enter_code(code)))
        row = QHBoxLayout()
        self.back = self.button(translate("Code", "Back"), "code_back", event=Event.BACK)
        self.walk_in = self.button(translate("Code", "I have no code"), "walk_in", event=Event.WALK_IN)
        row.addWidget(self.back)
        row.addWidget(self.walk_in)
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.keypad, 1)
        self.layout_.addLayout(row)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        if snapshot.message == "code_bad":
            self.error.setText(translate("Code", "That code was not found. Please check it and try again."))
        elif snapshot.message == "code_locked":
            self.error.setText(translate("Code", "Too many wrong codes. Please wait a moment before you try again, "
                                                 "or ask a member of staff."))
        else:
            self.error.setText("")

    def forget(self) -> None:
        self.keypad.clear()
        self.error.setText("")
