"""Demo camera and microphone for machines with no devices (and for measuring A/V sync).

Both run on grids anchored to the engine clock, so their sync markers fall on the same instants:
at every whole 2 s of capture time the camera delivers one fully white frame stamped exactly at that instant, and
the microphone a 40 ms 1 kHz beep whose first sample is at that instant. Between markers: a moving test pattern with a
burnt-in clock (kept dark enough that the white frame stands out) and a quiet 440 Hz tone.
"""

from __future__ import annotations

import math
import threading
import time

import cv2
import numpy as np

from kiosk.capture.frames import AudioBlock, HealthCallback, SourceHealth, VideoFrame, clock

MARKER_PERIOD_S = 2.0
BEEP_S = 0.040
BEEP_HZ = 1000.0
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.03     # about -30 dBFS: audible, not annoying
BEEP_AMPLITUDE = 0.5


def _sleep_until(deadline: float, stop: threading.Event) -> bool:
    """Sleep until `deadline` on the engine clock; False if asked to stop first."""
    remaining = deadline - clock()
    if remaining > 0:
        return not stop.wait(remaining)
    return not stop.is_set()


class DemoCamera:
    """A test pattern at a fixed frame rate; frame n is stamped n/fps on the engine clock."""

    def __init__(self, size: tuple[int, int] = (1280, 720), fps: float = 30.0) -> None:
        self.size = size
        self.fps = float(fps)
        self.description = f"demo pattern ({size[0]}x{size[1]} @ {fps:g})"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = self._pattern(*size)
        self._white = np.full((size[1], size[0], 3), 255, np.uint8)

    @staticmethod
    def _pattern(width: int, height: int) -> np.ndarray:
        # Colour bars at 60 % intensity over a dark gradient: mean brightness well under 70 %.
        bars = np.array([[192, 192, 192], [0, 192, 192], [192, 192, 0], [0, 192, 0],
                         [192, 0, 192], [0, 0, 192], [192, 0, 0], [40, 40, 40]], np.uint8)
        columns = bars[(np.arange(width) * len(bars)) // width]
        image = np.repeat(columns[np.newaxis, :, :], height, axis=0).astype(np.float32)
        image *= np.linspace(0.5, 0.9, height, dtype=np.float32)[:, np.newaxis, np.newaxis]
        return image.astype(np.uint8)

    def render(self, t: float) -> np.ndarray:
        """The frame for capture time `t` (public so tests and benchmarks can build expectations)."""
        if self.is_marker(t):
            return self._white.copy()
        width, height = self.size
        shift = int(t * width / 8) % width        # one screen width every 8 s
        image = np.roll(self._base, shift, axis=1)
        scale = height / 720
        text = f"{time.strftime('%H:%M:%S')}  t={t:10.3f}"
        cv2.putText(image, text, (int(40 * scale), int(100 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 1.4 * scale,
                    (255, 255, 255), max(1, int(3 * scale)), cv2.LINE_AA)
        cv2.putText(image, "DEMO CAMERA", (int(40 * scale), height - int(40 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    1.2 * scale, (230, 230, 230), max(1, int(2 * scale)), cv2.LINE_AA)
        return image

    def is_marker(self, t: float) -> bool:
        phase = t / MARKER_PERIOD_S
        return abs(phase - round(phase)) * MARKER_PERIOD_S < 0.5 / self.fps

    def start(self, on_frame, on_health: HealthCallback) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(on_frame, on_health), name="demo-camera",
                                        daemon=True)
        self._thread.start()

    def _run(self, on_frame, on_health: HealthCallback) -> None:
        on_health(SourceHealth.OK, self.description)
        n = math.ceil(clock() * self.fps)
        while _sleep_until(n / self.fps, self._stop):
            t = n / self.fps
            on_frame(VideoFrame(self.render(t), t))
            # If we fell behind (a stalled machine), skip to now rather than bursting old frames.
            n = max(n + 1, math.floor(clock() * self.fps))
        on_health(SourceHealth.CLOSED, self.description)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


class DemoMicrophone:
    """A quiet tone in 10 ms blocks; sample n is at n/rate on the engine clock."""

    def __init__(self, rate: int = 48000, channels: int = 1, block_s: float = 0.010) -> None:
        self.rate = rate
        self.channels = channels
        self.block = int(rate * block_s)
        self.description = f"demo tone ({rate} Hz, {channels} ch)"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def render(self, first_sample: int, count: int) -> np.ndarray:
        """Samples [first_sample, first_sample + count) as a count x channels float32 array."""
        n = np.arange(first_sample, first_sample + count, dtype=np.int64)
        t = n / self.rate
        signal = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
        period = int(MARKER_PERIOD_S * self.rate)
        in_beep = (n % period) < int(BEEP_S * self.rate)
        beep = BEEP_AMPLITUDE * np.cos(2 * np.pi * BEEP_HZ * ((n % period) / self.rate))
        # cosine: the beep starts at full amplitude on its first sample, a sharp onset to measure against
        signal = np.where(in_beep, beep, signal).astype(np.float32)
        return np.repeat(signal[:, np.newaxis], self.channels, axis=1)

    def start(self, on_block, on_health: HealthCallback) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(on_block, on_health), name="demo-mic",
                                        daemon=True)
        self._thread.start()

    def _run(self, on_block, on_health: HealthCallback) -> None:
        on_health(SourceHealth.OK, self.description)
        first = math.ceil(clock() * self.rate / self.block) * self.block
        while _sleep_until((first + self.block) / self.rate, self._stop):
            on_block(AudioBlock(self.render(first, self.block), first / self.rate, self.rate))
            first += self.block
            behind = math.floor(clock() * self.rate / self.block) * self.block - self.block
            if behind > first:   # stalled: drop the backlog, the writer sees a gap and fills silence
                first = behind
        on_health(SourceHealth.CLOSED, self.description)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
