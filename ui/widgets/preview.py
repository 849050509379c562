"""Live preview of the engine's newest frame. The UI never opens the camera: it polls `frame_source()` (the
recorder's latest_frame) a little faster than the camera rate, so it adds at most one frame of latency."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class PreviewWidget(QWidget):
    def __init__(self, frame_source: Callable[[], object] | None = None, parent: QWidget | None = None,
                 poll_ms: int = 15) -> None:
        super().__init__(parent)
        self.frame_source = frame_source
        self._image: QImage | None = None
        self._array = None
        self._last_t: float | None = None
        self.frames_shown = 0
        self.mirror = True              # people expect a mirror image of themselves
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(16, 9)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    def showEvent(self, event) -> None:
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def clear(self) -> None:
        self._image = None
        self._array = None          # the candidate's last picture must not stay in memory
        self._last_t = None
        self.update()

    def poll(self) -> None:
        if self.frame_source is None:
            return
        try:
            frame = self.frame_source()
        except Exception:
            frame = None
        if frame is None or frame.t == self._last_t:
            return
        image = frame.image
        height, width = image.shape[:2]
        # The QImage borrows the array; keep a reference until the next frame replaces it.
        self._array = image
        self._image = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888)
        self._last_t = frame.t
        self.frames_shown += 1
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image is not None:
            iw, ih = self._image.width(), self._image.height()
            scale = min(self.width() / iw, self.height() / ih)
            w, h = iw * scale, ih * scale
            target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            if self.mirror:
                painter.translate(self.width(), 0)
                painter.scale(-1, 1)
                target.moveLeft(self.width() - target.right())
            painter.drawImage(target, self._image)
        painter.end()
