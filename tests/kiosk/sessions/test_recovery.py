"""Crash recovery at start: a real recording process is killed (SIGKILL) mid-take; the next start repairs the file
through the engine's recover path and marks the rows recovered with the surviving duration."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.db.database import close_database
from kiosk.db.models import AuditLog, Event, Interview, Recording
from kiosk.sessions import SessionStore
from kiosk.sessions.owner import boot_id, owner_alive
from tests.helpers.db import decode, record_real_take
from tests.helpers.media import header_only_take

ROOT = Path(__file__).resolve().parents[3]

RECORDING_PROCESS = r"""
import json, sys, time
from pathlib import Path
from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings
from kiosk.sessions import SessionStore

data = DataDir(Path(sys.argv[1]))
with_db = sys.argv[2] == "db"
if with_db:
    store = SessionStore.open(data)
    interview, path = store.begin(store.walk_in_plan(), profile="webm-vp8-opus")
    uuid = interview.uuid
else:
    data.ensure()
    uuid = "0a0b0c0d-1111-4222-8333-444455556666"
    path = data.recordings / f"interview_{uuid}_20260101_000000.webm"
recorder = Recorder(DemoCamera((160, 120), 15), DemoMicrophone(),
                    RecorderSettings(profile="webm-vp8-opus", size=(160, 120), fps=15, video_bitrate_kbps=200,
                                     audio_bitrate_kbps=48, min_free_mb=50))
