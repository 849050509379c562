"""The admin console: sessions (list, detail, playback), statistics, devices, export, sync and retention.

Self-contained: the app shows it after the PIN pad and hides it on `closed` (Close pressed, or idle for
ui.idle_timeout_s — never while an export runs). All figures and actions come from kiosk/ (stats, export).
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QButtonGroup, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from kiosk.transcripts import engine as transcript_engine
from ui.admin.common import admin_stylesheet, metrics_for
from ui.admin.devices_page import DevicesPage
from ui.admin.export_page import ExportPage
from ui.admin.sessions_page import SessionsPage
from ui.admin.stats_page import StatisticsPage
from ui.admin.sync_page import RetentionPage, SyncPage

log = logging.getLogger("ui.admin")

ACTIVITY_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin,
                   QEvent.Type.Wheel, QEvent.Type.MouseMove}


class AdminConsole(QWidget):
    """Signal closed(): the admin left (or the console went idle); the host returns to the attract screen."""

    closed = Signal()
    erased = Signal(str)                 # uuid: the interview is gone (every copy, rows, audit written)
    _erased = Signal(str, str)           # from the erasing thread: uuid, error text ("" when done)

    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("AdminConsole")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setProperty("screen", True)
        self.setStyleSheet(admin_stylesheet(self))
        m = metrics_for(self)

        self.sessions = SessionsPage()
        self.statistics = StatisticsPage(services)
        self.devices = DevicesPage(services)
        self.export = ExportPage(services)
        self.sync = SyncPage(services)
        self.retention = RetentionPage(services)
        self.pages = QStackedWidget()
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        nav_row = QHBoxLayout()
        self.nav_buttons: dict[str, QPushButton] = {}
        for name, page in (("Sessions", self.sessions), ("Statistics", self.statistics), ("Devices", self.devices),
                           ("Export", self.export), ("Sync", self.sync), ("Retention", self.retention)):
            self.pages.addWidget(page)
            button = QPushButton(name)
            button.setCheckable(True)
            button.setMinimumHeight(m.touch)
            button.clicked.connect(lambda _=False, p=page: self.show_page(p))
            self.nav.addButton(button)
            nav_row.addWidget(button)
            self.nav_buttons[name] = button
        nav_row.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.setProperty("role", "danger")
        self.close_button.setMinimumHeight(m.touch)
        self.close_button.clicked.connect(lambda: self.close_console("closed"))
        nav_row.addWidget(self.close_button)
        title = QLabel("Admin")
        title.setProperty("role", "title")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(m.unit, m.unit, m.unit, m.unit)
        layout.setSpacing(max(4, m.unit // 2))
        header = QHBoxLayout()
        header.addWidget(title)
        header.addLayout(nav_row, 1)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)

        self.sessions.export_requested.connect(self._export_selected)
        self.sessions.played.connect(self._audit_playback)
        self.sessions.delete_requested.connect(self._delete_session)
        self._erased.connect(self._on_erased)
        # Asks the admin before an erasure; a test replaces it.
        self.confirm = lambda text: QMessageBox.question(self, "Delete", text) == QMessageBox.StandardButton.Yes
        self.export.running_changed.connect(self._on_export_running)

        config = services.ctx.config
        self.sessions.detail.transcript.set_off_notice(transcript_engine.off_reason(config))
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(int(config["ui.idle_timeout_s"] * 1000))
        self.idle_timer.timeout.connect(self._on_idle)
        self._watching = False
        self.show_page(self.sessions)

    # --- pages
    def show_page(self, page: QWidget) -> None:
        current = self.pages.currentWidget()
        if current is not page and hasattr(current, "leave"):
            current.leave()
        self.pages.setCurrentWidget(page)
        for name, button in self.nav_buttons.items():
            button.setChecked(self.pages.widget(list(self.nav_buttons).index(name)) is page)
        try:
            page.refresh()
        except Exception:
            log.exception("the admin page %s could not be shown", type(page).__name__)

    def _export_selected(self, uuids: list[str]) -> None:
        self.export.set_selection(uuids)
        self.show_page(self.export)

    # --- open / close / idle
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._watching:
            QApplication.instance().installEventFilter(self)
            self._watching = True
        self.idle_timer.start()
        current = self.pages.currentWidget()
        if hasattr(current, "refresh"):
            current.refresh()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._stop_watching()

    def _stop_watching(self) -> None:
        if self._watching:
            QApplication.instance().removeEventFilter(self)
            self._watching = False
        self.idle_timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY_EVENTS and not self.export.is_running:
            self.idle_timer.start()
        return False

    def _on_export_running(self, running: bool) -> None:
        # A long export is not idleness: the console stays until it ends.
        if running:
            self.idle_timer.stop()
        elif self.isVisible():
            self.idle_timer.start()
        self.close_button.setEnabled(not running)

    def _on_idle(self) -> None:
        if self.export.is_running:
            return
        self.close_console("idle")

    def close_console(self, reason: str = "closed") -> None:
        if self.export.is_running:
            return
        for page in (self.sessions, self.devices):
            page.leave()
        self.sessions.show_list()
        self._stop_watching()
        self._audit("admin.logout", "", reason=reason)
        self.closed.emit()

    # --- erasure
    def _delete_session(self, uuid: str) -> None:
        """Ask, then erase the interview (kiosk.sessions.store.delete_interview) off the UI thread: hashing the
        files for the audit and vacuuming the database take seconds for a long take."""
        if not self.confirm(f"Delete interview {uuid} for good? Its recordings, transcript and data are erased "
                            f"from this kiosk (the audit log keeps that it was deleted, by whom and when)."):
            return
        self.sessions.detail.playback.unload()
        self.sessions.detail.delete_button.setEnabled(False)

        def work() -> None:
            try:
                self.services.store.delete_interview(uuid, actor="admin", reason="deleted in the admin console")
                self._erased.emit(uuid, "")
            except Exception as exc:       # reported on the page; the interview stays as it was
                log.exception("erasing interview %s failed", uuid)
                self._erased.emit(uuid, str(exc))
        threading.Thread(target=work, name="erase-interview", daemon=True).start()

    def _on_erased(self, uuid: str, error: str) -> None:
        self.sessions.detail.delete_button.setEnabled(True)
        if error:
            QMessageBox.warning(self, "Not deleted", f"The interview was not deleted: {error}")
            return
        self.sessions.show_list()
        self.erased.emit(uuid)

    # --- audit
    def _audit_playback(self, uuid: str, name: str) -> None:
        self._audit("playback", uuid, file=name)

    def _audit(self, action: str, target: str, **detail) -> None:
        try:
            self.services.store.audit("admin", action, target, **detail)
        except Exception:
            log.exception("could not write the audit entry %s", action)
