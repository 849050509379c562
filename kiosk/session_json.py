"""The session JSON: one interview's seed metadata, its recordings and its time-stamped events, as plain JSON values.

Uploaded next to the recording by sync and written into exports. Field names follow the seed (the Interview table);
times are ISO 8601 UTC. The kiosk's process bookkeeping (owner pid/host/boot id) is left out.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

FORMAT = "kiosk-session/1"
_PRIVATE_FIELDS = {"id", "owner_pid", "owner_host", "owner_boot_id"}


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def session_document(interview) -> dict[str, Any]:
    """The seed metadata of `interview` plus its recordings and events (oldest first), ready for json.dumps."""
    from kiosk.db.models import Event, Recording

    document: dict[str, Any] = {"format": FORMAT}
    for name in interview._meta.sorted_field_names:
        if name not in _PRIVATE_FIELDS:
            document[name] = _value(getattr(interview, name))
    recordings = []
    for rec in Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                   Recording.id):
        recordings.append({
            "file": Path(rec.path).name, "path": rec.path, "state": rec.state, "profile": rec.profile,
            "container": rec.container, "video_codec": rec.video_codec, "audio_codec": rec.audio_codec,
            "width": rec.width, "height": rec.height, "fps": rec.fps, "size": rec.size, "duration": rec.duration,
            "sha256": rec.sha256, "frames_written": rec.frames_written, "frames_dropped": rec.frames_dropped,
            "error": rec.error, "started_at": _value(rec.started_at), "ended_at": _value(rec.ended_at),
        })
    document["recordings"] = recordings
    document["events"] = [
        {"time": _value(e.time), "offset_s": e.offset_s, "kind": e.kind, "question_index": e.question_index,
         "recording": Path(e.recording.path).name if e.recording_id else None, "detail": e.detail}
        for e in Event.select().where(Event.interview == interview).order_by(Event.time, Event.id)]
    return document


def session_json_bytes(interview) -> bytes:
    """The document as UTF-8 JSON text (stable key order, non-ASCII kept), as uploaded and exported."""
    return (json.dumps(session_document(interview), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
