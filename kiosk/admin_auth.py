"""The admin PIN: a salted scrypt hash, and a lockout that grows with every run of wrong tries.

Everything lives in a small key/value store (the database's Setting table in the app, a dict in a pinch), so the
hash and the lockout survive a restart: pulling the plug does not reset the counter. Wall-clock time is stored
because the monotonic clock restarts with the machine; a clock set backwards is capped so it cannot stretch a lockout
past its own length.

    auth = AdminAuth(SettingsStore())          # or AdminAuth(MemoryStore()) in a test
    auth.needs_pin()                           # True until `kiosk admin set-pin`: no admin console from the screen
    auth.set_pin("4711")
    result = auth.check("4711")                # CheckResult(ok=True, ...)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)

PIN_MIN_LEN = 4
PIN_MAX_LEN = 12
MAX_TRIES = 5                 # wrong tries in a row before the pad locks
LOCK_BASE_S = 30.0            # first lockout; doubles with each further lockout
LOCK_MAX_S = 3600.0           # ... up to one hour

# scrypt cost: n=2**14, r=8, p=1 takes ~55 ms and 16 MiB here: slow for a guesser, instant for a person.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2 ** 14, 8, 1, 32, 16

KEY_HASH = "admin.pin_hash"
KEY_STATE = "admin.pin_lockout"


class PinError(ValueError):
    """A PIN that cannot be used; the message says what a good one looks like."""


class KeyValueStore(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...


class MemoryStore(dict):
    """A store for tests and for a kiosk that runs without its database."""

    def set(self, key: str, value: Any) -> None:  # dict.get is already the right reader
        self[key] = value


class SettingsStore:
    """The database's Setting table (kiosk.db get_setting / set_setting), imported lazily."""

    def get(self, key: str, default: Any = None) -> Any:
        from kiosk.db.models import get_setting
        return get_setting(key, default)

    def set(self, key: str, value: Any) -> None:
        from kiosk.db.models import set_setting
        set_setting(key, value)


def db_audit(actor: str = "admin") -> Callable[[str, dict], None]:
    """An audit callback writing to the database's AuditLog."""
    def audit(action: str, details: dict) -> None:
        from kiosk.db.models import AuditLog
        AuditLog.record(actor, action, "", **details)
    return audit


def for_database(actor: str = "admin") -> "AdminAuth":
    """The PIN kept in the open database, audited there: what the app and `kiosk admin` use."""
    return AdminAuth(SettingsStore(), audit=db_audit(actor))


