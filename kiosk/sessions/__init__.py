"""Interview sessions: the store (write side), queries (read side), the one interview document, start-up
recovery, retention and interview templates. See kiosk/sessions/store.py for the life of a session."""

from kiosk.sessions.errors import SessionError, SessionNotFound
from kiosk.sessions.recovery import RecoveryReport
from kiosk.sessions.store import SessionStore, WalkIn

__all__ = ["RecoveryReport", "SessionError", "SessionNotFound", "SessionStore", "WalkIn"]
