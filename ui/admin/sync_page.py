"""Sync status (files by state, bytes waiting, last errors) and the retention settings."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (QCheckBox, QFormLayout, QLabel, QListWidget, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from kiosk import stats
from kiosk.config import ConfigError
from ui.admin.common import human_bytes, local_time, metrics_for


class SyncPage(QWidget):
    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        title = QLabel("Sync")
        title.setProperty("role", "title")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.errors = QListWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Last errors"))
        layout.addWidget(self.errors, 1)

    def refresh(self) -> None:
        o = stats.sync_overview(self.services.ctx.config)
        state = f"on, to {o.server}" if o.enabled else "off (sync.enabled = false)"
        counts = ", ".join(f"{n} {status}" for status, n in sorted(o.counts.items())) or "nothing queued"
        self.summary.setText(f"Sync is {state}.\nFiles: {counts}.\nWaiting to upload: {human_bytes(o.pending_bytes)}."
                             f"\nLast upload finished: {local_time(o.last_synced_at)}.")
        self.errors.clear()
        for name, error in o.errors:
            self.errors.addItem(f"{name}: {error}")
        if not o.errors:
            self.errors.addItem("none")


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
            path = stats.save_settings(self.services.ctx.config, changes)
        except (ConfigError, OSError) as exc:
            self.status.setProperty("role", "error")
            self.status.setText(f"Not saved: {exc}")
            return
        try:
            from kiosk.db.models import AuditLog
            AuditLog.record("admin", "settings.retention", str(path), **changes)
        except Exception:
            logging.getLogger("ui.admin").exception("could not audit the retention change")
        self.status.setProperty("role", "")
        self.status.setText(f"Saved to {path}.")
