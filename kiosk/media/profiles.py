"""Recording profiles: container, codecs and the measured encoder settings (see the shared harness notes).

A profile names what the user asked for; the writer opens the first video encoder of its chain that works
(VP9 -> VP8 -> H.264) and records which one it used. H.264 cannot go in WebM, so falling back to it switches the
container to MP4 (and the audio to AAC) and the file's extension with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Container:
    name: str            # "webm" | "mp4"
    ext: str             # file extension without the dot
    live_format: str     # libav muxer used while recording
    final_format: str    # libav muxer used by the remux at stop
    audio_encoder: str   # libav encoder name
    audio_codec: str     # codec name as probed in the file

    def live_options(self) -> dict[str, str]:
        # Crash safety at the physical limit: libav holds an open cluster (fragment) in memory until the next one
        # starts, so a cluster per packet (MP4: a fragment per 20 ms; per frame, libav's frag_every_frame, leaves
        # duplicate dts that the remux at stop rejects) and a flush per packet put every encoded packet in the OS
        # as soon as the next one leaves the encoder. Measured overhead in bench/README.md ("crash loss").
        if self.name == "mp4":
            return {"movflags": "empty_moov+default_base_moof", "frag_duration": "20000", "flush_packets": "1"}
        return {"cluster_time_limit": "0", "cluster_size_limit": "2097152", "flush_packets": "1"}

    def audio_options(self, with_video: bool) -> dict[str, str]:
        # Opus in 10 ms frames rather than 20 beside video: the muxer interleaves by time, so video waits for the
        # audio packet that follows it; shorter audio packets halve that wait (live-file copies held back 0.058 s at
        # most instead of 0.088 s) for about 4 kbit/s more of cluster headers. Alone, audio waits for nothing.
        # AAC's frame is fixed (1024 samples).
        return {"frame_duration": "10"} if self.audio_encoder == "libopus" and with_video else {}

    @property
    def finalized_in_place(self) -> bool:
        """Matroska: the live muxer's own trailer appends cues and chapters and patches the reserved header
        (duration, seek head, segment size) in place, so stop -> final reads and rewrites nothing. MP4 keeps its
        index (and the chapter track) in the moov written before the first fragment: it needs the remux."""
        return self.name == "webm"

    def final_options(self) -> dict[str, str]:
        if self.name == "mp4":
            return {"movflags": "+faststart"}
        return {}


WEBM = Container("webm", "webm", "webm", "webm", "libopus", "opus")
MP4 = Container("mp4", "mp4", "mp4", "mp4", "aac", "aac")


@dataclass(frozen=True)
class VideoEncoder:
    encoder: str         # libav encoder name
    codec: str           # codec name as probed in the file
    container: Container

    def options(self, bitrate_kbps: int, cores: int) -> dict[str, str]:
        rate = f"{bitrate_kbps}k"
        if self.encoder == "libvpx-vp9":
            # Realtime, cpu-used 8 (9 is rejected), CBR: VBR overshot the bitrate by 60-80 %.
            return {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "lag-in-frames": "0",
                    "tile-columns": "1" if cores > 1 else "0", "b": rate, "minrate": rate, "maxrate": rate,
                    "bufsize": f"{bitrate_kbps * 2}k", "static-thresh": "0"}
        if self.encoder == "libvpx":
            # cpu-used must be negative: a positive value turns on libvpx's non-deterministic auto speed.
            return {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0", "b": rate, "minrate": rate,
                    "maxrate": rate, "bufsize": f"{bitrate_kbps * 2}k"}
        if self.encoder == "libx264":
            return {"preset": "superfast", "tune": "zerolatency", "b": rate, "maxrate": rate,
                    "bufsize": f"{bitrate_kbps * 2}k"}
        return {"b": rate}

    def threads(self, cores: int) -> int:
        if self.encoder == "libvpx":
            # VP8 threads=2 on a busy core collapsed (1597 of 1778 frames dropped): one thread unless a core is free.
            return 1 if cores <= 2 else cores - 1
        return max(1, cores)


VP9 = VideoEncoder("libvpx-vp9", "vp9", WEBM)
VP8 = VideoEncoder("libvpx", "vp8", WEBM)
H264 = VideoEncoder("libx264", "h264", MP4)


@dataclass(frozen=True)
class Profile:
    name: str
    video_chain: tuple[VideoEncoder, ...]   # empty: audio only
    audio_container: Container              # container used when there is no video (or no video stream wanted)

    @property
    def has_video(self) -> bool:
        return bool(self.video_chain)

    @property
    def ext(self) -> str:
        return (self.video_chain[0].container if self.video_chain else self.audio_container).ext


PROFILES: dict[str, Profile] = {
    "webm-vp9-opus": Profile("webm-vp9-opus", (VP9, VP8, H264), WEBM),
    "webm-vp8-opus": Profile("webm-vp8-opus", (VP8, H264), WEBM),
    "mp4-h264-aac": Profile("mp4-h264-aac", (H264,), MP4),
    # Audio only in WebM (Matroska clusters): the same crash safety and recovery as the video profiles.
    "audio-opus": Profile("audio-opus", (), WEBM),
}

DEFAULT_PROFILE = "webm-vp9-opus"


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown recording profile {name!r}. Fix: use one of {', '.join(PROFILES)}.") from None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def scaled_bitrate(kbps_at_720p: int, size: tuple[int, int]) -> int:
    """The configured bitrate is for 1280x720; scale it by picture area (never below 150 kbit/s)."""
    return max(150, int(round(kbps_at_720p * size[0] * size[1] / (1280 * 720))))
