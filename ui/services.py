"""What the UI is given to work with; built once by the composition root (ui/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk import background
from kiosk.db import close_database
from kiosk.events import EventBus


@dataclass
class AppServices:
    ctx: Any                    # kiosk.cli.Context: .data (DataDir), .config (Config)
    bus: EventBus
    store: Any                  # kiosk.sessions.SessionStore
    db: Any                     # the open peewee database
    recorder: Any               # kiosk.recorder.Recorder (shared by the flow and the admin console)
    sessions: Any = None        # kiosk.flow.SessionsPort for the candidate flow (adapts `store`)
    auth: Any = None            # kiosk.admin_auth.AdminAuth for the PIN pad
    demo_badge: str = ""        # non-empty when demo devices stand in for missing ones
    background: Any = None      # kiosk.background.BackgroundJobs (sync uploader, retention) once started
    flow: Any = None            # kiosk.flow.Flow of the kiosk window (set by it): is a candidate at the kiosk?
    devices: Any = None         # kiosk.capture.health.DeviceWatch: is the booth ready (camera, microphone)?

    @property
    def sync(self):
        """The running kiosk.sync.worker.SyncWorker, or None (sync off, not started, or a bad sync setting)."""
        return self.background.sync if self.background is not None else None

    def take_in_progress(self) -> bool:
        return background.take_in_progress(self.recorder)

    def candidate_present(self) -> bool:
        return self.flow is not None and self.flow.candidate_present

    def start_background(self, retention_interval_s: float | None = None):
        """After the window is up: the sync uploader (when sync.enabled) and retention, both held back while a take
        is in progress. A job that cannot start is logged; the kiosk still records."""
        if self.background is None:
            interval = retention_interval_s or background.RETENTION_INTERVAL_S
            self.background = background.BackgroundJobs(self.ctx.config, self.ctx.data, busy=self.take_in_progress,
                                                        bus=self.bus, retention_interval_s=interval,
                                                        candidate_present=self.candidate_present).start()
        return self.background

    def stop_background(self, timeout: float = 5.0) -> None:
        """Bounded: an upload stops within one block (its offset is saved); called after the UI loop has ended."""
        if self.background is not None:
            self.background.stop(timeout)
            self.background = None

    def close(self) -> None:
        """Stop the background jobs and the devices (finalizing any take), then close the database."""
        self.stop_background()
        if self.devices is not None:
            self.devices.stop()
        if self.recorder is not None:
            self.recorder.close()
        if self.db is not None:
            close_database()
