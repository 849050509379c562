"""The microphone: a sounddevice InputStream with a callback, blocks stamped on the engine clock.

Timing. PortAudio hands each block the ADC time of its first sample (``time_info.inputBufferAdcTime``, input latency
already accounted for) on its own clock, ``stream.time`` — with ALSA that is the wall clock, not the monotonic one. The
offset between the two is measured at start (the closest of a few back-to-back readings) and re-checked every second,
so a wall-clock step cannot move the stamps. Blocks are stamped on a sample-count timeline ``anchor + samples / rate``
(smooth, exact between blocks); only the anchor is estimated. Measured through PulseAudio's ALSA plugin, the ADC
times of single blocks are rough: off by up to 160 ms for the first second under load, then wandering +-5 ms over
seconds, and now and then up to 4 ms later than the block's own arrival (impossible). Arrival times, relative to the
sample count, have a floor that holds within 0.5 ms (delays only add to it). So:
- settling (first 2 s): the anchor follows the median ADC time of the blocks so far, capped so that no block ends
  after it arrived;
- then the offset between that median and the earliest arrival is frozen, and the anchor follows the earliest
  arrival of the last 5 s minus that offset: clock drift between the sound card and the system moves it, ADC wander
  does not. The anchor moves only when the target is more than 3 ms away.
An input overflow (lost samples) restarts the timeline at the next block, never before what was already stamped.

Health. No callback for ``lost_after_s`` = the device is gone (PortAudio gives no error when PulseAudio dies or a USB
mic is pulled: the callbacks just stop). A watchdog thread then reports LOST, closes the stream and reopens in the
background, re-initialising PortAudio first (it caches the device list), and reports OK once blocks flow again.
Re-initialising PortAudio affects every stream of the process: run one Microphone per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

import numpy as np
import sounddevice as sd

from kiosk.capture.frames import AudioBlock, HealthCallback, SourceHealth, clock

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0)
REANCHOR_THRESHOLD_S = 0.003
ADC_WINDOW = 200             # blocks (2 s at 10 ms): the median ADC time while the stream settles
ARRIVAL_WINDOW = 500         # blocks (5 s): the earliest arrival, relative to the sample count


def find_input_device(spec: int | str | None) -> int | None:
    """A device index for `spec` (index, name substring, None = default) among devices with input channels.

    Raises ValueError naming the fix when nothing matches. Uses PortAudio's current device list."""
    devices = sd.query_devices()
    inputs = [(i, d) for i, d in enumerate(devices) if d["max_input_channels"] > 0]
    if spec is None:
        default = sd.default.device[0]
        if default is None or default < 0:
            if not inputs:
                raise ValueError("no microphone found (no input device); plug one in, check the sound server, "
                                 "or use mic 'none' or 'demo'")
            return inputs[0][0]
        return int(default)
    if isinstance(spec, int):
        if not any(i == spec for i, _ in inputs):
            names = ", ".join(f"{i}: {d['name']}" for i, d in inputs) or "none"
            raise ValueError(f"microphone {spec}: no input device with that index; inputs are: {names}")
        return spec
    wanted = spec.lower()
    matches = [(i, d) for i, d in inputs if wanted in d["name"].lower()]
    if not matches:
        names = ", ".join(repr(d["name"]) for _, d in inputs) or "none"
        raise ValueError(f"microphone {spec!r}: no input device has that in its name; inputs are: {names}. "
                         f"Use 'default', an index, part of a name, 'demo' or 'none'")
    exact = [i for i, d in matches if d["name"].lower() == wanted]
    return exact[0] if exact else matches[0][0]


