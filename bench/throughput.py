"""Encoder throughput of our writer's settings in PyAV against the ffmpeg CLI with the same settings, same frames.

    python bench/throughput.py --size 1920x1080 --encoder libvpx-vp9 --frames 150

Both read the same raw I420 file (demo pattern frames, a different picture each) and encode unthrottled into a null
muxer; the ratio is PyAV fps / ffmpeg fps, measured back to back in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from kiosk.capture.demo import DemoCamera  # noqa: E402
from kiosk.media import profiles  # noqa: E402
from kiosk.media.writer import add_video_stream  # noqa: E402

ENCODERS = {e.encoder: e for e in (profiles.VP9, profiles.VP8, profiles.H264)}


def make_raw(path: Path, size: tuple[int, int], frames: int, fps: float) -> None:
    camera = DemoCamera(size, fps)
    with open(path, "wb") as f:
        for i in range(frames):
            f.write(cv2.cvtColor(camera.render(0.5 + i / fps), cv2.COLOR_BGR2YUV_I420).tobytes())


def pyav_fps(raw: Path, size: tuple[int, int], frames: int, fps: float, encoder, bitrate: int) -> float:
    width, height = size
    frame_bytes = width * height * 3 // 2
    out = av.open(os.devnull, "w", format="null")
    stream = add_video_stream(out, encoder, size, fps, bitrate, 1.0)
    started = time.perf_counter()
    with open(raw, "rb") as f:
        for i in range(frames):
            data = np.frombuffer(f.read(frame_bytes), np.uint8).reshape(height * 3 // 2, width)
            frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
            frame.pts = int(round(i * 1000 / fps))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    elapsed = time.perf_counter() - started
    out.close()
    return frames / elapsed


def ffmpeg_fps(raw: Path, size: tuple[int, int], frames: int, fps: float, encoder, bitrate: int) -> tuple[float, list]:
    cores = profiles.available_cores()
    scaled = profiles.scaled_bitrate(bitrate, size)
    args = ["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size[0]}x{size[1]}",
            "-r", str(fps), "-i", str(raw), "-c:v", encoder.encoder, "-threads", str(encoder.threads(cores)),
            "-g", str(int(round(fps)))]
    for key, value in encoder.options(scaled, cores).items():
        args += [f"-{key}", value]
    args += ["-f", "null", "-"]
    started = time.perf_counter()
    subprocess.run(args, check=True)
    return frames / (time.perf_counter() - started), args


def measure(size: tuple[int, int], encoder_name: str, frames: int, fps: float = 30.0, bitrate: int = 2500,
            rounds: int = 2) -> dict:
    encoder = ENCODERS[encoder_name]
    with tempfile.TemporaryDirectory(prefix="kiosk-tp-") as folder:
        raw = Path(folder) / "frames.yuv"
        make_raw(raw, size, frames, fps)
        ours, theirs = [], []
        for _ in range(rounds):       # interleaved, best of each: the machine is shared
            ours.append(pyav_fps(raw, size, frames, fps, encoder, bitrate))
            fps_cli, args = ffmpeg_fps(raw, size, frames, fps, encoder, bitrate)
            theirs.append(fps_cli)
    return {"size": f"{size[0]}x{size[1]}", "encoder": encoder_name, "frames": frames,
            "pyav_fps": round(max(ours), 1), "ffmpeg_fps": round(max(theirs), 1),
            "ratio": round(max(ours) / max(theirs), 3), "ffmpeg_args": " ".join(args[3:])}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--encoder", default="libvpx-vp9", choices=list(ENCODERS))
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    print(json.dumps(measure(size, args.encoder, args.frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
