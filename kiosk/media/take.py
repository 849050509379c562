"""One take's state while it records: its file timeline (capture-clock segments), events, journal and result.

The file timeline: segments [(capture_start, capture_end, file_start)], one per recorded stretch; a pause ends a
segment and the next one continues the file where it stopped, so the file holds the answers only.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kiosk.media import journal as journalmod
from kiosk.media.writer import MediaWriter


@dataclass
class TakeResult:
    metadata: dict
    path: Path
    state: str          # "finalized" | "recovered" | "failed"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("finalized", "recovered")


@dataclass
class Segment:
    capture_start: float
    file_start: float
    capture_end: float | None = None

    def covers(self, t: float) -> bool:
        return t >= self.capture_start and (self.capture_end is None or t < self.capture_end)


@dataclass
class Take:
    path: Path
    writer: MediaWriter
    journal: journalmod.Journal | None
    interview_uuid: str
    recorded_at: str
    ready: threading.Event = field(default_factory=threading.Event)   # the encoder is open (or failed to)
    error: str | None = None
    segments: list[Segment] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    accepting: bool = True
    started: bool = False
    paused: bool = False
    future: concurrent.futures.Future | None = None
    chapter_count: int = 0

    def to_file_time(self, t: float) -> float | None:
        for segment in reversed(self.segments):
            if segment.covers(t):
                return segment.file_start + (t - segment.capture_start)
        return None

    def file_now(self, now: float) -> float:
        if not self.segments:
            return 0.0
        last = self.segments[-1]
        end = last.capture_end if last.capture_end is not None else now
        return last.file_start + max(0.0, end - last.capture_start)


def slate(size: tuple[int, int], text: str) -> np.ndarray:
    """A dark frame with `text` in the middle (camera off, lost or absent)."""
    width, height = size
    image = np.full((height, width, 3), 24, np.uint8)
    scale = max(0.4, height / 360)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(2 * scale)))
    cv2.putText(image, text, ((width - tw) // 2, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (200, 200, 200), max(1, int(2 * scale)), cv2.LINE_AA)
    return image
