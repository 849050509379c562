"""Every screen and transition of the kiosk window, offscreen, with the real recorder on demo devices."""

from __future__ import annotations

import av


from kiosk.flow import State
from tests.helpers.ui import click, wait_state


def test_full_interview_two_questions_with_retake(qtbot, make_window):
    from kiosk.db.models import Interview, Recording
    window = make_window()
    assert window.flow.state is State.ATTRACT
    assert window.badge.isVisible() and "DEMO" in window.badge.text()
    click(qtbot, window, "start")
    wait_state(qtbot, window, State.CODE)
    click(qtbot, window, "walk_in")
    wait_state(qtbot, window, State.CONSENT)
    assert "We record your answers" in window.screens[State.CONSENT].text.toPlainText()
    click(qtbot, window, "accept")
    wait_state(qtbot, window, State.DEVICE_CHECK)
    screen = window.screens[State.DEVICE_CHECK]
    qtbot.waitUntil(lambda: screen.preview.frames_shown >= 3, timeout=5000)
    qtbot.waitUntil(lambda: screen.meter.rms_db > -60, timeout=5000)
    click(qtbot, window, "help")
    assert screen.help.isVisible()
    click(qtbot, window, "devices_ok")
    wait_state(qtbot, window, State.THINK)
    question = window.screens[State.THINK]
    assert window.flow.practice and "Practice" in question.question.text()
    click(qtbot, window, "skip_practice")
    assert question.question.text() == "First question?"
    assert "Question 1 of 2" in question.position.text()
    wait_state(qtbot, window, State.ANSWER, timeout=5000)        # think time (1 s) ran out: recording started
    qtbot.waitUntil(lambda: window.recorder.state == "recording", timeout=5000)
    assert question.indicator.mode == "recording"
    # answer for a moment first: a retake within milliseconds of the start (the encoders still opening on a loaded
    # machine) leaves Q1 a chapter of length 0, which finalize rightly drops
    qtbot.wait(700)
    click(qtbot, window, "retake")
    wait_state(qtbot, window, State.THINK)
    click(qtbot, window, "start_now")
    wait_state(qtbot, window, State.ANSWER)
    assert not question.retake.isEnabled()
    qtbot.wait(1200)
    click(qtbot, window, "done")
    wait_state(qtbot, window, State.THINK)
    assert question.question.text() == "Second question?"
    wait_state(qtbot, window, State.ANSWER, timeout=5000)
    # the answer time (5 s) runs out by itself -> saving -> thank you
    qtbot.waitUntil(lambda: window.flow.state in (State.SAVING, State.THANKS), timeout=10000)
    wait_state(qtbot, window, State.THANKS, timeout=30000)
    metadata = window.runner.last_metadata
    row = Interview.get()
    assert row.status == "completed" and row.recording_path == metadata["recording_path"]
    recording = Recording.get()
    assert recording.state == "finalized" and recording.duration > 3
    labels = [c["label"] for c in metadata["chapters"]]
    assert labels[0] == "Q1" and "Q1 retake 2" in labels and "Q2" in labels
    with av.open(metadata["recording_path"]) as container:
        assert container.streams.video and container.streams.audio
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 15 * 3
    click(qtbot, window, "thanks_home")
    wait_state(qtbot, window, State.ATTRACT)
    assert window.flow.plan is None and question.question.text() == ""
