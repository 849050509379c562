"""FlowRunner headless with real parts: the Recorder on the demo camera and microphone, the SessionStore in a temp
data dir. Proves the effects reach the engine and the database, including when the engine fails."""

from __future__ import annotations

import logging
import threading
import time

import av
import pytest

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.events import EventBus
from kiosk.flow import Event, Flow, FlowRunner, State, Timing
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings
from kiosk.sessions import queries
from tests.helpers.config import small_config

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

    def make(data_root=None, min_free_mb=50, **settings):
        config = small_config(storage__min_free_mb=min_free_mb)
        data = DataDir(data_root or tmp_path / "data").ensure()
        store = SessionStore.open(data, config)
        (tmp_path / "t.toml").write_text(TEMPLATE)
        store.import_template(tmp_path / "t.toml")
        recorder_settings = RecorderSettings(**{"profile": "webm-vp8-opus", "size": (320, 180), "fps": 15,
                                                "video_bitrate_kbps": 300, "min_free_mb": min_free_mb, **settings})
        recorder = Recorder(DemoCamera((320, 180), 15), DemoMicrophone(), recorder_settings, EventBus())
        recorder.open()
        made.append(recorder)     # closed after the runner (reversed below)
        from kiosk.sessions.flow_port import StoreSessions
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
    runner.send(Event.START)
    runner.walk_in()
    runner.send(Event.ACCEPT)
    runner.send(Event.DEVICES_OK)            # the template has no practice question
    assert runner.flow.state is State.THINK and runner.path is not None
    run_until(runner, State.ANSWER)
    time.sleep(1.0)
    runner.send(Event.RETAKE)
    runner.send(Event.START_NOW)
    time.sleep(1.0)
    runner.send(Event.DONE)
    runner.send(Event.START_NOW)
    time.sleep(1.0)
    runner.send(Event.DONE)
    run_until(runner, State.THANKS)
    metadata = runner.last_metadata
    labels = [c["label"] for c in metadata["chapters"]]
    assert labels[0] == "Q1" and "Q1 retake 2" in labels and labels[-1] == "Q2"
    interview = queries.list_interviews()[0]
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
    failures = []
    runner.recorder.bus.subscribe(lambda event: failures.append(event.data), "recording.failed")
    runner.send(Event.START)
    runner.walk_in()
    runner.send(Event.ACCEPT)
    runner.send(Event.DEVICES_OK)
    runner.send(Event.START_NOW)        # StartTake: start_take(wait=False) returns; the encoders fail on their thread
    assert runner.flow.state is State.ANSWER
    run_until(runner, State.FAILSAFE)     # the "recording.failed" event, handled on a tick
    assert [f["stage"] for f in failures] == ["start"] and "Fix:" in failures[0]["error"]
    assert runner.flow.message.startswith("StartTake failed: no encoder could be opened")
    assert [(a.value, b.value) for a, b, _ in runner.flow.history[-2:]] == [("think", "answer"),
                                                                           ("answer", "failsafe")]
    runner.tick()
    interview = queries.list_interviews()[0]
    assert interview.status == "failed"
    assert not runner.flow.take_open and not runner.flow.session_open and runner.session is None
    assert runner.recorder.state == "previewing"          # the engine is still usable for the next candidate
    assert not list(store.data.recordings.glob("*"))      # nothing was recorded


