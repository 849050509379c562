"""The admin PIN pad: digits on big keys, a lockout countdown, and a "choose a PIN" mode on first start.

All rules (hash, tries, lockout) live in kiosk.admin_auth; this widget only collects digits and shows the answer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk import admin_auth
from ui.admin.common import metrics_for


class PinPad(QWidget):
    """Signals: accepted() when the right PIN was entered (or a new one set), cancelled() on Cancel/Escape."""

    accepted = Signal()
    cancelled = Signal()

    def __init__(self, auth: admin_auth.AdminAuth, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.auth = auth
        self.setObjectName("PinPad")
        self.setProperty("screen", True)          # the theme's screen background
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        m = metrics_for(self)
        self._entry = ""
        self._first_new: str | None = None        # set mode: the PIN typed the first time
        self.mode = "enter"                        # "enter", "new" or "confirm"

        outer = QVBoxLayout(self)
        outer.setContentsMargins(m.unit, m.unit, m.unit, m.unit)
        outer.setSpacing(max(4, m.unit // 2))
        outer.addStretch(1)
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display = QLabel()
        self.display.setProperty("role", "big")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumHeight(m.big * 2)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.display, self.message):
            outer.addWidget(widget)

        grid = QGridLayout()
        grid.setSpacing(max(4, m.unit // 2))
        self.keys: dict[str, QPushButton] = {}
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for index, label in enumerate(labels):
            button = QPushButton(label)
            button.setProperty("role", "primary" if label == "OK" else "key")
            button.setMinimumSize(round(m.touch * 1.6), round(m.touch * 1.3))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName({"⌫": "Erase", "OK": "OK"}.get(label, f"Digit {label}"))
            if label.isdigit():
                button.clicked.connect(lambda _=False, d=label: self.press(d))
            elif label == "⌫":
                button.clicked.connect(self.erase)
            else:
                button.clicked.connect(self.submit)
            grid.addWidget(button, index // 3, index % 3)
            self.keys[label] = button
        row = QHBoxLayout()
        row.addStretch(1)
        row.addLayout(grid, 3)
        row.addStretch(1)
        outer.addLayout(row, 4)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setMinimumHeight(m.touch)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel)
        outer.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)

        self.lock_timer = QTimer(self)
        self.lock_timer.setInterval(500)
        self.lock_timer.timeout.connect(self._refresh_lock)
        self.reset()

    # --- state
    def reset(self) -> None:
        """Back to an empty entry; choose-a-PIN mode when none is set. Call before showing the pad again."""
        self._entry, self._first_new = "", None
        self.mode = "new" if self.auth.needs_pin() else "enter"
        self.message.setText("")
        self._show_mode()
        self._refresh_lock()

    def _show_mode(self) -> None:
        self.title.setText({"enter": "Admin PIN",
                            "new": "Choose an admin PIN",
                            "confirm": "Enter the new PIN again"}[self.mode])
        if self.mode == "new" and not self.message.text():
            self.message.setText(f"No admin PIN is set yet. Choose {admin_auth.PIN_MIN_LEN} to "
                                 f"{admin_auth.PIN_MAX_LEN} digits.")
        # First start must end with a PIN: there is nothing to cancel back to.
        self.cancel_button.setVisible(self.mode == "enter")
        self._show_entry()

    def _show_entry(self) -> None:
        self.display.setText(" ".join("●" * len(self._entry)) if self._entry else "–")

    def _refresh_lock(self) -> None:
        remaining = self.auth.lock_remaining() if self.mode == "enter" else 0.0
        locked = remaining > 0
        for label, button in self.keys.items():
            button.setEnabled(not locked)
        if locked:
            self._entry = ""
            self._show_entry()
            self.message.setProperty("role", "error")
            self.message.setText(f"Too many wrong tries. Locked for {int(remaining + 0.999)} s.")
            if not self.lock_timer.isActive():
                self.lock_timer.start()
        elif self.lock_timer.isActive():
            self.lock_timer.stop()
            self.message.setText("")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    @property
    def locked(self) -> bool:
        return self.lock_timer.isActive()

    # --- input (public so the host and tests can drive it)
    def press(self, digit: str) -> None:
        if self.locked or not digit.isdigit() or len(self._entry) >= admin_auth.PIN_MAX_LEN:
            return
        self._entry += digit
        self._show_entry()

    def erase(self) -> None:
        self._entry = self._entry[:-1]
        self._show_entry()

    def cancel(self) -> None:
        if self.mode != "enter":
            return
        self._entry = ""
        self._show_entry()
        self.cancelled.emit()

    def submit(self) -> None:
        if self.locked:
            return
        entry, self._entry = self._entry, ""
        self._show_entry()
        self.message.setProperty("role", "error")
        if self.mode == "new":
            try:
                admin_auth.validate_pin(entry)
            except admin_auth.PinError as exc:
                self.message.setText(str(exc))
            else:
                self._first_new, self.mode = entry, "confirm"
                self.message.setText("")
                self._show_mode()
        elif self.mode == "confirm":
            if entry != self._first_new:
                self._first_new, self.mode = None, "new"
                self.message.setText("The two PINs differ. Choose the PIN again.")
                self._show_mode()
            else:
                self.auth.set_pin(entry)
                self.mode = "enter"
                self.message.setText("")
                self._show_mode()
                self.accepted.emit()
        else:
            result = self.auth.check(entry)
            if result.ok:
                self.message.setText("")
                self.accepted.emit()
            elif result.locked_for_s > 0:
                self._refresh_lock()
            else:
                self.message.setText(result.message)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text()
        if text.isdigit() and text.isascii():
            self.press(text)
        elif key == Qt.Key.Key_Backspace:
            self.erase()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif key == Qt.Key.Key_Escape:
            self.cancel()
        else:
            super().keyPressEvent(event)
