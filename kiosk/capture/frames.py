"""The types that cross from capture to the encoder, and the one clock they are stamped with."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

# One monotonic clock for the whole engine: capture stamps, audio ADC times mapped onto it, events.
clock = time.monotonic


@dataclass(frozen=True, slots=True)
class VideoFrame:
    image: np.ndarray      # H x W x 3, uint8, BGR (OpenCV's order)
    t: float               # capture time on `clock`, seconds


@dataclass(frozen=True, slots=True)
class AudioBlock:
    samples: np.ndarray    # n x channels, float32 in [-1, 1]
    t: float               # time of the first sample on `clock` (ADC time, input latency compensated)
    rate: int              # samples per second


class SourceHealth(enum.Enum):
    OPENING = "opening"
    OK = "ok"
    LOST = "lost"          # was delivering, stopped; the source keeps trying to reopen in the background
    FAILED = "failed"      # could not be opened at all
    CLOSED = "closed"


HealthCallback = Callable[[SourceHealth, str], None]   # (health, human-readable detail)


class VideoSource(Protocol):
    description: str       # e.g. "camera 0 (1280x720 @ 30)", "demo pattern"
    size: tuple[int, int]  # (width, height) actually delivered
    fps: float             # nominal frame rate actually delivered

    def start(self, on_frame: Callable[[VideoFrame], None], on_health: HealthCallback) -> None: ...
    def stop(self) -> None: ...


class AudioSource(Protocol):
    description: str
    rate: int
    channels: int

    def start(self, on_block: Callable[[AudioBlock], None], on_health: HealthCallback) -> None: ...
    def stop(self) -> None: ...
