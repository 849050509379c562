"""The sync queue on the real database and the real @tus/server: enqueue, drain, pause, back off, block, resume."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.db.database import close_database, open_database
from kiosk.db.models import Interview, Recording, SyncState, utcnow
from kiosk.events import EventBus
from kiosk.sessions.document import session_document
from kiosk.sync import tus
from kiosk.sync.worker import SyncWorker, backoff_delay, enqueue_interview, queue_ended_interviews, sync_dir
from tests.harness.tus import random_bytes
from tests.helpers.media import decode_counts
from tests.helpers.sync import make_interview, sync_config
from tests.helpers.wait import wait_for

KiB = 1024

pytestmark = pytest.mark.usefixtures("database")     # `data` with its database open


def test_enqueue_interview_queues_each_finished_recording_and_the_session_json_once(data):
    interview = make_interview(data, takes=2)
    Recording.create(interview=interview, path=str(data.recordings / "still-recording.webm"), state="recording")
    rows = enqueue_interview(interview, data, Config())
    assert [r.kind for r in rows] == ["recording", "recording", "metadata"]
    assert all(r.status == "pending" and r.offset == 0 and r.upload_url is None for r in rows)
    meta = rows[-1]
    assert Path(meta.path) == sync_dir(data) / f"{interview.uuid}.session.json"
    document = json.loads(Path(meta.path).read_text(encoding="utf-8"))
    assert document == json.loads(json.dumps(session_document(interview)))
    assert document["uuid"] == interview.uuid and document["candidate_name"] == "Zoë Ångström"
    assert [e["kind"] for e in document["events"]] == ["recording.started", "question.shown"] * 2
    assert len(document["recordings"]) == 3 and "owner_pid" not in document
    assert hashlib.sha256(Path(meta.path).read_bytes()).hexdigest() == meta.sha256
    again = enqueue_interview(interview, data, Config())
    assert [r.id for r in again] == [r.id for r in rows]
    assert SyncState.select().count() == 3


def test_run_once_uploads_recording_and_session_json_verified(data, tus_server):
    interview = make_interview(data)
    enqueue_interview(interview, data, Config())
    bus = EventBus()
    seen = []
    bus.subscribe(lambda e: seen.append(e), prefix="sync.")
    worker = SyncWorker(sync_config(tus_server.url), data, bus=bus)
    reports = worker.run_once()
    worker.stop()
    assert [r.status for r in reports] == ["synced", "synced"]
    assert all(r.verified_by == ["offset", "readback"] for r in reports)
    rows = list(SyncState.select().order_by(SyncState.id))
    assert all(r.status == "synced" and r.offset == r.size and r.synced_at and r.upload_url for r in rows)
    stored = {u.metadata["kind"]: u for u in tus_server.uploads()}
    assert set(stored) == {"recording", "metadata"}
    rec = Recording.get(Recording.interview == interview)
    # The server's copy is the recording, byte for byte, and it decodes.
    assert hashlib.sha256(stored["recording"].path.read_bytes()).hexdigest() == rec.sha256
    assert decode_counts(stored["recording"].path) == (10, 48000)
    meta = stored["recording"].metadata
    assert meta["filename"] == Path(rec.path).name and meta["filetype"] == "video/webm"
    assert meta["interview_uuid"] == interview.uuid and meta["kiosk_id"] == "kiosk-test-3"
    assert meta["sha256"] == rec.sha256 and float(meta["duration"]) == 1.0
    assert dt.datetime.fromisoformat(meta["recorded_at"]) == rec.started_at
    document = json.loads(stored["metadata"].path.read_text(encoding="utf-8"))
    assert document["uuid"] == interview.uuid and document["events"][1]["detail"] == {"text": "Wie heißen Sie?"}
    assert stored["metadata"].metadata["filetype"] == "application/json"
    kinds = [e.kind for e in seen]
    assert kinds.count("sync.progress") >= 3 and [e.data["status"] for e in seen if e.kind == "sync.item"] == [
        "uploading", "synced", "uploading", "synced"]


def test_background_worker_waits_while_recording_and_pauses_mid_upload(data, tus_server):
    interview = make_interview(data, media="bin", size=640 * KiB)
    enqueue_interview(interview, data, Config())
    recording = threading.Event()
    recording.set()                       # a take is running: nothing may start
    progress = []
    bus = EventBus()
    bus.subscribe(lambda e: progress.append(e.data["offset"]), prefix="sync.progress")
    config = sync_config(tus_server.url, **{"sync.bandwidth_kbps": 8 * 1024})    # 1 MiB/s: 0.6 s for the file
    worker = SyncWorker(config, data, busy=recording, bus=bus, poll_s=0.1).start()
    try:
        time.sleep(0.8)
        assert tus_server.uploads() == [] and progress == []
        recording.clear()
        wait_for(lambda: len(progress) >= 2, what="upload to start")
        recording.set()                   # a new take starts mid-upload: stop after the current chunk
        wait_for(lambda: SyncState.get(SyncState.kind == "recording").status == "pending", what="pause")
        paused_at = SyncState.get(SyncState.kind == "recording").offset
        [before] = tus_server.uploads()
        time.sleep(0.5)
        [after] = tus_server.uploads()
        assert 0 < paused_at <= before.offset == after.offset < 640 * KiB    # nothing more arrived while recording
        recording.clear()
        wait_for(lambda: SyncState.select().where(SyncState.status == "synced").count() == 2, what="sync")
    finally:
        worker.stop()
    row = SyncState.get(SyncState.kind == "recording")
    assert row.attempts == 1 and row.last_error == ""       # the pause did not count as a failed attempt
    stored = [u for u in tus_server.uploads() if u.metadata["kind"] == "recording"]
    assert len(stored) == 1 and hashlib.sha256(stored[0].path.read_bytes()).hexdigest() == row.sha256


def test_reboot_resumes_from_the_database_not_from_zero(data, tus_server):
    interview = make_interview(data, media="bin", size=512 * KiB)
    enqueue_interview(interview, data, Config())
    config = sync_config(tus_server.url)
    worker = SyncWorker(config, data)
    row = SyncState.get(SyncState.kind == "recording")

    def shut_down_after_third_chunk(event):
        if event.data["offset"] >= 3 * 64 * KiB:
            worker._stop.set()            # as if the kiosk shut down here
    worker.bus.subscribe(shut_down_after_third_chunk, prefix="sync.progress")
    report = worker.process(row)
    worker.stop()
    assert report.status == "pending" and report.offset == 3 * 64 * KiB
    # Simulate a crash that left the row marked 'uploading'.
    SyncState.update(status="uploading").where(SyncState.id == row.id).execute()
    close_database()
    open_database(data.database)          # a new boot
    worker = SyncWorker(config, data)
    reports = worker.run_once()
    worker.stop()
    recording_report = [r for r in reports if r.kind == "recording"][0]
    assert recording_report.status == "synced" and recording_report.resumed_from == 3 * 64 * KiB
    assert recording_report.sent == 512 * KiB - 3 * 64 * KiB
    assert len([u for u in tus_server.uploads() if u.metadata["kind"] == "recording"]) == 1


def test_server_down_backs_off_with_jitter_and_keeps_the_item(data, tus_server):
    interview = make_interview(data, media="bin", size=100 * KiB)
    enqueue_interview(interview, data, Config())
    tus_server.kill()
    worker = SyncWorker(sync_config(tus_server.url), data, backoff_base_s=60, quick_retries=1,
                        quick_retry_delay_s=0.05, timeout=(1.0, 2.0))
    before = utcnow()
    reports = worker.run_once()
    assert [r.status for r in reports] == ["pending", "pending"]
    for row in SyncState.select():
        assert row.status == "pending" and row.attempts == 1 and "OPTIONS" in row.last_error
        wait = (row.next_attempt_at - before).total_seconds()
        assert 30 <= wait <= 61           # first step 60 s: between half and all of it
    assert worker._next_due() is None     # nothing due until the backoff ends
    tus_server.restart()
    worker.sync_now()                     # the console's button
    assert worker._next_due() is not None
    reports = worker.run_once()
    worker.stop()
    assert [r.status for r in reports] == ["synced", "synced"]


def test_backoff_grows_exponentially_up_to_the_cap():
    import random
    rng = random.Random(1)
    for attempts, step in [(1, 10), (2, 20), (3, 40), (6, 320), (12, 3600), (40, 3600)]:
        delays = [backoff_delay(attempts, 10, 3600, rng) for _ in range(200)]
        assert step / 2 <= min(delays) and max(delays) <= step
        assert max(delays) - min(delays) > step / 4   # there is jitter


def test_refused_token_blocks_the_item_until_retried(data, tus_server_factory, expect_log):
    expect_log("kiosk.sync.worker", r"stopped \(blocked\).*401")
    server = tus_server_factory(token="right-token")
    interview = make_interview(data, media="bin", size=50 * KiB)
    enqueue_interview(interview, data, Config())
    worker = SyncWorker(sync_config(server.url, **{"sync.token": "wrong-token"}), data)
    reports = worker.run_once()
    worker.stop()
    assert [r.status for r in reports] == ["blocked", "blocked"]
    row = SyncState.get(SyncState.kind == "recording")
    assert row.status == "blocked" and "401" in row.last_error and "sync.token" in row.last_error
    assert "wrong-token" not in row.last_error
    assert SyncWorker(sync_config(server.url), data)._next_due() is None    # blocked is not retried by itself
    worker = SyncWorker(sync_config(server.url, **{"sync.token": "right-token"}), data)
    assert worker.retry_stopped() == 2
    reports = worker.run_once()
    worker.stop()
    assert [r.status for r in reports] == ["synced", "synced"]


def test_a_changed_file_is_never_uploaded(data, tus_server, expect_log):
    expect_log("kiosk.sync.worker", r"changed since it was recorded")
    interview = make_interview(data, media="bin", size=50 * KiB)
    enqueue_interview(interview, data, Config())
    rec = Recording.get(Recording.interview == interview)
    with open(rec.path, "r+b") as f:
        f.write(b"XXXX")
    worker = SyncWorker(sync_config(tus_server.url), data)
    reports = {r.kind: r for r in worker.run_once()}
    worker.stop()
    assert reports["recording"].status == "failed" and "Fix: restore" in reports["recording"].error
    assert reports["metadata"].status == "synced"
    assert [u.metadata["kind"] for u in tus_server.uploads()] == ["metadata"]


def test_plain_http_with_token_to_a_remote_server_is_refused_at_start(data):
    with pytest.raises(tus.TusConfigError, match="https"):
        SyncWorker(sync_config("http://sync.example.org/files/", **{"sync.token": "t"}), data)
    with pytest.raises(tus.TusConfigError, match="sync.server_url"):
        SyncWorker(Config(), data)


def test_ended_interviews_are_queued_once_and_later_recordings_too(data):
    done = make_interview(data, media="bin", size=10 * KiB)
    running = make_interview(data, media="bin", size=10 * KiB)
    running.status = "in_progress"
    running.save()
    failed = Interview.create(code="F1", status="failed", ended_at=utcnow())       # no recording at all
    assert queue_ended_interviews(data, Config()) == 2
    assert sorted((r.interview_id, r.kind) for r in SyncState.select()) == sorted(
        [(done.id, "recording"), (done.id, "metadata"), (failed.id, "metadata")])
    assert queue_ended_interviews(data, Config()) == 0
    # A second recording of an already queued interview (resumed after a crash) is picked up.
    extra = data.recordings / "second.bin"
    extra.write_bytes(random_bytes(5 * KiB, 9))
    Recording.create(interview=done, path=str(extra), state="recovered", size=extra.stat().st_size)
    assert queue_ended_interviews(data, Config()) == 1
    assert SyncState.select().where(SyncState.interview == done, SyncState.kind == "recording").count() == 2


def test_start_if_enabled(data, tus_server, expect_log):
    from kiosk.sync import worker as workermod

    assert workermod.start_if_enabled(Config(), data) is None          # sync.enabled is false by default
    expect_log("kiosk.sync.worker", r"cannot start: .*https")
    bad = sync_config("http://sync.example.org/files/", **{"sync.token": "t"})
    assert workermod.start_if_enabled(bad, data) is None
    enqueue_interview(make_interview(data, media="bin", size=10 * KiB), data, Config())
    worker = workermod.start_if_enabled(sync_config(tus_server.url), data, busy=lambda: False)
    try:
        assert workermod.running() is worker
        wait_for(lambda: SyncState.select().where(SyncState.status == "synced").count() == 2, what="sync")
        assert worker.queue() == []
    finally:
        worker.stop()
    assert workermod.running() is None
