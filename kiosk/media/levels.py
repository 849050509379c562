"""The microphone level meter: peak and RMS (dBFS) of the audio blocks of the last LEVEL_WINDOW_S."""

from __future__ import annotations

import collections
import math
import threading

import numpy as np

from kiosk.capture.frames import AudioBlock, clock

LEVEL_WINDOW_S = 0.1
SILENCE_DBFS = -100.0


def dbfs(x: float) -> float:
    return 20 * math.log10(x) if x > 1e-5 else SILENCE_DBFS


class LevelMeter:
    def __init__(self) -> None:
        self._levels: collections.deque = collections.deque()   # (end time, peak, sum of squares, samples)
        self._lock = threading.Lock()

    def add(self, block: AudioBlock) -> None:
        """On the microphone's thread."""
        samples = block.samples
        if not len(samples):
            return
        peak = float(np.max(np.abs(samples)))
        sumsq = float(np.sum(np.square(samples, dtype=np.float64)))
        with self._lock:
            self._levels.append((block.t + len(samples) / block.rate, peak, sumsq, samples.size))

    def level(self) -> tuple[float, float]:
        """(peak dBFS, RMS dBFS) over the last ~100 ms."""
        horizon = clock() - LEVEL_WINDOW_S - 0.05
        with self._lock:
            while self._levels and self._levels[0][0] < horizon:
                self._levels.popleft()
            if not self._levels:
                return SILENCE_DBFS, SILENCE_DBFS
            peak = max(entry[1] for entry in self._levels)
            total = sum(entry[2] for entry in self._levels)
            count = sum(entry[3] for entry in self._levels)
        return dbfs(peak), dbfs(math.sqrt(total / max(1, count)))
