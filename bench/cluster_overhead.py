"""What finer flushing costs: the same encoded packets muxed with the old and the new live settings.

    python bench/cluster_overhead.py [--seconds 10]

The packets are encoded once per case (demo pattern; "noisy" adds heavy per-frame grain, as a grainy camera), then
muxed through each set of live options with a flush per packet: bytes on disk (overhead against the 500 ms
clusters / per-keyframe fragments used before), clusters or fragments written, and the CPU time of the mux loop
(process time, so other processes' load does not count). The loss each setting allows is in bench/crash_bench.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.finalize_bench import encode_chunk  # noqa: E402
from kiosk.media import ebml, profiles  # noqa: E402

WEBM_VARIANTS = {"clusters 500 ms (before)": {"cluster_time_limit": "500"},
                 "clusters 100 ms": {"cluster_time_limit": "100"},
                 "clusters 33 ms": {"cluster_time_limit": "33"},
                 "cluster per packet (now)": {"cluster_time_limit": "0"}}
MP4_VARIANTS = {"fragment per keyframe (before)": {"movflags": "frag_keyframe+empty_moov+default_base_moof"},
                "fragments of 100 ms": {"movflags": "empty_moov+default_base_moof", "frag_duration": "100000"},
                "fragments of 50 ms": {"movflags": "empty_moov+default_base_moof", "frag_duration": "50000"},
                "fragments of 20 ms (now)": {"movflags": "empty_moov+default_base_moof", "frag_duration": "20000"}}


def remux(chunk: Path, dst: Path, fmt: str, options: dict, audio_only: bool) -> tuple[int, float, int]:
    src = av.open(str(chunk))
    packets = [p for p in src.demux() if p.dts is not None and p.size and (p.stream.type == "audio" or not audio_only)]
    out = av.open(str(dst), "w", format=fmt, options={**options, "flush_packets": "1",
                                                         "cluster_size_limit": "2097152"} if fmt == "webm"
                  else {**options, "flush_packets": "1"})
    streams = {s.index: out.add_stream_from_template(s) for s in src.streams
               if s.type == "audio" or not audio_only}
    out.start_encoding()
    cpu = time.process_time()
    for packet in packets:
        packet.stream = streams[packet.stream.index]
        out.mux(packet)
    cpu = time.process_time() - cpu
    out.close()
    src.close()
    data = dst.read_bytes()
    marker = ebml.CLUSTER.to_bytes(4, "big") if fmt == "webm" else b"moof"
    return len(data), cpu, data.count(marker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    cases = [("webm-vp9-opus 720p demo", profiles.VP9, (1280, 720), 0.0, False),
             ("webm-vp9-opus 1080p noisy", profiles.VP9, (1920, 1080), 18.0, False),
             ("webm-vp8-opus 720p demo", profiles.VP8, (1280, 720), 0.0, False),
             ("audio-opus", profiles.VP9, (320, 240), 0.0, True),
             ("mp4-h264-aac 720p demo", profiles.H264, (1280, 720), 0.0, False)]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name, encoder, size, grain, audio_only in cases:
            chunk = encode_chunk(folder, args.seconds, encoder, size, grain, audio_alone=audio_only)
            fmt = encoder.container.live_format
            variants = MP4_VARIANTS if fmt == "mp4" else WEBM_VARIANTS
            base = None
            for label, options in variants.items():
                size_bytes, cpu, units = remux(chunk, folder / f"v.{encoder.container.ext}", fmt, options,
                                               audio_only)
                base = base or size_bytes
                print(json.dumps({"case": name, "variant": label, "bytes": size_bytes,
                                  "overhead_pct": round(100 * (size_bytes - base) / base, 2),
                                  "overhead_kbit_s": round((size_bytes - base) * 8 / 1000 / args.seconds, 1),
                                  "clusters_or_fragments_per_s": round(units / args.seconds, 1),
                                  "mux_cpu_ms_per_s": round(1000 * cpu / args.seconds, 2)}), flush=True)


if __name__ == "__main__":
    main()
