import os
import shutil
from pathlib import Path

import pytest

from kiosk import config as configmod, disk
from kiosk.db.database import close_database
from kiosk.disk import NotEnoughSpace
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore
from kiosk.flow import Question
from kiosk.sessions.templates import InterviewTemplate, load, sample_paths
from tests.helpers.db import decode, record_real_take


def _config(**values):
    config = configmod.Config()
    for name, value in values.items():
        config.set(name.replace("__", "."), value)
    return config


def _template(answers):
    return InterviewTemplate(name="t", title="T", consent_text="c", consent_version="1",
                             questions=tuple(Question(f"q{i}", answer_s=a) for i, a in enumerate(answers)))


def test_estimate_is_longest_answer_times_questions_times_bitrate_and_margin(tmp_path):
    config = _config(camera__size="1280x720", recording__video_bitrate_kbps=2500, recording__audio_bitrate_kbps=96,
                     storage__space_margin=1.5, storage__min_free_mb=500)
    template = _template([60, 180, 120])
    result = disk.estimate_for_template(config, template, tmp_path)
    assert result.seconds == 540 and result.bitrate_bps == 2_596_000
    raw = 540 * 2_596_000 / 8
    assert result.file_bytes == pytest.approx(raw * 1.5, abs=1) and result.remux_bytes == pytest.approx(raw, abs=1)
    assert result.needed_bytes == result.file_bytes + result.remux_bytes + 500 * disk.MB
    assert result.free_bytes == shutil.disk_usage(tmp_path).free or abs(
        result.free_bytes - shutil.disk_usage(tmp_path).free) < 50 * disk.MB
    # video bitrate scales with picture area, like the encoder's; audio-only profiles count audio only
    assert disk.bitrate_bps(_config(camera__size="640x360")) == 625_000 + 96_000
    assert disk.bitrate_bps(_config(recording__profile="audio-opus")) == 96_000


def test_refused_with_needed_and_free_on_a_small_disk(tiny_fs):
    where = tiny_fs(80 * 1024)                                    # an 80 MiB file system (83.9 MB)
    config = _config(storage__min_free_mb=50)
    assert disk.require_space(config, _template([20]), where).ok   # 20 s: 6.5 MB x 1.5 + 6.5 + 50 = 66 MB
    short = _template([30, 30])                                   # 60 s: 19.5 MB x 1.5 + 19.5 + 50 = 99 MB
    long = load(next(p for p in sample_paths() if p.suffix == ".toml"))
    assert disk.require_space(config, _template([5]), where).ok
    with pytest.raises(NotEnoughSpace) as err:
        disk.require_space(config, short, where)
    message = str(err.value)
    estimate = err.value.estimate
    assert not estimate.ok and estimate.free_bytes <= 80 * 1024 * 1024
    assert f"{estimate.needed_bytes / disk.MB:,.0f} MB" in message and f"{estimate.free_bytes / disk.MB:,.0f} MB" \
        in message and "Fix:" in message
    with pytest.raises(NotEnoughSpace):
        disk.require_space(config, long, where)


