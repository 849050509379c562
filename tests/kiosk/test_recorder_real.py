"""The recorder on real parts: the MJPEG network camera on 127.0.0.1 and the PulseAudio virtual microphone.

Speech played into the virtual mic must come back out of the file (correlated with its source), the camera's stamped
frames must all be there at the right file times, and losing the camera and then the sound server mid-take must
neither end the take nor leave a hole in its timeline.
"""

from __future__ import annotations

import time

import av
import numpy as np
import pytest
import sounddevice as sd
import soundfile

from kiosk.capture import sources
from kiosk.capture.frames import clock
from kiosk.events import EventBus
from kiosk.media import analysis, finalize
from kiosk.recorder import Recorder, RecorderSettings
from tests.harness.camera import MjpegCamera
from tests.harness.mjpeg_server import decode_stamp
from tests.harness.pulse import PulseServer, speech_wav
from tests.helpers.wait import poll

SIZE = (320, 240)


def correlate(recorded: np.ndarray, source: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of `source` inside `recorded`, and its lag in samples."""
    size = 1 << (len(recorded) + len(source) - 1).bit_length()
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(source, size))
    correlation = np.fft.irfft(spectrum, size)[:len(recorded) - len(source) + 1]
    lag = int(np.argmax(correlation))
    window = recorded[lag:lag + len(source)]
    return float(np.dot(window, source) / (np.linalg.norm(window) * np.linalg.norm(source) + 1e-12)), lag


def stamps(path) -> list[tuple[float, object]]:
    found = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            found.append((float(frame.pts * frame.time_base), decode_stamp(frame.to_ndarray(format="bgr24"))))
    return found


def make(camera_url: str, mic_spec: str = "default") -> tuple[Recorder, list]:
    settings = RecorderSettings(size=SIZE, fps=30, min_free_mb=50)
    bus = EventBus()
    events: list = []
    bus.subscribe(lambda e: events.append(e) if e.kind != "recorder.status" else None)
    video = sources.open_camera(camera_url, SIZE, 30, 3.0, 1.0)
    audio = sources.open_microphone(mic_spec, 48000, 1)
    return Recorder(video, audio, settings, bus), events


def test_ten_seconds_from_network_camera_and_virtual_mic_with_speech(mjpeg_camera, pulse, tmp_path):
    wav = speech_wav("The kiosk records every word of this interview answer.", tmp_path / "speech.wav")
    speech, _ = soundfile.read(wav, dtype="float32")
    recorder, events = make(mjpeg_camera.url)
    recorder.open()
    try:
        assert poll(lambda: recorder.status()["frames_captured"] > 10 and
                        clock() - recorder._last_block_at < 0.1, 15)
        recorder.start_take(tmp_path / "real.webm", label="Q1", wait=True)
        t0 = recorder._take.segments[0].capture_start
        assert poll(lambda: any(e.kind == "recording.started" for e in events), 10)
        time.sleep(2.0)
        played_at = clock()
        player = pulse.play(wav, wait=False)
        assert poll(lambda: recorder.status()["elapsed_s"] >= 10.0, 20)
        result = recorder.stop_take().result(timeout=60)
        player.wait(timeout=30)
    finally:
        recorder.close()
    m = result.metadata
    assert result.ok and (m["video_codec"], m["audio_codec"]) == ("vp9", "opus")
    assert 9.9 <= m["duration"] <= 10.6 and m["frames_dropped"] == 0
    info = finalize.probe(result.path)
    assert info["seekable"] and [(s["width"], s["height"]) for s in info["streams"][:1]] == [SIZE]
    # Frames: every decoded frame carries a valid camera stamp, in order, none twice, about 30 a second,
    # each at the file time of its capture (pts = capture time - take start).
    found = stamps(result.path)
    assert len(found) == m["frames_written"] >= 270
    numbers = [s.frame for _, s in found if s is not None]
    assert len(numbers) >= 0.98 * len(found)
    assert all(b > a for a, b in zip(numbers, numbers[1:]))
    errors = np.array([pts - (s.t - t0) for pts, s in found if s is not None])
    assert np.all(np.abs(errors) < 0.1) and abs(np.median(errors)) < 0.03, (errors.min(), errors.max())
    # Speech: found in the file with the source's shape, where it was played (plus the sound server's latency).
    samples, rate, start = analysis.decode_audio(result.path)
    assert abs(len(samples) / rate - m["duration"]) < 0.1
    # In four pieces, each found on its own: a re-anchoring of the audio timeline to the capture clock (a few ms of
    # silence inserted or samples dropped when the mic's stamps move) may fall inside the sentence.
    voiced = np.flatnonzero(np.abs(speech) > 0.02)
    pieces = np.array_split(np.arange(voiced[0], voiced[-1]), 4)
    expected = played_at - t0
    found_at = []
    for piece in pieces:
        score, lag = correlate(samples, speech[piece])
        found_at.append(start + (lag - piece[0]) / rate)
        assert score > 0.8, (score, [round(x - expected, 3) for x in found_at])
    print(f"speech found {[round(x - expected, 3) for x in found_at]} s after it was played; re-anchors "
          f"{m['audio_reanchors']}, silence {m['silence_s']} s, dropped audio {m['audio_dropped_s']} s, "
          f"camera stamp error median {np.median(errors) * 1000:.1f} ms")
    # where it was played, plus the sound server's latency, and the same delay for every piece (+-20 ms)
    assert all(expected <= x <= expected + 0.6 for x in found_at), (found_at, expected)
    assert max(found_at) - min(found_at) < 0.02, found_at


@pytest.fixture
def own_pulse(monkeypatch):
    """A PulseAudio server of this test's own, so killing it leaves the session's server to the other tests."""
    server = PulseServer().start()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    sd._terminate()
    sd._initialize()
    try:
        yield server
    finally:
        server.stop()
        monkeypatch.undo()
        sd._terminate()
        sd._initialize()


def test_camera_server_then_pulseaudio_killed_mid_take_the_take_goes_on(own_pulse, tmp_path, expect_log):
    expect_log("kiosk.capture", r"lost|failed")
    expect_log("kiosk.recorder", r"camera lost|microphone lost")
    camera = MjpegCamera(SIZE, 30).start()
    recorder, events = make(camera.url)
    kinds = lambda: [e.kind for e in events]   # noqa: E731
    recorder.open()
    try:
        assert poll(lambda: recorder.status()["frames_captured"] > 10, 15)
        recorder.start_take(tmp_path / "lost.webm")
        assert poll(lambda: "recording.started" in kinds(), 10)
        time.sleep(1.5)
        camera.kill()
        assert poll(lambda: "camera.lost" in kinds(), 5)
        time.sleep(1.0)
        own_pulse.kill()
        assert poll(lambda: "mic.lost" in kinds(), 5)
        assert recorder.status()["state"] == "recording"
        time.sleep(1.5)
        camera.restart()
        own_pulse.start()
        assert poll(lambda: {"camera.back", "mic.back"} <= set(kinds()), 20), kinds()
        time.sleep(1.0)
        result = recorder.stop_take().result(timeout=60)
    finally:
        recorder.close()
        camera.stop()
    m = result.metadata
    assert result.ok and m["state"] == "finalized" and "recording.failed" not in kinds()
    info = finalize.probe(result.path)
    assert info["seekable"] and not info["damaged_tail"] and m["duration"] >= 5.0
    scan = analysis.scan_video(result.path)
    assert scan.count == m["frames_written"]
    assert max(b - a for a, b in zip(scan.times, scan.times[1:])) < 1.2    # slate frames bridged the loss
    assert scan.times[-1] > m["duration"] - 0.3
    samples, rate, _ = analysis.decode_audio(result.path)
    assert abs(len(samples) / rate - m["duration"]) < 0.15                 # silence bridged the lost mic
    logged = [e["kind"] for e in m["events"]]
    for kind in ("camera.lost", "mic.lost", "camera.back", "mic.back"):
        assert kind in logged
    assert logged.index("camera.lost") < logged.index("camera.back")
