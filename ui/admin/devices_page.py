"""Devices: pick camera, microphone, size, fps and profile from what `kiosk devices` finds; live preview, a level
meter, and a short test recording played back."""

from __future__ import annotations

import concurrent.futures
import logging
import time

import cv2
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from kiosk import config as configmod
from kiosk.config import PROFILES, ConfigError
from ui.admin.common import metrics_for
from ui.admin.player import PlaybackWidget

log = logging.getLogger("ui.admin")

SIZES = ("640x360", "640x480", "1280x720", "1920x1080")
FPS = (15, 25, 30)
TEST_SECONDS = 3.0
METER_FLOOR_DBFS = -60.0


def frame_to_pixmap(image, width: int, height: int) -> QPixmap:
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation)


class DevicesPage(QWidget):
    test_finished = Signal(object)     # kiosk.recorder.TakeResult (or an exception)

    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        m = metrics_for(self)
        self.camera = QComboBox()
        self.mic = QComboBox()
        self.size = QComboBox()
        self.fps = QComboBox()
        self.profile = QComboBox()
        for combo in (self.camera, self.mic, self.size, self.fps, self.profile):
            combo.setMinimumHeight(m.touch)
        self.camera.setEditable(True)
        self.find_button = QPushButton("Find devices")
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("role", "primary")
        self.test_button = QPushButton("Test recording")
        for button in (self.find_button, self.save_button, self.test_button):
            button.setMinimumHeight(m.touch)
        self.find_button.clicked.connect(self._find_clicked)
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.start_test)
        self.preview = QLabel("No picture")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(m.unit * 12, m.unit * 7)
        self.preview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.meter = QProgressBar()
        self.meter.setRange(int(METER_FLOOR_DBFS), 0)
        self.meter.setFormat("%v dBFS")
        self.meter.setValue(int(METER_FLOOR_DBFS))
        self.status = QLabel()
        self.status.setWordWrap(True)
        # What the welcome screen and `kiosk doctor` say about the devices (kiosk.capture.health), for staff.
        self.booth = QLabel()
        self.booth.setObjectName("booth_state")
        self.booth.setWordWrap(True)
        self.playback = PlaybackWidget()
        self.playback.hide()

        form = QFormLayout()
        form.addRow("Camera", self.camera)
        form.addRow("Microphone", self.mic)
        form.addRow("Size", self.size)
        form.addRow("Frames per second", self.fps)
        form.addRow("Profile", self.profile)
        buttons = QGridLayout()
        buttons.addWidget(self.find_button, 0, 0)
        buttons.addWidget(self.test_button, 0, 1)
        buttons.addWidget(self.save_button, 1, 0, 1, 2)
        hint = QLabel(f"The test records {TEST_SECONDS:.0f} s and plays it back. Saved choices apply at the next "
                      f"start of the kiosk.")
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.booth)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(hint)
        left.addWidget(self.status)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.preview, 1)
        right.addWidget(QLabel("Microphone level"))
        right.addWidget(self.meter)
        top = QHBoxLayout()
        top.addLayout(left, 1)
        top.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top, 1)
        layout.addWidget(self.playback, 1)

        self.preview_timer = QTimer(self)
        self.preview_timer.setInterval(100)
        self.preview_timer.timeout.connect(self.update_preview)
        self.test_finished.connect(self._on_test_finished)
        self._test_future: concurrent.futures.Future | None = None
        self.last_test = None
        self._found = False

    # --- lists
    def find_devices(self, refresh: bool = False) -> None:
        """Probe the machine (on request only: probing opens each camera index, which can disturb the one in use)."""
        from kiosk.capture.sources import list_devices
        # refresh=False: re-reading PortAudio's list would close the running preview's stream.
        self.fill(list_devices(refresh=refresh))

    def fill(self, devices: dict) -> None:
        config = self.services.ctx.config
        self._fill(self.camera, [("auto", "Automatic (first that opens)"), ("demo", "Demo pattern")] +
                   [(c["spec"], f"{c['name']} ({c['width']}x{c['height']} @ {c['fps']:g})")
                    for c in devices["cameras"]], config["camera.spec"])
        self._fill(self.mic, [("default", "Default microphone"), ("demo", "Demo tone"), ("none", "No microphone")] +
                   [(m_["spec"], f"{m_['name']} ({m_['hostapi']})") for m_ in devices["microphones"]],
                   config["mic.spec"])
        self._fill(self.size, [(s, s) for s in SIZES], str(config["camera.size"]))
        self._fill(self.fps, [(str(f), str(f)) for f in FPS], str(config["camera.fps"]))
        self._fill(self.profile, [(p, p) for p in PROFILES], config["recording.profile"])
        self.status.setText(f"Found {len(devices['cameras'])} camera(s) and {len(devices['microphones'])} "
                            f"microphone(s)." if self._found else "Press “Find devices” to list the cameras and "
                            "microphones of this machine.")

    @staticmethod
    def _fill(combo: QComboBox, items: list[tuple[str, str]], current: str) -> None:
        combo.clear()
        for value, text in items:
            combo.addItem(text, value)
        if combo.findData(current) < 0:
            combo.addItem(f"{current} (current setting)", current)
        combo.setCurrentIndex(combo.findData(current))

    def choices(self) -> dict:
        camera = self.camera.currentData()
        if self.camera.currentText() != self.camera.itemText(self.camera.currentIndex()):
            camera = self.camera.currentText().strip()         # typed: a URL or a file
        return {"camera.spec": camera, "mic.spec": self.mic.currentData(), "camera.size": self.size.currentData(),
                "camera.fps": int(self.fps.currentData()), "recording.profile": self.profile.currentData()}

    def save(self) -> None:
        try:
            path = configmod.save_settings(self.services.ctx.config, self.choices())
        except (ConfigError, OSError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return
        self.status.setText(f"Saved to {path}. The new devices are used from the next start of the kiosk.")

    # --- live
    def _find_clicked(self) -> None:
        self._found = True
        self.find_devices(refresh=False)

    def refresh(self) -> None:
        if not self._found:
            self.fill({"cameras": [], "microphones": []})     # the current settings, no probing
        if self.services.recorder is not None:
            self.services.recorder.reopen_camera()            # closed between candidates; closed again when the
        self.preview_timer.start()                            # console closes (FlowRunner.rest_camera)

    def leave(self) -> None:
        self.preview_timer.stop()
        self.playback.unload()

    def update_preview(self) -> None:
        if self.services.devices is not None:
            state = self.services.devices.state()
            text = "\n".join([state.notice or "The booth is ready.", state.camera.summary, state.microphone.summary])
            if self.booth.text() != text:
                self.booth.setText(text)
        recorder = self.services.recorder
        if recorder is None:
            self.preview.setText("No recorder")
            return
        frame = recorder.latest_frame()
        if frame is not None:
            self.preview.setPixmap(frame_to_pixmap(frame.image, self.preview.width(), self.preview.height()))
        peak, _rms = recorder.audio_level()
        self.meter.setValue(int(max(METER_FLOOR_DBFS, min(0.0, peak))))

    # --- test recording
    def start_test(self) -> None:
        recorder = self.services.recorder
        if recorder is None or self._test_future is not None:
            return
        folder = self.services.ctx.data.exports_tmp / "device-tests"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / time.strftime("device-test-%Y%m%dT%H%M%S.webm")
        try:
            recorder.start_take(path, label="device test")
        except Exception as exc:
            self.status.setText(f"The test recording could not start: {exc}")
            return
        self.test_button.setEnabled(False)
        self.status.setText(f"Recording {TEST_SECONDS:.0f} s… speak and move in front of the camera.")
        QTimer.singleShot(int(TEST_SECONDS * 1000), self._stop_test)

    def _stop_test(self) -> None:
        try:
            self._test_future = self.services.recorder.stop_take()
        except Exception as exc:
            self.test_finished.emit(exc)
            return
        self._test_future.add_done_callback(lambda f: self.test_finished.emit(
            f.exception() if f.exception() is not None else f.result()))

    def _on_test_finished(self, result) -> None:
        self._test_future = None
        self.test_button.setEnabled(True)
        self.last_test = result
        if isinstance(result, Exception) or not result.ok:
            self.status.setText(f"The test recording failed: {getattr(result, 'message', result)}")
            return
        self.status.setText(f"Test recording: {result.path.name}. Playing it back.")
        self.playback.show()
        self.playback.load(result.path, [])
        self.playback.play()
