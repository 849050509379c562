"""EventBus -> Qt signal. The bus calls back on the publishing thread; the signal is queued to the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from kiosk.events import Event, EventBus


class EventBridge(QObject):
    event = Signal(str, dict)          # (kind, data), delivered on the thread this object lives in

    def __init__(self, bus: EventBus, prefix: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = bus.subscribe(self._on_event, prefix)

    def _on_event(self, event: Event) -> None:
        # Emitting from a worker thread to receivers in the GUI thread is a queued connection (AutoConnection).
        self.event.emit(event.kind, dict(event.data))

    def close(self) -> None:
        self._unsubscribe()
