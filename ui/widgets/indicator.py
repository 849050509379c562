"""The recording indicator: a blinking red dot, elapsed and remaining time. Shows 'paused'/'practice' too."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


def clock_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class RecordingIndicator(QWidget):
    def __init__(self, unit: int = 20, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unit = unit
        self.mode = "idle"          # "recording" | "practice" | "paused" | "idle"
        self.elapsed = 0.0
        self.remaining: float | None = None
        self.dot_on = True
        self._blink = QTimer(self)
        self._blink.setInterval(500)
        self._blink.timeout.connect(self._toggle)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(round(unit * 2.2))

    def set_unit(self, unit: int) -> None:
        self.unit = unit
        self.setFixedHeight(round(unit * 2.2))

    def set_state(self, mode: str, elapsed: float, remaining: float | None) -> None:
        self.mode, self.elapsed, self.remaining = mode, elapsed, remaining
        if mode == "recording" and not self._blink.isActive():
            self._blink.start()
        elif mode != "recording":
            self._blink.stop()
            self.dot_on = True
        self.update()

    def _toggle(self) -> None:
        self.dot_on = not self.dot_on
        self.update()

    def label(self) -> str:
        if self.mode == "recording":
            head = translate("Indicator", "REC")
        elif self.mode == "practice":
            head = translate("Indicator", "PRACTICE - not recorded")
        elif self.mode == "paused":
            head = translate("Indicator", "Paused")
        else:
            return ""
        text = f"{head}  {clock_text(self.elapsed)}"
        if self.remaining is not None:
            text += "   " + translate("Indicator", "{time} left").format(time=clock_text(self.remaining))
        return text

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 0) if self.mode == "idle" else QColor(20, 20, 20))
        if self.mode == "idle":
            return
        h = self.height()
        d = h * 0.55
        if self.mode == "recording" and self.dot_on:
            painter.setBrush(QColor(230, 30, 30))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(QRectF(h * 0.3, (h - d) / 2, d, d))
        font = QFont(self.font())
        font.setPixelSize(max(8, round(h * 0.45)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(QRectF(h * 0.3 + d * 1.4, 0, self.width() - h, h),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.label())
        painter.end()
