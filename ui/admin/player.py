"""Playback of a recording for admins: QMediaPlayer (FFmpeg backend: WebM and MP4), seek by question chapter."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSizePolicy, QSlider,
                               QVBoxLayout, QWidget)

from kiosk.sessions.queries import Chapter
from ui.admin.common import human_duration, metrics_for


class PlaybackWidget(QWidget):
    """Video, play/pause, a position slider and the chapter list (click = jump to that question)."""

    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        m = metrics_for(self)
        self._touch = m.touch
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget(self)
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.video.setMinimumHeight(m.unit * 8)
        self.player.setVideoOutput(self.video)
        self.chapters: list[Chapter] = []

        self.play_button = QPushButton("Play")
        self.play_button.setProperty("role", "primary")
        self.play_button.setMinimumSize(m.touch * 2, m.touch)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumHeight(m.touch)
        self.slider.sliderMoved.connect(self.player.setPosition)
        self.time_label = QLabel("0:00 / 0:00")
        self.error_label = QLabel()
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.chapter_list = QListWidget()
        self.chapter_list.setMaximumWidth(m.unit * 14)
        self.chapter_list.itemClicked.connect(lambda item: self.seek_chapter(self.chapter_list.row(item)))

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        left = QVBoxLayout()
        left.addWidget(self.video, 1)
        left.addLayout(controls)
        left.addWidget(self.error_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 3)
        layout.addWidget(self.chapter_list, 1)

        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)
        self.player.mediaStatusChanged.connect(self._on_media_status)
        self._pending_seek: float | None = None

    def load(self, path: Path, chapters: list[Chapter] | None = None) -> None:
        self.player.stop()
        self.error_label.hide()
        self.chapters = list(chapters or [])
        self.chapter_list.clear()
        for chapter in self.chapters:
            item = QListWidgetItem(f"{human_duration(chapter.start)}  {chapter.label}")
            item.setSizeHint(QSize(0, self._touch))
            self.chapter_list.addItem(item)
        self.chapter_list.setVisible(bool(self.chapters))
        if not Path(path).is_file():
            self._show_error(f"The file {path} is missing.")
            return
        self.player.setSource(QUrl.fromLocalFile(str(path)))

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def stop(self) -> None:
        self.player.stop()

    def unload(self) -> None:
        self.player.stop()
        self.player.setSource(QUrl())

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.pause()
        else:
            self.play()

    def seek_to(self, seconds: float) -> None:
        """Play from `seconds`; a file still loading seeks once it is loaded (a seek during loading is lost)."""
        if self.player.mediaStatus() == QMediaPlayer.MediaStatus.LoadingMedia:
            self._pending_seek = seconds
            return
        self._pending_seek = None
        self.player.setPosition(int(seconds * 1000))
        self.play()

    def seek_chapter(self, index: int) -> None:
        """Jump to the start of chapter `index` and play from there."""
        if 0 <= index < len(self.chapters):
            self.player.setPosition(int(self.chapters[index].start * 1000))
            self.chapter_list.setCurrentRow(index)
            self.play()

    def current_chapter(self) -> int:
        t = self.player.position() / 1000
        index = -1
        for i, chapter in enumerate(self.chapters):
            if chapter.start <= t:
                index = i
        return index

    # --- slots
    def _on_position(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self.time_label.setText(f"{human_duration(ms / 1000)} / {human_duration(self.player.duration() / 1000)}")

    def _on_media_status(self, status) -> None:
        if self._pending_seek is not None and status in (QMediaPlayer.MediaStatus.LoadedMedia,
                                                         QMediaPlayer.MediaStatus.BufferedMedia):
            self.seek_to(self._pending_seek)

    def _on_duration(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))

    def _on_state(self, state) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setText("Pause" if playing else "Play")

    def _on_error(self, error, text: str) -> None:
        if error != QMediaPlayer.Error.NoError:
            self._show_error(f"This recording cannot be played: {text or error.name}.")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.failed.emit(text)
