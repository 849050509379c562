"""Statistics: interviews per day as a bar chart, durations, success rate, failures by cause, disk and hours left."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.sessions import queries
from ui.admin.common import human_bytes, human_duration, metrics_for


class BarChart(QWidget):
    """Bars with their value on top and a short date below; sized from the font, not in pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.fontMetrics().height() * 8)
        self.setAccessibleName("Interviews per day")

    def set_values(self, values: list[tuple[str, int]]) -> None:
        self.values = list(values)
        self.setAccessibleDescription(", ".join(f"{label}: {v}" for label, v in self.values))
        self.update()

    def bar_rects(self) -> list[QRectF]:
        """Where each bar is drawn (also what a test checks)."""
        if not self.values:
            return []
        fm = self.fontMetrics()
        top, bottom = fm.height() * 1.5, self.height() - fm.height() * 1.5
        slot = self.width() / len(self.values)
        peak = max(1, max(v for _, v in self.values))
        rects = []
        for i, (_, value) in enumerate(self.values):
            h = (bottom - top) * value / peak
            rects.append(QRectF(i * slot + slot * 0.15, bottom - h, slot * 0.7, h))
        return rects

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        text = self.palette().windowText().color()
        bottom = self.height() - fm.height() * 1.5
        painter.setPen(QPen(QColor(text), 1))
        painter.drawLine(0, int(bottom), self.width(), int(bottom))
        slot = self.width() / max(1, len(self.values))
        for rect, (label, value) in zip(self.bar_rects(), self.values):
            painter.fillRect(rect, QColor("#2a9d63"))
            painter.setPen(text)
            painter.drawText(QRectF(rect.x() - slot * 0.15, rect.y() - fm.height() * 1.2, slot, fm.height()),
                             Qt.AlignmentFlag.AlignCenter, str(value) if value else "")
            painter.drawText(QRectF(rect.x() - slot * 0.15, bottom + fm.height() * 0.2, slot, fm.height()),
                             Qt.AlignmentFlag.AlignCenter, label)
        painter.end()


class StatisticsPage(QWidget):
    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        m = metrics_for(self)
        self.figures: queries.Statistics | None = None
        title = QLabel("Interviews per day (last 14 days)")
        title.setProperty("role", "title")
        self.chart = BarChart()
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(m.unit)
        names = [("total", "Interviews"), ("success", "Success rate"), ("durations", "Duration (mean · median · max)"),
                 ("failures", "Failures by cause"), ("disk", "Recordings on disk"),
                 ("free", "Free space"), ("hours", "Still holds")]
        for row, (key, text) in enumerate(names):
            name = QLabel(text)
            name.setProperty("role", "hint")
            value = QLabel()
            value.setWordWrap(True)
            value.setObjectName(f"stat_{key}")
            grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.labels[key] = value
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.chart, 1)
        layout.addLayout(grid)

    def refresh(self, today: dt.date | None = None) -> None:
        f = self.figures = queries.statistics(self.services.ctx.data, self.services.ctx.config, days=14, today=today)
        self.chart.set_values([(day.strftime("%d.%m"), n) for day, n in f.per_day])
        self.labels["total"].setText(f"{f.total} in all, {f.finished} finished, {f.completed} completed")
        self.labels["success"].setText("–" if f.success_rate is None else
                                       f"{f.success_rate * 100:.0f} % ({f.completed} of {f.finished})")
        self.labels["durations"].setText(" · ".join(human_duration(x) for x in (
            f.duration_mean_s, f.duration_median_s, f.duration_max_s)))
        self.labels["failures"].setText(", ".join(f"{cause}: {n}" for cause, n in f.failures_by_cause.items())
                                        or "none")
        self.labels["disk"].setText(human_bytes(f.bytes_on_disk))
        self.labels["free"].setText(f"{human_bytes(f.free_bytes)} (of which {human_bytes(f.reserve_bytes)} is kept "
                                    f"in reserve)")
        self.labels["hours"].setText(f"about {f.hours_left:.1f} hours of recording at the current profile "
                                     f"({self.services.ctx.config['recording.profile']}, "
                                     f"{f.bitrate_bps / 1e6:.2f} Mbit/s)")
