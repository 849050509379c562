"""The interview document: one interview's seed metadata, its recordings and its time-stamped events, as plain JSON
values. It is the one shape of an interview: uploaded next to the recording by sync, written into exports as
session.json, printed by `kiosk sessions show --json` and read by the admin console.

Field names follow the seed (the Interview table, with its `transcript` and `summary`); the transcript's passages
(words with times) and figures per question come from kiosk/transcripts. Times are ISO 8601 UTC. The kiosk's process bookkeeping (owner
pid/host/boot id) is left out.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

from kiosk.db.models import Event, Interview, Recording
from kiosk.sessions.files import caption_files
from kiosk.transcripts import summary as transcript_summary
from kiosk.transcripts.interview import stored_passages_by_recording

FORMAT = "kiosk-session/1"
_PRIVATE_FIELDS = {"id", "owner_pid", "owner_host", "owner_boot_id"}


def iso(value: Any) -> Any:
    """A datetime as ISO 8601 UTC (naive ones are UTC); a Path as text; anything else as it is."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def recording_entry(rec: Recording) -> dict[str, Any]:
    return {
        "file": Path(rec.path).name, "path": rec.path, "state": rec.state, "profile": rec.profile,
        "container": rec.container, "video_codec": rec.video_codec, "audio_codec": rec.audio_codec,
        "width": rec.width, "height": rec.height, "fps": rec.fps, "size": rec.size, "duration": rec.duration,
        "sha256": rec.sha256, "frames_written": rec.frames_written, "frames_dropped": rec.frames_dropped,
        "error": rec.error, "started_at": iso(rec.started_at), "ended_at": iso(rec.ended_at),
        "deleted_at": iso(rec.deleted_at),
        "caption_files": [p.name for p in caption_files(Path(rec.path))],      # WebVTT captions, then chapters
    }


def event_entry(event: Event, file_of: dict[int, str]) -> dict[str, Any]:
    """An event, with its place in the interview's hash chain (kiosk.privacy.chain) so the centre can re-check it."""
    return {"time": iso(event.time), "offset_s": event.offset_s, "kind": event.kind,
            "question_index": event.question_index, "recording": file_of.get(event.recording_id),
            "detail": event.detail, "seq": event.seq, "prev_sha256": event.prev_sha256, "sha256": event.sha256}


def build(interview: Interview, recordings: Iterable[Recording], events: Iterable[Event] | None) -> dict[str, Any]:
    """The document from rows already loaded (recordings oldest first, events in time order); without events when
    `events` is None (lists)."""
    recordings = list(recordings)
    document: dict[str, Any] = {"format": FORMAT}
    for name in interview._meta.sorted_field_names:
        if name not in _PRIVATE_FIELDS:
            document[name] = iso(getattr(interview, name))
    document["recordings"] = [recording_entry(r) for r in recordings]
    if events is not None:
        file_of = {r.id: Path(r.path).name for r in recordings}
        document["events"] = [event_entry(e, file_of) for e in events]
        # Per chapter (answer or retake): the words with their times; per question: the summary's figures.
        passages = stored_passages_by_recording(interview)
        document["transcript_passages"] = [
            {**p.to_json(), "recording": file_of.get(rid)} for rid, p in passages]
        document["transcript_figures"] = [f.to_json() for f in transcript_summary.per_question(
            [p for _, p in passages])]
    return document


def session_document(interview: Interview) -> dict[str, Any]:
    """The whole document of `interview`: its recordings and events (oldest first), ready for json.dumps."""
    recordings = Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                     Recording.id)
    events = Event.select().where(Event.interview == interview).order_by(Event.time, Event.id)
    return build(interview, recordings, events)


def session_json_bytes(interview: Interview) -> bytes:
    """The document as UTF-8 JSON text (stable key order, non-ASCII kept), as uploaded and exported."""
    return (json.dumps(session_document(interview), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
