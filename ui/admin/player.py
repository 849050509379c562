"""Playback of a recording for admins: QMediaPlayer (FFmpeg backend: WebM and MP4), seek by question chapter.

A take sealed to the centre's key (.age) asks for the centre's identity (a key file, e.g. on a USB stick, and its
passphrase when it is protected) and plays from a copy decrypted in a worker thread into a private folder in RAM,
removed when another recording is loaded or the player closes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget)

from kiosk.privacy import PrivacyError, crypto
from kiosk.sessions.queries import Chapter
from ui.admin.common import human_duration, metrics_for


def ask_identity(parent: QWidget) -> list | None:
    """The centre's identity, asked for: a key file, then its passphrase if it is protected. None: cancelled."""
    name, _ = QFileDialog.getOpenFileName(parent, "The centre's key (age identity file)", "/media")
    if not name:
        return None
    passphrase = None
    while True:
        try:
            return crypto.load_identities(Path(name), passphrase)
        except crypto.PassphraseNeeded:
            passphrase, ok = QInputDialog.getText(parent, "Passphrase", f"The passphrase of {Path(name).name}:",
                                                  QLineEdit.EchoMode.Password)
            if not ok:
                return None


class PlaybackWidget(QWidget):
    """Video, play/pause, a position slider and the chapter list (click = jump to that question)."""

    failed = Signal(str)
    _decrypted = Signal(object)              # from the decrypting thread: a crypto.PlaybackCopy, or an error text

    def __init__(self, parent: QWidget | None = None,
                 identity_provider: Callable[[QWidget], list | None] = ask_identity) -> None:
        super().__init__(parent)
        self.identity_provider = identity_provider
        self._identities: list = []          # kept while the console is open: the next sealed take plays at once
        self._sealed: Path | None = None
        self._copy: crypto.PlaybackCopy | None = None
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
        self.sealed_label = QLabel("This recording is encrypted to the centre's key. To play it here, insert the "
                                   "USB stick with the key: it is decrypted into memory only.")
        self.sealed_label.setWordWrap(True)
        self.unlock_button = QPushButton("Open with the centre's key…")
        self.unlock_button.setMinimumHeight(m.touch)
        self.unlock_button.clicked.connect(self.unlock)
        self.sealed_label.hide()
        self.unlock_button.hide()
        self._decrypted.connect(self._on_decrypted)
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
        left.addWidget(self.sealed_label)
        left.addWidget(self.unlock_button)
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
        self.unload()
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
        if crypto.is_sealed(Path(path)):
            self._sealed = Path(path)
            if self._identities:
                self._decrypt()
            else:
                self.sealed_label.show()
                self.unlock_button.show()
            return
        self.player.setSource(QUrl.fromLocalFile(str(path)))

    def unlock(self) -> None:
        """Ask for the centre's identity, then decrypt the sealed take in the background."""
        try:
            identities = self.identity_provider(self)
        except PrivacyError as exc:
            self._show_error(str(exc))
            return
        if identities:
            self._identities = list(identities)
            self._decrypt()

    def _decrypt(self) -> None:
        sealed, identities = self._sealed, list(self._identities)
        self.unlock_button.hide()
        self.sealed_label.setText("Decrypting into memory…")
        self.sealed_label.show()

        def work() -> None:
            try:
                self._decrypted.emit(crypto.PlaybackCopy(sealed, identities))
            except (PrivacyError, OSError) as exc:
                self._decrypted.emit(str(exc))
        threading.Thread(target=work, name="playback-decrypt", daemon=True).start()

    def _on_decrypted(self, outcome) -> None:
        if isinstance(outcome, str):
            self._identities = []               # the wrong key: ask again next time
            self.sealed_label.hide()
            self.unlock_button.show()
            self._show_error(outcome)
            return
        if self._sealed is None or outcome.path.name != self._sealed.name[: -len(crypto.SUFFIX)]:
            outcome.close()                      # another recording was chosen meanwhile
            return
        self._copy = outcome
        self.sealed_label.hide()
        self.player.setSource(QUrl.fromLocalFile(str(outcome.path)))

    @property
    def playing_from_memory(self) -> Path | None:
        """The decrypted copy being played, if the recording is sealed."""
        return self._copy.path if self._copy is not None else None

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def stop(self) -> None:
        self.player.stop()

    def unload(self) -> None:
        self.player.stop()
        self.player.setSource(QUrl())
        self._sealed = None
        self.sealed_label.hide()
        self.unlock_button.hide()
        if self._copy is not None:
            self._copy.close()
            self._copy = None

    def closeEvent(self, event) -> None:
        self.unload()
        super().closeEvent(event)

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
