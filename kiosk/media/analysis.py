"""Reading recordings back: decoded audio, the demo sources' sync markers, the A/V offset between them.

Used by the tests and bench/ to check what is in a file by decoding it (never by its size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from kiosk.capture.demo import BEEP_S

WHITE_LUMA = 200          # the demo marker frame is all white (luma 235 limited range); the pattern stays far below
BEEP_THRESHOLD = 0.2      # the demo beep is 0.5, its tone 0.03
QUIET_BEFORE_S = 0.2


def decode_audio(path: Path) -> tuple[np.ndarray, int, float]:
    """(mono float32 samples, rate, file time of the first sample)."""
    chunks = []
    rate = 48000
    start = None
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32), rate, 0.0
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        for frame in container.decode(stream):
            if start is None and frame.pts is not None:
                start = float(frame.pts * frame.time_base)
            data = frame.to_ndarray()
            if frame.format.is_planar:
                data = data.mean(axis=0)
            else:
                data = data.reshape(-1, len(frame.layout.channels)).mean(axis=1)
            chunks.append(data.astype(np.float32))
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), rate, start or 0.0


@dataclass
class VideoScan:
    times: list[float]        # pts of every decoded frame (s)
    lumas: list[float]        # mean luma of every frame

    @property
    def count(self) -> int:
        return len(self.times)


def scan_video(path: Path, every: int = 1) -> VideoScan:
    times, lumas = [], []
    with av.open(str(path)) as container:
        if not container.streams.video:
            return VideoScan([], [])
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            times.append(float(frame.pts * frame.time_base))
            if i % every == 0:
                plane = frame.planes[0]
                luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
                lumas.append(float(luma.mean()))
            else:
                lumas.append(float("nan"))
    return VideoScan(times, lumas)


def video_markers(scan: VideoScan) -> list[float]:
    """Times of the white marker frames."""
    return [t for t, y in zip(scan.times, scan.lumas) if y >= WHITE_LUMA]


def audio_markers(samples: np.ndarray, rate: int, start: float, whole_only: bool = False) -> list[float]:
    """Onset times of the demo beeps: the first loud sample after at least QUIET_BEFORE_S of quiet.

    whole_only: skip beeps shorter than 80 % of the demo's 40 ms, whose start the (demo) microphone itself lost on
    a stalled machine (the recorder filled the gap with silence, so such an onset is late by the lost blocks)."""
    loud = np.flatnonzero(np.abs(samples) > BEEP_THRESHOLD)
    beeps: list[list[int]] = []
    last = -10 * rate
    for index in loud:
        if index - last > QUIET_BEFORE_S * rate:
            beeps.append([index, index])
        beeps[-1][1] = index
        last = index
    return [start + first / rate for first, end in beeps
            if not whole_only or (end - first) / rate >= 0.8 * BEEP_S]


def av_offsets(path: Path) -> list[float]:
    """For each video marker with a whole beep near it, audio onset minus video marker time (s); + = audio late."""
    video = video_markers(scan_video(path))
    audio = audio_markers(*decode_audio(path), whole_only=True)
    offsets = []
    for t in video:
        nearest = min(audio, key=lambda a: abs(a - t), default=None)
        if nearest is not None and abs(nearest - t) < 0.5:
            offsets.append(nearest - t)
    return offsets
