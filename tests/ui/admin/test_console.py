"""The admin console with real parts: a real database, real WebM recordings, QMediaPlayer playback, the real export
engine in its worker thread, the real Recorder on the demo devices."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import bagit
import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer

from kiosk import config as configmod
from kiosk.cli import Context
from kiosk.db.database import close_database, open_database
from kiosk.db.models import AuditLog, Event, Interview, Recording
from kiosk.events import EventBus
from kiosk.export import bag
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore
from tests.helpers.media import decode_counts, make_webm
from ui.admin.console import AdminConsole
from ui.services import AppServices

pytestmark = [
    # Environment notes from the offscreen platform and QtMultimedia's FFmpeg backend, not faults of the console:
    # no size hints offscreen, no PipeWire library (PulseAudio is used), no GPU (CPU video conversion).
    pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend"),
]

UTC = dt.timezone.utc
TODAY = dt.datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def services(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    config = configmod.Config(source=tmp_path / "kiosk.toml")
    config.set("ui.idle_timeout_s", 60)
    db = open_database(data.database)
    plan = [("Ann Berg", "A1", "completed", 0), ("Bo Lund", "B2", "completed", 1), ("Čeněk", "C3", "failed", 1)]
    for n, (name, code, status, days_ago) in enumerate(plan):
        interview = Interview.create(
            candidate_name=name, code=code, status=status, end_reason="camera_lost" if status == "failed" else "",
            started_at=TODAY - dt.timedelta(days=days_ago, minutes=n), recording_duration=3.0,
            recording_data={"chapters": [{"label": "Question 1", "start": 0.0, "end": 1.5},
                                         {"label": "Question 2", "start": 1.5, "end": 3.0}]})
        path = make_webm(data.recordings / f"{interview.uuid}.webm", seconds=3.0, seed=n)
        rec = Recording.create(interview=interview, path=str(path), state="finalized", size=path.stat().st_size,
                               duration=3.0)
        Event.create(interview=interview, recording=rec, kind="question.shown", question_index=1, offset_s=0.0)
        Event.create(interview=interview, recording=rec, kind="question.shown", question_index=2, offset_s=1.5)
    yield AppServices(ctx=Context(data=data, config=config), bus=EventBus(), store=SessionStore(data, config),
                          db=db, recorder=None)
    close_database()


@pytest.fixture
def console(qtbot, services):
    widget = AdminConsole(services)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.export.wait()
    widget.sessions.leave()


def test_session_list_search_and_detail(qtbot, console):
    table = console.sessions.list.table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == ["Čeněk", "Bo Lund", "Ann Berg"]   # newest first
    # The theme's light text sits on the console's dark table, not on a default white one.
    image = table.viewport().grab().toImage()
    background = image.pixelColor(table.columnWidth(0) - 4, table.rowHeight(0) // 2)
    assert background.lightness() < 80, background.name()
    console.sessions.list.search.setText("cenek")          # typed without the accents: still found
    assert table.rowCount() == 1 and table.item(0, 1).text() == "C3"
    console.sessions.list.search.setText("bo 2 lund")      # every word must match
    assert table.rowCount() == 1 and table.item(0, 1).text() == "B2"
    console.sessions.list.search.setText("zzz")
    assert table.rowCount() == 0
    console.sessions.list.search.setText("")
    table.selectRow(2)
    qtbot.mouseClick(console.sessions.list.open_button, Qt.MouseButton.LeftButton)
    detail = console.sessions.detail
    assert console.sessions.currentWidget() is detail
    assert "Ann Berg" in detail.title.text()
    assert detail.events.rowCount() == 2 and detail.events.item(1, 2).text() == "question.shown"
    assert [c.label for c in detail.playback.chapters] == ["Question 1", "Question 2"]
    qtbot.mouseClick(detail.back_button, Qt.MouseButton.LeftButton)
    assert console.sessions.currentWidget() is console.sessions.list


def test_playback_starts_and_seeks_by_chapter(qtbot, console):
    console.sessions.open_session(Interview.get(Interview.code == "B2").uuid)
    playback = console.sessions.detail.playback
    player = playback.player
    qtbot.mouseClick(playback.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    qtbot.waitUntil(lambda: player.position() > 200, timeout=10000)
    assert 2900 <= player.duration() <= 3100
    assert playback.play_button.text() == "Pause"
    playback.seek_chapter(1)
    qtbot.waitUntil(lambda: player.position() >= 1500, timeout=5000)
    assert playback.current_chapter() == 1
    frames = []
    playback.video.videoSink().videoFrameChanged.connect(lambda f: frames.append(f.startTime()))
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=5000)   # decoded pictures reach the video widget
    assert max(frames) >= 1_500_000                           # microseconds: after the chapter start
    audits = [(a.action, a.target) for a in AuditLog.select()]
    assert ("playback", Interview.get(Interview.code == "B2").uuid) in audits


def test_statistics_page_shows_figures_and_a_chart(qtbot, console):
    qtbot.mouseClick(console.nav_buttons["Statistics"], Qt.MouseButton.LeftButton)
    page = console.statistics
    assert console.pages.currentWidget() is page
    values = [v for _, v in page.chart.values]
    assert len(values) == 14 and values[-1] == 1 and values[-2] == 2 and sum(values) == 3
    rects = page.chart.bar_rects()
    assert rects[-2].height() == pytest.approx(2 * rects[-1].height()) and rects[0].height() == 0
    assert page.labels["success"].text().startswith("67 %")
    assert "camera_lost: 1" in page.labels["failures"].text()
    assert "hours of recording" in page.labels["hours"].text()
    image = page.chart.grab().toImage()
    bar = rects[-2].center()
    assert image.pixelColor(int(bar.x()), int(bar.y())).name() == "#2a9d63"


def test_export_selected_sessions_with_progress(qtbot, console, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    table = console.sessions.list.table
    table.selectRow(0)
    table.selectRow(2)
    qtbot.mouseClick(console.sessions.list.export_button, Qt.MouseButton.LeftButton)
    page = console.export
    assert console.pages.currentWidget() is page and page.by_selection.isChecked() and len(page.uuids) == 2
    page.target.setEditText(str(usb))
    seen = []
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    page.worker.progress.connect(lambda p: seen.append(p))
    assert not console.close_button.isEnabled()                 # cannot leave while exporting
    qtbot.waitUntil(lambda: not page.is_running and page.start_button.isEnabled(), timeout=30000)
    assert page.last_result is not None, page.status.text()
    assert page.progress.value() == 1000 and "matches" in page.status.text()
    bag = page.last_result.path
    bagit.Bag(str(bag)).validate()
    # Folders are <date>_<uuid8>: the two chosen sessions, and no code or name in a file name.
    chosen = {i.uuid[:8] for i in Interview.select().where(Interview.code.in_(("A1", "C3")))}
    assert {p.name.split("_")[1] for p in (bag / "data" / "sessions").iterdir()} == chosen
    assert all(decode_counts(p)[0] == 30 for p in bag.rglob("*.webm"))
    assert console.close_button.isEnabled()
    assert [a.action for a in AuditLog.select() if a.action.startswith("export")] == ["export"]


def test_cancel_from_the_console_leaves_nothing(qtbot, console, tmp_path, monkeypatch):
    usb = tmp_path / "usb"
    usb.mkdir()
    monkeypatch.setattr(bag, "CHUNK", 4096)
    monkeypatch.setattr(bag, "PROGRESS_INTERVAL_S", 0.0)
    real_read = bag._read_chunks

    def slow_stick(path):            # a slow USB stick: about 100 kB/s
        for chunk in real_read(path):
            time.sleep(0.04)
            yield chunk
    monkeypatch.setattr(bag, "_read_chunks", slow_stick)
    console.show_page(console.export)
    page = console.export
    page.by_dates.setChecked(True)
    page.since.setDate(page.since.date().addDays(-30))
    page.target.setEditText(str(usb))
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.value() > 50, timeout=20000)
    assert "left" in page.status.text() and "of" in page.status.text()      # bytes and time left shown
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_running and page.start_button.isEnabled(), timeout=20000)
    assert "cancelled" in page.status.text() and page.last_result is None
    assert list(usb.iterdir()) == []
    assert [a.detail["reason"] for a in AuditLog.select() if a.action == "export.failed"] == ["cancelled"]


def test_close_and_idle_return_to_attract(qtbot, console):
    with qtbot.waitSignal(console.closed, timeout=5000):
        qtbot.mouseClick(console.close_button, Qt.MouseButton.LeftButton)
    console.idle_timer.setInterval(300)
    console.show_page(console.sessions)
    console.hide()
    console.show()
    start = time.monotonic()
    with qtbot.waitSignal(console.closed, timeout=5000):
        pass
    assert time.monotonic() - start >= 0.25
    reasons = [a.detail["reason"] for a in AuditLog.select() if a.action == "admin.logout"]
    assert reasons == ["closed", "idle"]


def test_retention_settings_are_saved_to_the_config_file(qtbot, console, services):
    console.show_page(console.retention)
    page = console.retention
    assert page.days.value() == 0 and page.requires_sync.isChecked()
    page.days.setValue(90)
    page.requires_export.setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    saved = configmod.load(services.ctx.config.source)
    assert saved["storage.retention_days"] == 90 and saved["storage.retention_requires_export"]
    assert services.ctx.config["storage.retention_days"] == 90
    assert "Saved to" in page.status.text()


def test_sync_page_counts(qtbot, console):
    from kiosk.db.models import SyncState
    SyncState.create(path="/x/a.webm", status="failed", size=2000, offset=500, last_error="HTTP 503")
    console.show_page(console.sync)
    assert "1 failed" in console.sync.summary.text() and "1.5 kB" in console.sync.summary.text()
    assert console.sync.last_error.text() == "Last error (a.webm): HTTP 503"
    assert [console.sync.table.item(0, c).text() for c in (0, 2, 3, 4)] == ["a.webm", "2.0 kB",
                                                                          "failed (file problem)", "25 %"]


def test_a_missing_recording_says_so_instead_of_playing(qtbot, console, services):
    interview = Interview.get(Interview.code == "A1")
    Path(interview.recordings[0].path).rename(services.ctx.data.root / "moved-away.webm")
    console.sessions.open_session(interview.uuid)
    detail = console.sessions.detail
    assert "file missing" in detail.recording_choice.itemText(0)
    assert detail.playback.error_label.isVisible() and "is missing" in detail.playback.error_label.text()
