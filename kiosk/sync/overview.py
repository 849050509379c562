"""What sync has done, read from the sync_state table: one word per session, and the console's overview."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from kiosk.config import Config
from kiosk.db.models import SyncState


def summarize_sync(statuses: Iterable[str]) -> str:
    """One word for a session's files: the worst state wins; "" when sync never saw it."""
    statuses = set(statuses)
    for word in ("failed", "blocked", "uploading", "pending"):
        if word in statuses:
            return word
    return "synced" if statuses else ""


def sync_statuses_by_interview() -> dict[int, set[str]]:
    """interview id -> the statuses of its sync rows, in one query."""
    out: dict[int, set[str]] = {}
    for interview_id, status in SyncState.select(SyncState.interview, SyncState.status).tuples():
        out.setdefault(interview_id, set()).add(status)
    return out


def sync_summary(interview) -> str:
    """The one word for one interview (the list, the CSV of an export)."""
    return summarize_sync(s for (s,) in SyncState.select(SyncState.status).where(SyncState.interview == interview)
                          .tuples())


@dataclass(frozen=True)
class SyncOverview:
    enabled: bool
    server: str
    counts: dict[str, int]                      # status -> files
    pending_bytes: int
    last_synced_at: dt.datetime | None
    errors: list[tuple[str, str]]               # (file, last error), newest first, at most 10


def sync_overview(config: Config) -> SyncOverview:
    counts: Counter[str] = Counter()
    pending = 0
    last = None
    errors = []
    for s in SyncState.select().order_by(SyncState.updated_at.desc()):
        counts[s.status] += 1
        if s.status != "synced":
            pending += max(0, (s.size or 0) - (s.offset or 0))
        if s.synced_at and (last is None or s.synced_at > last):
            last = s.synced_at
        if s.last_error and s.status != "synced" and len(errors) < 10:
            errors.append((Path(s.path).name, s.last_error))
    return SyncOverview(config["sync.enabled"], config["sync.server_url"], dict(counts), pending, last, errors)
