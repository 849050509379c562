"""The live encoder: one writer thread encodes and muxes video and audio into a crash-safe file as they arrive.

Timestamps are file-timeline seconds given by the caller (the recorder maps the capture clock onto the file's
timeline, closing pause gaps). Video pts are milliseconds, clamped to strictly increasing. Audio pts are samples from
our own FIFO, which re-blocks to the codec's frame size and re-anchors to the given timestamps when the two disagree by
more than ANCHOR_TOLERANCE_S (microphone clocks drift; counting samples alone drifts 55 ms a minute at 1000 ppm).

Nothing holds the take in RAM: the queue is bounded for video (frames beyond it are dropped and counted) and the
file is flushed every packet and fsync'ed every `fsync_interval_s` from the writer thread.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

from kiosk.media import ebml, profiles
from kiosk.media.profiles import Container, Profile, VideoEncoder

log = logging.getLogger(__name__)

ANCHOR_TOLERANCE_S = 0.005   # the microphone's stamps are smooth; a lost 10 ms block must be filled
ANCHOR_PERSIST_S = 0.1       # ... once the disagreement has lasted this long
ANCHOR_JUMP_S = 0.05         # ... or at once when it is this big
ANCHOR_GAP_S = 0.009         # ... and a gap (samples missing) of about a block or more is filled at once
VIDEO_TIME_BASE = Fraction(1, 1000)
# Python threads (sources, UI) otherwise hold the GIL for 5 ms slices and starve the writer between encoder calls.
SWITCH_INTERVAL_S = 0.0005
FIRST_CLUSTERS_READ = 4 << 20    # a cluster is at most cluster_size_limit (2 MiB)


class MediaError(RuntimeError):
    """The encoder or the file failed; the message says what and how to fix it."""


@dataclass
class WriterSettings:
    path: Path
    profile: Profile
    size: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    video_bitrate_kbps: int = 2500            # at 720p; scaled by area
    audio_bitrate_kbps: int = 96
    keyframe_interval_s: float = 1.0
    fsync_interval_s: float = 1.0
    audio_rate: int = 48000
    channels: int = 1
    with_video: bool = True
    with_audio: bool = True
    disabled_encoders: tuple[str, ...] = ()   # treated as "cannot open" (tests, broken builds)
    max_video_queue_s: float = 0.5            # beyond this much backlog, new frames are dropped (counted)
    # Encoder threads run this much "nicer" than the rest of the process, so the UI thread wins the CPU when both
    # want it (the encoder falls behind first and drops counted frames; the UI never stutters). 0 = off.
    encoder_nice: int = 5


@dataclass
class WriterStats:
    frames_in: int = 0
    frames_encoded: int = 0
    frames_dropped: int = 0
    packets: dict[str, int] = field(default_factory=lambda: {"video": 0, "audio": 0})   # muxed, per stream type
    audio_samples: int = 0
    silence_samples: int = 0
    audio_dropped_samples: int = 0
    audio_reanchors: int = 0                  # times the audio timeline was re-anchored to the capture clock
    bytes_written: int = 0
    header_bytes: int = 0                     # the file's size once the header was written (before any frame)
    fsyncs: int = 0
    max_fsync_ms: float = 0.0
    video_end_s: float = 0.0
    audio_end_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def media_end_s(self) -> float:
        """Where the last packet of the file ends (its duration)."""
        return max(self.video_end_s, self.audio_end_s)


def add_video_stream(out, encoder: VideoEncoder, size: tuple[int, int], fps: float, bitrate_kbps_720p: int,
                     keyframe_interval_s: float, cores: int | None = None):
    """A video stream on `out` with the measured settings for `encoder` (also used by bench/ for the ffmpeg ratio)."""
    cores = cores or profiles.available_cores()
    bitrate = profiles.scaled_bitrate(bitrate_kbps_720p, size)
    stream = out.add_stream(encoder.encoder, rate=Fraction(fps).limit_denominator(1001),
                            options=encoder.options(bitrate, cores))
    cc = stream.codec_context
    cc.width, cc.height = size
    cc.pix_fmt = "yuv420p"
    cc.time_base = VIDEO_TIME_BASE
    stream.time_base = VIDEO_TIME_BASE
    cc.bit_rate = bitrate * 1000
    cc.gop_size = max(1, int(round(fps * keyframe_interval_s)))
    cc.thread_count = encoder.threads(cores)
    # BT.601 limited range: what cv2's BGR->I420 produces; untagged otherwise.
    cc.color_range = 1          # AVCOL_RANGE_MPEG
    cc.colorspace = 6           # AVCOL_SPC_SMPTE170M
    cc.color_primaries = 6      # AVCOL_PRI_SMPTE170M
    cc.color_trc = 6            # AVCOL_TRC_SMPTE170M
    return stream


def chapter_entries(chapters: list[dict]) -> list[dict]:
    """Our chapters ({"label", "start", "end"} in seconds) as PyAV's set_chapters() takes them."""
    return [{"id": i + 1, "start": int(round(c["start"] * 1000)), "end": int(round(c["end"] * 1000)),
             "time_base": Fraction(1, 1000), "metadata": {"title": c["label"]}} for i, c in enumerate(chapters)]


