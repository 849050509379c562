"""Interview codes typed at the screen: after MAX_TRIES wrong ones in a row, a delay that grows with every further
run (30 s, 60 s, 120 s, ... up to 15 minutes), like the admin PIN pad's. The count lives in the database (a restart
does not reset it) and every wrong code and lockout is audited, never the code itself.

    guard = code_guard.for_database()
    attempt = guard.attempt(code, store.find_plan)     # the code is not even looked up while locked
    attempt.plan                                       # the interview's plan, or None
    attempt.locked_for_s                               # > 0: say "try again in ..." and take no code until then
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.admin_auth import LOCK_BASE_S, MAX_TRIES, KeyValueStore, Lockout, SettingsStore, db_audit

log = logging.getLogger(__name__)

KEY_STATE = "codes.lockout"
CODE_LOCK_MAX_S = 900.0      # a booth must not stay closed to candidates for long: staff can clear it sooner


@dataclass(frozen=True)
class CodeAttempt:
    plan: Any = None                 # what find() returned for a good code
    locked_for_s: float = 0.0        # > 0: no code is taken for this long
    tries_left: int = MAX_TRIES      # wrong codes left before the next lockout


class CodeGuard:
    """Thread-safe; `clock` is wall-clock seconds (injectable for tests)."""

    def __init__(self, store: KeyValueStore, clock: Callable[[], float] = time.time,
                 audit: Callable[[str, dict], None] | None = None) -> None:
        self._lockout = Lockout(store, KEY_STATE, clock, MAX_TRIES, LOCK_BASE_S, CODE_LOCK_MAX_S)
        self._audit = audit or (lambda action, details: None)
        self._lock = threading.Lock()

    def locked_for(self) -> float:
        with self._lock:
            return self._lockout.remaining()

    def attempt(self, code: str, find: Callable[[str], Any]) -> CodeAttempt:
        with self._lock:
            remaining = self._lockout.remaining()
            if remaining > 0:
                return CodeAttempt(None, remaining, 0)
            plan = find(code)
            if plan is not None:
                self._lockout.reset()
                return CodeAttempt(plan)
            locked_for = self._lockout.failed()
            result = CodeAttempt(None, locked_for, 0 if locked_for else self._lockout.tries_left())
        if locked_for:
            log.warning("interview code entry locked for %.0f s after %d wrong codes", locked_for, MAX_TRIES)
            self._audit("code.locked", {"seconds": round(locked_for)})
        else:
            self._audit("code.wrong", {"tries_left": result.tries_left})
        return result

    def clear(self, by: str = "admin") -> None:
        """Lift a lockout (staff at the admin console)."""
        with self._lock:
            self._lockout.reset()
        self._audit("code.unlocked", {"by": by})


def for_database() -> CodeGuard:
    """The guard kept in the open database, audited there as the system."""
    return CodeGuard(SettingsStore(), audit=db_audit("system"))
