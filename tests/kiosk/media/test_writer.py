"""The media writer on its own: audio timeline re-anchoring, pts clamping, explicit drops; files decoded back."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.media import analysis, finalize, profiles
from kiosk.media.writer import MediaWriter, WriterSettings

RATE = 48000
BLOCK = 480


def audio_writer(path, **extra) -> MediaWriter:
    writer = MediaWriter(WriterSettings(path=path, profile=profiles.get("audio-opus"), with_video=False, **extra))
    writer.open()
    return writer


def feed_tone(writer: MediaWriter, stamps: list[float]) -> None:
    mic = DemoMicrophone(RATE, 1)
    for i, t in enumerate(stamps):
        writer.write_audio(mic.render(i * BLOCK, BLOCK), t)


def test_lost_block_is_filled_with_silence_and_the_timeline_stays_on_the_clock(tmp_path):
    writer = audio_writer(tmp_path / "gap.webm")
    stamps = [i * 0.01 for i in range(300) if i != 150]        # block 150 never arrived
    feed_tone(writer, stamps)
    stats = writer.close()
    assert stats.silence_samples >= BLOCK and stats.audio_reanchors == 1
    samples, rate, start = analysis.decode_audio(writer.path)
    # The content runs on without the lost block while its stamps skip 10 ms: the beep rendered at 2.0 s arrives
    # stamped 2.01 s and must be found there in the file, not 10 ms early.
    onsets = analysis.audio_markers(samples, rate, start)
    assert abs(onsets[-1] - 2.01) < 0.002, onsets
    assert abs(len(samples) / rate - 3.0) < 0.03


def test_drifting_microphone_clock_is_re_anchored(tmp_path):
    # The device delivers 1000 ppm slow against the system clock: stamps run ahead of the sample count.
    writer = audio_writer(tmp_path / "drift.webm")
    stamps = [i * 0.01 * 1.001 for i in range(3000)]              # 30 s
    feed_tone(writer, stamps)
    stats = writer.close()
    assert 2 <= stats.audio_reanchors <= 8            # 30 ms of drift, corrected in steps of just over 5 ms
    samples, rate, _ = analysis.decode_audio(writer.path)
    assert abs(len(samples) / rate - 30.03) < 0.01


def test_a_transient_step_that_comes_back_is_ignored(tmp_path):
    writer = audio_writer(tmp_path / "step.webm")
    stamps = [i * 0.01 + (0.008 if 100 <= i < 104 else 0.0) for i in range(300)]   # 40 ms of +8 ms, then back
    feed_tone(writer, stamps)
    stats = writer.close()
    assert stats.audio_reanchors == 0 and stats.silence_samples == 0 and stats.audio_dropped_samples == 0


def test_video_pts_are_clamped_and_full_queue_drops_are_counted(tmp_path):
    camera = DemoCamera((160, 120), 30)
    writer = MediaWriter(WriterSettings(path=tmp_path / "v.webm", profile=profiles.get("webm-vp8-opus"),
                                        size=(160, 120), with_audio=False, max_video_queue_s=0.1))
    writer.open()
    accepted = 0
    for i in range(60):
        t = (i // 2) / 30                      # every stamp twice: duplicate pts must not fail the muxer
        accepted += writer.write_video(camera.render(t), t)
    stats = writer.close()
    assert stats.frames_in == 60 and stats.frames_dropped == 60 - accepted and stats.frames_encoded == accepted
    scan = analysis.scan_video(writer.path)
    assert scan.count == accepted and all(b > a for a, b in zip(scan.times, scan.times[1:]))
    assert finalize.probe(writer.path)["streams"][0]["codec"] == "vp8"


def test_odd_sizes_are_made_even_and_frames_of_another_size_are_scaled(tmp_path):
    writer = MediaWriter(WriterSettings(path=tmp_path / "odd.webm", profile=profiles.get("webm-vp9-opus"),
                                        size=(161, 121), with_audio=False))
    writer.open()
    image = np.full((240, 320, 3), 90, np.uint8)
    for i in range(5):
        writer.write_video(image, i / 30)
    writer.close()
    video = finalize.probe(writer.path)["streams"][0]
    assert (video["width"], video["height"]) == (160, 120) and video["packets"] >= 1


@pytest.mark.parametrize("profile", ["webm-vp9-opus", "mp4-h264-aac", "audio-opus"])
def test_closed_before_anything_arrived_is_still_a_valid_file(tmp_path, profile):
    p = profiles.get(profile)
    writer = MediaWriter(WriterSettings(path=tmp_path / f"empty.{p.ext}", profile=p, size=(160, 120),
                                        with_video=p.has_video))
    writer.open()
    writer.close()
    info = finalize.probe(writer.path)
    assert len(info["streams"]) == (2 if p.has_video else 1) and all(s["packets"] >= 1 for s in info["streams"])
    finalize.rewrite_in_place(writer.path)
    assert finalize.probe(writer.path)["seekable"]
