"""Cut-off takes (what a kill -9 or power loss leaves on disk) are repaired in place; names never collide."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.media import analysis, finalize, journal, naming
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings


def snapshot_live_take(tmp_path: Path, profile: str, seconds: float) -> tuple[Path, float]:
    """Copy the live file mid-take: byte for byte what a crash at that instant leaves behind."""
    recorder = Recorder(DemoCamera((320, 240), 30), DemoMicrophone(),
                        RecorderSettings(profile=profile, size=(320, 240), fps=30, min_free_mb=50))
    recorder.open()
    live = tmp_path / "live" / f"take.{'mp4' if profile.startswith('mp4') else 'webm'}"
    try:
        recorder.start_take(live, label="Q1")
        time.sleep(seconds / 2)
        recorder.mark("Q2")
        time.sleep(seconds / 2)
        elapsed = recorder.status()["elapsed_s"]
        cut = tmp_path / live.name
        shutil.copyfile(live, cut)
        shutil.copyfile(journal.journal_path(live), journal.journal_path(cut))
        recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    return cut, elapsed


@pytest.mark.parametrize("profile", ["webm-vp9-opus", "mp4-h264-aac"])
def test_crash_snapshot_is_recovered_with_chapters(tmp_path, profile):
    cut, elapsed = snapshot_live_take(tmp_path, profile, 3.0)
    assert finalize.find_cut_off(tmp_path) == [cut]
    result = finalize.recover(cut)
    assert result.ok, result.message
    assert result.duration >= elapsed - 1.0 and result.duration <= elapsed + 0.2
    info = finalize.probe(cut)
    assert info["seekable"] and info["container_duration"]
    assert [c["label"] for c in info["chapters"]] == ["Q1", "Q2"]
    assert result.metadata["state"] == "recovered" and result.metadata["events"][-1]["kind"] == "recovered"
    assert analysis.scan_video(cut).count == result.metadata["frames_written"]
    assert finalize.find_cut_off(tmp_path) == []
    assert not list(tmp_path.glob("*.orig.*")) and not list(tmp_path.glob("*.final.*"))


def test_cut_at_any_byte_offset_stays_playable_up_to_the_cut(tmp_path):
    cut, _ = snapshot_live_take(tmp_path, "webm-vp9-opus", 3.0)
    data = cut.read_bytes()
    durations = []
    for fraction in (0.35, 0.6, 0.85):
        part = tmp_path / f"part{int(fraction * 100)}.webm"
        part.write_bytes(data[: int(len(data) * fraction)] + b"\0" * 1000)   # torn write: zeros at the end
        journal.journal_path(part).write_text(journal.journal_path(cut).read_text())
        result = finalize.recover(part)
        assert result.ok, result.message
        durations.append(result.duration)
        samples, rate, _ = analysis.decode_audio(part)
        assert abs(len(samples) / rate - result.duration) < 0.6
    assert durations == sorted(durations) and durations[0] > 0.3


def test_recover_keeps_a_file_it_cannot_read(tmp_path):
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"not a recording at all" * 100)
    journal.journal_path(junk).write_text("{}\n")
    result = finalize.recover(junk)
    assert not result.ok and "kept unchanged" in result.message
    assert junk.read_bytes() == b"not a recording at all" * 100 and journal.journal_path(junk).exists()


def test_recording_path_follows_the_seed_and_never_exists(tmp_path):
    data = DataDir(tmp_path).ensure()
    first = naming.recording_path(data, "u-1", "webm-vp9-opus")
    assert first.parent == tmp_path / "media" / "interview_recordings"
    assert re.fullmatch(r"interview_u-1_\d{8}_\d{6}\.webm", first.name)
    first.write_bytes(b"x")
    second = naming.recording_path(data, "u-1", "webm-vp9-opus")
    assert second != first and not second.exists()
    assert naming.recording_path(data, "u-1", "mp4-h264-aac").suffix == ".mp4"


def test_a_take_stopped_at_once_is_finalized(tmp_path):
    recorder = Recorder(DemoCamera((160, 120), 30), DemoMicrophone(),
                        RecorderSettings(size=(160, 120), fps=30, min_free_mb=50))
    recorder.open()
    try:
        recorder.start_take(tmp_path / "blink.webm")
        result = recorder.stop_take().result(timeout=30)     # before a frame, maybe before any packet
    finally:
        recorder.close()
    assert result.state == "finalized", result.message
    assert finalize.probe(result.path)["streams"] and not journal.journal_path(result.path).exists()
