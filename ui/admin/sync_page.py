"""Sync: the upload queue with live progress, the last error and "Sync now"; and the retention settings.

Everything shown comes from kiosk/ (kiosk.sync.worker's queue and events, kiosk.sync.overview); progress
arrives as "sync.progress" / "sync.item" events through the ui bridge, on the GUI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from kiosk import config as configmod
from kiosk.config import ConfigError
from kiosk.sync import tus, worker as sync_worker
from kiosk.sync.overview import sync_overview
from ui.admin.common import human_bytes, local_time, metrics_for
from ui.bridge import EventBridge

log = logging.getLogger("ui.admin")

QUEUE_COLUMNS = ("File", "Interview", "Size", "Status", "Progress")
RECENT_SYNCED = 20             # synced files listed below the waiting ones
REFRESH_MS = 5000              # new files queued by the uploader itself publish no event: look again now and then

STATUS_TEXT = {"pending": "waiting", "uploading": "uploading", "synced": "synced", "blocked": "blocked (refused)",
               "failed": "failed (file problem)"}


def _item(text: str, tooltip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _percent(offset: int | None, size: int | None) -> int:
    if not size:
        return 0
    return max(0, min(100, int(100 * (offset or 0) / size)))


class SyncPage(QWidget):
    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        m = metrics_for(self)
        title = QLabel("Sync")
        title.setProperty("role", "title")
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.current_label = QLabel()
        self.current_label.setWordWrap(True)
        self.current_bar = QProgressBar()
        self.current_bar.setRange(0, 1000)
        self.current_bar.setMinimumHeight(m.unit)
        self.table = QTableWidget(0, len(QUEUE_COLUMNS))
        self.table.setHorizontalHeaderLabels(QUEUE_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setDefaultSectionSize(m.touch)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.last_error = QLabel()
        self.last_error.setWordWrap(True)
        self.last_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sync_now_button = QPushButton("Sync now")
        self.sync_now_button.setProperty("role", "primary")
        self.sync_now_button.setMinimumHeight(m.touch)
        self.sync_now_button.setToolTip("Upload now whatever waits, and try the blocked and failed files again.")
        self.sync_now_button.clicked.connect(self.sync_now)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.sync_now_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(max(4, m.unit // 2))
        layout.addWidget(title)
        layout.addWidget(self.state_label)
        layout.addLayout(buttons)
        layout.addWidget(self.current_label)
        layout.addWidget(self.current_bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.last_error)
        self.rows: list[dict] = []
        self._row_of: dict[int, int] = {}          # SyncState id -> table row
        self._bridge: EventBridge | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # --- the running uploader
    def worker(self):
        """The app's uploader (services.sync), else the one this process started, else None (sync off)."""
        return getattr(self.services, "sync", None) or sync_worker.running()

    # --- events: subscribed only while the page is on screen (the console is deleted when it closes)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._bridge is None:
            self._bridge = EventBridge(self.services.bus, prefix="sync.", parent=self)
            self._bridge.event.connect(self._on_event)
        self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.leave()

    def leave(self) -> None:
        self.timer.stop()
        if self._bridge is not None:
            self._bridge.close()
            self._bridge.deleteLater()
            self._bridge = None

    def _on_event(self, kind: str, data: dict) -> None:
        if kind == "sync.progress":
            self._show_progress(data.get("id"), data.get("file", ""), data.get("offset"), data.get("size"))
        elif kind == "sync.item":
            self.refresh()

    def _show_progress(self, row_id, file: str, offset, size) -> None:
        self.current_label.setText(f"Uploading {file}: {human_bytes(offset)} of {human_bytes(size)}")
        self.current_bar.setValue(int(1000 * (offset or 0) / size) if size else 0)
        index = self._row_of.get(row_id)
        if index is not None:
            self.table.setItem(index, 3, _item(STATUS_TEXT["uploading"]))
            self.table.setItem(index, 4, _item(f"{_percent(offset, size)} %"))

    # --- what is shown
    def refresh(self) -> None:
        config = self.services.ctx.config
        worker = self.worker()
        overview = sync_overview(config)
        if worker is not None:
            self.state_label.setText(f"Sync is on: uploading to {tus.safe_url(worker.server_url)}.")
        elif overview.enabled:
            problem = sync_worker.start_problem() or "the uploader is not running"
            self.state_label.setText(f"Sync is switched on but not running: {problem}")
        else:
            where = f" ({config.source})" if config.source else ""
            self.state_label.setText(
                "Sync is off: recordings stay on this kiosk. To turn it on, set sync.enabled = true and "
                f"sync.server_url (the tus server's upload URL) in the [sync] section of kiosk.toml{where}, "
                "check it with 'kiosk config check', then restart the kiosk (see docs/sync.md).")
        self.sync_now_button.setEnabled(worker is not None)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(overview.counts.items())) or "nothing queued"
        self.summary.setText(f"Files: {counts}. Waiting to upload: {human_bytes(overview.pending_bytes)}. "
                             f"Last upload finished: {local_time(overview.last_synced_at)}.")
        self.rows = sync_worker.sync_queue(recent_synced=RECENT_SYNCED)
        self._fill_table()
        current = worker.current if worker is not None else None
        if current:
            self._show_progress(current.get("id"), current.get("file", ""), current.get("offset"),
                                current.get("size"))
        else:
            self.current_label.setText("No upload in progress.")
            self.current_bar.setValue(0)
        # The newest error of a file still not synced (an error that was overcome by a later upload is history).
        name, error = overview.errors[0] if overview.errors else ("", "")
        self.last_error.setProperty("role", "error" if error else "")
        self.last_error.setText(f"Last error ({name}): {error}" if error else "Last error: none")
        self.last_error.style().unpolish(self.last_error)
        self.last_error.style().polish(self.last_error)

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.rows))
        self._row_of = {}
        for index, row in enumerate(self.rows):
            self._row_of[row["id"]] = index
            kind = "session data" if row["kind"] == "metadata" else "recording"
            interview = row["interview"] or ""
            progress = "100 %" if row["status"] == "synced" else f"{_percent(row['offset'], row['size'])} %"
            status = STATUS_TEXT.get(row["status"], row["status"])
            if row["status"] == "synced":
                status = f"synced {local_time(row['synced_at'])}"
            self.table.setItem(index, 0, _item(row["file"], kind))
            self.table.setItem(index, 1, _item(interview[:8], interview))
            self.table.setItem(index, 2, _item(human_bytes(row["size"])))
            self.table.setItem(index, 3, _item(status, row["last_error"] or ""))
            self.table.setItem(index, 4, _item(progress))

    # --- action
    def sync_now(self) -> None:
        worker = self.worker()
        if worker is None:
            return
        try:
            worker.sync_now(retry_stopped=True)
        except Exception as exc:         # e.g. the database is busy: say so, the admin can press again
            log.exception("sync now failed")
            self.last_error.setText(f"Sync now did not work: {exc}. Try again in a moment.")
            return
        self.refresh()


