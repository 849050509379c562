"""Finalize and recover takes.

Finalize (stop -> final) of a WebM take is the live muxer's own trailer: it appends the chapters and the cues after
the last cluster and patches the header's reserved space (duration, seek head, segment size) in place; `check_final`
then verifies the result with a bounded read (header, seek head, cues, chapters, the last cluster, a frame at every
chapter start), never the whole file. An MP4 take keeps its index in the moov written before the first fragment, so
it is still remuxed (`rewrite_in_place`): that costs a full copy.

Recovery of a cut-off take is a stream-copy remux (no re-encoding) into a seekable file with duration, cues and
chapters, verified before it takes the original's place.

A take that is being recorded has a journal next to it, ``<file>.recording`` (see journal.py), locked by the
recording process. A journal that exists but is not locked marks a take that was cut off (crash, kill -9, power
loss): `recover()` repairs it in place. The original is renamed ``*.orig.<ext>`` while the repaired copy is checked
(same number of packets per stream as could be read from the original) and removed only once the copy is in place.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av

from kiosk.media import ebml, journal as journalmod
from kiosk.media.writer import chapter_entries

log = logging.getLogger(__name__)


class FinalizeError(RuntimeError):
    pass


# What a recovery found: "recovered" (repaired, plays), "empty" (our take, cut off before its first frame reached the
# disk: nothing was recorded), "live" (being recorded now; left alone), "failed" (kept unchanged).
RECOVER_STATES = ("recovered", "empty", "live", "failed")
# The bounded check at finalize: the last packets must end this close to where the writer says the take ends.
END_TOLERANCE_S = 0.25
# The bounded check opens the file with a small probe: Matroska's header has the codec parameters already.
CHECK_OPEN_OPTIONS = {"probesize": "32768", "analyzeduration": "0"}


@dataclass
class RecoverResult:
    path: Path
    ok: bool
    duration: float
    message: str
    metadata: dict = field(default_factory=dict)
    state: str = "failed"

    def to_json(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "state": self.state, "duration": self.duration,
                "message": self.message, "metadata": self.metadata}


class CountingReader(io.RawIOBase):
    """A read-only file that counts the bytes read through it (the bounded check proves what it reads)."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = self._file.readinto(buffer)
        self.bytes_read += n or 0
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()


def _format_for(path: Path) -> str:
    return {".mp4": "mp4", ".m4a": "mp4", ".mkv": "matroska"}.get(path.suffix.lower(), "webm")


def probe(path: Path, count_packets: bool = True) -> dict:
    """What the file holds: container, duration (s), streams, chapters, whether it has an index (cues)."""
    path = Path(path)
    with av.open(str(path)) as container:
        info = _describe(container, path)
        if count_packets:
            counts, ends, damaged = _scan_packets(container)
            for entry in info["streams"]:
                entry["packets"] = counts.get(entry["index"], 0)
                entry["end"] = ends.get(entry["index"], 0.0)
            info["damaged_tail"] = damaged
            media = {e["index"] for e in info["streams"]}
            info["duration"] = max((v for k, v in ends.items() if k in media), default=0.0)
        else:
            info["duration"] = info["container_duration"] or 0.0
    info["seekable"] = _has_index(path, info["format"])
    return info


def _describe(container, path: Path) -> dict:
    """Container, streams and chapters as the header says (reads no packet)."""
    info: dict = {"path": str(path), "size": path.stat().st_size, "streams": [], "chapters": [],
                  "format": container.format.name,
                  "container_duration": container.duration / 1e6 if container.duration else None}
    for stream in container.streams:
        if stream.type not in ("video", "audio"):   # e.g. MP4's chapter text track
            continue
        entry = {"index": stream.index, "type": stream.type, "codec": stream.codec_context.name}
        if stream.type == "video":
            entry.update(width=stream.codec_context.width, height=stream.codec_context.height,
                         fps=float(stream.average_rate) if stream.average_rate else None)
        elif stream.type == "audio":
            entry.update(sample_rate=stream.codec_context.sample_rate, channels=stream.codec_context.channels)
        info["streams"].append(entry)
    for chapter in container.chapters():
        tb = chapter["time_base"] or Fraction(1, 1)
        info["chapters"].append({"label": chapter["metadata"].get("title", ""),
                                 "start": float(chapter["start"] * tb), "end": float(chapter["end"] * tb)})
    return info


