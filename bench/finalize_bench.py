"""Stop -> final for long 1080p takes, without recording for an hour: a synthetic fast source.

    python bench/finalize_bench.py [--minutes 1,10,60] [--chunk-s 10] [--old-upto 10]

Ten seconds of noisy 1080p30 (the demo pattern under heavy per-frame noise: the encoder works as on a grainy
camera) are encoded once with the live settings (VP9 realtime, 5625 kbit/s, a keyframe a second) and Opus; their
packets are then muxed again and again, time-shifted, through the live muxer options (a cluster per packet, a flush
per packet) into a take of N minutes with a chapter every 5 minutes. Timed for each take, exactly what stop -> final
does after the writer has drained: the trailer (chapters + cues appended, header patched in place), the bounded
check (`finalize.check_final`, bytes read counted) and the sidecar; then, separately, the sha256 that follows, and
(for takes up to --old-upto minutes) the previous remux + read-back + sha256 on the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.capture.demo import DemoCamera, DemoMicrophone  # noqa: E402
from kiosk.media import finalize, profiles  # noqa: E402
from kiosk.media.writer import add_video_stream, chapter_entries  # noqa: E402

SIZE = (1920, 1080)
FPS = 30
BITRATE_720P = 2500       # recording.video_bitrate_kbps: 5625 kbit/s at 1080p


def encode_chunk(folder: Path, seconds: float, encoder: profiles.VideoEncoder = profiles.VP9,
                 size: tuple[int, int] = SIZE, grain_sigma: float = 18.0, audio_alone: bool = False) -> Path:
    """`seconds` of the demo pattern under per-frame noise (`grain_sigma`, 0 = none), encoded with the live settings
    of `encoder` plus the container's audio (as the audio-only profile encodes it, with `audio_alone`), in the
    encoder's container: the packets the takes are built from."""
    container = encoder.container
    path = folder / f"chunk_{encoder.codec}_{size[0]}x{size[1]}_{grain_sigma:g}_{audio_alone}.{container.ext}"
    out = av.open(str(path), "w", format=container.live_format)
    video = add_video_stream(out, encoder, size, FPS, BITRATE_720P, 1.0)
    audio = out.add_stream(container.audio_encoder, rate=48000, options=container.audio_options(with_video=not audio_alone))
    audio.codec_context.layout = "mono"
    audio.codec_context.bit_rate = 96000
    audio.codec_context.format = "flt" if container.audio_encoder == "libopus" else "fltp"
    frame_size = audio.codec_context.frame_size or 1024
    camera, mic = DemoCamera(size, FPS), DemoMicrophone()
    rng = np.random.default_rng(1)
    grain = [rng.normal(0, grain_sigma, (size[1], size[0], 1)).astype(np.int16) for _ in range(6)]
    samples = 0
    for i in range(int(seconds * FPS)):
        image = np.clip(camera.render(i / FPS + 0.5).astype(np.int16) + grain[i % len(grain)], 0, 255)
        frame = av.VideoFrame.from_ndarray(image.astype(np.uint8), format="bgr24").reformat(format="yuv420p")
        frame.pts, frame.time_base = int(i * 1000 / FPS), Fraction(1, 1000)
        for packet in video.encode(frame):
            out.mux(packet)
        while samples < (i + 1) * 48000 // FPS:
            block = av.AudioFrame.from_ndarray(mic.render(samples, frame_size).reshape(1, -1).astype(np.float32),
                                               format=audio.codec_context.format.name, layout="mono")
            block.sample_rate, block.pts, block.time_base = 48000, samples, Fraction(1, 48000)
            samples += frame_size
            for packet in audio.encode(block):
                out.mux(packet)
    for stream in (video, audio):
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()
    return path


def build_take(chunk: Path, path: Path, minutes: float, chunk_s: float):
    """A live take of `minutes` from the chunk's packets; returns the open container and the chapters."""
    src = av.open(str(chunk))
    packets = [(p.stream.type, bytes(p), p.pts, p.dts, p.duration, p.is_keyframe, p.time_base)
               for p in src.demux() if p.dts is not None and p.size]
    out = av.open(str(path), "w", format="webm", options=profiles.WEBM.live_options())
    streams = {s.type: out.add_stream_from_template(s) for s in src.streams}
    src.close()
    out.start_encoding()
    packets.sort(key=lambda p: float(p[3] * p[6]))
    first = min(float(p[3] * p[6]) for p in packets)
    last = max(float((p[2] + (p[4] or 0)) * p[6]) for p in packets)
    period = (np.ceil((last - first) * FPS) + 1) / FPS        # each copy starts after the previous one ends
    repeats = int(np.ceil(minutes * 60 / period))
    for k in range(repeats):
        for kind, data, pts, dts, duration, key, tb in packets:
            offset = int(round(k * period / tb))
            packet = av.Packet(data)
            packet.stream = streams[kind]
            packet.time_base = tb
            packet.pts, packet.dts, packet.duration = pts + offset, dts + offset, duration
            packet.is_keyframe = key
            out.mux(packet)
    end = repeats * period
    chapters = [{"label": f"Q{i + 1}", "start": float(s), "end": float(min(end, s + 300))}
                for i, s in enumerate(range(0, int(end), 300))]
    return out, chapters, end


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", default="1,10,60")
    parser.add_argument("--chunk-s", type=float, default=10.0)
    parser.add_argument("--old-upto", type=float, default=10.0)
    parser.add_argument("--dir", default=None, help="where to write the takes (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        folder = Path(folder)
        started = time.perf_counter()
        chunk = encode_chunk(folder, args.chunk_s)
        print(json.dumps({"chunk_s": args.chunk_s, "encode_s": round(time.perf_counter() - started, 1),
                          "chunk_bytes": chunk.stat().st_size}), flush=True)
        for minutes in (float(m) for m in args.minutes.split(",")):
            path = folder / f"take_{minutes:g}min.webm"
            built = time.perf_counter()
            out, chapters, end = build_take(chunk, path, minutes, args.chunk_s)
            build_s = time.perf_counter() - built
            t0 = time.perf_counter()
            out.set_chapters(chapter_entries(chapters))
            out.close()                                   # the trailer: cues + chapters appended, header patched
            t1 = time.perf_counter()
            info = finalize.check_final(path, info_end(path), chapters, {"video": 0, "audio": 0})
            t2 = time.perf_counter()
            finalize.write_sidecar(path, {"duration": info["duration"], "sha256": None})
            t3 = time.perf_counter()
            finalize.add_sha256(path)
            t4 = time.perf_counter()
            row = {"minutes": minutes, "bytes": path.stat().st_size, "build_s": round(build_s, 1),
                   "stop_to_final_s": round(t3 - t0, 3), "trailer_s": round(t1 - t0, 3),
                   "check_s": round(t2 - t1, 3), "check_bytes_read": info["bytes_read"],
                   "sidecar_s": round(t3 - t2, 3), "sha256_after_s": round(t4 - t3, 2),
                   "duration": round(info["duration"], 2), "chapters": len(info["chapters"])}
            if minutes <= args.old_upto:
                t5 = time.perf_counter()
                finalize.rewrite_in_place(path, chapters)
                finalize.sha256(path)
                row["old_remux_readback_sha256_s"] = round(time.perf_counter() - t5, 2)
            print(json.dumps(row), flush=True)
            path.unlink()


def info_end(path: Path) -> float:
    """The take's end as the writer would know it: here, the header's duration (the packets were muxed, not
    counted by a writer)."""
    with av.open(str(path)) as container:
        return container.duration / 1e6


if __name__ == "__main__":
    main()
