"""The Sync page and the app's background jobs with real parts: the official @tus/server (tests/harness/tus.py), real
interviews recorded by the real Recorder on the demo camera and microphone (320x240) and registered by the real
session store, the real uploader and retention in their threads, events through the ui bridge."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid as uuidlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from kiosk.db.models import AuditLog, Interview, Recording, SyncState, utcnow
from kiosk.sync.worker import SyncWorker
from tests.helpers.wait import wait_for

# Environment notes, not faults of the page (as in test_console.py): no size hints on the offscreen platform, and the
# console's player loads QtMultimedia, which looks for PipeWire (PulseAudio is used here) and a GPU.
pytestmark = pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")

CHUNK = 64 * 1024                       # sync.chunk_mb = 0.0625, the smallest
SYNC_VALUES = {"camera__size": "320x240", "recording__video_bitrate_kbps": 800, "sync__chunk_mb": 0.0625,
               "sync__kiosk_id": "kiosk-ui-test"}


def record_session(services, seconds: float = 3.0) -> Interview:
    """A real take through the app's recorder, registered as a finished (cli) session."""
    recorder = services.recorder
    uuid = str(uuidlib.uuid4())
    path = services.store.new_recording_path(uuid, recorder.settings.profile)
    recorder.start_take(path, interview_uuid=uuid, label="Question 1")
    time.sleep(seconds)
    result = recorder.stop_take().result(timeout=120)
    assert result.ok, result
    interview = services.store.register_cli_take(result.metadata)
    assert interview.status == "completed" and interview.uuid == uuid
    return interview


def recording_of(interview: Interview) -> Recording:
    return Recording.get(Recording.interview == interview)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stored_recordings(server) -> dict[str, str]:
    """interview uuid -> sha256 of the recording the server holds (only complete uploads)."""
    return {u.metadata["interview_uuid"]: sha256(u.path) for u in server.uploads()
            if u.metadata.get("kind") == "recording" and u.size is not None and u.offset == u.size}


def table_rows(page) -> list[list[str]]:
    return [[page.table.item(r, c).text() for c in range(page.table.columnCount())]
            for r in range(page.table.rowCount())]