def check_final(path: Path, end: float, chapters: list[dict], packets: dict[str, int]) -> dict:
    """Verify a WebM take finalized in place, reading a bounded part of it whatever its size.

    Checks: the seek head points at the Info, the Cues (and the Chapters, if any); the header's duration and the last
    packets (read from the last keyframe the cues know) end where the writer says the take ends (`end`, s); that
    keyframe decodes; the cues lead to a keyframe at every chapter start. `packets` ({"video": n, "audio": n}) are the counts the writer
    muxed. Returns what `probe` returns, plus "bytes_read". FinalizeError (the file and its journal are then left to
    `recover`) if anything is off."""
    path = Path(path)
    reader = CountingReader(path)
    try:
        try:
            entries = ebml.seek_head(reader)
        except ebml.EbmlError as exc:
            raise FinalizeError(f"{path.name} has no valid seek head ({exc})") from None
        wanted = [(ebml.INFO, "info"), (ebml.CUES, "cues")] + ([(ebml.CHAPTERS, "chapters")] if chapters else [])
        for element, what in wanted:
            if element not in entries or ebml.element_at(reader, entries[element]) != element:
                raise FinalizeError(f"{path.name}: no {what} where its seek head points")
        reader.seek(0)
        with av.open(reader, "r", format="matroska", options=CHECK_OPEN_OPTIONS) as container:
            info = _describe(container, path)
            duration = info["container_duration"] or 0.0
            if abs(duration - end) > END_TOLERANCE_S:
                raise FinalizeError(f"{path.name} says it lasts {duration:.3f} s, the writer wrote {end:.3f} s")
            main = (container.streams.video or container.streams.audio)[0]
            ends = _read_from(container, main, duration, to_end=True)      # from the last keyframe on
            if not ends or abs(max(ends.values()) - duration) > END_TOLERANCE_S:
                raise FinalizeError(f"{path.name}: its last packets end at {max(ends.values(), default=0):.3f} s, "
                                    f"not at its duration {duration:.3f} s")
            for chapter in info["chapters"]:
                _read_from(container, main, chapter["start"], to_end=False)
            labels = [c["label"] for c in info["chapters"]]
            if labels != [c["label"] for c in chapters]:
                raise FinalizeError(f"{path.name} holds the chapters {labels}, not {[c['label'] for c in chapters]}")
    except (av.error.FFmpegError, OSError) as exc:
        raise FinalizeError(f"{path.name} cannot be read back: {exc}") from None
    finally:
        reader.close()
    for entry in info["streams"]:
        entry["packets"] = packets.get(entry["type"], 0)
    info.update(duration=duration, seekable=True, damaged_tail=False, bytes_read=reader.bytes_read)
    return info


def _read_from(container, stream, start: float, to_end: bool) -> dict[int, float]:
    """Seek (through the cues) to the keyframe at or before `start`; with to_end, decode it and demux on to the end.
    Returns where each stream's packets end (s). FinalizeError if the seek lands elsewhere or nothing is there."""
    container.seek(int(start / stream.time_base), stream=stream, backward=True)
    ends: dict[int, float] = {}
    landed = None
    for packet in container.demux():
        if packet.dts is None or packet.size == 0:
            continue
        if landed is None and packet.stream is stream:
            landed = float(packet.pts * packet.time_base)
            if not to_end:                         # a chapter start: the cues lead to a keyframe there
                if not packet.is_keyframe:
                    raise FinalizeError(f"seeking to {start:.3f} s found no keyframe")
                break
            packet.decode()                        # the last keyframe: a damaged one raises here
        pts = packet.pts if packet.pts is not None else packet.dts
        ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0),
                                        float((pts + (packet.duration or 0)) * packet.time_base))
    if landed is None or landed > start + END_TOLERANCE_S:
        raise FinalizeError(f"seeking to {start:.3f} s found no packet there")
    return ends


