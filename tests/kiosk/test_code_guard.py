"""Interview codes cannot be tried without limit (issue 11, item 5): the real database, a scheduled interview, the
session store's own code lookup."""

from __future__ import annotations

import json

import pytest

from kiosk import code_guard
from kiosk.admin_auth import LOCK_BASE_S, MAX_TRIES, SettingsStore, db_audit
from kiosk.db.database import close_database
from kiosk.db.models import AuditLog
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore

CODE = "BX-4711"


class WallClock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(data_dir):
    sessions = SessionStore.open(DataDir(data_dir))
    sessions.schedule("general", code=CODE, candidate_name="Zoë Ünal")
    yield sessions
    close_database()


def guard_on(clock: WallClock) -> code_guard.CodeGuard:
    """A guard as the app builds one (the database's settings, audited as the system), on a clock we move."""
    return code_guard.CodeGuard(SettingsStore(), clock=clock, audit=db_audit("system"))


def test_five_wrong_codes_lock_code_entry_with_a_growing_delay(store, expect_log):
    expect_log("kiosk.code_guard", r"interview code entry locked for 30 s after 5 wrong codes")
    expect_log("kiosk.code_guard", r"interview code entry locked for 60 s after 5 wrong codes")
    clock = WallClock()
    guard = guard_on(clock)
    looked_up: list[str] = []

    def find(code):
        looked_up.append(code)
        return store.find_plan(code)

    assert [guard.attempt(f"WRONG{n}", find).tries_left for n in range(MAX_TRIES - 1)] == [4, 3, 2, 1]
    locked = guard.attempt("WRONG5", find)
    assert locked.plan is None and locked.locked_for_s == LOCK_BASE_S and locked.tries_left == 0

    # While locked even the right code is refused, and not even looked up; a restart does not reset it.
    clock.t += 10
    restarted = guard_on(clock)
    refused = restarted.attempt(CODE, find)
    assert refused.plan is None and refused.locked_for_s == LOCK_BASE_S - 10 and len(looked_up) == MAX_TRIES

    clock.t += LOCK_BASE_S
    for n in range(MAX_TRIES - 1):
        assert restarted.attempt(f"AGAIN{n}", find).locked_for_s == 0
    assert restarted.attempt("AGAIN5", find).locked_for_s == 2 * LOCK_BASE_S      # the second run waits longer

    clock.t += 2 * LOCK_BASE_S
    accepted = restarted.attempt(" bx-4711 ", find)
    assert accepted.plan is not None and accepted.plan.code == CODE and accepted.locked_for_s == 0
    assert restarted.attempt("WRONG", find).tries_left == MAX_TRIES - 1              # a good code starts afresh

    actions = [(row.actor, row.action) for row in AuditLog.select().where(AuditLog.action.startswith("code."))
               .order_by(AuditLog.id)]
    assert actions.count(("system", "code.wrong")) == 2 * (MAX_TRIES - 1) + 1
    assert actions.count(("system", "code.locked")) == 2
    details = json.dumps([row.detail for row in AuditLog.select().where(AuditLog.action.startswith("code."))])
    assert "WRONG" not in details and "AGAIN" not in details and CODE not in details   # never the code itself


def test_staff_can_lift_the_lockout(store, expect_log):
    expect_log("kiosk.code_guard", r"locked")
    clock = WallClock()
    guard = guard_on(clock)
    for n in range(MAX_TRIES):
        guard.attempt(f"WRONG{n}", store.find_plan)
    assert guard.locked_for() == LOCK_BASE_S
    guard.clear(by="admin")
    assert guard.locked_for() == 0 and guard.attempt(CODE, store.find_plan).plan is not None
    assert AuditLog.select().where(AuditLog.action == "code.unlocked").count() == 1
