"""The booth status document a kiosk uploads through its sync server every sync.status_interval_s, so the centre knows
which booths are alive and what they hold that has not arrived (`kiosk centre report` reads it).

No personal data: interview uuids (random ids), counts, bytes, times, device states and the kiosk's own error lines
(which name files by their uuid-based names). Never a candidate's name, code, reference or a transcript.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import peewee as pw

from kiosk import __version__, disk
from kiosk.config import Config
from kiosk.db.models import Event, Interview, SyncState, utcnow
from kiosk.events import EventBus
from kiosk.paths import DataDir
from kiosk.sync import tus
from kiosk.sync.overview import sync_overview

log = logging.getLogger(__name__)

FORMAT = "kiosk-status/1"
KIND = "status"                 # Upload-Metadata `kind` of a status document
MAX_SESSIONS_LISTED = 1000      # queued sessions, and synced ones of the last SYNCED_DAYS, listed by uuid
SYNCED_DAYS = 30
MAX_ERRORS = 5
_DEVICE_EVENTS = {"camera.lost": ("camera", "lost"), "camera.back": ("camera", "ok"),
                  "mic.lost": ("microphone", "lost"), "mic.back": ("microphone", "ok")}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value is not None else None


class DeviceHealth:
    """What the recorder last said about the camera and the microphone (from the bus; 'unknown' without a recorder,
    as in a headless `kiosk sync`)."""

    def __init__(self, bus: EventBus) -> None:
        self._lock = threading.Lock()
        self._state = {"camera": {"state": "unknown", "since": None}, "microphone": {"state": "unknown",
                                                                                    "since": None}}
        bus.subscribe(self._on_event, prefix="camera.")
        bus.subscribe(self._on_event, prefix="mic.")
        bus.subscribe(self._on_status, prefix="recorder.status")

    def _set(self, device: str, state: str) -> None:
        with self._lock:
            if self._state[device]["state"] != state:
                self._state[device] = {"state": state, "since": _iso(utcnow())}

    def _on_event(self, event) -> None:
        if event.kind in _DEVICE_EVENTS:
            self._set(*_DEVICE_EVENTS[event.kind])

    def _on_status(self, event) -> None:
        for device, key in (("camera", "camera"), ("microphone", "mic")):
            state = event.data.get(key)
            if isinstance(state, str) and state:
                self._set(device, state)

    def snapshot(self) -> dict:
        with self._lock:
            return {device: dict(value) for device, value in self._state.items()}


def status_document(config: Config, data: DataDir, kiosk_id: str, devices: DeviceHealth | None = None) -> dict:
    """The document as of now (reads the database of this data dir)."""
    now = utcnow()
    free = disk.free_bytes(data.recordings)
    overview = sync_overview(config)          # counts, bytes left and errors: the console's figures
    waiting = list(SyncState.select(SyncState, Interview.uuid).join(Interview)
                   .where(SyncState.status != "synced").order_by(SyncState.created_at, SyncState.id).objects())
    sessions: dict[str, dict] = {}
    for row in waiting:
        entry = sessions.setdefault(row.uuid, {"uuid": row.uuid, "files": 0, "bytes_left": 0, "statuses": []})
        entry["files"] += 1
        entry["bytes_left"] += max(0, (row.size or 0) - (row.offset or 0))
        if row.status not in entry["statuses"]:
            entry["statuses"].append(row.status)
    synced_since = now - dt.timedelta(days=SYNCED_DAYS)
    synced_ids = (SyncState.select(SyncState.interview).where(SyncState.interview.is_null(False))
                  .group_by(SyncState.interview)
                  .having(pw.fn.SUM(pw.Case(None, [(SyncState.status != "synced", 1)], 0)) == 0,
                          pw.fn.MAX(SyncState.synced_at) >= synced_since))
    synced = [uuid for (uuid,) in Interview.select(Interview.uuid).where(Interview.id.in_(synced_ids))
              .order_by(Interview.id.desc()).limit(MAX_SESSIONS_LISTED).tuples()]
    newest = (Interview.select(Interview.started_at, Interview.ended_at).where(Interview.started_at.is_null(False))
              .order_by(pw.fn.COALESCE(Interview.ended_at, Interview.started_at).desc()).first())
    last = (newest.ended_at or newest.started_at) if newest is not None else None
    day_ago = now - dt.timedelta(days=1)
    device_events = dict(Event.select(Event.kind, pw.fn.COUNT(Event.id))
                         .where(Event.kind.in_(list(_DEVICE_EVENTS)), Event.time >= day_ago)
                         .group_by(Event.kind).tuples())
    failed_today = Interview.select().where(Interview.status == "failed", Interview.created_at >= day_ago).count()
    listed = list(sessions.values())[:MAX_SESSIONS_LISTED]
    return {
        "format": FORMAT,
        "kiosk_id": kiosk_id,
        "version": __version__,
        "generated_at": _iso(now),
        "disk": {"free_bytes": free, "reserve_bytes": disk.reserve_bytes(config),
                 "hours_left": round(disk.hours_left(config, free), 2),
                 "bitrate_bps": disk.bitrate_bps(config), "profile": config["recording.profile"]},
        "queue": {"sessions": len(sessions), "files": sum(n for s, n in overview.counts.items() if s != "synced"),
                  "bytes_left": overview.pending_bytes, "by_status": overview.counts, "queued_sessions": listed,
                  "last_synced_at": _iso(overview.last_synced_at)},
        "synced_sessions": synced,
        "last_interview_at": _iso(last),
        "devices": {**(devices.snapshot() if devices is not None else
                       {"camera": {"state": "unknown", "since": None},
                        "microphone": {"state": "unknown", "since": None}}),
                    "last_24h": {"camera_lost": device_events.get("camera.lost", 0),
                                 "microphone_lost": device_events.get("mic.lost", 0),
                                 "failed_interviews": failed_today}},
        "last_errors": [{"file": name, "error": error[:300]} for name, error in overview.errors[:MAX_ERRORS]],
    }


class StatusReporter:
    """Uploads the status document when due (every sync.status_interval_s; 0 = never) through the worker's client."""

    def __init__(self, config: Config, data: DataDir, kiosk_id: str, bus: EventBus, path: Path) -> None:
        self.config = config
        self.data = data
        self.kiosk_id = kiosk_id
        self.interval_s = int(config["sync.status_interval_s"])
        self.devices = DeviceHealth(bus)
        self.path = path
        self._next_at = 0.0           # monotonic; 0 = due now (the first one goes out at start)
        self.last_url: str | None = None

    def due(self) -> bool:
        return self.interval_s > 0 and time.monotonic() >= self._next_at

    def seconds_to_due(self) -> float:
        return max(0.0, self._next_at - time.monotonic())

    def upload(self, client: tus.TusClient, should_pause: Callable[[], bool] | None = None) -> str | None:
        """Build and upload one document now; returns its upload URL, or None when it could not go (logged; the next
        one is due after the interval either way)."""
        self._next_at = time.monotonic() + self.interval_s
        document = status_document(self.config, self.data, self.kiosk_id, self.devices)
        content = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Rewritten each time: it is a report, not a recording (the uploaded copies are the history).
        self.path.write_bytes(content)
        stamp = document["generated_at"].replace(":", "").replace("-", "").split(".")[0].split("+")[0]
        metadata = {"filename": f"status-{self.kiosk_id}-{stamp}Z.json", "filetype": "application/json",
                    "kind": KIND, "kiosk_id": self.kiosk_id, "generated_at": document["generated_at"]}
        try:
            result = client.upload(self.path, tus.MemoryRecord(), metadata=metadata, should_pause=should_pause)
        except tus.Paused:
            self._next_at = 0.0       # a take started: send it once the take is over
            return None
        except (tus.TusError, OSError) as exc:
            log.info("booth status not uploaded (next try in %d s): %s", self.interval_s, exc)
            return None
        self.last_url = result.url
        log.info("booth status uploaded: %d queued session(s), %.1f h of recording left",
                 document["queue"]["sessions"], document["disk"]["hours_left"])
        return result.url
