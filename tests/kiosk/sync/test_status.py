"""The booth status document's parts that need no server: device health as the recorder reports it on the bus, the
last 24 h from the database, and the interval."""

from __future__ import annotations

import pytest

from kiosk.db.models import Event, Interview
from kiosk.events import EventBus
from kiosk.sync.status import DeviceHealth, StatusReporter, status_document
from kiosk.sync.worker import SyncWorker, sync_dir
from tests.helpers.sync import make_interview, sync_config

pytestmark = pytest.mark.usefixtures("database")     # `data` with its database open


def test_device_health_follows_the_recorders_events(data):
    bus = EventBus()
    devices = DeviceHealth(bus)
    assert {d: v["state"] for d, v in devices.snapshot().items()} == {"camera": "unknown", "microphone": "unknown"}
    # What the recorder publishes: its periodic status, then a loss and a return (kiosk/recorder.py).
    bus.publish("recorder.status", state="idle", camera="ok", mic="ok", frames_dropped=0)
    bus.publish("camera.lost", detail="http://10.0.0.7/cam: read timed out")
    snapshot = devices.snapshot()
    assert snapshot["camera"]["state"] == "lost" and snapshot["camera"]["since"]
    assert snapshot["microphone"]["state"] == "ok"
    bus.publish("camera.back", detail="reopened")
    bus.publish("mic.lost", detail="PulseAudio gone")
    assert {d: v["state"] for d, v in devices.snapshot().items()} == {"camera": "ok", "microphone": "lost"}
    interview = make_interview(data, media="bin", size=1000)
    Event.create(interview=interview, kind="camera.lost", detail={"detail": "x"})
    Interview.create(code="B2", candidate_name="X Y", template="default", status="failed")
    document = status_document(sync_config("http://127.0.0.1:9/files/"), data, "booth-1", devices)
    assert document["devices"]["camera"]["state"] == "ok" and document["devices"]["microphone"]["state"] == "lost"
    assert document["devices"]["last_24h"] == {"camera_lost": 1, "microphone_lost": 0, "failed_interviews": 1}
    assert "10.0.0.7" not in str(document)            # device details (camera URLs) stay on the booth


def test_status_interval_zero_sends_none_and_the_first_one_is_due_at_start(data):
    off = StatusReporter(sync_config("http://127.0.0.1:9/files/"), data, "b", EventBus(), sync_dir(data) / "s.json")
    assert off.interval_s == 0 and not off.due()
    config = sync_config("http://127.0.0.1:9/files/", **{"sync.status_interval_s": 60})
    worker = SyncWorker(config, data)
    try:
        assert worker.status.due()
    finally:
        worker.stop()