class _ClockMap:
    """PortAudio stream time -> engine clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def measure(self, stream: sd.InputStream) -> float:
        best = None
        for _ in range(5):
            before = clock()
            stream_time = stream.time
            after = clock()
            if best is None or after - before < best[0]:
                best = (after - before, (before + after) / 2 - stream_time)
        self.offset = best[1]
        return self.offset


class Microphone:
    """One input device. ``device``: an index, a name substring, or None for the default input."""

    def __init__(self, device: int | str | None = None, rate: int = 48000, channels: int = 1,
                 block_s: float = 0.010, lost_after_s: float = 0.5) -> None:
        self.device = device
        self.rate = int(rate)
        self.channels = int(channels)
        self.blocksize = int(round(rate * block_s))
        self.lost_after_s = lost_after_s
        self.device_name = "default input" if device is None else str(device)
        self.latency = 0.0
        self.blocks_delivered = 0
        self.overflows = 0
        self.reanchors = 0
        self._stream: sd.InputStream | None = None
        self._map = _ClockMap()
        self._on_block: Callable[[AudioBlock], None] | None = None
        self._on_health: HealthCallback | None = None
        self._health = SourceHealth.OPENING
        self._health_lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        # Written by the PortAudio callback thread only (the watchdog reads _last_callback_at).
        self._last_callback_at = 0.0
        self._samples = 0
        self._last_end = 0.0
        self._anchor: float | None = None
        self._adc_rel: deque[float] = deque(maxlen=ADC_WINDOW)
        self._arrival_rel: deque[float] = deque(maxlen=ARRIVAL_WINDOW)
        self._latency_behind_arrival: float | None = None

    @property
    def description(self) -> str:
        return f"microphone {self.device_name} ({self.rate} Hz, {self.channels} ch)"

    @property
    def health(self) -> SourceHealth:
        return self._health

    # ---- health
    def _set_health(self, health: SourceHealth, detail: str) -> None:
        with self._health_lock:
            if health == self._health:
                return
            self._health = health
            callback = self._on_health
        if health in (SourceHealth.LOST, SourceHealth.FAILED):
            log.warning("%s %s: %s", self.description, health.value, detail)
        else:
            log.info("%s %s: %s", self.description, health.value, detail)
        if callback is not None:
            try:
                callback(health, detail)
            except Exception:
                log.exception("microphone health callback failed")

    # ---- the PortAudio callback: one copy of the block, a few float operations, no locks
    def _callback(self, indata: np.ndarray, frames: int, time_info, status: sd.CallbackFlags) -> None:
        now = clock()
        self._last_callback_at = now
        if status.input_overflow:
            # Samples were lost, so the count no longer matches time: start the timeline afresh at this block.
            self.overflows += 1
            self._anchor, self._latency_behind_arrival = None, None
            self._adc_rel.clear()
            self._arrival_rel.clear()
        adc = time_info.inputBufferAdcTime
        measured = (adc + self._map.offset) if adc > 0 else (now - self.latency - frames / self.rate)
        base = self._samples / self.rate
        # Both kept relative to the sample count, so they stay valid when the anchor moves.
        self._adc_rel.append(measured - base)
        self._arrival_rel.append(now - base - frames / self.rate)
        if self._anchor is None:
            anchor = min(measured - base, self._arrival_rel[-1])
            if self._samples:     # after an overflow: never step back over what was already stamped
                anchor = max(anchor, self._last_end - base)
            self._anchor = anchor
        elif self.blocks_delivered % 10 == 0:
            earliest_arrival = min(self._arrival_rel)
            if self._latency_behind_arrival is None:
                # Settling: follow the ADC times, but never so far that a block would end after it arrived.
                target = min(float(np.median(self._adc_rel)), earliest_arrival)
                if len(self._adc_rel) >= ADC_WINDOW:
                    # Settled: from now on the earliest arrival (steady within 0.5 ms) carries the timeline and the
                    # ADC times (which wander +-5 ms through PulseAudio) only fix how far behind it the samples are.
                    self._latency_behind_arrival = earliest_arrival - target
            else:
                target = earliest_arrival - self._latency_behind_arrival
            if abs(target - self._anchor) > REANCHOR_THRESHOLD_S:
                self._anchor = target
                self.reanchors += 1
        expected = self._anchor + base
        self._last_end = expected + frames / self.rate
        self._samples += frames
        self.blocks_delivered += 1
        on_block = self._on_block
        if on_block is not None:
            try:
                on_block(AudioBlock(indata.copy(), expected, self.rate))
            except Exception:
                log.exception("microphone block consumer failed")

    # ---- opening
    def _open_stream(self) -> None:
        """Open and start a stream on the current device list; raises on failure."""
        index = find_input_device(self.device)
        info = sd.query_devices(index)
        self._samples, self._anchor, self._latency_behind_arrival = 0, None, None
        self._adc_rel.clear()
        self._arrival_rel.clear()
        stream = sd.InputStream(device=index, samplerate=self.rate, channels=self.channels, dtype="float32",
                                blocksize=self.blocksize, callback=self._callback, latency="low")
        self.latency = float(stream.latency)
        self._map.measure(stream)
        self._last_callback_at = clock()
        stream.start()
        self._stream = stream
        self.device_name = f"{index} {info['name']!r}"

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except sd.PortAudioError:
                pass

    def start(self, on_block: Callable[[AudioBlock], None], on_health: HealthCallback) -> None:
        self._on_block, self._on_health = on_block, on_health
        self._stop.clear()
        try:
            self._open_stream()
        except (sd.PortAudioError, ValueError) as exc:
            self._set_health(SourceHealth.FAILED, f"{exc}; retrying in the background")
        self._watchdog = threading.Thread(target=self._watch, name="mic-watchdog", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        attempt = 0
        next_clock_check = clock() + 1.0
        while not self._stop.wait(0.05):
            now = clock()
            stream = self._stream
            if stream is not None:
                silent = now - self._last_callback_at
                # A fresh stream may take a moment to deliver its first block (a sound server warming up).
                limit = self.lost_after_s if self.blocks_delivered else self.lost_after_s + 2.5
                if self._health != SourceHealth.OK and self.blocks_delivered and silent < self.lost_after_s:
                    self._set_health(SourceHealth.OK, self.description)
                    attempt = 0
                if silent > limit:
                    self._set_health(SourceHealth.LOST, f"no audio for {silent * 1000:.0f} ms; reopening")
                    self._close_stream()
                    continue
                if now >= next_clock_check:
                    next_clock_check = now + 1.0
                    self._recheck_clock(stream)
                continue
            # No stream: reopen after a pause, on a fresh device list.
            if self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]):
                break
            attempt += 1
            try:
                sd._terminate()
                sd._initialize()
                self.blocks_delivered = 0
                self._open_stream()
                log.info("%s reopened; waiting for audio", self.description)
            except (sd.PortAudioError, ValueError) as exc:
                if attempt <= 3 or attempt % 30 == 0:     # keep a long outage from flooding the log
                    log.info("%s not back yet (attempt %d): %s", self.description, attempt, exc)
                self._close_stream()
        self._close_stream()
        self._set_health(SourceHealth.CLOSED, self.description)

    def _recheck_clock(self, stream: sd.InputStream) -> None:
        old = self._map.offset
        try:
            new = _ClockMap().measure(stream)
        except sd.PortAudioError:
            return
        if abs(new - old) > 0.001:
            # The stream's clock (the wall clock under ALSA) moved against the monotonic one: follow it.
            log.info("%s: PortAudio clock moved %.1f ms against the engine clock", self.description,
                     (new - old) * 1000)
            self._map.offset = new

    def stop(self) -> None:
        self._stop.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=5)
        self._close_stream()
        self._on_block = None


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    """Poll `predicate` until it is true or `timeout` passes (a helper for callers and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()
