"""Stop -> final for one take, on the recorder's finalize thread.

WebM: the writer's close writes the chapters and cues after the last cluster and patches the reserved header in
place (constant time whatever the take's length); a bounded check reads the result back. MP4: a verified remux.
Either way the sidecar is written and the journal removed only once the file checks out; if anything fails the file
and its journal stay for `kiosk recover`. "recording.finalized" is published then: the file is final and plays.

The sha256 follows (`add_digest`): it is a full read, and it cannot be carried along while writing because the
trailer patches the file's first bytes (duration, seek head) and a sha256 runs from the first byte on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from kiosk.media import finalize
from kiosk.media.take import Take, TakeResult

log = logging.getLogger(__name__)

Publish = Callable[..., None]      # EventBus.publish(kind, **data)


@dataclass
class FinishContext:
    profile: str
    fps: float
    audio_rate: int
    frames_captured: int
    publish: Publish


def finish(take: Take, end: float, ctx: FinishContext, stopped_event: Callable[[], None]) -> TakeResult:
    """Close the take's writer and make its file final. `end` is the file time of the stop; `stopped_event` logs the
    "stopped" event (under the recorder's lock) once the writer has drained."""
    writer = take.writer
    in_place = writer.container_kind is not None and writer.container_kind.finalized_in_place
    chapters_at = (lambda media_end: finalize.chapters_from_events(take.events, media_end)) if in_place else None
    stats = writer.close(chapters=chapters_at)
    stopped_event()
    header = {"recorded_at": take.recorded_at, "interview_uuid": take.interview_uuid, "profile": ctx.profile,
              "fps": ctx.fps, "frames_dropped": stats.frames_dropped, "encoder_fallbacks": writer.fallbacks}
    try:
        if writer.failed:
            raise finalize.FinalizeError(f"the writer failed: {writer.failed}")
        if in_place:
            chapters = finalize.chapters_from_events(take.events, stats.media_end_s)
            info = finalize.check_final(take.path, stats.media_end_s, chapters, stats.packets)
        else:
            chapters = finalize.chapters_from_events(take.events, max(end, stats.media_end_s))
            info = finalize.rewrite_in_place(
                take.path, chapters, progress=lambda p: ctx.publish("recording.finalizing", progress=p))
        chapters = finalize.chapters_from_events(take.events, info["duration"])
        metadata = finalize.build_metadata(take.path, info, header, take.events, chapters, "finalized", None)
        metadata.update(frames_captured=ctx.frames_captured, audio_reanchors=stats.audio_reanchors,
                        audio_dropped_s=round(stats.audio_dropped_samples / ctx.audio_rate, 3),
                        silence_s=round(stats.silence_samples / ctx.audio_rate, 3),
                        max_fsync_ms=round(stats.max_fsync_ms, 1), finalized_in_place=in_place,
                        finalize_bytes_read=info.get("bytes_read"))
        finalize.write_sidecar(take.path, metadata)
        take.journal.close(remove=True)
    except Exception as exc:
        # Keep the file and its journal: `kiosk recover` (or the next app start) repairs it.
        take.journal.close(remove=False)
        message = (f"finalizing {take.path.name} failed: {exc}. The recording is kept as it is; "
                   "Fix: run 'kiosk recover' to repair it.")
        log.error(message)
        metadata = {"recording_path": str(take.path), "filename": take.path.name, "duration": round(end, 3),
                    "file_size": take.path.stat().st_size if take.path.exists() else 0,
                    "recorded_at": take.recorded_at, "interview_uuid": take.interview_uuid,
                    "profile": ctx.profile, "video_codec": writer.video_codec, "audio_codec": writer.audio_codec,
                    "events": take.events, "chapters": [], "frames_written": stats.packets["video"],
                    "frames_dropped": stats.frames_dropped, "state": "failed", "error": str(exc)}
        ctx.publish("recording.failed", error=message, stage="finalize")
        return TakeResult(metadata, take.path, "failed", message)
    ctx.publish("recording.finalizing", progress=1.0)
    ctx.publish("recording.finalized", metadata=dict(metadata))
    log.info("take finalized: %s (%.1f s)", take.path, metadata["duration"])
    return TakeResult(metadata, take.path, "finalized")


def add_digest(result: TakeResult, publish: Publish) -> TakeResult:
    """Put the finalized file's sha256 into the result's metadata and its sidecar; publish "recording.hashed".
    A file that cannot be read back (gone, disk error) keeps sha256 None: the sync worker hashes it itself."""
    try:
        result.metadata["sha256"] = finalize.add_sha256(result.path)
    except OSError as exc:
        log.error("the sha256 of %s could not be computed: %s", result.path.name, exc)
        return result
    publish("recording.hashed", path=str(result.path), sha256=result.metadata["sha256"])
    return result
