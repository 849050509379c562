"""What every screen shares: the layout unit, a `send(event)` to the runner, and guarded slots."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.flow import Event, Snapshot

log = logging.getLogger("ui")


def guarded(slot: Callable) -> Callable:
    """A slot that can never take the app down: an exception goes to the failsafe (via sys.excepthook)."""

    @functools.wraps(slot)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return slot(*args, **kwargs)
        except Exception:
            sys.excepthook(*sys.exc_info())
            return None
    return wrapper


class Screen(QWidget):
    """Base of the flow screens. `send(event, **data)` (a kiosk.flow.Event) is set by the main window."""

    def __init__(self, unit: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unit = unit
        self.setProperty("screen", True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.send: Callable[..., None] = lambda event, **data: None
        self.layout_ = QVBoxLayout(self)
        m = unit
        self.layout_.setContentsMargins(m, m, m, m)
        self.layout_.setSpacing(max(4, unit // 2))

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        """Redraw from the flow's state; called on every change and twice a second for countdowns."""

    def forget(self) -> None:
        """Drop everything about the last candidate (text typed, question shown, preview image)."""

    # small builders
    def label(self, text: str = "", role: str | None = None, name: str | None = None,
              align=Qt.AlignmentFlag.AlignCenter) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setAlignment(align)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        if role:
            label.setProperty("role", role)
        if name:
            label.setObjectName(name)
        return label

    def button(self, text: str, name: str, event: Event | None = None, role: str | None = None,
               on_click: Callable[[], None] | None = None) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        if role:
            button.setProperty("role", role)
        if on_click is not None:
            button.clicked.connect(guarded(lambda checked=False: on_click()))
        elif event is not None:
            button.clicked.connect(guarded(lambda checked=False, e=event: self.send(e)))
        return button
