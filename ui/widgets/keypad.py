"""On-screen keypad for the interview code: digits, delete, OK. Emits `submitted(code)`."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


class Keypad(QWidget):
    submitted = Signal(str)
    changed = Signal(str)

    def __init__(self, max_length: int = 12, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_length = max_length
        self._code = ""
        self.display = QLabel()
        self.display.setProperty("role", "big")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setObjectName("code_display")
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]
        for i, key in enumerate(keys):
            text = {"del": translate("Keypad", "Delete"), "ok": translate("Keypad", "OK")}.get(key, key)
            button = QPushButton(text)
            button.setObjectName(f"key_{key}")
            button.setProperty("role", "primary" if key == "ok" else "key")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda checked=False, k=key: self.press(k))
            grid.addWidget(button, i // 3, i % 3)
            self.buttons[key] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.display)
        layout.addLayout(grid, 1)
        self._refresh()

    @property
    def code(self) -> str:
        return self._code

    def clear(self) -> None:
        self._code = ""
        self._refresh()

    def press(self, key: str) -> None:
        if key == "del":
            self._code = self._code[:-1]
        elif key == "ok":
            if self._code:
                self.submitted.emit(self._code)
            return
        elif key.isdigit() and len(self._code) < self.max_length:
            self._code += key
        self._refresh()
        self.changed.emit(self._code)

    def keyPressEvent(self, event) -> None:
        text = event.text()
        if text.isdigit():
            self.press(text)
        elif event.key() == Qt.Key.Key_Backspace:
            self.press("del")
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.press("ok")
        else:
            super().keyPressEvent(event)

    def _refresh(self) -> None:
        self.display.setText(" ".join(self._code) if self._code else "_ _ _ _")
        self.buttons["ok"].setEnabled(bool(self._code))
