"""The microphone on a real PulseAudio virtual mic: speech played in comes back out, stamped on the engine clock."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import sounddevice as sd
import soundfile

from kiosk.capture.frames import SourceHealth, clock
from kiosk.capture.microphone import Microphone
from tests.harness.pulse import PulseServer, speech_wav


class Collector:
    def __init__(self) -> None:
        self.blocks: list = []          # (arrived on the engine clock, AudioBlock)
        self.health: list[tuple[float, SourceHealth, str]] = []
        self.changed = threading.Condition()

    def on_block(self, block) -> None:
        self.blocks.append((clock(), block))     # list.append: cheap and thread-safe enough for a callback

    def on_health(self, health, detail) -> None:
        with self.changed:
            self.health.append((clock(), health, detail))
            self.changed.notify_all()

    def states(self):
        return [h for _, h, _ in self.health]

    def wait_health(self, health, timeout, after=0) -> float:
        with self.changed:
            ok = self.changed.wait_for(lambda: health in self.states()[after:], timeout)
        assert ok, f"no {health.value} within {timeout} s; health so far: {self.health}"
        return next(t for t, h, _ in self.health[after:] if h == health)

    def wait_blocks(self, count, timeout) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.blocks) >= count:
                return True
            time.sleep(0.02)
        return False


def _best_correlation(recorded: np.ndarray, source: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of `source` inside `recorded`, and the lag in samples."""
    n = len(recorded) + len(source)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(source, size))
    correlation = np.fft.irfft(spectrum, size)[:len(recorded) - len(source) + 1]
    lag = int(np.argmax(correlation))
    window = recorded[lag:lag + len(source)]
    score = float(np.dot(window, source) / (np.linalg.norm(window) * np.linalg.norm(source) + 1e-12))
    return score, lag


def test_microphone_records_speech_from_the_virtual_mic_with_true_stamps(pulse, tmp_path):
    wav = speech_wav("The kiosk records this sentence.", tmp_path / "speech.wav")
    source, rate = soundfile.read(wav, dtype="float32")
    assert rate == 48000
    mic = Microphone(None, 48000, 1)
    got = Collector()
    mic.start(got.on_block, got.on_health)
    try:
        ok_at = got.wait_health(SourceHealth.OK, 10)
        time.sleep(2.5)
        pulse.play(wav)
        time.sleep(0.5)
    finally:
        mic.stop()
    assert got.states() == [SourceHealth.OK, SourceHealth.CLOSED]
    blocks = [b for _, b in got.blocks]
    assert all(b.samples.dtype == np.float32 and b.samples.shape[1] == 1 and b.rate == 48000 for b in blocks)
    recorded = np.concatenate([b.samples[:, 0] for b in blocks])
    score, lag = _best_correlation(recorded, source)
    assert score > 0.95, score

    # Stamps, after a warm-up (PulseAudio's first latency reports are rough: the timeline settles once the 2 s
    # window of ADC times has seen the steady values): never in the future, a steady small delay, no drift.
    warm = [(a, b) for a, b in got.blocks if a > ok_at + 2.5]
    arrived = np.array([a for a, _ in warm])
    starts = np.array([b.t for _, b in warm])
    ends = starts + np.array([len(b.samples) for _, b in warm]) / 48000
    assert np.all(np.diff(starts) > 0)
    delay = arrived - ends              # from a block's last sample to its arrival
    assert delay.min() > -0.006, delay.min()        # re-anchoring tolerates 4 ms, checked every 10 blocks
    assert np.median(delay) < 0.150, np.median(delay)
    # Compare the least-delayed arrivals of the first and last quarter (a busy machine only adds delay).
    quarter = len(delay) // 4
    drift = np.percentile(delay[-quarter:], 10) - np.percentile(delay[:quarter], 10)
    assert abs(drift) < 0.005, drift
    # Sample count against the engine clock: PulseAudio delivers in real time and the stamps agree with both.
    elapsed = starts[-1] - starts[0]
    counted = sum(len(b.samples) for _, b in warm[:-1]) / 48000
    # (at most two 4 ms re-anchor steps: PulseAudio's ADC times wander by a few ms; A/V budget is 10 ms)
    assert abs(elapsed - counted) < 0.009, (elapsed, counted, mic.reanchors)
    assert elapsed > 2.0


