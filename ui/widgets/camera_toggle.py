"""Camera on/off toggle. Colour and icon show the state; turning the camera off keeps audio recording."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QPushButton, QWidget

from kiosk.resources import resource

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


class CameraToggle(QPushButton):
    toggled_camera = Signal(bool)    # True = camera on

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("camera_toggle")
        self.setCheckable(True)
        self.setChecked(True)
        self._icons = {True: QIcon(str(resource("icons", "camera-on.svg"))),
                       False: QIcon(str(resource("icons", "camera-off.svg")))}
        self.clicked.connect(self._clicked)
        self.set_camera(True)

    def set_unit(self, unit: int) -> None:
        self.setIconSize(QSize(round(unit * 1.4), round(unit * 1.4)))

    def _clicked(self, checked: bool) -> None:
        self.set_camera(checked)
        self.toggled_camera.emit(checked)

    def set_camera(self, enabled: bool) -> None:
        self.setChecked(enabled)
        self.setIcon(self._icons[enabled])
        self.setText(translate("CameraToggle", "Camera on") if enabled else translate("CameraToggle", "Camera off - audio only"))
        # Green when on, red when off (the QSS roles carry the colours of both themes).
        self.setProperty("role", "primary" if enabled else "danger")
        self.style().unpolish(self)
        self.style().polish(self)
