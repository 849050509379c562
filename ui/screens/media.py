"""Screens with the live preview: what they share, and the question (think time and answer). The device check is
in device_check.py."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QHBoxLayout

from kiosk.flow import Event, Snapshot, State
from ui.screens.base import Screen, guarded
from ui.widgets.camera_toggle import CameraToggle
from ui.widgets.indicator import RecordingIndicator
from ui.widgets.level_meter import LevelMeter
from ui.widgets.preview import PreviewWidget

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls


class MediaScreen(Screen):
    """Preview + level meter + camera toggle, all fed from the recorder (never from a device directly)."""

    def __init__(self, unit: int, recorder, parent=None) -> None:
        super().__init__(unit, parent)
        self.recorder = recorder
        self.preview = PreviewWidget(recorder.latest_frame if recorder is not None else None)
        self.preview.setObjectName("preview")
        self.meter = LevelMeter(unit)
        self.meter.setObjectName("level_meter")
        self.camera = CameraToggle()
        self.camera.set_unit(unit)
        self.camera.toggled_camera.connect(guarded(self._toggle_camera))
        # An audio-only booth (recording.profile = "audio-opus") has no camera: no preview, no camera toggle.
        self.has_video = recorder is not None and recorder.video is not None
        self.preview.setVisible(self.has_video)
        self.camera.setVisible(self.has_video)

    def _toggle_camera(self, enabled: bool) -> None:
        if self.recorder is not None:
            self.recorder.set_camera_enabled(enabled)

    def refresh_devices(self) -> None:
        """Called by the window's status timer: level meter and the toggle's state from the recorder."""
        if self.recorder is None:
            return
        peak, rms = self.recorder.audio_level()
        self.meter.set_level(peak, rms)
        enabled = bool(getattr(self.recorder, "camera_enabled", True))
        if enabled != self.camera.isChecked():
            self.camera.set_camera(enabled)

    def forget(self) -> None:
        self.preview.clear()


class QuestionScreen(MediaScreen):
    """Think time (countdown, question shown) and the answer (recording indicator, done, retake)."""

    def __init__(self, unit: int, recorder, parent=None) -> None:
        super().__init__(unit, recorder, parent)
        self.position = self.label("", "hint", "question_position")
        self.question = self.label("", "title", "question_text")
        self.countdown = self.label("", "title", "countdown")
        self.indicator = RecordingIndicator(unit)
        self.indicator.setObjectName("indicator")
        row = QHBoxLayout()
        self.skip_practice = self.button(translate("Question", "Skip practice"), "skip_practice",
                                         event=Event.SKIP_PRACTICE)
        self.retake = self.button("", "retake", event=Event.RETAKE)
        self.ready = self.button(translate("Question", "I'm ready"), "start_now", event=Event.START_NOW,
                                 role="primary")
        self.done = self.button(translate("Question", "Done"), "done", event=Event.DONE, role="primary")
        for w in (self.camera, self.skip_practice, self.retake, self.ready, self.done):
            row.addWidget(w)
        self.layout_.addWidget(self.position)
        self.layout_.addWidget(self.question)
        self.layout_.addWidget(self.countdown)
        self.layout_.addWidget(self.preview, 1)
        self.layout_.addWidget(self.indicator)
        self.layout_.addWidget(self.meter)
        self.layout_.addLayout(row)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        plan = snapshot.plan
        if plan is None:
            return
        if snapshot.practice:
            q = plan.practice
            self.position.setText(translate("Question", "Practice question - this answer is not kept"))
        else:
            q = plan.questions[snapshot.question_index]
            self.position.setText(translate("Question", "Question {n} of {total}").format(
                n=snapshot.question_index + 1, total=len(plan.questions)))
        self.question.setText(q.text)
        remaining = max(0.0, snapshot.deadline - now) if snapshot.deadline is not None else None
        thinking = snapshot.state is State.THINK
        self.ready.setVisible(thinking)
        self.ready.setEnabled(not snapshot.counting_down)     # pressed once: the countdown runs
        self.done.setVisible(not thinking)
        self.skip_practice.setVisible(snapshot.practice and thinking)
        self.retake.setVisible(not thinking and not snapshot.practice)
        self.retake.setEnabled(snapshot.retakes_left > 0)
        self.retake.setText(translate("Question", "Start this answer again ({n} left)").format(n=snapshot.retakes_left))
        if thinking:
            self.countdown.setText(translate("Question", "Recording starts in {n} s").format(
                n=math.ceil(remaining or 0)) if not snapshot.practice else
                translate("Question", "Practice starts in {n} s").format(n=math.ceil(remaining or 0)))
            self.indicator.set_state("paused" if not snapshot.practice and snapshot.attempt > 1 else "idle", 0, None)
        else:
            self.countdown.setText("")
            elapsed = q.answer_s - (remaining or 0)
            self.indicator.set_state("practice" if snapshot.practice else "recording", elapsed, remaining)

    def forget(self) -> None:
        super().forget()
        self.question.setText("")
        self.position.setText("")
        self.indicator.set_state("idle", 0, None)