def test_stereo_microphone_delivers_two_channels(pulse):
    mic = Microphone("default", 48000, 2)
    got = Collector()
    mic.start(got.on_block, got.on_health)
    try:
        got.wait_health(SourceHealth.OK, 10)
        assert got.wait_blocks(20, 5)
    finally:
        mic.stop()
    assert all(b.samples.shape == (480, 2) for _, b in got.blocks)


@pytest.fixture
def own_pulse(monkeypatch):
    """A PulseAudio server of this test's own, made the process's sound server (PortAudio re-initialised on it).

    Killing it leaves the session-wide server that other tests use untouched; afterwards the environment is restored
    and PortAudio re-initialised on the session server again."""
    server = PulseServer().start()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)     # libpulse reads PULSE_SERVER each time the ALSA plugin connects
    sd._terminate()
    sd._initialize()
    try:
        yield server
    finally:
        server.stop()
        monkeypatch.undo()
        sd._terminate()
        sd._initialize()


def test_microphone_is_lost_when_the_sound_server_dies_and_back_when_it_returns(own_pulse, expect_log):
    expect_log("kiosk.capture.microphone", r"lost: no audio for")
    assert os.environ["PULSE_SERVER"] == own_pulse.env["PULSE_SERVER"]
    mic = Microphone(None, 48000, 1, lost_after_s=0.5)
    got = Collector()
    mic.start(got.on_block, got.on_health)
    try:
        got.wait_health(SourceHealth.OK, 10)
        killed_at = clock()
        own_pulse.kill()
        lost_at = got.wait_health(SourceHealth.LOST, 5)
        assert lost_at - killed_at < 1.5, lost_at - killed_at
        time.sleep(1.0)                        # reopening fails while there is no server
        before = len(got.blocks)
        own_pulse.start()                      # same runtime dir, same socket: the "microphone" is plugged back
        got.wait_health(SourceHealth.OK, 15, after=2)
        assert got.wait_blocks(before + 50, 5)
    finally:
        mic.stop()
    assert got.states() == [SourceHealth.OK, SourceHealth.LOST, SourceHealth.OK, SourceHealth.CLOSED]
    starts = [b.t for _, b in got.blocks]
    assert all(b > a for a, b in zip(starts, starts[1:]))


def test_a_slow_consumer_delays_blocks_but_not_their_stamps(pulse):
    """A consumer that holds the callback for 0.3 s: the backlog arrives late, its stamps stay on the sample timeline."""
    mic = Microphone(None, 48000, 1)
    got = Collector()
    stalled = threading.Event()

    def on_block(block):
        got.on_block(block)
        if len(got.blocks) == 300 and not stalled.is_set():
            stalled.set()
            time.sleep(0.3)

    mic.start(on_block, got.on_health)
    try:
        got.wait_health(SourceHealth.OK, 10)
        assert got.wait_blocks(450, 10)
    finally:
        mic.stop()
    assert got.states() == [SourceHealth.OK, SourceHealth.CLOSED]     # 0.3 s is under the 0.5 s loss limit
    assert mic.overflows == 0
    blocks = [b for _, b in got.blocks]
    steps = np.diff([b.t for b in blocks[250:450]])   # after the start-up transient (see above)
    # One continuous timeline: every step is one block, but for at most one small re-anchor (slow clock drift).
    off = np.abs(steps - 480 / 48000)
    assert (off > 1e-6).sum() <= 1 and off.max() < 0.005, (steps.min(), steps.max())
    delays = [a - b.t for a, b in got.blocks[300:450]]
    assert max(delays) > 0.25                   # the backlog did arrive late ...
    assert min(delays[-50:]) < 0.05             # ... and the delay went back to normal


def test_microphone_started_before_the_sound_server_comes_up_when_it_does(monkeypatch, expect_log):
    """A kiosk that boots faster than its sound server: FAILED first, then OK without a restart."""
    expect_log("kiosk.capture.microphone", r"failed: no microphone found")
    server = PulseServer()                   # not started yet: its socket does not exist
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    sd._terminate()
    sd._initialize()
    mic = Microphone(None, 48000, 1)
    got = Collector()
    try:
        assert not [d for d in sd.query_devices() if d["max_input_channels"] > 0]
        mic.start(got.on_block, got.on_health)
        got.wait_health(SourceHealth.FAILED, 5)
        server.start()
        got.wait_health(SourceHealth.OK, 15, after=1)
        assert got.wait_blocks(50, 5)
    finally:
        mic.stop()
        server.stop()
        monkeypatch.undo()
        sd._terminate()
        sd._initialize()
    assert got.states() == [SourceHealth.FAILED, SourceHealth.OK, SourceHealth.CLOSED]