def test_session_begin_refuses_before_writing_anything(tiny_fs, tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    tiny_fs(8 * 1024, at=data.recordings)
    store = SessionStore.open(data, _config(storage__min_free_mb=50))
    try:
        plan = store.walk_in_plan()
        with pytest.raises(NotEnoughSpace, match="Not enough disk space to record"):
            store.begin(plan)
        from kiosk.db.models import Interview, Recording
        assert Interview.select().count() == 0 and Recording.select().count() == 0
        assert list(data.recordings.iterdir()) == []
    finally:
        close_database()


def test_the_estimate_covers_what_a_real_take_writes(tmp_path):
    config = _config(camera__size="160x120", recording__video_bitrate_kbps=200, recording__audio_bitrate_kbps=48,
                     recording__profile="webm-vp8-opus", storage__space_margin=1.0)
    result = record_real_take(tmp_path / "take.webm", 1.5)
    written = Path(result.metadata["recording_path"]).stat().st_size
    estimate = disk.estimate(config, result.metadata["duration"], tmp_path)
    assert estimate.bitrate_bps == 150_000 + 48_000               # 200 kbit/s at 720p scaled to 160x120 (floor 150)
    assert written <= estimate.file_bytes * 1.25                  # container overhead of a very short take


def _fill(where: Path, leave_bytes: int) -> Path:
    """A filler file that leaves about `leave_bytes` free on the file system of `where`."""
    filler = where / "filler.bin"
    free = shutil.disk_usage(where).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
        f.flush()
        os.fsync(f.fileno())
    return filler


def _recorder(min_free_mb: float):
    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.recorder import Recorder, RecorderSettings
    return Recorder(DemoCamera((160, 120), 15), DemoMicrophone(),
                    RecorderSettings(profile="webm-vp8-opus", size=(160, 120), fps=15, video_bitrate_kbps=200,
                                     audio_bitrate_kbps=48, min_free_mb=min_free_mb))


def test_disk_filling_during_a_take_ends_with_a_playable_file_and_disk_full_status(tiny_fs, tmp_path, expect_log):
    """The whole data dir on a 4 MiB file system; the recorder's floor is 1 MB; a filler leaves 1.1 MB."""
    root = tiny_fs(4 * 1024)
    data = DataDir(root / "data").ensure()
    store = SessionStore.open(data)          # no config: the space estimate is the UI's call here
    try:
        interview, path = store.begin(store.walk_in_plan())
        _fill(root, int(1.1e6))
        recorder = _recorder(min_free_mb=1.0)
        expect_log("kiosk.recorder", r"disk low")
        try:
            recorder.start_take(path, interview_uuid=interview.uuid, label="Question 1")
            future = None
            import time
            deadline = time.monotonic() + 60
            while recorder.state == "recording":
                assert time.monotonic() < deadline, "the recorder's disk guard never stopped the take"
                time.sleep(0.1)
            future = recorder.stop_take()
            result = future.result(timeout=60)
        finally:
            recorder.close()
        done = store.finish(interview, "completed", result.metadata, None)
        assert (done.status, done.end_reason) == ("interrupted", "disk_full")
        recording = done.recordings.get()
        assert recording.state == "finalized"
        frames, audio_s, duration = decode(recording.path)
        assert frames > 5 and audio_s > 0.3 and duration == pytest.approx(recording.duration, abs=0.2)
        assert any(e.kind == "disk.low" for e in done.events)
    finally:
        close_database()


def test_disk_full_with_no_guard_keeps_a_playable_file_that_recovery_finishes(tiny_fs, tmp_path, expect_log):
    """ENOSPC in the middle of a take (the guard is off): the file up to the failure is kept; once space is freed,
    the start-up recovery repairs it and the session ends as recovered."""
    data = DataDir(tmp_path / "data").ensure()
    tiny_fs(2 * 1024, at=data.recordings)
    store = SessionStore.open(data)
    try:
        interview, path = store.begin(store.walk_in_plan())
        filler = _fill(data.recordings, 60_000)
        expect_log("kiosk.media.writer", r"No space left on device")
        expect_log("kiosk.media.finish", r"finalizing .* failed: the writer failed: .*No space left on device")
        recorder = _recorder(min_free_mb=0)
        try:
            recorder.start_take(path, interview_uuid=interview.uuid, label="Question 1")
            import time
            deadline = time.monotonic() + 60
            while recorder.state == "recording":
                assert time.monotonic() < deadline, "the writer never noticed the full disk"
                time.sleep(0.1)
            result = recorder.stop_take().result(timeout=60)
        finally:
            recorder.close()
        assert not result.ok and "No space left on device" in result.metadata["error"]
        done = store.finish(interview, "completed", result.metadata, "finalize failed")
        recording = done.recordings.get()
        assert (done.status, done.end_reason, recording.state) == ("failed", "disk_full", "failed")
        media = Path(recording.path)
        assert media.stat().st_size > 0 and media.with_name(media.name + ".recording").exists()
        frames_before, _, _ = decode(media)          # playable as it is, up to the last cluster that fit
        assert frames_before > 3

        filler.unlink()                                           # the admin frees space
        report = store.recover_at_start()
        assert [r["path"] for r in report.recovered] == [recording.path]
        recording = recording.__class__.get_by_id(recording.id)
        done = done.__class__.get_by_id(done.id)
        assert (done.status, done.end_reason, recording.state) == ("recovered", "disk_full", "recovered")
        frames, audio_s, duration = decode(recording.path)
        assert frames >= frames_before and duration > 0.2
        assert recording.duration == pytest.approx(duration, abs=0.2) and done.is_recorded
    finally:
        close_database()
