"""Export: pick sessions (from the list) or a date range, pick a target (USB sticks by mount point), run it off the
UI thread with a progress bar showing bytes and time left; Cancel leaves nothing on the stick."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from PySide6.QtCore import QDate, QThread, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDateEdit, QGridLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QRadioButton, QVBoxLayout, QWidget)

from kiosk import export
from ui.admin.common import human_bytes, metrics_for


class ExportWorker(QThread):
    """Runs kiosk.export.export_sessions in its own thread; reports through queued signals."""

    progress = Signal(object)      # export.ExportProgress
    succeeded = Signal(object)     # export.ExportResult
    failed = Signal(str, bool)     # message, cancelled

    def __init__(self, store, target: Path, uuids: list[str] | None, since: dt.date | None, until: dt.date | None,
                 parent=None) -> None:
        super().__init__(parent)
        self.store, self.target, self.uuids, self.since, self.until = store, target, uuids, since, until
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            result = export.export_sessions(self.store, self.target, since=self.since, until=self.until,
                                            uuids=self.uuids, actor="admin", progress=self.progress.emit,
                                            cancel=self.cancel_event)
        except export.ExportCancelled as exc:
            self.failed.emit(str(exc), True)
        except export.ExportError as exc:
            self.failed.emit(str(exc), False)
        except Exception as exc:  # an unexpected failure must reach the admin, not vanish with the thread
            import logging
            logging.getLogger("ui.admin").exception("export failed")
            self.failed.emit(f"The export failed: {exc}", False)
        else:
            self.succeeded.emit(result)
        finally:
            try:
                from kiosk.db.database import db
                db.close()                 # this thread's connection
            except Exception:
                pass


class ExportPage(QWidget):
    running_changed = Signal(bool)

    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        m = metrics_for(self)
        self.uuids: list[str] = []
        self.worker: ExportWorker | None = None
        self.last_result: export.ExportResult | None = None

        self.by_selection = QRadioButton("The sessions selected in the list")
        self.by_dates = QRadioButton("All sessions from")
        group = QButtonGroup(self)
        for button in (self.by_selection, self.by_dates):
            button.setMinimumHeight(m.touch)
            group.addButton(button)
        self.since = QDateEdit(QDate.currentDate().addDays(-7))
        self.until = QDateEdit(QDate.currentDate())
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMinimumHeight(m.touch)
        self.by_dates.setChecked(True)
        self.target = QComboBox()
        self.target.setEditable(True)
        self.target.setMinimumHeight(m.touch)
        self.target.lineEdit().setPlaceholderText("Plug in a USB stick, or type a folder")
        self.refresh_button = QPushButton("Look for USB sticks")
        self.start_button = QPushButton("Export")
        self.start_button.setProperty("role", "primary")
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setProperty("role", "danger")
        for button in (self.refresh_button, self.start_button, self.cancel_button):
            button.setMinimumHeight(m.touch)
        self.refresh_button.clicked.connect(self.refresh_targets)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setWordWrap(True)

        title = QLabel("Export to a USB stick (BagIt, checksummed and verified)")
        title.setProperty("role", "title")
        grid = QGridLayout()
        grid.addWidget(self.by_selection, 0, 0, 1, 4)
        grid.addWidget(self.by_dates, 1, 0)
        grid.addWidget(self.since, 1, 1)
        grid.addWidget(QLabel("to"), 1, 2)
        grid.addWidget(self.until, 1, 3)
        grid.addWidget(QLabel("Target"), 2, 0)
        grid.addWidget(self.target, 2, 1, 1, 2)
        grid.addWidget(self.refresh_button, 2, 3)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.set_selection([])

    # --- choices
    def set_selection(self, uuids: list[str]) -> None:
        self.uuids = list(uuids)
        self.by_selection.setText(f"The {len(self.uuids)} session(s) selected in the list")
        self.by_selection.setEnabled(bool(self.uuids))
        (self.by_selection if self.uuids else self.by_dates).setChecked(True)

    def refresh(self) -> None:
        if not self.is_running:
            self.refresh_targets()

    def refresh_targets(self) -> None:
        typed = self.target.currentText()
        self.target.clear()
        for t in export.removable_targets():
            self.target.addItem(f"{t.mount_point} — {t.label}, {human_bytes(t.free_bytes)} free", str(t.mount_point))
        if typed and self.target.findData(typed) < 0:
            self.target.setEditText(typed)
        if self.target.count() == 0 and not typed:
            self.status.setText("No USB stick found. Plug one in and press “Look for USB sticks”.")

    def target_path(self) -> Path | None:
        data = self.target.currentData()
        if data and self.target.currentText() == self.target.itemText(self.target.currentIndex()):
            return Path(data)
        text = self.target.currentText().strip()
        return Path(text) if text else None

    # --- running
    @property
    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start(self) -> None:
        if self.is_running:
            return
        target = self.target_path()
        if target is None:
            self.status.setText("Choose a target: plug in a USB stick and press “Look for USB sticks”.")
            return
        if self.by_selection.isChecked():
            uuids, since, until = self.uuids, None, None
        else:
            uuids, since, until = None, self.since.date().toPython(), self.until.date().toPython()
        self.last_result = None
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.worker = ExportWorker(self.services.store, target, uuids, since, until, self)
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("Cancelling…")

    def wait(self, ms: int = 30000) -> bool:
        return self.worker.wait(ms) if self.worker is not None else True

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.by_selection, self.by_dates, self.since, self.until, self.target, self.refresh_button):
            widget.setEnabled(not running)
        if not running:
            self.by_selection.setEnabled(bool(self.uuids))
        self.running_changed.emit(running)

    def _on_progress(self, p: export.ExportProgress) -> None:
        self.progress.setValue(int(p.fraction * 1000))
        phase = {"copy": "Copying", "verify": "Checking the copy", "done": "Done"}.get(p.phase, p.phase)
        left = f" · {p.eta_s:.0f} s left" if p.eta_s is not None and p.phase != "done" else ""
        self.status.setText(f"{phase}: {human_bytes(p.phase_bytes)} of {human_bytes(p.payload_bytes)}{left}")

    def _on_done(self, result: export.ExportResult) -> None:
        self.last_result = result
        self.progress.setValue(1000)
        self.status.setText(f"Exported {result.sessions} session(s), {result.files} file(s), "
                            f"{human_bytes(result.payload_bytes)} to {result.path} in {result.seconds:.1f} s. "
                            f"The copy was read back and matches ({result.modes}). You can remove the stick.")

    def _on_failed(self, message: str, cancelled: bool) -> None:
        self.progress.setValue(0)
        self.status.setText("Export cancelled; nothing was left on the stick." if cancelled else message)

    def _on_finished(self) -> None:
        self._set_running(False)
