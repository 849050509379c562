"""The transcript beside playback: click a line to seek there, the current line follows playback, and a search box
finds words across every session's transcript (SQLite FTS5, through kiosk.sessions.queries)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.sessions import queries
from ui.admin.common import human_duration, metrics_for

STATUS_TEXT = {
    "none": "Not transcribed yet.",
    "pending": "Waiting to be transcribed (after the current candidate).",
    "running": "Being transcribed…",
    "failed": "The transcript failed: {error}",
    "blocked": "Transcripts cannot run: {error}",
}


class TranscriptPane(QWidget):
    seek_requested = Signal(float)          # seconds in the loaded recording
    open_requested = Signal(str, float)     # another session's uuid, and where to seek in it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        m = metrics_for(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search every transcript for words")
        self.search.setMinimumHeight(m.touch)
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.run_search)
        self.search.textChanged.connect(self._on_text)
        self.hits = QListWidget()
        self.hits.setWordWrap(True)
        self.hits.hide()
        self.hits.itemClicked.connect(self._open_hit)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.lines = QListWidget()
        self.lines.setWordWrap(True)
        self.lines.itemClicked.connect(self._seek_line)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.hits, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.lines, 3)
        self._shown: list[queries.TranscriptLine] = []
        self._off_notice = ""

    def set_off_notice(self, text: str) -> None:
        """What to say when transcripts are off on this kiosk, with how to turn them on ('' when they are on)."""
        self._off_notice = text

    def show_transcript(self, state: queries.TranscriptState, recording: Path | None) -> None:
        """The lines of `recording` (the one loaded in the player), or why there are none."""
        self._shown = [line for line in state.lines if recording is not None and line.recording == recording]
        self.lines.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for line in self._shown:
            item = QListWidgetItem(line.text if line.is_heading else f"{human_duration(line.start)}  {line.text}")
            item.setData(Qt.ItemDataRole.UserRole, line.start)
            if line.is_heading:
                item.setFont(bold)
            self.lines.addItem(item)
        message = ""
        if not self._shown and self._off_notice and state.status in ("none", "blocked"):
            message = self._off_notice
        elif not self._shown and state.status == "done":
            message = "Nothing was recognised in this recording."
        elif not self._shown:
            message = STATUS_TEXT.get(state.status, "").format(error=state.error)
        self.notice.setText(message)
        self.notice.setVisible(bool(message))

    def current_row(self) -> int:
        return self.lines.currentRow()

    def follow(self, position_ms: int) -> None:
        """Mark the line being played (the last one that has started) and keep it in view."""
        t = position_ms / 1000
        row = -1
        for i, line in enumerate(self._shown):
            if line.start <= t + 0.001 and not line.is_heading:
                row = i
        if row >= 0 and row != self.lines.currentRow():
            self.lines.setCurrentRow(row)
            self.lines.scrollToItem(self.lines.item(row))

    def run_search(self) -> None:
        text = self.search.text().strip()
        self.hits.clear()
        self.hits.setVisible(bool(text))
        if not text:
            return
        found = queries.search_transcripts(text)
        for hit in found:
            who = hit.candidate or hit.uuid[:8]
            item = QListWidgetItem(f"{who} · {hit.label} · {hit.snippet}")
            item.setData(Qt.ItemDataRole.UserRole, (hit.uuid, hit.start))
            self.hits.addItem(item)
        if not found:
            self.hits.addItem(QListWidgetItem(f"No transcript holds “{text}”."))

    # --- slots
    def _on_text(self, text: str) -> None:
        if not text.strip():
            self.hits.clear()
            self.hits.hide()

    def _seek_line(self, item: QListWidgetItem) -> None:
        start = item.data(Qt.ItemDataRole.UserRole)
        if start is not None:
            self.seek_requested.emit(float(start))

    def _open_hit(self, item: QListWidgetItem) -> None:
        target = item.data(Qt.ItemDataRole.UserRole)
        if target is not None:
            self.open_requested.emit(target[0], float(target[1]))
