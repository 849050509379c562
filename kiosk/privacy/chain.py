"""The event hash chain of one interview: each event carries the sha256 of the one before it.

An event's hash covers its position, its content and the previous hash; the first event links to a start value
derived from the interview's uuid, so an event cannot be moved to another interview, dropped, reordered or edited
without every later hash changing. The manifest, signed at finalize, pins the head (the last hash) and the count.

The content is hashed in one canonical form (``canonical``): the form the session JSON carries, so the centre can
re-check a chain from a session JSON alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from kiosk.privacy.crypto import SUFFIX as SEALED_SUFFIX

FORMAT = "kiosk-chain/1"
# The fields an event's hash covers, as they appear in the session JSON.
FIELDS = ("seq", "time", "offset_s", "kind", "question_index", "recording", "detail")


def start(interview_uuid: str) -> str:
    """The value the first event links to."""
    return hashlib.sha256(f"{FORMAT}:{interview_uuid}".encode()).hexdigest()


def time_text(value: dt.datetime) -> str:
    """Times in the chain: UTC, microseconds always written (so the text is the same after a round trip)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def event_fields(seq: int, time: dt.datetime | str, offset_s: float | None, kind: str,
                 question_index: int | None, recording_path: str | None, detail: Any) -> dict[str, Any]:
    """An event's hashed fields. `time` as a datetime or as the database's text of it; the recording by its media
    name (without .age, so sealing the file later does not change the event)."""
    media = None
    if recording_path:
        media = Path(recording_path).name
        media = media[: -len(SEALED_SUFFIX)] if media.endswith(SEALED_SUFFIX) else media
    # Numbers as the columns give them back (REAL, INTEGER): an offset of 0 is hashed as 0.0.
    return {"seq": seq, "time": time if isinstance(time, str) else time_text(time),
            "offset_s": float(offset_s) if offset_s is not None else None, "kind": kind,
            "question_index": int(question_index) if question_index is not None else None, "recording": media,
            "detail": plain_json(detail)}


def from_document(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the session JSON shows it (kiosk.sessions.document), in the chain's canonical form, with its
    links: what `check` takes."""
    time = entry.get("time")
    try:
        time = time_text(dt.datetime.fromisoformat(time)) if isinstance(time, str) else time
    except ValueError:
        pass                                  # an edited time: the hash check names it
    fields = event_fields(entry.get("seq"), time, entry.get("offset_s"), entry.get("kind"),
                          entry.get("question_index"), entry.get("recording"), entry.get("detail"))
    return {**fields, "prev_sha256": entry.get("prev_sha256"), "sha256": entry.get("sha256")}


def plain_json(value: Any) -> Any:
    """`value` as it comes back from a JSON column: tuples become lists, other objects their str."""
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its FIELDS as compact, sorted, ASCII JSON."""
    return json.dumps({name: event.get(name) for name in FIELDS}, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")


def link(previous: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(event)).hexdigest()


@dataclass
class ChainCheck:
    """The outcome of re-computing a chain: its head, its length and, when broken, where and why."""

    head: str
    count: int
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def check(interview_uuid: str, events: Iterable[Mapping[str, Any]]) -> ChainCheck:
    """Re-compute the chain of `events` (each with FIELDS plus ``prev_sha256`` and ``sha256``), in seq order."""
    ordered = sorted(events, key=lambda e: (e.get("seq") is None, e.get("seq") or 0))
    previous, problems = start(interview_uuid), []
    for position, event in enumerate(ordered, start=1):
        name = f"event {position} ({event.get('kind')})"
        if event.get("seq") != position:
            problems.append(f"{name}: sequence number {event.get('seq')} where {position} belongs "
                            "(an event was removed or added)")
        if event.get("prev_sha256") != previous:
            problems.append(f"{name}: does not link to the event before it")
        expected = link(previous, event)
        if event.get("sha256") != expected:
            problems.append(f"{name}: its content differs from what was hashed (edited)")
        previous = event.get("sha256") or expected
        if problems:
            break                            # after the first break every later link differs too: name the first
    return ChainCheck(previous, len(ordered), problems)
