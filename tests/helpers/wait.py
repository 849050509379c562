"""Waiting in tests for something another thread or process does, with a bound (a loaded 2-core CI machine is slow,
so timeouts are generous; the condition, not the clock, ends a wait that succeeds)."""

from __future__ import annotations

import time
from typing import Callable


def poll(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """True as soon as `predicate()` is true; False once `timeout` seconds have passed without."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Like poll(), but a timeout fails the test naming what was awaited."""
    if not poll(predicate, timeout, interval=0.05):
        raise AssertionError(f"timed out waiting for {what} within {timeout} s")