class RetentionPage(QWidget):
    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        m = metrics_for(self)
        title = QLabel("Retention")
        title.setProperty("role", "title")
        explain = QLabel("Recordings can be deleted automatically some days after they are safe elsewhere. "
                         "0 days keeps everything forever.")
        explain.setWordWrap(True)
        explain.setProperty("role", "hint")
        self.days = QSpinBox()
        self.days.setRange(0, 3650)
        self.days.setSuffix(" days")
        self.requires_sync = QCheckBox("Only after the recording was uploaded (synced)")
        self.requires_export = QCheckBox("Only after the recording was exported")
        self.save_button = QPushButton("Save")
        self.save_button.setProperty("role", "primary")
        for widget in (self.days, self.requires_sync, self.requires_export, self.save_button):
            widget.setMinimumHeight(m.touch)
        self.save_button.clicked.connect(self.save)
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Delete recordings after", self.days)
        form.addRow("", self.requires_sync)
        form.addRow("", self.requires_export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(explain)
        layout.addLayout(form)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def refresh(self) -> None:
        config = self.services.ctx.config
        self.days.setValue(config["storage.retention_days"])
        self.requires_sync.setChecked(config["storage.retention_requires_sync"])
        self.requires_export.setChecked(config["storage.retention_requires_export"])
        self.status.setText("")

    def save(self) -> None:
        changes = {"storage.retention_days": self.days.value(),
                   "storage.retention_requires_sync": self.requires_sync.isChecked(),
                   "storage.retention_requires_export": self.requires_export.isChecked()}
        try:
            path = configmod.save_settings(self.services.ctx.config, changes)
        except (ConfigError, OSError) as exc:
            self.status.setProperty("role", "error")
            self.status.setText(f"Not saved: {exc}")
            return
        try:
            self.services.store.audit("admin", "settings.retention", str(path), **changes)
        except Exception:
            logging.getLogger("ui.admin").exception("could not audit the retention change")
        self.status.setProperty("role", "")
        self.status.setText(f"Saved to {path}.")
