"""Disk space before a take: is there room for the longest interview this template can produce?

The estimate (the design decision, see docs/sessions.md):

    seconds = longest answer time of the template x number of questions
    file    = seconds x (video + audio bitrate) / 8 x storage.space_margin
    needed  = file + file / margin (the stop remux writes a verified copy before it replaces the original)
              + storage.min_free_mb (the floor below which the recorder finalizes a running take)

The video bitrate is recording.video_bitrate_kbps scaled by picture area from 720p (as the encoder does); the
profiles are constant bitrate (VP9/VP8 CBR, x264 with maxrate), so bitrate x time is a sound upper estimate.
During a take the recorder itself watches free space (storage.min_free_mb).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000


class NotEnoughSpace(RuntimeError):
    """Raised by `require_space`; the message says how much is needed, how much is free, and the fix."""

    def __init__(self, estimate: "SpaceEstimate") -> None:
        self.estimate = estimate
        super().__init__(estimate.message())


def free_bytes(path: Path | str) -> int:
    """Free bytes for an unprivileged writer on the file system holding `path` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def bitrate_bps(config, size: tuple[int, int] | None = None) -> int:
    """Video + audio bits per second of a take with the configured profile (audio only for audio profiles)."""
    profile = config["recording.profile"]
    audio = int(config["recording.audio_bitrate_kbps"]) * 1000
    if profile.startswith("audio"):
        return audio
    width, height = size or config["camera.size"]
    video_kbps = max(150, round(int(config["recording.video_bitrate_kbps"]) * width * height / (1280 * 720)))
    return video_kbps * 1000 + audio


def reserve_bytes(config) -> int:
    """storage.min_free_mb in bytes: the floor the recorder never records into (it finalizes a take there)."""
    return int(config["storage.min_free_mb"]) * MB


def hours_left(config, free: int) -> float:
    """Hours of recording that `free` bytes still hold at the configured profile, above the reserve."""
    return max(0, free - reserve_bytes(config)) * 8 / bitrate_bps(config) / 3600


@dataclass(frozen=True)
class SpaceEstimate:
    seconds: float            # the longest the take can be
    bitrate_bps: int
    margin: float
    file_bytes: int           # the take itself, with the margin
    remux_bytes: int          # the copy written while finalizing
    reserve_bytes: int        # storage.min_free_mb, which must stay free
    free_bytes: int
    where: str

    @property
    def needed_bytes(self) -> int:
        return self.file_bytes + self.remux_bytes + self.reserve_bytes

    @property
    def ok(self) -> bool:
        return self.free_bytes >= self.needed_bytes

    def message(self) -> str:
        need, free = self.needed_bytes / MB, self.free_bytes / MB
        if self.ok:
            return f"{free:,.0f} MB free in {self.where}; this interview needs up to {need:,.0f} MB."
        return (f"Not enough disk space to record: this interview needs up to {need:,.0f} MB "
                f"({self.seconds / 60:.1f} min at {self.bitrate_bps / 1e6:.2f} Mbit/s, x{self.margin:g} margin, plus "
                f"the finalize copy and the {self.reserve_bytes / MB:,.0f} MB reserve) but only {free:,.0f} MB are "
                f"free in {self.where}. Fix: export and delete old recordings, or free "
                f"{math.ceil(need - free):,} MB.")

    def to_json(self) -> dict:
        return {"ok": self.ok, "needed_bytes": self.needed_bytes, "free_bytes": self.free_bytes,
                "seconds": self.seconds, "bitrate_bps": self.bitrate_bps, "margin": self.margin,
                "file_bytes": self.file_bytes, "remux_bytes": self.remux_bytes, "reserve_bytes": self.reserve_bytes,
                "message": self.message()}


def take_seconds(template) -> float:
    """The longest answer time of the template x its number of questions (an InterviewTemplate or a flow plan)."""
    questions = template.questions
    return max(q.answer_s for q in questions) * len(questions)


def estimate(config, seconds: float, where: Path | str, size: tuple[int, int] | None = None,
             free: int | None = None) -> SpaceEstimate:
    rate = bitrate_bps(config, size)
    margin = float(config["storage.space_margin"])
    raw = seconds * rate / 8
    return SpaceEstimate(seconds=float(seconds), bitrate_bps=rate, margin=margin,
                         file_bytes=math.ceil(raw * margin), remux_bytes=math.ceil(raw),
                         reserve_bytes=reserve_bytes(config),
                         free_bytes=free_bytes(where) if free is None else free, where=str(where))


def estimate_for_template(config, template, where: Path | str, size: tuple[int, int] | None = None) -> SpaceEstimate:
    return estimate(config, take_seconds(template), where, size)


def require_space(config, template, where: Path | str, size: tuple[int, int] | None = None) -> SpaceEstimate:
    """Before a take: raise NotEnoughSpace (with the message to show) unless the template's longest take fits."""
    result = estimate_for_template(config, template, where, size)
    if not result.ok:
        raise NotEnoughSpace(result)
    return result
