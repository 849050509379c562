"""The transcript beside playback in the admin console, on a real transcribed interview (espeak-ng into the
PulseAudio mic, the real recorder, Whisper tiny.en): the lines are the caption cues headed by the questions, a click
seeks the player there, the current line follows playback, and the search box finds words across sessions."""

from __future__ import annotations


import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer

from kiosk.cli import Context, main
from kiosk.events import EventBus
from kiosk.transcripts import vtt
from ui.admin.console import AdminConsole
from ui.services import AppServices

pytestmark = [pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")]


def wait_loaded(qtbot, player) -> None:
    qtbot.waitUntil(lambda: player.mediaStatus() not in (QMediaPlayer.MediaStatus.LoadingMedia,
                                                         QMediaPlayer.MediaStatus.NoMedia), timeout=10000)


@pytest.fixture
def console(qtbot, stored_interview, capsys, monkeypatch):
    s = stored_interview
    monkeypatch.setenv("KIOSK_TRANSCRIPT_MODEL_PATH", s.config["transcript.model_path"])
    assert main(["--data-dir", str(s.data.root), "transcribe", s.interview.uuid, "--json"]) == 0
    capsys.readouterr()
    services = AppServices(ctx=Context(data=s.data, config=s.config), bus=EventBus(), store=s.store, db=None,
                               recorder=None)
    widget = AdminConsole(services)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.export.wait()
    widget.sessions.leave()


def test_the_transcript_shows_beside_playback_seeks_on_click_and_follows(qtbot, console, stored_interview):
    s = stored_interview
    console.sessions.open_session(s.interview.uuid)
    detail = console.sessions.detail
    pane = detail.transcript
    template = s.store.get_template("general")
    texts = [pane.lines.item(r).text() for r in range(pane.lines.count())]
    assert texts[0] == f"Q1. {template.questions[0].text}"
    assert f"Q2. {template.questions[1].text}" in texts
    captions, _ = vtt.caption_paths(s.reload().recording_path)
    cues = [line.split("\n")[0] for line in captions.read_text().split("\n\n")[1:] if line.strip()]
    assert len([t for t in texts if not t.startswith("Q")]) == len(cues) >= 2
    assert not pane.notice.isVisible()
    # click the last line of the second answer: the player seeks there and plays
    shown = [line for line in pane._shown]
    row = max(i for i, line in enumerate(shown) if not line.is_heading)
    target = shown[row].start
    item = pane.lines.item(row)
    pane.lines.scrollToItem(item)
    with qtbot.waitSignal(pane.seek_requested, timeout=3000):
        qtbot.mouseClick(pane.lines.viewport(), Qt.MouseButton.LeftButton,
                         pos=pane.lines.visualItemRect(item).center())
    player = detail.playback.player
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=10000)
    qtbot.waitUntil(lambda: player.position() >= target * 1000, timeout=10000)
    assert player.position() < target * 1000 + 3000
    qtbot.waitUntil(lambda: pane.current_row() == row, timeout=5000)
    # playback from the start: the current line follows to the first line of the first answer
    player.setPosition(0)
    first = next(i for i, line in enumerate(shown) if not line.is_heading)
    qtbot.waitUntil(lambda: pane.current_row() in (first, first + 1), timeout=10000)
    detail.playback.pause()
    # Leave only once the backend has settled: stopping QtMultimedia's FFmpeg player right after a seek and a pause
    # was seen to hang in the stop (docs/admin.md, known weak).
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.PausedState, timeout=5000)
    wait_loaded(qtbot, player)
    qtbot.wait(300)


def test_the_search_box_finds_words_across_sessions_and_opens_the_hit(qtbot, console, stored_interview):
    s = stored_interview
    pane = console.sessions.detail.transcript
    pane.search.setText("hospital")
    pane.run_search()
    assert pane.hits.count() == 1 and "[hospital]" in pane.hits.item(0).text().lower()
    qtbot.mouseClick(pane.hits.viewport(), Qt.MouseButton.LeftButton,
                     pos=pane.hits.visualItemRect(pane.hits.item(0)).center())
    assert console.sessions.detail.detail.row.uuid == s.interview.uuid
    wait_loaded(qtbot, console.sessions.detail.playback.player)      # unloading while it opens warns
    pane.search.setText("submarine")
    pane.run_search()
    assert pane.hits.count() == 1 and "No transcript holds" in pane.hits.item(0).text()
    console.sessions.detail.playback.pause()


def test_transcripts_off_says_how_to_turn_them_on(qtbot, stored_interview):
    s = stored_interview
    s.config.set("transcript.model_path", "")
    services = AppServices(ctx=Context(data=s.data, config=s.config), bus=EventBus(), store=s.store, db=None,
                               recorder=None)
    console = AdminConsole(services)
    qtbot.addWidget(console)
    console.show()
    console.sessions.open_session(s.interview.uuid)
    pane = console.sessions.detail.transcript
    assert pane.lines.count() == 0 and pane.notice.isVisible() is True
    assert "transcript.model_path" in pane.notice.text() and "Fix:" in pane.notice.text()
    wait_loaded(qtbot, console.sessions.detail.playback.player)
    console.sessions.leave()
