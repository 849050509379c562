"""Microphone level meter: a bar from -60 dBFS to 0, green / yellow / red, with a peak mark."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0


def fraction(dbfs: float) -> float:
    if dbfs is None or math.isnan(dbfs) or dbfs <= FLOOR_DB:
        return 0.0
    return min(1.0, (dbfs - FLOOR_DB) / -FLOOR_DB)


class LevelMeter(QWidget):
    def __init__(self, unit: int = 20, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.peak_db = FLOOR_DB
        self.rms_db = FLOOR_DB
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_unit(unit)
        self.setAccessibleName("microphone level")

    def set_unit(self, unit: int) -> None:
        self.setFixedHeight(max(8, round(unit * 0.8)))

    def set_level(self, peak_db: float, rms_db: float) -> None:
        self.peak_db, self.rms_db = peak_db, rms_db
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        w, h = self.width(), self.height()
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        level = fraction(self.rms_db)
        colour = QColor(42, 157, 99) if self.rms_db < -12 else QColor(245, 183, 0) if self.rms_db < -3 \
            else QColor(230, 30, 30)
        painter.fillRect(QRectF(0, 0, w * level, h), colour)
        peak = fraction(self.peak_db)
        painter.fillRect(QRectF(max(0, w * peak - 3), 0, 3, h), QColor(255, 255, 255))
        painter.end()
