"""Small real recordings for export, sync and playback tests: a WebM (VP8 + Opus) written with PyAV, and a decoder
to check copies."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_webm(path: Path, seconds: float = 1.0, size: tuple[int, int] = (160, 120), fps: int = 10,
              seed: int = 0) -> Path:
    """A playable WebM with a moving noise pattern (incompressible enough to give the file some bytes)."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {"deadline": "realtime", "cpu-used": "-8"}
        video.codec_context.thread_count = 1
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        frames = int(seconds * fps)
        for i in range(frames):
            image = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        samples = int(seconds * 48000)
        t = np.arange(samples) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[np.newaxis, :]
        for start in range(0, samples, 960):
            block = av.AudioFrame.from_ndarray(tone[:, start:start + 960], format="flt", layout="mono")
            block.sample_rate, block.pts = 48000, start
            for packet in audio.encode(block):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def decode_counts(path: Path) -> tuple[int, int]:
    """(video frames, audio samples) decoded from `path`."""
    frames = samples = 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames += 1
        container.seek(0)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
    return frames, samples


def header_only_take(cut: Path, uuid: str | None = None) -> bytes:
    """Write at `cut` what a kill between a take's start and its first cluster leaves: the real recorder's header
    (VP9 + Opus, taken right after the encoders opened) and the take's journal. Returns the header bytes."""
    import shutil
    import tempfile

    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.media import journal
    from kiosk.recorder import Recorder, RecorderSettings

    recorder = Recorder(DemoCamera((320, 240), 30), DemoMicrophone(),
                        RecorderSettings(size=(320, 240), fps=30, min_free_mb=50))
    with tempfile.TemporaryDirectory() as folder:
        live = Path(folder) / cut.name
        recorder.open()
        try:
            recorder.start_take(live, interview_uuid=uuid, label="Q1", wait=True)
            header = live.read_bytes()[:recorder._take.writer.stats.header_bytes]
            shutil.copyfile(journal.journal_path(live), journal.journal_path(cut))
            recorder.stop_take().result(timeout=30)
        finally:
            recorder.close()
    cut.write_bytes(header)
    return header