def validate_pin(pin: str) -> str:
    pin = pin.strip()
    if not pin.isdigit() or not pin.isascii():
        raise PinError("The PIN must be digits only (0-9).")
    if not PIN_MIN_LEN <= len(pin) <= PIN_MAX_LEN:
        raise PinError(f"The PIN must have {PIN_MIN_LEN} to {PIN_MAX_LEN} digits.")
    if len(set(pin)) == 1:
        raise PinError("The PIN must not be one digit repeated (like 0000); choose another.")
    return pin


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` (base64). The parameters travel with the hash so they can be raised later."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_hash(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        log.error("the stored admin PIN hash is damaged; set a new PIN with 'kiosk admin set-pin'")
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    locked_for_s: float = 0.0      # > 0: the pad is locked; try again after this many seconds
    tries_left: int = MAX_TRIES    # wrong tries left before the next lockout
    message: str = ""


class Lockout:
    """Wrong tries in a row, and a lockout that doubles with every further run of `max_tries` of them, kept under
    `key` in the store (so a restart does not reset it). Not thread-safe by itself: its owner holds a lock."""

    def __init__(self, store: KeyValueStore, key: str, clock: Callable[[], float], max_tries: int = MAX_TRIES,
                 base_s: float = LOCK_BASE_S, max_s: float = LOCK_MAX_S) -> None:
        self._store, self._key, self._clock = store, key, clock
        self.max_tries, self.base_s, self.max_s = max_tries, base_s, max_s

    def _state(self) -> dict:
        raw = self._store.get(self._key, None)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        state = {"failures": 0, "lockouts": 0, "locked_until": 0.0, "locked_at": 0.0}
        if isinstance(raw, dict):
            state.update({k: raw[k] for k in state if k in raw})
        return state

    def remaining(self) -> float:
        """Seconds until the next try is allowed (0: now)."""
        state = self._state()
        now = self._clock()
        until, at = float(state["locked_until"]), float(state["locked_at"])
        if until <= now:
            return 0.0
        # Clock set backwards: never wait longer than the lockout itself.
        return min(until - now, until - at)

    def tries_left(self) -> int:
        return max(0, self.max_tries - int(self._state()["failures"]))

    def duration(self, lockouts: int) -> float:
        """Length of the `lockouts`-th lockout (1-based): base, twice that, ... capped at max_s (for the PIN:
        30 s, 60 s, 120 s, ... up to an hour)."""
        return min(self.max_s, self.base_s * 2 ** max(0, lockouts - 1))

    def failed(self) -> float:
        """Count a wrong try; returns the lockout it starts (seconds), 0 when tries are left."""
        state = self._state()
        state["failures"] = int(state["failures"]) + 1
        duration = 0.0
        if state["failures"] >= self.max_tries:
            state["lockouts"] = int(state["lockouts"]) + 1
            duration = self.duration(state["lockouts"])
            now = self._clock()
            state.update(failures=0, locked_at=now, locked_until=now + duration)
        self._store.set(self._key, json.dumps(state))
        return duration

    def reset(self) -> None:
        state = self._state()
        if state["failures"] or state["lockouts"] or state["locked_until"]:
            self._store.set(self._key, json.dumps({"failures": 0, "lockouts": 0, "locked_until": 0.0,
                                                   "locked_at": 0.0}))


class AdminAuth:
    """PIN check with lockout. Thread-safe; `clock` is wall-clock seconds (injectable for tests)."""

    def __init__(self, store: KeyValueStore, clock: Callable[[], float] = time.time,
                 audit: Callable[[str, dict], None] | None = None) -> None:
        self._store = store
        self._audit = audit or (lambda action, details: None)
        self._lock = threading.Lock()
        self._lockout = Lockout(store, KEY_STATE, clock)

    def needs_pin(self) -> bool:
        """No PIN set yet: the admin console stays closed until one is set with `kiosk admin set-pin`."""
        return not self._store.get(KEY_HASH, None)

    def lock_remaining(self) -> float:
        with self._lock:
            return self._lockout.remaining()

    def tries_left(self) -> int:
        with self._lock:
            return self._lockout.tries_left()

    # --- actions
    def set_pin(self, pin: str, by: str = "admin") -> None:
        pin = validate_pin(pin)
        with self._lock:
            self._store.set(KEY_HASH, hash_pin(pin))
            self._lockout.reset()
        log.info("admin PIN set (by %s)", by)
        self._audit("admin.pin_set", {"by": by})

    def check(self, pin: str) -> CheckResult:
        with self._lock:
            remaining = self._lockout.remaining()
            if remaining > 0:
                return CheckResult(False, remaining, 0, f"Locked. Try again in {_human(remaining)}.")
            stored = self._store.get(KEY_HASH, None)
            if not stored:
                return CheckResult(False, 0.0, MAX_TRIES, "No PIN is set. Fix: set one with 'kiosk admin set-pin'.")
            if verify_hash(pin, stored):
                self._lockout.reset()
                ok = CheckResult(True, 0.0, MAX_TRIES, "")
            else:
                duration = self._lockout.failed()
                if duration:
                    ok = CheckResult(False, duration, 0,
                                     f"Wrong PIN {MAX_TRIES} times. Locked for {_human(duration)}.")
                else:
                    left = self._lockout.tries_left()
                    ok = CheckResult(False, 0.0, left, f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left.")
        if ok.ok:
            self._audit("admin.login", {})
        elif ok.locked_for_s > 0:
            log.warning("admin PIN pad locked for %.0f s after %d wrong tries", ok.locked_for_s, MAX_TRIES)
            self._audit("admin.locked", {"seconds": round(ok.locked_for_s)})
        else:
            self._audit("admin.pin_wrong", {"tries_left": ok.tries_left})
        return ok


def _human(seconds: float) -> str:
    seconds = max(1, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    minutes = (seconds + 59) // 60
    return f"{minutes} min"