recorder.start_take(path, interview_uuid=uuid, label="Question 1")
time.sleep(1.5)
recorder.mark("Question 2")
print(json.dumps({"uuid": uuid, "path": str(path), "pid": __import__("os").getpid()}), flush=True)
time.sleep(float(sys.argv[3]))
print("RECORDED", flush=True)
time.sleep(120)
"""


def _start_recording_process(root: Path, with_db: bool, seconds_after_mark: float) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([sys.executable, "-c", RECORDING_PROCESS, str(root), "db" if with_db else "nodb",
                                str(seconds_after_mark)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    info = json.loads(process.stdout.readline())
    assert process.stdout.readline().strip() == "RECORDED"
    return process, info


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()


def test_killed_recording_is_recovered_at_start_with_the_surviving_duration(data):
    process, info = _start_recording_process(data.root, with_db=True, seconds_after_mark=1.5)
    killed_at_s = 3.0            # 1.5 s before the mark + 1.5 s after it
    _kill(process)

    store = SessionStore.open(data)
    interview = Interview.get(Interview.uuid == info["uuid"])
    (recording,) = interview.recordings
    # What the crash left: rows still "in progress", owned by a process that no longer exists, a cut-off file.
    assert (interview.status, recording.state, recording.owner_pid) == ("in_progress", "recording", info["pid"])
    assert not owner_alive(recording.owner_pid, recording.owner_host, recording.owner_boot_id, recording.started_at)
    media = Path(info["path"])
    assert media.exists() and media.with_name(media.name + ".recording").exists()

    report = store.recover_at_start()

    assert [r["uuid"] for r in report.recovered] == [info["uuid"]] and report.interrupted == [info["uuid"]]
    assert not report.failed and not report.adopted and not report.live
    interview = Interview.get_by_id(interview.id)
    recording = Recording.get_by_id(recording.id)
    assert (interview.status, interview.end_reason, recording.state) == ("recovered", "crash", "recovered")
    assert interview.owner_pid is None and recording.owner_pid is None
    # the surviving duration is what the repaired file holds, and it is most of what was recorded
    frames, audio_s, duration = decode(recording.path)
    assert recording.duration == pytest.approx(duration, abs=0.2)
    assert killed_at_s - 1.5 < recording.duration <= killed_at_s + 0.5
    assert frames >= 15 and audio_s > 1.0
    assert interview.recording_duration == recording.duration and interview.is_recorded
    assert [c["label"] for c in interview.recording_data["chapters"]] == ["Question 1", "Question 2"]
    assert recording.sha256 and recording.size == media.stat().st_size
    assert not media.with_name(media.name + ".recording").exists()
    kinds = {e.kind for e in interview.events}
    assert {"recording.recovered", "session.recovered"} <= kinds
    (audit,) = AuditLog.select().where(AuditLog.action == "recovery")
    assert audit.actor == "system" and audit.detail["recovered"][0]["path"] == str(media)

    # a second start finds nothing to do
    again = store.recover_at_start()
    assert not again.changed
    close_database()


def test_a_live_recording_is_left_alone(data):
    process, info = _start_recording_process(data.root, with_db=True, seconds_after_mark=0.2)
    try:
        store = SessionStore.open(data)
        media = Path(info["path"])
        size_before = media.stat().st_size
        report = store.recover_at_start()
        assert report.live == [info["uuid"]] and not report.changed
        interview = Interview.get(Interview.uuid == info["uuid"])
        assert interview.status == "in_progress" and interview.recordings.get().state == "recording"
        assert media.stat().st_size >= size_before        # still growing, not touched
    finally:
        _kill(process)
    report = store.recover_at_start()
    assert [r["uuid"] for r in report.recovered] == [info["uuid"]]
    close_database()


def test_orphan_files_are_adopted_never_deleted(data, database, expect_log):
    # 1) a finished take whose process died before telling the database (file + sidecar, no row)
    finished = data.recordings / "interview_9f8e7d6c-1111-4222-8333-444455556666_20260101_000001.webm"
    result = record_real_take(finished, 0.6, uuid="9f8e7d6c-1111-4222-8333-444455556666")
    # 2) a take cut off by a kill with no database at all
    process, info = _start_recording_process(data.root, with_db=False, seconds_after_mark=0.5)
    _kill(process)
    # 3) something that is not a recording at all, with a media extension
    junk = data.recordings / "notes.webm"
    junk.write_bytes(b"this is not a media file")

    store = SessionStore(data)
    expect_log("kiosk.sessions", r"notes\.webm could not be repaired; adopted as failed")
    report = store.recover_at_start()

    adopted = {r["uuid"]: r for r in report.adopted}
    assert set(adopted) == {"9f8e7d6c-1111-4222-8333-444455556666", info["uuid"]}
    first = Interview.get(Interview.uuid == "9f8e7d6c-1111-4222-8333-444455556666")
    assert (first.status, first.end_reason) == ("recovered", "adopted")
    assert first.recordings.get().sha256 == result.metadata["sha256"]
    assert first.recordings.get().state == "finalized"
    second = Interview.get(Interview.uuid == info["uuid"])
    rec = second.recordings.get()
    assert rec.state == "recovered" and rec.duration > 1.0
    assert decode(rec.path)[0] > 10
    # the junk file is kept and registered as failed, with the reason
    (bad,) = report.failed
    assert bad["path"] == str(junk) and junk.read_bytes() == b"this is not a media file"
    junk_row = Recording.get(Recording.path == str(junk))
    assert junk_row.state == "failed" and junk_row.interview.status == "failed"
    assert all(Path(r.path).exists() for r in Recording.select())
    assert not store.recover_at_start().changed


def test_row_whose_file_never_appeared_is_marked_failed(data, database):
    store = SessionStore(data)
    interview, path = store.begin(store.walk_in_plan())
    Recording.update(owner_pid=2 ** 22 + 12345).execute()       # a pid that does not exist
    Interview.update(owner_pid=2 ** 22 + 12345).execute()
    report = store.recover_at_start()
    assert report.failed[0]["message"] == "no file was written before the process ended"
    assert Interview.get_by_id(interview.id).status == "interrupted"
    assert Recording.get().state == "failed"
    assert Event.select().where(Event.kind == "recording.lost").exists()


def test_owner_alive():
    me = os.getpid()
    assert owner_alive(me, None, boot_id())
    assert not owner_alive(None, None, None)
    assert not owner_alive(me, None, "another-boot")                    # the machine restarted since
    assert owner_alive(12345, "some-other-host", "x")                    # not ours to judge
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not owner_alive(child.pid, None, boot_id())                  # exited, not yet reaped: a zombie
    child.wait()
    assert not owner_alive(child.pid, None, boot_id())
    import datetime as dt
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    assert not owner_alive(1, None, boot_id(), since=long_ago)          # pid reused by a later process


def test_killed_kiosk_record_is_adopted_and_recovered_at_the_next_start(data):
    """`kiosk record` registers its take only after finalize; killed mid-take, the file is found and adopted."""
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "record", "--camera",
                                "demo", "--mic", "demo", "--size", "160x120", "--fps", "15", "--profile",
                                "webm-vp8-opus", "--json"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    started = json.loads(process.stdout.readline())
    assert started["event"] == "started"
    time.sleep(2.0)
    _kill(process)
    media = Path(started["path"])
    assert media.with_name(media.name + ".recording").exists()

    store = SessionStore.open(data)
    report = store.recover_at_start()
    (adopted,) = report.adopted
    assert adopted["path"] == str(media)
    interview = Interview.get(Interview.uuid == adopted["uuid"])
    assert (interview.status, interview.end_reason) == ("recovered", "adopted")
    assert interview.uuid in media.name                               # the uuid the recorder put in the name
    recording = interview.recordings.get()
    frames, _, duration = decode(recording.path)
    assert recording.state == "recovered" and frames > 10 and duration > 1.0
    assert recording.duration == pytest.approx(duration, abs=0.2)
    close_database()


def _dead_owner(interview_id):
    dead = 2 ** 22 + 4321                                      # above pid_max's default: no such process
    Recording.update(owner_pid=dead).where(Recording.interview == interview_id).execute()
    Interview.update(owner_pid=dead).where(Interview.id == interview_id).execute()


def test_crash_between_finalize_and_the_database_uses_the_sidecar(data, database):
    store = SessionStore(data)
    interview, path = store.begin(store.walk_in_plan())
    result = record_real_take(path, 0.6, uuid=interview.uuid)   # finalized on disk, sidecar written ...
    _dead_owner(interview.id)                                    # ... but the process died before finish()
    report = store.recover_at_start()
    assert report.recovered[0]["message"].startswith("finalized before the crash")
    recording = Recording.get(Recording.interview == interview.id)
    assert (recording.state, recording.sha256) == ("finalized", result.metadata["sha256"])
    assert Interview.get_by_id(interview.id).status == "recovered"
    assert decode(recording.path)[0] > 3


def test_crash_in_the_middle_of_the_finalize_remux(data, database):
    """Killed while the finalize copy was being written: the original is *.orig.webm, a partial *.final.webm
    exists, the take's own name is gone. Recovery puts a verified file back under the take's name."""
    store = SessionStore(data)
    interview, path = store.begin(store.walk_in_plan())
    record_real_take(path, 0.8, uuid=interview.uuid)
    path.with_name(path.name + ".json").unlink()
    orig = path.with_name(f"{path.stem}.orig{path.suffix}")
    path.rename(orig)
    path.with_name(f"{path.stem}.final{path.suffix}").write_bytes(orig.read_bytes()[:2000])
    path.with_name(path.name + ".recording").write_text('{"kind": "take"}\n')
    _dead_owner(interview.id)
    report = store.recover_at_start()
    assert [r["path"] for r in report.recovered] == [str(path)] and not report.adopted
    recording = Recording.get(Recording.interview == interview.id)
    assert recording.state == "recovered" and path.exists() and not orig.exists()
    assert decode(path)[0] > 5 and recording.duration > 0.5


def test_take_cut_off_before_its_first_frame_is_marked_as_nothing_recorded(data, database):
    """Killed between the take's start and its first cluster: no "damaged file", but a settled outcome: the recording
    says no frame was recorded, the interview was interrupted by the crash, the file (a header) is kept."""
    store = SessionStore(data)
    interview, path = store.begin(store.walk_in_plan())
    header = header_only_take(path, uuid=interview.uuid)
    _dead_owner(interview.id)
    report = store.recover_at_start()
    assert [e["path"] for e in report.empty] == [str(path)] and not report.failed and not report.recovered
    recording = Recording.get(Recording.interview == interview.id)
    interview = Interview.get_by_id(interview.id)
    assert recording.state == "empty" and "no frame was recorded" in recording.error
    assert (interview.status, interview.end_reason, interview.is_recorded) == ("interrupted", "crash", False)
    assert "recording.empty" in {e.kind for e in interview.events}
    assert path.read_bytes() == header and not path.with_name(path.name + ".recording").exists()
    assert not store.recover_at_start().changed
