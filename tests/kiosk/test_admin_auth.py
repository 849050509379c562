"""The admin PIN: salted scrypt hash, lockout after 5 wrong tries with a growing delay, persisted state."""

from __future__ import annotations

import hashlib
import base64

import pytest

from kiosk import admin_auth
from kiosk.admin_auth import AdminAuth, MemoryStore, PinError


class FakeWallClock:
    """Wall-clock time under the test's control (the lockout is minutes long)."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_hash_is_salted_scrypt_and_verifies():
    first, second = admin_auth.hash_pin("2468"), admin_auth.hash_pin("2468")
    assert first != second                                   # a fresh salt each time
    scheme, n, r, p, salt, digest = first.split("$")
    assert scheme == "scrypt" and len(base64.b64decode(salt)) == admin_auth.SALT_BYTES
    recomputed = hashlib.scrypt(b"2468", salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    assert recomputed == base64.b64decode(digest)
    assert "2468" not in first
    assert admin_auth.verify_hash("2468", first) and not admin_auth.verify_hash("2469", first)


def test_damaged_hash_is_refused_and_logged(expect_log):
    expect_log("kiosk.admin_auth", r"damaged")
    assert not admin_auth.verify_hash("2468", "scrypt$garbage")


@pytest.mark.parametrize("bad", ["12", "1234567890123", "12a4", "1111", "١٢٣٤٥"])
def test_bad_pins_are_refused_with_a_reason(bad):
    with pytest.raises(PinError):
        admin_auth.validate_pin(bad)


def test_first_start_needs_a_pin_then_checks_it():
    store = MemoryStore()
    audited = []
    auth = AdminAuth(store, audit=lambda action, details: audited.append(action))
    assert auth.needs_pin()
    assert not auth.check("2468").ok
    auth.set_pin("2468")
    assert not auth.needs_pin()
    assert auth.check("2468").ok
    assert audited == ["admin.pin_set", "admin.login"]
    assert "2468" not in repr(store)


def test_five_wrong_tries_lock_with_a_growing_delay(expect_log):
    expect_log("kiosk.admin_auth", r"locked for")
    clock = FakeWallClock()
    store = MemoryStore()
    auth = AdminAuth(store, clock=clock)
    auth.set_pin("2468")
    delays = []
    for round_ in range(3):
        for attempt in range(admin_auth.MAX_TRIES - 1):
            result = auth.check("0000")
            assert not result.ok and result.locked_for_s == 0
            assert result.tries_left == admin_auth.MAX_TRIES - 1 - attempt
        locked = auth.check("0000")
        assert not locked.ok and locked.locked_for_s > 0
        delays.append(locked.locked_for_s)
        # While locked even the right PIN is refused.
        clock.t += locked.locked_for_s / 2
        assert not auth.check("2468").ok
        assert auth.lock_remaining() == pytest.approx(locked.locked_for_s / 2)
        clock.t += locked.locked_for_s / 2 + 0.01
        assert auth.lock_remaining() == 0
    assert delays[0] == admin_auth.LOCK_BASE_S and delays[1] == 2 * delays[0] and delays[2] == 2 * delays[1]
    # The right PIN after a lockout resets everything.
    assert auth.check("2468").ok
    assert auth.tries_left() == admin_auth.MAX_TRIES
    for _ in range(admin_auth.MAX_TRIES):
        result = auth.check("0000")
    assert result.locked_for_s == admin_auth.LOCK_BASE_S


def test_lockout_survives_a_restart_and_a_clock_set_back(expect_log):
    expect_log("kiosk.admin_auth", r"locked for")
    clock = FakeWallClock()
    store = MemoryStore()
    AdminAuth(store, clock=clock).set_pin("2468")
    for _ in range(admin_auth.MAX_TRIES):
        AdminAuth(store, clock=clock).check("1357")          # a new object each time = a restart
    restarted = AdminAuth(store, clock=clock)
    assert restarted.lock_remaining() == admin_auth.LOCK_BASE_S
    clock.t -= 10 * 86400                                     # someone sets the clock back ten days
    assert restarted.lock_remaining() == admin_auth.LOCK_BASE_S
    assert not restarted.check("2468").ok


def test_lock_duration_is_capped():
    lockout = admin_auth.Lockout(MemoryStore(), admin_auth.KEY_STATE, FakeWallClock())
    assert lockout.duration(1) == 30 and lockout.duration(2) == 60
    assert lockout.duration(50) == admin_auth.LOCK_MAX_S