class _OpeningGate(logging.Handler):
    """Holds the thread that opens the encoders at the fallback from VP9 to VP8 (a real step of the writer's chain)
    until the test opens the gate: whatever the runner's thread does meanwhile cannot have waited for the encoders."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reached = threading.Event()
        self.gate = threading.Event()
        self.gave_up = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == "media-open" and not self.reached.is_set():
            self.reached.set()
            if not self.gate.wait(120):    # only so that a runner that does wait fails instead of hanging
                self.gave_up.set()


def test_starting_the_take_does_not_wait_for_the_encoders(parts, expect_log):
    expect_log("kiosk.media.writer", r"encoder libvpx-vp9 could not open")
    runner, store = parts(profile="webm-vp9-opus", disabled_encoders=("libvpx-vp9",))
    started = threading.Event()
    runner.recorder.bus.subscribe(lambda event: started.set(), "recording.started")
    writer_log = logging.getLogger("kiosk.media.writer")
    opening = _OpeningGate()
    writer_log.addHandler(opening)
    try:
        runner.send(Event.START)
        runner.walk_in()
        runner.send(Event.ACCEPT)
        runner.send(Event.DEVICES_OK)
        runner.send(Event.START_NOW)          # StartTake -> recorder.start_take on this thread
        returned_while_held = not opening.gave_up.is_set()
        started_before_return = started.is_set()
        assert runner.flow.state is State.ANSWER
        assert opening.reached.wait(30)   # the encoders are being opened on their own thread, held at the gate
        assert not started.is_set()
    finally:
        opening.gate.set()
        writer_log.removeHandler(opening)
    assert returned_while_held and not started_before_return
    assert started.wait(30)               # once the gate opens the take really starts ...
    time.sleep(1.0)
    runner.send(Event.DONE)
    runner.send(Event.START_NOW)
    time.sleep(0.5)
    runner.send(Event.DONE)
    run_until(runner, State.THANKS)       # ... and the interview ends normally
    metadata = runner.last_metadata
    assert metadata["video_codec"] == "vp8" and [c["label"] for c in metadata["chapters"]] == ["Q1", "Q2"]
    assert queries.list_interviews()[0].status == "completed"


def test_disk_nearly_full_mid_answer_ends_the_interview_with_what_was_recorded(parts, expect_log):
    expect_log("kiosk.recorder", r"disk low")
    runner, store = parts()
    runner.send(Event.START)
    runner.walk_in()
    runner.send(Event.ACCEPT)
    runner.send(Event.DEVICES_OK)
    runner.send(Event.START_NOW)
    time.sleep(1.5)
    # The real free-space check of the recorder, with a floor above what this disk has.
    runner.recorder.settings.min_free_mb = 10 ** 9
    run_until(runner, State.SAVING, timeout=10)
    assert runner.flow.message == "disk.low"
    run_until(runner, State.THANKS, timeout=30)
    interview = queries.list_interviews()[0]
    assert interview.status == "interrupted" and interview.end_reason == "disk_full"
    recording = interview.recordings.get()
    assert recording.state == "finalized" and recording.duration > 1
    with av.open(recording.path) as container:
        assert sum(1 for _ in container.decode(video=0)) > 10


LONG_TEMPLATE = """
[template]
name = "long"
title = "Long"
consent_text = "ok"
[[questions]]
text = "Tell us everything?"
answer_s = 3600
[[questions]]
text = "And more?"
answer_s = 600
"""


def test_not_enough_space_on_a_small_disk_refuses_before_the_consent(parts, tiny_fs, tmp_path, expect_log):
    """A real 64 MiB file system holding the data dir: the two-hour plan (2 x 3600 s at the configured bitrate) is
    refused when its code is entered, calmly for the candidate, with the figures and the fix for staff; the short
    walk-in plan fits, until the space goes while the candidate reads the consent."""
    from kiosk.db.models import AuditLog, Interview
    from kiosk.db.models import Event as EventRow
    expect_log("kiosk.flow", r"^an interview was refused: Not enough disk space to record: .* Fix: ")
    runner, store = parts(data_root=tiny_fs(64 * 1024) / "data", min_free_mb=50)
    (tmp_path / "long.toml").write_text(LONG_TEMPLATE)
    store.import_template(tmp_path / "long.toml")
    scheduled = store.schedule("long", code="2580", candidate_name="Ada")
    shown = []
    runner.on_change = lambda snapshot: shown.append(snapshot.state)

    runner.send(Event.START)
    runner.enter_code("2580")
    assert runner.flow.state is State.UNAVAILABLE and runner.flow.message == "no_space"
    assert State.CONSENT not in shown                      # the candidate never saw the consent
    assert runner.session is None and runner.path is None
    scheduled = Interview.get_by_id(scheduled.id)
    assert scheduled.status == "scheduled" and scheduled.started_at is None     # the code can be used again later
    event = EventRow.get(EventRow.interview == scheduled, EventRow.kind == "session.refused")
    audit = AuditLog.get(AuditLog.action == "session.refused")
    assert audit.actor == "system" and audit.target == scheduled.uuid
    for detail in (event.detail, audit.detail):
        assert detail["reason"] == "no_space" and detail["needed_bytes"] > detail["free_bytes"] > 0
        assert detail["free_bytes"] < 64 * 1024 * 1024 and "Fix:" in detail["message"]
    assert not list(store.data.recordings.glob("*"))
    runner.send(Event.ACCEPT)                                  # a late tap does not reach the consent
    assert runner.flow.state is State.UNAVAILABLE

    # the timeout (ui.failsafe_timeout_s) returns to the welcome screen; nothing of the candidate is kept
    runner.flow.deadline = runner.clock()
    runner.tick()
    assert runner.flow.state is State.ATTRACT and runner.flow.plan is None

    # the short walk-in plan (2 x 5 s, plus the 50 MB reserve) fits on the same disk ...
    runner.send(Event.START)
    runner.walk_in()
    assert runner.flow.state is State.CONSENT
    # ... until the space goes while the candidate reads the consent: the store refuses to begin the session
    store.config.set("storage.min_free_mb", 100)
    runner.send(Event.ACCEPT)
    assert runner.flow.state is State.UNAVAILABLE and not runner.flow.session_open
    assert runner.session is None and runner.path is None
    assert [i.status for i in Interview.select()] == ["scheduled"]          # no walk-in session was created
    assert AuditLog.select().where(AuditLog.action == "session.refused").count() == 2
    assert not list(store.data.recordings.glob("*"))
