"""The recorder with the demo sources: real encoders, real files, decoded back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.events import EventBus
from kiosk.media import analysis, finalize, journal
from kiosk.recorder import Recorder, RecorderError, RecorderSettings
from tests.helpers.wait import poll

SIZE = (320, 240)


def make_recorder(**overrides) -> tuple[Recorder, list]:
    settings = RecorderSettings(size=SIZE, fps=30, min_free_mb=50, **overrides)
    bus = EventBus()
    events: list = []
    bus.subscribe(lambda e: events.append(e))
    recorder = Recorder(DemoCamera(SIZE, 30), DemoMicrophone(), settings, bus)
    return recorder, events


def kinds(events) -> list[str]:
    return [e.kind for e in events if e.kind != "recorder.status"]


def test_take_with_pause_chapters_and_camera_toggle_is_one_seekable_file(tmp_path):
    recorder, events = make_recorder()
    recorder.open()
    try:
        assert poll(lambda: recorder.latest_frame() is not None)
        recorder.start_take(tmp_path / "take.webm", interview_uuid="u-1", label="Q1")
        assert poll(lambda: "recording.started" in kinds(events))
        time.sleep(1.5)
        recorder.pause_take()
        time.sleep(1.0)                       # think time: not in the file
        recorder.resume_take("Q2")
        time.sleep(0.8)
        recorder.set_camera_enabled(False)
        assert recorder.latest_frame().image.mean() < 40     # the preview shows the slate
        time.sleep(0.8)
        recorder.set_camera_enabled(True)
        time.sleep(0.6)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    m = result.metadata
    path = Path(m["recording_path"])
    assert result.state == "finalized" and path == tmp_path / "take.webm"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.webm", "take.webm.json"]   # no journal left
    assert json.loads(finalize.sidecar(path).read_text())["sha256"] == finalize.sha256(path) == m["sha256"]
    info = finalize.probe(path)
    assert info["seekable"] and info["container_duration"] and not info["damaged_tail"]
    assert [s["codec"] for s in info["streams"]] == ["vp9", "opus"]
    # 1.5 + 0.8 + 0.8 + 0.6 s recorded, the 1 s pause is not in the file (stop latency adds a little)
    assert 3.5 <= m["duration"] <= 4.6, m["duration"]
    assert [c["label"] for c in info["chapters"]] == ["Q1", "Q2"]
    assert abs(info["chapters"][0]["end"] - 1.5) < 0.3 and info["chapters"][1]["end"] == pytest.approx(
        m["duration"], abs=0.05)
    scan = analysis.scan_video(path)
    assert scan.count == m["frames_written"] and m["frames_dropped"] == 0
    gaps = [b - a for a, b in zip(scan.times, scan.times[1:])]
    assert max(gaps) < 0.1                       # camera off: slate frames kept the timeline, no hole
    slate = [t for t, y in zip(scan.times, scan.lumas) if y < 50]
    assert 0.5 <= len(slate) / 30 <= 1.1          # ~0.8 s of dark slate frames
    samples, rate, start = analysis.decode_audio(path)
    assert abs(len(samples) / rate - m["duration"]) < 0.1
    order = kinds(events)
    assert order.index("recording.started") < order.index("recording.paused") < order.index("recording.resumed")
    assert order.count("camera.toggled") == 2 and order[-2:] == ["recording.finalized", "recording.hashed"]
    logged = [e["kind"] for e in m["events"]]
    assert logged.count("camera.toggled") == 2 and "paused" in logged and "resumed" in logged


def test_status_events_report_progress_and_levels(tmp_path):
    recorder, events = make_recorder()
    recorder.open()
    try:
        recorder.start_take(tmp_path / "s.webm")
        time.sleep(1.6)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    statuses = [e.data for e in events if e.kind == "recorder.status"]
    recording = [s for s in statuses if s["state"] == "recording"]
    assert len(recording) >= 4
    last = recording[-1]
    assert last["elapsed_s"] > 1.0 and last["frames_encoded"] > 20 and last["bytes_written"] > 0
    assert last["camera"] == "ok" and last["mic"] == "ok"
    assert -40 < last["audio_rms_dbfs"] < -10 and last["audio_peak_dbfs"] >= last["audio_rms_dbfs"]
    assert result.ok


def test_av_offset_from_demo_markers_is_within_10_ms(tmp_path):
    recorder, _ = make_recorder()
    recorder.open()
    try:
        recorder.start_take(tmp_path / "sync.webm")
        time.sleep(4.5)                               # two or three marker pairs
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    offsets = analysis.av_offsets(result.path)
    assert len(offsets) >= 2
    assert max(abs(o) for o in offsets) <= 0.010, offsets


@pytest.mark.parametrize("profile, codecs, suffix", [
    ("webm-vp8-opus", ["vp8", "opus"], ".webm"),
    ("mp4-h264-aac", ["h264", "aac"], ".mp4"),
    ("audio-opus", ["opus"], ".webm"),
])
def test_every_profile_records_a_playable_seekable_file(tmp_path, profile, codecs, suffix):
    recorder, _ = make_recorder(profile=profile)
    recorder.open()
    try:
        recorder.start_take(tmp_path / f"p{suffix}", label="Q1")
        time.sleep(1.2)
        recorder.mark("Q1 retake 2")
        time.sleep(1.0)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    info = finalize.probe(result.path)
    assert result.path.suffix == suffix and [s["codec"] for s in info["streams"]] == codecs
    assert info["seekable"] and 2.0 <= info["duration"] <= 2.8
    assert [c["label"] for c in info["chapters"]] == ["Q1", "Q1 retake 2"]
    if "opus" != codecs[0]:
        assert analysis.scan_video(result.path).count == result.metadata["frames_written"] >= 55


def test_fallback_chain_records_which_encoder_was_used(tmp_path, expect_log):
    expect_log("kiosk.media.writer", r"could not open")
    recorder, events = make_recorder(disabled_encoders=("libvpx-vp9",))
    recorder.open()
    try:
        recorder.start_take(tmp_path / "f.webm")
        time.sleep(1.0)
        vp8 = recorder.stop_take().result(timeout=30)
        recorder.settings.disabled_encoders = ("libvpx-vp9", "libvpx")
        recorder.start_take(tmp_path / "g.webm")
        time.sleep(1.0)
        h264 = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    assert vp8.metadata["video_codec"] == "vp8" and vp8.path.suffix == ".webm"
    assert [f["encoder"] for f in vp8.metadata["encoder_fallbacks"]] == ["libvpx-vp9"]
    assert h264.metadata["video_codec"] == "h264" and h264.metadata["audio_codec"] == "aac"
    assert h264.path == tmp_path / "g.mp4" and h264.metadata["container"] == "mp4"
    assert [f["encoder"] for f in h264.metadata["encoder_fallbacks"]] == ["libvpx-vp9", "libvpx"]
    started = [e.data for e in events if e.kind == "recording.started"]
    assert [s["video_codec"] for s in started] == ["vp8", "h264"]


def test_no_encoder_at_all_is_a_clear_error(tmp_path, expect_log):
    expect_log("kiosk.media.writer", r"could not open")
    expect_log("kiosk.recorder", r"could not start")
    recorder, events = make_recorder(profile="mp4-h264-aac", disabled_encoders=("libx264",))
    recorder.open()
    try:
        with pytest.raises(RecorderError, match="Fix:"):
            recorder.start_take(tmp_path / "x.mp4")
        assert recorder.state == "previewing" and not list(tmp_path.iterdir())
        recorder.start_take(tmp_path / "y.mp4", wait=False)   # returns at once, the failure is an event
        result = recorder.stop_take().result(timeout=30)
        assert result.state == "failed" and "Fix:" in result.message and recorder.state == "previewing"
    finally:
        recorder.close()
    assert kinds(events).count("recording.failed") == 2 and not list(tmp_path.iterdir())


def test_start_take_returns_before_the_encoder_is_open_and_calls_meanwhile_wait(tmp_path):
    recorder, events = make_recorder()
    recorder.open()
    try:
        began = time.perf_counter()
        recorder.start_take(tmp_path / "quick.webm", label="Q1", wait=False)
        returned = time.perf_counter() - began
        recorder.mark("Q1 retake 2")                  # right away: waits for the encoder, then marks
        time.sleep(1.0)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    assert returned < 0.05, returned
    logged = [e["label"] for e in result.metadata["events"] if e["kind"] == "chapter"]
    assert logged == ["Q1", "Q1 retake 2"]             # the mark came after the take's start ...
    chapters = result.metadata["chapters"]            # ... at once: Q1 is empty (left out) or a few ms long
    assert chapters[-1]["label"] == "Q1 retake 2" and chapters[-1]["start"] < 0.1
    assert all(c["end"] - c["start"] < 0.1 for c in chapters[:-1])
    assert result.metadata["duration"] >= 0.9


def test_existing_file_is_never_overwritten(tmp_path):
    target = tmp_path / "keep.webm"
    target.write_bytes(b"precious")
    recorder, _ = make_recorder()
    recorder.open()
    try:
        with pytest.raises(RecorderError, match="never overwritten"):
            recorder.start_take(target)
    finally:
        recorder.close()
    assert target.read_bytes() == b"precious"


def test_camera_and_mic_going_silent_do_not_end_the_take(tmp_path, expect_log):
    expect_log("kiosk.recorder", r"camera lost|microphone lost")
    recorder, events = make_recorder(camera_stall_s=0.5, mic_stall_s=0.3)
    recorder.open()
    try:
        recorder.start_take(tmp_path / "lost.webm")
        time.sleep(1.0)
        recorder.video.stop()        # the demo camera stops delivering without a word
        recorder.audio.stop()
        assert poll(lambda: {"camera.lost", "mic.lost"} <= set(kinds(events)), 5)
        assert recorder.status()["camera"] == "lost" and recorder.status()["mic"] == "lost"
        time.sleep(1.5)
        recorder.video.start(recorder._on_frame, recorder._on_camera_health)
        assert poll(lambda: "camera.back" in kinds(events), 5)
        time.sleep(0.5)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    m = result.metadata
    assert result.ok and m["duration"] >= 2.8
    scan = analysis.scan_video(result.path)
    assert max(b - a for a, b in zip(scan.times, scan.times[1:])) < 0.7   # stall detection, then slate frames
    assert scan.times[-1] > m["duration"] - 0.2
    samples, rate, _ = analysis.decode_audio(result.path)
    assert abs(len(samples) / rate - m["duration"]) < 0.15      # silence kept the audio timeline
    assert m["silence_s"] >= 1.5
    logged = [e["kind"] for e in m["events"]]
    assert logged.index("camera.lost") < logged.index("camera.back") and "mic.lost" in logged


def test_low_disk_finalizes_the_take_itself(tmp_path, expect_log):
    expect_log("kiosk.recorder", r"disk low")
    recorder, events = make_recorder()
    recorder.open()
    try:
        with pytest.raises(RecorderError, match="free"):
            recorder.settings.min_free_mb = 10 ** 12
            recorder.start_take(tmp_path / "nospace.webm")
        recorder.settings.min_free_mb = 50
        recorder.start_take(tmp_path / "d.webm")
        time.sleep(0.8)
        recorder.settings.min_free_mb = 10 ** 12     # the disk "fills up" mid-take
        assert poll(lambda: "recording.finalized" in kinds(events), 10)
    finally:
        recorder.close()
    assert "disk.low" in kinds(events)
    finalized = [e.data["metadata"] for e in events if e.kind == "recording.finalized"][0]
    assert finalized["state"] == "finalized" and finalized["duration"] > 0.5
    assert not journal.journal_path(tmp_path / "d.webm").exists()


def test_recorder_without_microphone_writes_video_only(tmp_path):
    settings = RecorderSettings(size=SIZE, fps=30, min_free_mb=50)
    recorder = Recorder(DemoCamera(SIZE, 30), None, settings)
    recorder.open()
    try:
        assert recorder.audio_level() == (-100.0, -100.0)
        recorder.start_take(tmp_path / "v.webm")
        time.sleep(1.0)
        result = recorder.stop_take().result(timeout=30)
    finally:
        recorder.close()
    assert [s["type"] for s in finalize.probe(result.path)["streams"]] == ["video"]
    assert result.metadata["audio_codec"] is None and recorder.state == "closed"


def test_from_config_takes_the_declared_settings():
    from kiosk import config as configmod
    config = configmod.Config()
    config.set("camera.size", "640x360")
    config.set("recording.profile", "mp4-h264-aac")
    settings = RecorderSettings.from_config(config)
    assert settings.size == (640, 360) and settings.profile == "mp4-h264-aac" and settings.fps == 30.0