def test_sync_page_shows_the_queue_and_sync_now_uploads(qtbot, make_services, tus_server):
    services = make_services(sync__enabled=True, sync__server_url=tus_server.url, **SYNC_VALUES)
    interview = record_session(services)
    recording = recording_of(interview)
    assert recording.size > CHUNK              # two PATCHes at least: the page sees progress between them
    tus_server.kill()                          # the server is down when the uploader first tries
    # A back-off of 30-60 min after the failure: only "Sync now" can bring the upload forward within this test.
    worker = SyncWorker(services.ctx.config, services.ctx.data, bus=services.bus, backoff_base_s=3600,
                        quick_retry_delay_s=0.1, poll_s=0.2).start()
    try:
        from ui.admin.common import admin_stylesheet
        from ui.admin.sync_page import SyncPage
        page = SyncPage(SimpleNamespace(ctx=services.ctx, bus=services.bus, sync=worker))
        page.setStyleSheet(admin_stylesheet(page))
        qtbot.addWidget(page)
        page.resize(1200, 800)
        page.show()
        page.refresh()

        # The uploader queued the interview by itself, failed to reach the server and waits for its back-off.
        def both_waiting_with_error() -> bool:
            rows = list(SyncState.select())
            return len(rows) == 2 and all(r.status == "pending" and r.next_attempt_at and r.last_error
                                          for r in rows)
        qtbot.waitUntil(both_waiting_with_error, timeout=30000)
        page.refresh()
        assert "Sync is on" in page.state_label.text() and tus_server.url in page.state_label.text()
        rows = table_rows(page)
        file_name = Path(recording.path).name
        assert [r[0] for r in rows] == [file_name, f"{interview.uuid}.session.json"]
        assert [r[1:] for r in rows if r[2] != "–"] and all(
            r[1] == interview.uuid[:8] and r[3] == "waiting" and r[4] == "0 %" for r in rows), rows
        assert rows[0][2] != "–" and page.table.item(0, 1).toolTip() == interview.uuid
        assert page.last_error.text().startswith("Last error (") and "Connection refused" in page.last_error.text()
        assert "2 pending" in page.summary.text()
        assert page.sync_now_button.isEnabled()
        time.sleep(1.0)
        assert tus_server.uploads() == [] and page.table.item(0, 3).text() == "waiting"   # back-off holds

        # What the page shows after each progress event, as the admin sees it.
        seen = []

        def after_event(kind: str, data: dict) -> None:
            if kind == "sync.progress" and data["file"] == file_name:
                seen.append((data["offset"], data["size"], page.current_bar.value(), page.table.item(0, 4).text(),
                             page.current_label.text()))
        page._bridge.event.connect(after_event)

        tus_server.start()                     # the admin had the server fixed, then presses "Sync now"
        qtbot.mouseClick(page.sync_now_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: SyncState.select().where(SyncState.status == "synced").count() == 2, timeout=60000)
        qtbot.waitUntil(lambda: all(r[3].startswith("synced") for r in table_rows(page)), timeout=10000)
    finally:
        worker.stop()
    rows = table_rows(page)
    assert {r[0] for r in rows} == {file_name, f"{interview.uuid}.session.json"}
    assert all(r[3].startswith("synced") and r[4] == "100 %" for r in rows)
    assert "2 synced" in page.summary.text() and page.last_error.text() == "Last error: none"
    assert page.current_label.text() == "No upload in progress."
    # Live progress reached the page between chunks: the bar and the row's cell moved before the end.
    partial = [s for s in seen if 0 < s[0] < s[1]]
    assert partial, seen
    offset, size, bar, cell, label = partial[0]
    assert bar == int(1000 * offset / size) and cell == f"{int(100 * offset / size)} %"
    assert label.startswith(f"Uploading {file_name}:")
    # The server holds the recording byte for byte.
    assert stored_recordings(tus_server) == {interview.uuid: sha256(recording.path)} == {
        interview.uuid: recording.sha256}


def test_sync_page_with_sync_off_says_how_to_turn_it_on(qtbot, make_services):
    services = make_services(**SYNC_VALUES)
    interview = record_session(services, seconds=1.0)
    from kiosk.sync.worker import enqueue_interview
    enqueue_interview(interview, services.ctx.data, services.ctx.config)
    services.start_background()
    assert services.sync is None
    from ui.admin.console import AdminConsole
    console = AdminConsole(services)
    qtbot.addWidget(console)
    console.resize(1024, 768)
    console.show()
    qtbot.mouseClick(console.nav_buttons["Sync"], Qt.MouseButton.LeftButton)
    page = console.sync
    assert console.pages.currentWidget() is page
    text = page.state_label.text()
    assert text.startswith("Sync is off") and "sync.enabled = true" in text and "sync.server_url" in text
    assert not page.sync_now_button.isEnabled()
    assert [r[3] for r in table_rows(page)] == ["waiting", "waiting"]      # the queue is shown all the same
    # Scaled like the other pages: touch-sized button and rows.
    from ui.admin.common import metrics_for
    m = metrics_for(page)
    assert page.sync_now_button.height() >= m.touch and page.table.verticalHeader().defaultSectionSize() == m.touch
    # Leaving the page stops listening to the bus (the console is deleted when the admin leaves).
    qtbot.mouseClick(console.nav_buttons["Sessions"], Qt.MouseButton.LeftButton)
    assert page._bridge is None and not page.timer.isActive()


