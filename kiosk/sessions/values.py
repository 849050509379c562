"""Values from the recorder or the user made safe for the database: text, numbers, times, the end reason."""

from __future__ import annotations

import datetime as dt
from typing import Any


def clean(value: Any, limit: int | None = None) -> str:
    """Text safe for a TEXT column: lone surrogates (which UTF-8 cannot hold) become U+FFFD; NUL is kept."""
    text = "" if value is None else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit else text


def number(value: Any, kind: type = float) -> Any:
    try:
        if value is None or isinstance(value, bool):
            return None
        number = kind(value)
        if isinstance(number, float) and number != number:   # NaN
            return None
        return number
    except (TypeError, ValueError, OverflowError):
        return None


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


def end_reason_from_metadata(metadata: dict | None) -> str:
    """Why a take ended, from the recorder's events: disk_full, camera_lost ... or ''."""
    for event in (metadata or {}).get("events") or []:
        if isinstance(event, dict) and event.get("kind") == "disk.low":
            return "disk_full"
    problem = f"{(metadata or {}).get('error') or ''} {(metadata or {}).get('message') or ''}"
    if "No space left on device" in problem or "Errno 28" in problem or "ENOSPC" in problem:
        return "disk_full"
    reason = (metadata or {}).get("stop_reason")
    return clean(reason, 200) if reason else ""


# ---- reports ---------------------------------------------------------------------------------------------------
