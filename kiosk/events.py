"""A small thread-safe event bus: the engine publishes, the UI and the CLI subscribe.

Callbacks run on the publishing thread; a Qt observer re-posts to its own thread (see ui/bridge.py). A failing
subscriber is logged and never breaks the publisher (the recorder must not stop because a listener raised).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str                      # e.g. "recording.started", "camera.lost", "status"
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}


Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[tuple[str, Listener]] = []

    def subscribe(self, listener: Listener, prefix: str = "") -> Callable[[], None]:
        """Call `listener` for every event whose kind starts with `prefix`. Returns an unsubscribe function."""
        entry = (prefix, listener)
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)
        return unsubscribe

    def publish(self, kind: str, **data: Any) -> Event:
        event = Event(kind, data)
        with self._lock:
            listeners = [l for p, l in self._listeners if kind.startswith(p)]
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken observer must never end a take
                log.exception("event listener failed on %s", kind)
        return event
