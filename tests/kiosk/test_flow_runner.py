"""FlowRunner headless with real parts: the Recorder on the demo camera and microphone, the SessionStore in a temp
data dir. Proves the effects reach the engine and the database, including when the engine fails."""

from __future__ import annotations

import time

import av
import pytest

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.flow import Flow, FlowRunner, State, Timing
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings

TEMPLATE = """
[template]
name = "runner"
title = "Runner"
consent_text = "ok"
[[questions]]
text = "One?"
think_s = 1
answer_s = 5
retakes = 1
[[questions]]
text = "Two?"
think_s = 1
answer_s = 5
retakes = 0
"""


@pytest.fixture
def parts(tmp_path):
    from kiosk.db import close_database
    from kiosk.sessions import SessionStore
    made = []

    def make(**settings):
        config = Config()
        config.set("storage.min_free_mb", 50)
        data = DataDir(tmp_path / "data").ensure()
        store = SessionStore.open(data, config)
        (tmp_path / "t.toml").write_text(TEMPLATE)
        store.import_template(tmp_path / "t.toml")
        recorder_settings = RecorderSettings(profile="webm-vp8-opus", size=(320, 180), fps=15,
                                             video_bitrate_kbps=300, min_free_mb=50, **settings)
        recorder = Recorder(DemoCamera((320, 180), 15), DemoMicrophone(), recorder_settings, EventBus())
        recorder.open()
        made.append(recorder)     # closed after the runner (reversed below)
        from kiosk.flow import StoreSessions
        runner = FlowRunner(Flow(Timing(idle_timeout_s=60)), recorder, StoreSessions(store, "webm-vp8-opus"),
                            time.monotonic)
        made.append(runner)
        return runner, store

    yield make
    for part in reversed(made):
        part.close()              # the runner also clears the interview uuid from the log context
    close_database()


def run_until(runner: FlowRunner, state: State, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while runner.flow.state is not state:
        assert time.monotonic() < deadline, f"still {runner.flow.state} after {timeout} s"
        runner.tick()
        time.sleep(0.02)


def test_runner_records_one_file_with_chapters_and_the_session(parts):
    runner, store = parts()
    runner.send("start")
    runner.walk_in()
    runner.send("accept")
    runner.send("devices_ok")            # the template has no practice question
    assert runner.flow.state is State.THINK and runner.path is not None
    run_until(runner, State.ANSWER)
    time.sleep(1.0)
    runner.send("retake")
    runner.send("start_now")
    time.sleep(1.0)
    runner.send("done")
    runner.send("start_now")
    time.sleep(1.0)
    runner.send("done")
    run_until(runner, State.THANKS)
    metadata = runner.last_metadata
    labels = [c["label"] for c in metadata["chapters"]]
    assert labels[0] == "Q1" and "Q1 retake 2" in labels and labels[-1] == "Q2"
    interview = store.list_interviews()[0]
    assert interview.status == "completed" and interview.recording_path == metadata["recording_path"]
    kinds = [(e.kind, e.question_index, (e.detail or {}).get("label")) for e in interview.events]
    assert ("answer.superseded", 0, "Q1") in kinds and ("answer.started", 1, "Q2") in kinds
    with av.open(metadata["recording_path"]) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 2.0 * 15 * 0.6 < frames < 6 * 15          # answers only (about 3 s), no think time


def test_an_encoder_that_cannot_open_ends_in_the_failsafe_with_the_session_closed(parts, expect_log):
    expect_log("kiosk.flow", r"failed|failsafe")
    expect_log("kiosk", r"encoder|cannot|could not|no take")
    runner, store = parts(disabled_encoders=("libvpx-vp9", "libvpx", "libx264"))
    runner.send("start")
    runner.walk_in()
    runner.send("accept")
    runner.send("devices_ok")
    run_until(runner, State.FAILSAFE)
    assert "StartTake failed" in runner.flow.message
    runner.tick()
    interview = store.list_interviews()[0]
    assert interview.status == "failed"
    assert runner.recorder.state == "previewing"          # the engine is still usable for the next candidate


def test_disk_nearly_full_mid_answer_ends_the_interview_with_what_was_recorded(parts, expect_log):
    expect_log("kiosk.recorder", r"disk low")
    runner, store = parts()
    runner.send("start")
    runner.walk_in()
    runner.send("accept")
    runner.send("devices_ok")
    runner.send("start_now")
    time.sleep(1.5)
    # The real free-space check of the recorder, with a floor above what this disk has.
    runner.recorder.settings.min_free_mb = 10 ** 9
    run_until(runner, State.SAVING, timeout=10)
    assert runner.flow.message == "disk.low"
    run_until(runner, State.THANKS, timeout=30)
    interview = store.list_interviews()[0]
    assert interview.status == "interrupted" and interview.end_reason == "disk_full"
    recording = interview.recordings.get()
    assert recording.state == "finalized" and recording.duration > 1
    with av.open(recording.path) as container:
        assert sum(1 for _ in container.decode(video=0)) > 10
