"""Sessions: a searchable list, and a detail view with the event log, playback by question chapter and the
transcript beside it."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget, QComboBox)

from kiosk.sessions import queries
from ui.admin.common import human_bytes, human_duration, local_time, metrics_for
from ui.admin.player import PlaybackWidget
from ui.admin.transcript_pane import TranscriptPane

COLUMNS = ("Candidate", "Code", "Date", "Duration", "Status", "Sync", "Exported", "Files")


def _item(text: str, data=None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


class SessionList(QWidget):
    opened = Signal(str)                 # uuid
    export_requested = Signal(list)      # uuids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        m = metrics_for(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search: name, code, date (YYYY-MM-DD), status, uuid")
        self.search.setMinimumHeight(m.touch)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.table.verticalHeader().setDefaultSectionSize(m.touch)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.opened.emit(self.uuid_at(row)))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.count_label = QLabel()
        self.open_button = QPushButton("Open")
        self.export_button = QPushButton("Export selected…")
        self.clear_button = QPushButton("Clear selection")
        for button in (self.open_button, self.export_button, self.clear_button):
            button.setMinimumHeight(m.touch)
        self.open_button.setProperty("role", "primary")
        self.open_button.clicked.connect(self._open_current)
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self.selected_uuids()))
        self.clear_button.clicked.connect(self.table.clearSelection)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label, 1)
        for button in (self.clear_button, self.export_button, self.open_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.rows: list[queries.SessionRow] = []
        self.all_rows: list[queries.SessionRow] = []
        self._update_buttons()

    def refresh(self) -> None:
        """Read the sessions again from the database, then show those matching the search."""
        self.all_rows = queries.list_sessions()
        self.apply_filter()

    def apply_filter(self) -> None:
        """Filter in memory as the admin types (reading 5000 sessions takes ~1 s; filtering them ~10 ms)."""
        selected = set(self.selected_uuids())
        search = self.search.text()
        self.rows = [row for row in self.all_rows if row.matches(search)]
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            values = (row.candidate or "–", row.code or "–", local_time(row.started_at), human_duration(row.duration_s),
                      row.status, row.sync_state or "–", local_time(row.exported_at, "%Y-%m-%d"),
                      f"{row.files} · {human_bytes(row.bytes)}")
            for c, text in enumerate(values):
                self.table.setItem(r, c, _item(text, row.uuid if c == 0 else None))
        self.table.clearSelection()
        for r, row in enumerate(self.rows):
            if row.uuid in selected:
                self.table.selectRow(r)
        self.count_label.setText(f"{len(self.rows)} session(s)")
        self._update_buttons()

    def uuid_at(self, row: int) -> str:
        return self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)

    def selected_uuids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.uuid_at(r) for r in rows]

    def _open_current(self) -> None:
        uuids = self.selected_uuids()
        if uuids:
            self.opened.emit(uuids[-1])

    def _update_buttons(self) -> None:
        n = len(self.selected_uuids())
        self.open_button.setEnabled(n >= 1)
        self.export_button.setEnabled(n >= 1)
        self.export_button.setText(f"Export {n} selected…" if n else "Export selected…")


class SessionDetailView(QWidget):
    back = Signal()
    played = Signal(str, str)            # uuid, file: the console audits playback
    delete_requested = Signal(str)       # uuid: the console asks, then erases it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        m = metrics_for(self)
        self.detail: queries.SessionDetail | None = None
        self.back_button = QPushButton("‹ Sessions")
        self.back_button.setMinimumHeight(m.touch)
        self.back_button.clicked.connect(self._back)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setProperty("role", "danger")
        self.delete_button.setMinimumHeight(m.touch)
        self.delete_button.clicked.connect(
            lambda: self.delete_requested.emit(self.detail.row.uuid) if self.detail is not None else None)
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recording_choice = QComboBox()
        self.recording_choice.setMinimumHeight(m.touch)
        self.recording_choice.currentIndexChanged.connect(self._load_recording)
        self.playback = PlaybackWidget()
        self.playback.player.playbackStateChanged.connect(self._on_play_state)
        self.transcript = TranscriptPane()
        self.transcript.seek_requested.connect(self.seek)
        self.transcript.open_requested.connect(self.open_at)
        self.playback.player.positionChanged.connect(self.transcript.follow)
        self.events = QTableWidget(0, 4)
        self.events.setHorizontalHeaderLabels(("Time", "In take", "Event", "Detail"))
        self.events.verticalHeader().hide()
        self.events.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.events.horizontalHeader().setStretchLastSection(True)
        self.events.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.events.cellDoubleClicked.connect(self._seek_event)
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.title, 1)
        top.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.info)
        layout.addWidget(self.recording_choice)
        watch = QHBoxLayout()
        watch.addWidget(self.playback, 3)
        watch.addWidget(self.transcript, 2)
        layout.addLayout(watch, 3)
        layout.addWidget(self.events, 2)
        self._played_once: set[str] = set()

    def show_session(self, uuid: str) -> bool:
        self.detail = queries.session_detail(uuid)
        self._played_once.clear()
        if self.detail is None:
            return False
        row = self.detail.row
        self.title.setText(f"{row.candidate or '(no name)'} · {row.code or '–'}")
        self.info.setText(
            f"Started {local_time(row.started_at)} · {human_duration(row.duration_s)} · status {row.status}"
            f"{' (' + self.detail.end_reason + ')' if self.detail.end_reason else ''} · sync {row.sync_state or '–'} · "
            f"exported {local_time(row.exported_at)}\nuuid {row.uuid}")
        self.recording_choice.blockSignals(True)
        self.recording_choice.clear()
        for rec in self.detail.recordings:
            note = "" if rec.exists else " — file missing"
            self.recording_choice.addItem(f"{rec.path.name} · {rec.state} · {human_duration(rec.duration_s)} · "
                                          f"{human_bytes(rec.size)}{note}")
        self.recording_choice.setVisible(len(self.detail.recordings) > 1)
        self.recording_choice.blockSignals(False)
        self.events.setRowCount(len(self.detail.events))
        for r, event in enumerate(self.detail.events):
            detail = "" if event.detail is None else json.dumps(event.detail, ensure_ascii=False)
            values = (local_time(event.time, "%H:%M:%S"), human_duration(event.offset_s), event.kind, detail)
            for c, text in enumerate(values):
                self.events.setItem(r, c, _item(text, event.offset_s if c == 1 else None))
        if self.detail.recordings:
            self._load_recording(0)
        else:
            self.playback.unload()
            self.transcript.show_transcript(self.detail.transcript, None)
        return True

    def _load_recording(self, index: int) -> None:
        if self.detail is None or not 0 <= index < len(self.detail.recordings):
            return
        # Chapters are the interview's (its main file); a second file after a crash has its own timeline.
        self.playback.load(self.detail.recordings[index].path, self.detail.chapters if index == 0 else [])
        self.transcript.show_transcript(self.detail.transcript, self.detail.recordings[index].path)

    def seek(self, seconds: float) -> None:
        """Play from `seconds` in the loaded recording (a transcript line was clicked)."""
        self.playback.seek_to(seconds)

    def open_at(self, uuid: str, seconds: float) -> None:
        """A search hit: show that session (it may be this one) and play from the hit's chapter."""
        if self.detail is None or self.detail.row.uuid != uuid:
            if not self.show_session(uuid):
                return
        self.seek(seconds)

    def _seek_event(self, row: int, _col: int) -> None:
        offset = self.events.item(row, 1).data(Qt.ItemDataRole.UserRole)
        if offset is not None:
            self.playback.player.setPosition(int(offset * 1000))
            self.playback.play()

    def _on_play_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer
        if state == QMediaPlayer.PlaybackState.PlayingState and self.detail is not None:
            name = self.playback.player.source().fileName()
            if name not in self._played_once:
                self._played_once.add(name)
                self.played.emit(self.detail.row.uuid, name)

    def _back(self) -> None:
        self.playback.unload()
        self.back.emit()


class SessionsPage(QStackedWidget):
    export_requested = Signal(list)
    played = Signal(str, str)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = SessionList()
        self.detail = SessionDetailView()
        self.addWidget(self.list)
        self.addWidget(self.detail)
        self.list.opened.connect(self.open_session)
        self.list.export_requested.connect(self.export_requested)
        self.detail.back.connect(self.show_list)
        self.detail.played.connect(self.played)
        self.detail.delete_requested.connect(self.delete_requested)

    def refresh(self) -> None:
        if self.currentWidget() is self.list:
            self.list.refresh()

    def open_session(self, uuid: str) -> None:
        if self.detail.show_session(uuid):
            self.setCurrentWidget(self.detail)

    def show_list(self) -> None:
        self.detail.playback.unload()
        self.setCurrentWidget(self.list)
        self.list.refresh()

    def leave(self) -> None:
        """The console is closing or another page is shown: stop playback."""
        self.detail.playback.unload()