def _scan_packets(container) -> tuple[dict[int, int], dict[int, float], bool]:
    counts: dict[int, int] = {}
    ends: dict[int, float] = {}
    damaged = False
    try:
        for packet in container.demux():
            if packet.dts is None or packet.size == 0:
                continue
            counts[packet.stream.index] = counts.get(packet.stream.index, 0) + 1
            end = packet.pts if packet.pts is not None else packet.dts
            end = float((end + (packet.duration or 0)) * packet.time_base)
            ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0), end)
    except (av.error.InvalidDataError, av.error.EOFError, OSError) as exc:
        log.info("stopped reading at a damaged tail: %s", exc)
        damaged = True
    return counts, ends, damaged


def _has_index(path: Path, format_name: str) -> bool:
    """Matroska: a Cues element; MP4: a moov with sample tables (not only fragments)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if "matroska" in format_name or "webm" in format_name:
            # Cues (0x1C53BB6B) are written at the end by the muxer; look in the last 4 MiB or the whole file.
            f.seek(max(0, size - 4 * 1024 * 1024))
            return b"\x1c\x53\xbb\x6b" in f.read()
        data = f.read(min(size, 8 * 1024 * 1024))
        return b"moov" in data and b"moof" not in data and (b"stco" in data or b"co64" in data)


def remux(src: Path, dst: Path, chapters: list[dict] | None = None,
          progress: Callable[[float], None] | None = None) -> tuple[dict[int, int], bool]:
    """Stream-copy `src` into `dst` (format from dst's extension).

    Returns (packets read and written per source stream, whether the source ended in a damaged tail). Every packet
    that can be read is written, so the counts are also what the source holds."""
    fmt = _format_for(dst)
    options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    counts: dict[int, int] = {}
    damaged = False
    with av.open(str(src)) as inp:
        total = inp.duration / 1e6 if inp.duration else None
        out = av.open(str(dst), "w", format=fmt, options=options)
        try:
            mapping = {}
            for stream in inp.streams:
                if stream.type in ("video", "audio"):
                    mapping[stream.index] = out.add_stream_from_template(stream)
                    counts[stream.index] = 0          # a stream with no packet yet (a very short take) counts too
            if chapters:
                out.set_chapters(chapter_entries(chapters))
            last_report = time.monotonic()
            try:
                for packet in inp.demux(*[inp.streams[i] for i in mapping]):
                    if packet.dts is None or packet.size == 0:
                        continue
                    index = packet.stream.index
                    packet.stream = mapping[index]
                    out.mux(packet)
                    counts[index] = counts.get(index, 0) + 1
                    if progress and total and time.monotonic() - last_report > 0.1:
                        last_report = time.monotonic()
                        progress(min(1.0, float(packet.pts * packet.time_base) / total) if packet.pts else 0.0)
            except (av.error.InvalidDataError, av.error.EOFError) as exc:
                log.info("%s ends in a damaged tail (%s); kept everything before it", src, exc)
                damaged = True
        finally:
            out.close()
    return counts, damaged


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar(path: Path) -> Path:
    """The metadata JSON next to a recording (the seed's fields and ours)."""
    return path.with_name(path.name + ".json")


def rewrite_in_place(path: Path, chapters: list[dict] | None = None,
                     progress: Callable[[float], None] | None = None) -> dict:
    """Remux `path` into a verified seekable copy that then takes its place. Returns the probe of the result.

    The original is renamed *.orig.<ext> before the copy moves in and is removed only after that, so at every instant
    one complete file exists under a known name.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.final{path.suffix}")
    orig = path.with_name(f"{path.stem}.orig{path.suffix}")
    if tmp.exists():
        tmp.unlink()   # a half-written copy of ours from an earlier attempt; the original is untouched
    source = orig if orig.exists() and not path.exists() else path
    counts, damaged = remux(source, tmp, chapters, progress)
    result = probe(tmp)        # read back independently: what the copy really holds
    written = sorted(s["packets"] for s in result["streams"])
    if written != sorted(counts.values()):
        raise FinalizeError(f"the remuxed copy of {path.name} holds {written} packets per stream, the original "
                            f"{sorted(counts.values())}; the original is kept unchanged")
    if not result["streams"] or result["duration"] <= 0:
        raise FinalizeError(f"nothing playable could be read from {path.name}; it is kept unchanged")
    _fsync_file(tmp)
    if source is path:
        os.replace(path, orig)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    orig.unlink()
    _fsync_dir(path.parent)
    result["path"] = str(path)
    result["size"] = path.stat().st_size
    result["source_damaged_tail"] = damaged
    return result


def chapters_from_events(events: list[dict], end: float) -> list[dict]:
    """Chapters from the journal's "chapter" events (file-time starts); each ends where the next starts."""
    starts = [(e["t"], e.get("label") or "") for e in events if e.get("kind") == "chapter"]
    chapters = []
    for i, (start, label) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else end
        if stop > start:
            chapters.append({"label": label, "start": round(start, 3), "end": round(stop, 3)})
    return chapters


def build_metadata(path: Path, info: dict, header: dict, events: list[dict], chapters: list[dict],
                   state: str, digest: str | None) -> dict:
    """The seed's fields (recording_path, duration, file_size, recorded_at, filename) plus ours. `digest` is the
    file's sha256, or None while it is being computed (`add_sha256` fills it in)."""
    video = next((s for s in info["streams"] if s["type"] == "video"), None)
    audio = next((s for s in info["streams"] if s["type"] == "audio"), None)
    return {
        "recording_path": str(path),
        "filename": path.name,
        "duration": round(float(info["duration"]), 3),
        "file_size": path.stat().st_size,
        "recorded_at": header.get("recorded_at"),
        "interview_uuid": header.get("interview_uuid"),
        "profile": header.get("profile"),
        "container": "mp4" if path.suffix.lower() == ".mp4" else "webm",
        "video_codec": video["codec"] if video else None,
        "audio_codec": audio["codec"] if audio else None,
        "width": video["width"] if video else None,
        "height": video["height"] if video else None,
        "fps": header.get("fps"),
        "audio_rate": audio["sample_rate"] if audio else None,
        "audio_channels": audio["channels"] if audio else None,
        "frames_written": video["packets"] if video else 0,
        "frames_dropped": header.get("frames_dropped", 0),
        "encoder_fallbacks": header.get("encoder_fallbacks", []),
        "sha256": digest,
        "seekable": info.get("seekable", False),
        "chapters": chapters,
        "events": events,
        "state": state,
    }


def add_sha256(path: Path) -> str:
    """Hash a finalized take (a full read, so it runs after stop -> final, off the candidate's path: the file's
    header is patched at the end, so no hash of its bytes in order can be carried along while it is written) and
    put the digest in its sidecar."""
    digest = sha256(path)
    target = sidecar(path)
    metadata = json.loads(target.read_text(encoding="utf-8"))
    metadata["sha256"] = digest
    write_sidecar(path, metadata)
    return digest


SIDECAR_SCRATCH = ".json.tmp"


def write_sidecar(path: Path, metadata: dict) -> Path:
    target = sidecar(path)
    tmp = target.with_name(target.name[: -len(".json")] + SIDECAR_SCRATCH)
    tmp.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return target


def recover(path: Path) -> RecoverResult:
    """Repair a cut-off take in place; report what survived. Never deletes what could not be verified."""
    path = Path(path)
    orig = path.with_name(f"{path.stem}.orig{path.suffix}")
    if not path.exists() and not orig.exists():
        return RecoverResult(path, False, 0.0, f"{path} does not exist")
    if journalmod.is_locked(path):
        return RecoverResult(path, False, 0.0, f"{path.name} is being recorded right now; left alone", state="live")
    header, events = journalmod.read(path)
    source = path if path.exists() else orig
    if header and _holds_no_frame(source):
        return _nothing_recorded(source, header, events)
    settled = _sidecar_of_empty(path) if not header else None
    if settled is not None:
        return RecoverResult(path, False, 0.0, f"{path.name}: no frame was recorded (settled before)", settled,
                             state="empty")
    try:
        before = probe(source)
    except (av.error.FFmpegError, OSError) as exc:
        return RecoverResult(path, False, 0.0, f"{path.name} cannot be read ({exc}); kept unchanged for a specialist")
    end = before.get("duration", 0.0)
    chapters = chapters_from_events(events, end)
    try:
        info = rewrite_in_place(path, chapters)
    except (FinalizeError, av.error.FFmpegError, OSError) as exc:
        return RecoverResult(path, False, end, f"{path.name} could not be repaired: {exc}")
    header.setdefault("recorded_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime)))
    events = events + [{"t": round(info["duration"], 3), "kind": "recovered",
                        "detail": "cut off while recording; repaired by remux"}]
    metadata = build_metadata(path, info, header, events, chapters_from_events(events, info["duration"]),
                              "recovered", sha256(path))
    write_sidecar(path, metadata)
    journalmod.remove(path)
    return RecoverResult(path, True, metadata["duration"],
                         f"{path.name}: {metadata['duration']:.1f} s survived "
                         f"({metadata['frames_written']} video frames)", metadata, state="recovered")


NO_FRAME_WINDOW = 1 << 20   # the header is under 1 KiB; a take with a frame has its first cluster right after it


def _holds_no_frame(path: Path) -> bool:
    """True for our take cut off before its first cluster (MP4: fragment) reached the disk: a header at most."""
    marker = b"moof" if _format_for(path) == "mp4" else ebml.CLUSTER.to_bytes(4, "big")
    with open(path, "rb") as f:
        head = f.read(NO_FRAME_WINDOW + 1)
    return len(head) <= NO_FRAME_WINDOW and marker not in head


def _sidecar_of_empty(path: Path) -> dict | None:
    """The sidecar of a take already settled as "no frame was recorded", or None."""
    try:
        metadata = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) and metadata.get("state") == "empty" else None


def _nothing_recorded(path: Path, header: dict, events: list[dict]) -> RecoverResult:
    """Close the books on a take that has no frame: the file (a header at most) stays, the sidecar says "empty"."""
    events = events + [{"t": 0.0, "kind": "recovered", "detail": "cut off before its first frame reached the disk"}]
    metadata = {"recording_path": str(path), "filename": path.name, "duration": 0.0,
                "file_size": path.stat().st_size, "recorded_at": header.get("recorded_at"),
                "interview_uuid": header.get("interview_uuid"), "profile": header.get("profile"),
                "video_codec": header.get("video_codec"), "audio_codec": header.get("audio_codec"),
                "frames_written": 0, "frames_dropped": 0, "sha256": sha256(path), "chapters": [], "events": events,
                "state": "empty"}
    write_sidecar(path, metadata)
    journalmod.remove(path)
    return RecoverResult(path, False, 0.0, f"{path.name}: no frame was recorded (cut off before its first frame "
                         "reached the disk); the empty file is kept and marked so", metadata, state="empty")


def find_cut_off(root: Path) -> list[Path]:
    """Every take under `root` whose journal says it was being recorded and no process holds it now."""
    found = []
    for journal_file in sorted(Path(root).rglob("*" + journalmod.SUFFIX)):
        media = journal_file.with_name(journal_file.name[: -len(journalmod.SUFFIX)])
        if not journalmod.is_locked(media):
            found.append(media)
    return found


def remove_scratch(root: Path) -> list[Path]:
    """Remove the sidecar scratch files (``<file>.json.tmp``) a kill in the middle of `write_sidecar` left under
    `root`: the sidecar each was about to replace is intact (or, if it was the first, the take still has its journal
    and its recovery writes the sidecar again). Never touches a recording."""
    removed = []
    for scratch in sorted(Path(root).rglob("*" + SIDECAR_SCRATCH)):
        media = scratch.with_name(scratch.name[: -len(SIDECAR_SCRATCH)])
        if not journalmod.is_locked(media):
            scratch.unlink(missing_ok=True)
            removed.append(scratch)
    return removed

