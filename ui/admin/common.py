"""Small helpers shared by the admin widgets: screen-derived sizes and human-readable figures."""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from ui.theme import Metrics


def metrics_for(widget: QWidget | None = None) -> Metrics:
    """Sizes from the screen the widget is on (the primary one before it is shown)."""
    screen = (widget.screen() if widget is not None else None) or QGuiApplication.primaryScreen()
    size = screen.size()
    return Metrics.for_size(size.width(), size.height())


def human_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone().strftime(fmt) if value is not None else "–"


# The kiosk theme styles what candidates see; the console adds its data widgets (tables, inputs), in the same colours.
ADMIN_QSS = """
QLineEdit, QComboBox, QDateEdit, QSpinBox, QTableWidget, QListWidget {
    background: #1d2d3b; color: #f2f4f7; border: 2px solid #3f5e78; border-radius: @HALF@px;
    selection-background-color: #3f5e78; selection-color: #ffffff; }
QLineEdit, QComboBox, QDateEdit, QSpinBox { min-height: @T@px; padding: 0 @HALF@px; }
QComboBox QAbstractItemView { background: #1d2d3b; color: #f2f4f7; selection-background-color: #3f5e78; }
QTableWidget { gridline-color: #2d4457; alternate-background-color: #22313e; }
QTableWidget::item:selected, QListWidget::item:selected { background: #3f5e78; color: #ffffff; }
QHeaderView::section { background: #2d4457; color: #f2f4f7; border: none; padding: @HALF@px;
                       font-weight: bold; }
QRadioButton, QCheckBox { spacing: @HALF@px; min-height: @T@px; }
QRadioButton::indicator, QCheckBox::indicator { width: @U@px; height: @U@px; }
QSlider::groove:horizontal { height: @HALF@px; background: #3f5e78; border-radius: 2px; }
QSlider::handle:horizontal { width: @U@px; margin: -@U@px 0; background: #f2f4f7; border-radius: @HALF@px; }
"""


def admin_stylesheet(widget: QWidget | None = None) -> str:
    m = metrics_for(widget)
    text = ADMIN_QSS
    for token, value in (("@HALF@", max(2, m.unit // 2)), ("@U@", m.unit), ("@T@", m.touch)):
        text = text.replace(token, str(value))
    return text