def lower_priority(nice: int) -> None:
    """Make the calling thread (only it: Linux applies setpriority to a thread id) `nice` steps nicer."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as exc:
        log.info("could not lower the encoder's priority: %s", exc)


def _even(n: int) -> int:
    return max(2, n - n % 2)


class MediaWriter:
    """Open with `open()`, feed with `write_video` / `write_audio` from any thread, end with `close()`."""

    def __init__(self, settings: WriterSettings, on_event: Callable[[str, dict], None] | None = None) -> None:
        self.settings = settings
        self.size = (_even(settings.size[0]), _even(settings.size[1]))
        self.path = Path(settings.path)
        self.on_event = on_event or (lambda kind, data: None)
        self.stats = WriterStats()
        self.container_kind: Container | None = None
        self.video_encoder: VideoEncoder | None = None
        self.video_codec: str | None = None
        self.audio_codec: str | None = None
        self.fallbacks: list[dict] = []          # encoders that could not open: [{"encoder", "error"}]
        self._queue: queue.Queue = queue.Queue()
        self._pending_video = 0
        self._pending_lock = threading.Lock()
        self._max_pending = max(2, int(math.ceil(settings.max_video_queue_s * settings.fps)))
        self._thread: threading.Thread | None = None
        self._container = None
        self._vstream = None
        self._astream = None
        self._fd: int | None = None
        self._force_key = True
        self._first_packet_ends: dict[int, int] = {}      # MP4: stream index -> file size once its first packet is in
        self._scan_at: int | None = None                  # WebM: where the next complete cluster starts
        self._tracks_in_file: set[int] = set()            # WebM: tracks with a block in the file
        self._failed: str | None = None
        self._closed = False

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """Open the file and the encoders along the profile's fallback chain; start the writer thread.

        The encoders are opened on a short-lived thread with the encoder niceness, so the threads libav and the codec
        libraries spawn inherit it (Linux threads inherit the creating thread's nice value)."""
        error: list[BaseException] = []

        def opener() -> None:
            lower_priority(self.settings.encoder_nice)
            try:
                self._open_chain()
            except BaseException as exc:   # re-raised on the caller's thread
                error.append(exc)

        thread = threading.Thread(target=opener, name="media-open", daemon=True)
        thread.start()
        thread.join()
        if error:
            raise error[0]
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._fd = os.open(self.path, os.O_RDONLY)
        self.stats.header_bytes = self.stats.bytes_written = os.fstat(self._fd).st_size
        self._thread = threading.Thread(target=self._run, name="media-writer", daemon=True)
        self._thread.start()

    def _open_chain(self) -> None:
        s = self.settings
        chain: tuple[VideoEncoder | None, ...] = s.profile.video_chain if s.with_video else ()
        if not chain:
            chain = (None,)
        errors = []
        for encoder in chain:
            container = encoder.container if encoder else s.profile.audio_container
            path = self.path.with_suffix("." + container.ext)
            if path.exists():
                raise MediaError(f"{path} already exists and a recording is never overwritten. "
                                 "Fix: choose a new file name (kiosk.media.naming.recording_path gives one).")
            try:
                self._open_with(encoder, container, path)
            except Exception as exc:  # libav raises many types; any failure means "try the next encoder"
                reason = f"{type(exc).__name__}: {exc}"
                errors.append(f"{encoder.encoder if encoder else container.audio_encoder}: {reason}")
                if encoder is not None:
                    self.fallbacks.append({"encoder": encoder.encoder, "error": reason})
                log.warning("encoder %s could not open (%s); trying the next one",
                            encoder.encoder if encoder else container.audio_encoder, reason)
                self._discard_failed_open(path)
                continue
            self.path = path
            self.container_kind = container
            self.video_encoder = encoder
            break
        else:
            raise MediaError("no encoder could be opened (" + "; ".join(errors) + "). Fix: install an FFmpeg/PyAV "
                             "build with libvpx, libx264 and libopus, or choose another recording profile.")

    def _open_with(self, encoder: VideoEncoder | None, container: Container, path: Path) -> None:
        s = self.settings
        for name in ((encoder.encoder,) if encoder else ()) + ((container.audio_encoder,) if s.with_audio else ()):
            if name in s.disabled_encoders:
                raise MediaError(f"encoder {name} is disabled by the settings")
        out = av.open(str(path), "w", format=container.live_format, options=container.live_options())
        try:
            cores = profiles.available_cores()
            if encoder is not None:
                self._vstream = add_video_stream(out, encoder, self.size, s.fps, s.video_bitrate_kbps,
                                                 s.keyframe_interval_s, cores)
            if s.with_audio:
                a = out.add_stream(container.audio_encoder, rate=s.audio_rate,
                                   options=container.audio_options(with_video=encoder is not None))
                ac = a.codec_context
                ac.layout = "stereo" if s.channels == 2 else "mono"
                ac.bit_rate = s.audio_bitrate_kbps * 1000
                ac.time_base = Fraction(1, s.audio_rate)
                a.time_base = Fraction(1, s.audio_rate)
                fmt = "fltp" if "fltp" in [f.name for f in ac.codec.audio_formats] else "flt"
                ac.format = fmt
                self._astream = a
            out.start_encoding()   # opens the encoders and writes the header: a failure shows here, not mid-take
        except BaseException:
            self._vstream = self._astream = None
            try:
                out.close()
            except Exception:
                pass
            raise
        self._container = out
        self.video_codec = encoder.codec if encoder else None
        self.audio_codec = container.audio_codec if s.with_audio else None
        if self._astream is not None:
            self._audio_frame_size = self._astream.codec_context.frame_size or 1024
            self._audio_format = self._astream.codec_context.format.name
        self._audio_buffer: list[np.ndarray] = []
        self._audio_buffered = 0
        self._audio_next_pts = 0    # sample index (file timeline) of the first buffered sample
        self._last_video_pts = -1
        self._last_key_t = -1e9
        self._anchor_since: float | None = None
        self._anchor_min = 0

    def _discard_failed_open(self, path: Path) -> None:
        # Only a header at most was written by the attempt that failed; nothing recorded is lost.
        try:
            if path.exists() and path.stat().st_size < 65536:
                path.unlink()
        except OSError:
            pass

    # ------------------------------------------------------------------ feeding (any thread)
    def write_video(self, image: np.ndarray, t: float) -> bool:
        """Queue a BGR frame at file time `t` (s). False if it was dropped because the writer is behind."""
        if self._vstream is None or self._closed:
            return False
        self.stats.frames_in += 1
        with self._pending_lock:
            if self._pending_video >= self._max_pending:
                self.stats.frames_dropped += 1
                return False
            self._pending_video += 1
        self._queue.put(("v", image, t))
        return True

    def write_audio(self, samples: np.ndarray, t: float) -> None:
        """Queue audio (n x channels float32) whose first sample is at file time `t` (s). Never dropped."""
        if self._astream is None or self._closed:
            return
        self._queue.put(("a", samples, t))

    def fill_audio_until(self, t: float) -> None:
        """Silence up to file time `t` (a lost or absent microphone keeps the timeline)."""
        if self._astream is not None and not self._closed:
            self._queue.put(("fill", None, t))

    def force_keyframe(self) -> None:
        """The next frame is a keyframe (chapter starts, resume after pause: seeking lands exactly)."""
        self._queue.put(("key", None, 0.0))

    @property
    def backlog(self) -> int:
        return self._pending_video

    @property
    def failed(self) -> str | None:
        return self._failed

    # ------------------------------------------------------------------ the writer thread
    def _run(self) -> None:
        lower_priority(self.settings.encoder_nice)
        next_sync = time.monotonic() + self.settings.fsync_interval_s
        announced = False
        while True:
            try:
                kind, payload, t = self._queue.get(timeout=0.1)
            except queue.Empty:
                kind = None
            if kind == "stop":
                break
            if self._failed is None:
                try:
                    if kind == "v":
                        with self._pending_lock:
                            self._pending_video -= 1
                        self._encode_video(payload, t)
                    elif kind == "a":
                        self._encode_audio(payload, t)
                    elif kind == "fill":
                        self._fill_silence(t)
                    elif kind == "key":
                        self._force_key = True
                except Exception as exc:  # a disk error or an encoder fault: stop writing, keep what is on disk
                    self._failed = f"{type(exc).__name__}: {exc}"
                    log.error("writing %s failed: %s", self.path, self._failed)
                    self.on_event("failed", {"error": self._failed})
            elif kind == "v":
                with self._pending_lock:
                    self._pending_video -= 1
            if not announced and self._failed is None and self._first_frame_on_disk():
                announced = True
                self._sync()
                next_sync = time.monotonic() + self.settings.fsync_interval_s
                self.on_event("started", {})
            if time.monotonic() >= next_sync:
                self._sync()
                next_sync = time.monotonic() + self.settings.fsync_interval_s

    def _first_frame_on_disk(self) -> bool:
        """True once a packet of every stream is in the file (a kill -9 from then on leaves a file with a frame).

        WebM: read back from the file, the blocks of its complete clusters (the first few KiB, only until this is
        true). MP4: the muxer writes sequentially and holds at most the open fragment, so once the file has grown
        past where it stood when a stream's first packet was muxed by that packet's size, the packet is in it."""
        streams = [s for s in (self._vstream, self._astream) if s is not None]
        if self.container_kind.name == "webm":
            if self._scan_at is None:
                found = os.pread(self._fd, 1 << 16, 0).find(ebml.CLUSTER.to_bytes(4, "big"))
                if found < 0:
                    return False
                self._scan_at = found
            tracks, used = ebml.block_tracks(os.pread(self._fd, FIRST_CLUSTERS_READ, self._scan_at))
            self._scan_at += used
            self._tracks_in_file |= tracks
            return len(self._tracks_in_file) >= len(streams)
        if len(self._first_packet_ends) < len(streams):
            return False
        return os.fstat(self._fd).st_size >= max(self._first_packet_ends.values())

    def _mux(self, packets) -> None:
        for packet in packets:
            index, size = packet.stream.index, packet.size
            if index not in self._first_packet_ends:
                self._first_packet_ends[index] = os.fstat(self._fd).st_size + size
            kind = packet.stream.type
            self._container.mux(packet)
            self.stats.packets[kind] += 1

    def _encode_video(self, image: np.ndarray, t: float) -> None:
        width, height = self.size
        if image.shape[1] != width or image.shape[0] != height:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        pts = max(int(round(t * 1000)), self._last_video_pts + 1)   # duplicate/backwards pts fail the muxer
        self._last_video_pts = pts
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if self._force_key or t - self._last_key_t >= self.settings.keyframe_interval_s - 0.5 / self.settings.fps:
            frame.pict_type = av.video.frame.PictureType.I
            self._force_key = False
            self._last_key_t = t
        self._mux(self._vstream.encode(frame))
        self.stats.frames_encoded += 1
        self.stats.video_end_s = pts / 1000 + 1 / self.settings.fps

    def _encode_audio(self, samples: np.ndarray, t: float) -> None:
        rate = self.settings.audio_rate
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[:, np.newaxis]
        if samples.shape[1] != self.settings.channels:
            samples = (np.repeat(samples[:, :1], self.settings.channels, axis=1) if samples.shape[1] == 1
                       else samples.mean(axis=1, keepdims=True))
        expected = int(round(t * rate))
        end = self._audio_next_pts + self._audio_buffered
        error = self._anchor_error(expected - end, t)
        if error > 0:                 # a gap (lost blocks, clock drift): silence keeps the timeline
            self._append_audio(np.zeros((error, self.settings.channels), np.float32), silence=True)
        elif error < 0:               # overlap: drop what is already on the timeline
            drop = min(-error, len(samples))
            self.stats.audio_dropped_samples += drop
            samples = samples[drop:]
        if len(samples):
            self._append_audio(samples)
            self.stats.audio_samples += len(samples)

    def _anchor_error(self, error: int, t: float) -> int:
        """How many samples to insert (+) or drop (-) before this block to stay on the capture clock.

        Small disagreements are left alone (the microphone's stamps are smooth; a few ms are not worth a click); a
        disagreement beyond ANCHOR_TOLERANCE_S is corrected once it has lasted ANCHOR_PERSIST_S with the same sign
        (a transient step that comes back is ignored), by the smallest error seen meanwhile. A gap of about a block or
        more (samples were lost: a stall, a lost microphone coming back) is filled at once, a big overlap dropped at
        once, and the very first block starts where its stamp says."""
        rate = self.settings.audio_rate
        first = self._audio_next_pts + self._audio_buffered == 0
        if first:
            return max(0, error)
        if abs(error) <= ANCHOR_TOLERANCE_S * rate:
            self._anchor_since = None
            return 0
        if abs(error) < ANCHOR_JUMP_S * rate and error < ANCHOR_GAP_S * rate:
            if self._anchor_since is None or (self._anchor_min > 0) != (error > 0):
                self._anchor_since, self._anchor_min = t, error
                return 0
            self._anchor_min = min(self._anchor_min, error, key=abs)
            if t - self._anchor_since < ANCHOR_PERSIST_S:
                return 0
            error = self._anchor_min
        self._anchor_since = None
        self.stats.audio_reanchors += 1
        log.debug("audio re-anchored by %+.1f ms at %.3f s", error * 1000 / rate, t)
        return error

    def _fill_silence(self, t: float) -> None:
        missing = int(round(t * self.settings.audio_rate)) - (self._audio_next_pts + self._audio_buffered)
        if missing > 0:
            self._append_audio(np.zeros((missing, self.settings.channels), np.float32), silence=True)

    def _append_audio(self, samples: np.ndarray, silence: bool = False) -> None:
        if silence:
            self.stats.silence_samples += len(samples)
        self._audio_buffer.append(samples)
        self._audio_buffered += len(samples)
        n = self._audio_frame_size
        if self._audio_buffered < n:
            return
        data = np.concatenate(self._audio_buffer) if len(self._audio_buffer) > 1 else self._audio_buffer[0]
        whole = (len(data) // n) * n
        for start in range(0, whole, n):
            self._encode_audio_frame(data[start:start + n])
        rest = data[whole:]
        self._audio_buffer = [rest] if len(rest) else []
        self._audio_buffered = len(rest)

    def _encode_audio_frame(self, block: np.ndarray) -> None:
        layout = "stereo" if self.settings.channels == 2 else "mono"
        if self._audio_format == "fltp":
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T), format="fltp", layout=layout)
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.reshape(1, -1)), format="flt",
                                               layout=layout)
        frame.sample_rate = self.settings.audio_rate
        frame.pts = self._audio_next_pts
        frame.time_base = Fraction(1, self.settings.audio_rate)
        self._audio_next_pts += len(block)
        self._mux(self._astream.encode(frame))
        self.stats.audio_end_s = self._audio_next_pts / self.settings.audio_rate

    def _sync(self) -> None:
        if self._fd is None:
            return
        started = time.perf_counter()
        try:
            os.fsync(self._fd)
            self.stats.bytes_written = os.fstat(self._fd).st_size
        except OSError as exc:
            log.error("fsync of %s failed: %s", self.path, exc)
            return
        ms = (time.perf_counter() - started) * 1000
        self.stats.fsyncs += 1
        self.stats.max_fsync_ms = max(self.stats.max_fsync_ms, ms)

    # ------------------------------------------------------------------ closing
    def close(self, pad_audio_to_video: bool = True,
              chapters: Callable[[float], list[dict]] | None = None) -> WriterStats:
        """Drain the queue, flush the encoders, write the trailer, fsync. Safe to call twice.

        `chapters(end)` gives the chapters ([{"label", "start", "end"}] in file seconds) once the file's end is known;
        they go into the trailer: Matroska writes chapters not known at the header after the last cluster (the seek
        head points to them), so they cost no rewrite."""
        if self._closed:
            return self.stats
        self._queue.put(("stop", None, 0.0))
        self._closed = True
        if self._thread is not None:
            self._thread.join()
        try:
            if self._failed is None:
                # A take stopped before anything arrived still becomes a valid (tiny) file, not a bare header.
                if self._vstream is not None and self.stats.frames_encoded == 0:
                    self._encode_video(np.zeros((self.size[1], self.size[0], 3), np.uint8), 0.0)
                if self._astream is not None and self._audio_next_pts + self._audio_buffered == 0:
                    self._append_audio(np.zeros((self._audio_frame_size, self.settings.channels), np.float32),
                                       silence=True)
                if self._astream is not None and self._vstream is not None and pad_audio_to_video:
                    self._fill_silence(self.stats.video_end_s)
                if self._astream is not None and self._audio_buffered:
                    pad = self._audio_frame_size - self._audio_buffered
                    self._append_audio(np.zeros((pad, self.settings.channels), np.float32), silence=True)
                for stream in (self._vstream, self._astream):
                    if stream is not None:
                        self._mux(stream.encode(None))
        except Exception as exc:
            self._failed = self._failed or f"{type(exc).__name__}: {exc}"
            log.error("flushing %s failed: %s", self.path, exc)
        try:
            if chapters is not None and self._failed is None:
                entries = chapter_entries(chapters(self.stats.media_end_s))
                if entries:
                    self._container.set_chapters(entries)
            self._container.close()
        except Exception as exc:
            self._failed = self._failed or f"{type(exc).__name__}: {exc}"
            log.error("closing %s failed: %s", self.path, exc)
        self._sync()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return self.stats