def test_app_wiring_uploads_only_when_no_take_is_in_progress(qtbot, make_services, tus_server):
    services = make_services(sync__enabled=True, sync__server_url=tus_server.url, **SYNC_VALUES)
    first = record_session(services, seconds=1.5)
    recorder = services.recorder
    second_uuid = str(uuidlib.uuid4())
    recorder.start_take(services.store.new_recording_path(second_uuid, recorder.settings.profile),
                        interview_uuid=second_uuid, label="Question 1")
    try:
        jobs = services.start_background(retention_interval_s=3600)
        assert services.sync is jobs.sync is not None and services.take_in_progress()
        time.sleep(2.0)                         # the uploader and retention are up, and hold back
        assert tus_server.uploads() == [] and jobs.retention.runs == 0
        assert not SyncState.select().where(SyncState.status.in_(("uploading", "synced"))).exists()
        recorder.pause_take()                   # between questions: still the candidate's take
        time.sleep(1.0)
        assert tus_server.uploads() == [] and jobs.retention.runs == 0
        recorder.resume_take("Question 2")
        time.sleep(1.0)
        future = recorder.stop_take()
    finally:
        if recorder.state in ("recording", "paused"):
            recorder.stop_take().result(timeout=120)
    second = services.store.register_cli_take(future.result(timeout=120).metadata)
    assert not services.take_in_progress()
    # After the take: both interviews go up (the one recorded during the wait too), and retention has run.
    wait_for(lambda: SyncState.select().where(SyncState.status == "synced").count() == 4, what="4 files synced")
    assert stored_recordings(tus_server) == {first.uuid: recording_of(first).sha256,
                                             second.uuid: recording_of(second).sha256}
    for interview in (first, second):
        assert sha256(recording_of(interview).path) == recording_of(interview).sha256
    wait_for(lambda: services.background.retention.runs >= 1, what="retention run")
    services.stop_background(timeout=5)
    assert services.background is None and services.sync is None
    from kiosk.sync import worker as workermod
    assert workermod.running() is None


def test_app_wiring_runs_retention_deleting_only_what_is_synced_and_old(qtbot, make_services, tus_server):
    services = make_services(storage__retention_days=1, storage__retention_requires_sync=True, **SYNC_VALUES)
    synced, unsynced = record_session(services, seconds=1.0), record_session(services, seconds=1.0)
    # Upload the first one for real (the way `kiosk sync --once` would), then let three days pass for both.
    from kiosk.sync.worker import enqueue_interview
    enqueue_interview(synced, services.ctx.data, services.ctx.config)
    once = SyncWorker(services.ctx.config, services.ctx.data, server_url=tus_server.url, auto_queue=False)
    assert [r.status for r in once.run_once()] == ["synced", "synced"]
    once.stop()
    three_days_ago = utcnow() - dt.timedelta(days=3)
    for interview in (synced, unsynced):
        Interview.update(ended_at=three_days_ago).where(Interview.id == interview.id).execute()
        Recording.update(ended_at=three_days_ago).where(Recording.interview == interview).execute()
    SyncState.update(synced_at=three_days_ago).execute()
    kept_path = Path(recording_of(unsynced).path)
    gone_path = Path(recording_of(synced).path)
    assert gone_path.exists() and kept_path.exists()

    jobs = services.start_background(retention_interval_s=1.0)    # "every few hours", shortened
    assert services.sync is None                # sync is off in this kiosk: retention runs on its own
    wait_for(lambda: jobs.retention.runs >= 1, what="retention at start")
    assert not gone_path.exists() and not gone_path.with_name(gone_path.name + ".json").exists()
    assert kept_path.exists() and sha256(kept_path) == recording_of(unsynced).sha256
    (audit,) = AuditLog.select().where(AuditLog.action == "retention.delete")
    assert (audit.actor, audit.target) == ("system", synced.uuid)
    assert audit.detail["path"] == str(gone_path) and audit.detail["sha256"] == recording_of(synced).sha256
    assert recording_of(synced).deleted_at is not None and Interview.get_by_id(synced.id).purged_at is not None
    assert recording_of(unsynced).deleted_at is None
    report = jobs.retention.last_report
    assert [d.uuid for d in report.deleted] == [synced.uuid]
    assert any(d.uuid == unsynced.uuid and "not synced" in d.reason for d in report.kept)
    # It runs again at its interval; nothing is deleted or audited twice, the unsynced recording stays.
    wait_for(lambda: jobs.retention.runs >= 2, what="the next retention run")
    assert AuditLog.select().where(AuditLog.action == "retention.delete").count() == 1 and kept_path.exists()
    # The server's copy of the deleted one is still whole.
    assert stored_recordings(tus_server) == {synced.uuid: recording_of(synced).sha256}
