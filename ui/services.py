"""What the UI is given to work with; built once by the composition root (ui/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def close(self) -> None:
        """Stop the devices (finalizing any take) and close the database."""
        if self.recorder is not None:
            self.recorder.close()
        if self.db is not None:
            try:
                from kiosk.db import close_database
                close_database()
            except ImportError:
                self.db.close()
