"""The device check: the live preview and level meter, and a 3 s test clip recorded by the engine, played back and
deleted (it is not an interview)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QTimer, QUrl
from PySide6.QtWidgets import QHBoxLayout

from kiosk.flow import Event, Snapshot
from kiosk.recorder import RecorderError
from ui.screens.base import guarded
from ui.screens.media import MediaScreen

translate = QCoreApplication.translate   # lupdate finds translate("Context", "text") calls

log = logging.getLogger(__name__)


class DeviceCheckScreen(MediaScreen):
    def __init__(self, unit: int, recorder, parent=None) -> None:
        super().__init__(unit, recorder, parent)
        self.title = self.label(translate("DeviceCheck", "Can we see and hear you?"), "title", "device_title")
        self.hint = self.label(translate("DeviceCheck", "Check that your face is in the picture and the bar moves when "
                                                 "you speak."), "hint")
        self.help = self.label(translate("DeviceCheck", "Sit about an arm's length from the screen, facing it. Speak "
                                                 "normally: the bar should move. If the picture or the sound "
                                                 "stays wrong, please ask a member of staff."), "panel", "help_text")
        self.clip_status = self.label("", "hint", "clip_status")
        row = QHBoxLayout()
        self.test_clip = self.button(translate("DeviceCheck", "Record a 3 s test"), "test_clip", event=Event.TEST_CLIP)
        self.not_right = self.button(translate("DeviceCheck", "It's not right"), "help", event=Event.HELP)
        self.ok = self.button(translate("DeviceCheck", "Looks good"), "devices_ok", event=Event.DEVICES_OK,
                              role="primary")
        for w in (self.camera, self.test_clip, self.not_right, self.ok):
            row.addWidget(w)
        self.layout_.addWidget(self.title)
        self.layout_.addWidget(self.hint)
        self.layout_.addWidget(self.preview, 1)
        self.layout_.addWidget(self.meter)
        self.layout_.addWidget(self.clip_status)
        self.layout_.addWidget(self.help)
        self.layout_.addLayout(row)
        self.help.hide()
        self.clip_busy = False

    def set_clip_status(self, text: str, busy: bool) -> None:
        self.clip_status.setText(text)
        self.clip_busy = busy
        self.test_clip.setEnabled(not busy)
        self.ok.setEnabled(not busy)

    def update_from(self, snapshot: Snapshot, now: float) -> None:
        self.help.setVisible(snapshot.help_shown)

    def forget(self) -> None:
        super().forget()
        self.set_clip_status("", False)
        self.help.hide()


class DeviceCheckClip(QObject):
    """Records the device-check clip through the engine (the UI thread never waits for the encoders), plays it back
    on the screen and deletes it. `still_checking` says whether the flow is still at the device check."""

    def __init__(self, screen: DeviceCheckScreen, recorder, folder: Path, still_checking: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.screen = screen
        self.recorder = recorder
        self.folder = folder
        self.still_checking = still_checking
        self.path: Path | None = None            # the clip being recorded
        self.played_path: Path | None = None     # the clip being played back
        self._player = None

    def record(self, seconds: float) -> None:
        if self.screen.clip_busy or self.recorder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        profile = getattr(getattr(self.recorder, "settings", None), "profile", "webm-vp9-opus")
        ext = "mp4" if profile.startswith("mp4") else "ogg" if profile.startswith("audio") else "webm"
        self.path = self.folder / f"device-check-{int(time.time() * 1000)}.{ext}"
        self.screen.set_clip_status(translate("KioskWindow", "Recording a short test... say something!"), True)
        try:
            # wait=False: the UI thread never waits for the encoders; if none opens, stop_take below returns the
            # failed result at once and _finalized shows the help.
            self.recorder.start_take(self.path, label="device check", wait=False)
        except RecorderError as exc:          # refused at once (state, existing path, low disk)
            log.warning("the device-check clip could not start: %s", exc)
            self._failed()
            return
        QTimer.singleShot(int(seconds * 1000), guarded(self._stop))

    def _stop(self) -> None:
        try:
            future = self.recorder.stop_take()
        except RecorderError as exc:
            log.warning("the device-check clip could not be stopped: %s", exc)
            self._failed()
            return
        self._future = future
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(guarded(self._finalized))
        self._poll.start()

    def _finalized(self) -> None:
        if not self._future.done():
            return
        self._poll.stop()
        result = self._future.result()
        path = Path(result.metadata.get("recording_path") or self.path)
        if not self.still_checking():
            _delete_clip(path)
            self.screen.set_clip_status("", False)
            return
        if not result.ok:                     # e.g. no encoder could open (logged by the recorder)
            _delete_clip(path)
            self._failed()
            return
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        self._player = QMediaPlayer(self)
        self._audio_out = QAudioOutput(self)
        self._player.setAudioOutput(self._audio_out)
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._player.mediaStatusChanged.connect(guarded(self._playback_status_changed))
        self.screen.set_clip_status(translate("KioskWindow", "Playing it back..."), True)
        self.played_path = path
        self._player.play()
        # never hang on the playback: give up after the clip's length plus a margin
        QTimer.singleShot(int((float(result.metadata.get("duration") or 3) + 3) * 1000),
                          guarded(self.stop_playback))

    def _playback_status_changed(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer
        if status in (QMediaPlayer.MediaStatus.EndOfMedia, QMediaPlayer.MediaStatus.InvalidMedia):
            self.stop_playback()

    def stop_playback(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())
            self._player.deleteLater()
            self._player = None
            _delete_clip(self.played_path)
            self.screen.set_clip_status(translate("KioskWindow", "Did you see and hear yourself? "
                                                                 "If not, press \"It's not right\"."), False)

    def _failed(self) -> None:
        """The test clip could not be recorded: the candidate gets the "It's not right" help (ask a member of staff)
        and the buttons back, never a screen that waits forever."""
        self.screen.set_clip_status("", False)
        if self.still_checking():
            self.screen.send(Event.HELP)


def _delete_clip(path: Path | None) -> None:
    # The device-check clip is the candidate's image and voice and not part of any interview: do not keep it.
    if path is None:
        return
    for p in path.parent.glob(path.name + "*"):
        p.unlink(missing_ok=True)
