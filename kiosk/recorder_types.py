"""The recorder's settings (profile, size, rates, bitrates, the free-space floor, stall limits) and its error."""

from __future__ import annotations

from dataclasses import dataclass


class RecorderError(RuntimeError):
    """Something the user can hit; the message says what is wrong and the fix."""


@dataclass
class RecorderSettings:
    profile: str = "webm-vp9-opus"
    size: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    video_bitrate_kbps: int = 2500
    audio_bitrate_kbps: int = 96
    keyframe_interval_s: float = 1.0
    fsync_interval_s: float = 1.0
    audio_rate: int = 48000
    channels: int = 1
    min_free_mb: int = 500
    # Encoders treated as unable to open (tests of the fallback chain; a build known to be broken).
    disabled_encoders: tuple[str, ...] = ()
    camera_stall_s: float = 1.0      # no frame for this long -> camera lost
    mic_stall_s: float = 0.5         # no audio block for this long -> mic lost
    stop_grace_s: float = 0.15       # frames/blocks captured before stop may still be in flight
    encoder_nice: int = 5            # encoder threads this much nicer than the UI (0 = same priority)

    @classmethod
    def from_config(cls, config) -> "RecorderSettings":
        return cls(profile=config["recording.profile"], size=tuple(config["camera.size"]), fps=float(config["camera.fps"]),
                   video_bitrate_kbps=config["recording.video_bitrate_kbps"],
                   audio_bitrate_kbps=config["recording.audio_bitrate_kbps"],
                   keyframe_interval_s=config["recording.keyframe_interval_s"],
                   fsync_interval_s=config["recording.fsync_interval_s"],
                   audio_rate=config["mic.rate"], channels=config["mic.channels"],
                   min_free_mb=config["storage.min_free_mb"])
