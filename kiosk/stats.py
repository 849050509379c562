"""What the admin console shows, computed here (no Qt): the session list and detail, statistics, sync overview.

All functions read the open database (kiosk.db); the UI only formats what they return.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import statistics as pystats
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.paths import DataDir

FINISHED = ("completed", "interrupted", "recovered", "failed")


@dataclass(frozen=True)
class SessionRow:
    uuid: str
    code: str
    candidate: str
    started_at: dt.datetime | None
    duration_s: float | None
    status: str
    sync_state: str
    exported_at: dt.datetime | None
    files: int
    bytes: int

    def matches(self, search: str) -> bool:
        """Case- and accent-tolerant match on candidate, code, uuid, status and the local date."""
        words = fold(search).split()
        return all(w in self._haystack for w in words)

    @functools.cached_property
    def _haystack(self) -> str:
        day = self.started_at.astimezone().strftime("%Y-%m-%d") if self.started_at else ""
        return fold(" ".join((self.candidate, self.code, self.uuid, self.status, self.sync_state, day)))


def fold(text: str) -> str:
    """Lower case without accents: "Čeněk" and "cenek" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Chapter:
    label: str
    start: float
    end: float | None


@dataclass(frozen=True)
class RecordingInfo:
    path: Path
    state: str
    duration_s: float | None
    size: int | None
    exists: bool


@dataclass(frozen=True)
class EventRow:
    time: dt.datetime
    offset_s: float | None
    kind: str
    question_index: int | None
    detail: Any


@dataclass(frozen=True)
class SessionDetail:
    row: SessionRow
    candidate_ref: str
    end_reason: str
    events: list[EventRow]
    recordings: list[RecordingInfo]
    chapters: list[Chapter]


def _row(interview, recordings: list | None = None, sync_state: str | None = None) -> SessionRow:
    from kiosk.export import sync_summary

    recs = recordings if recordings is not None else list(interview.recordings)
    live = [r for r in recs if r.deleted_at is None]
    size = sum(r.size or 0 for r in live)
    duration = interview.recording_duration
    if duration is None and live:
        duration = sum(r.duration or 0.0 for r in live) or None
    return SessionRow(interview.uuid, interview.code, interview.candidate_name,
                      interview.started_at or interview.created_at, duration, interview.status,
                      sync_summary(interview) if sync_state is None else sync_state, interview.exported_at,
                      len(live), size)


def list_sessions(search: str = "") -> list[SessionRow]:
    """Every interview, newest first, filtered by `search` (all words must match)."""
    from kiosk.db.models import Interview, Recording, SyncState

    interviews = list(Interview.select().order_by(Interview.created_at.desc(), Interview.id.desc()))
    by_interview: dict[int, list] = {}
    for rec in Recording.select():
        by_interview.setdefault(rec.interview_id, []).append(rec)
    statuses: dict[int, set[str]] = {}
    for interview_id, status in SyncState.select(SyncState.interview, SyncState.status).tuples():
        statuses.setdefault(interview_id, set()).add(status)
    rows = [_row(i, by_interview.get(i.id, []), summarize_sync(statuses.get(i.id, set()))) for i in interviews]
    return [r for r in rows if r.matches(search)]


def summarize_sync(statuses: set[str]) -> str:
    """One word for a session's files: the worst state wins; "" when sync never saw it."""
    for word in ("failed", "blocked", "uploading", "pending"):
        if word in statuses:
            return word
    return "synced" if statuses else ""


def chapters_of(recording_data: Any) -> list[Chapter]:
    """Chapters from the recorder's metadata: {"chapters": [{"label", "start", "end"}]} (seconds)."""
    out = []
    if isinstance(recording_data, dict):
        for item in recording_data.get("chapters") or []:
            try:
                out.append(Chapter(str(item.get("label", "")), float(item["start"]),
                                   None if item.get("end") is None else float(item["end"])))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
    return sorted(out, key=lambda c: c.start)


def session_detail(uuid: str) -> SessionDetail | None:
    from kiosk.db.models import Event, Interview, Recording

    interview = Interview.get_or_none(Interview.uuid == uuid)
    if interview is None:
        return None
    recs = list(Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                   Recording.id))
    events = [EventRow(e.time, e.offset_s, e.kind, e.question_index, e.detail)
              for e in Event.select().where(Event.interview == interview).order_by(Event.time, Event.id)]
    recordings = [RecordingInfo(Path(r.path), r.state, r.duration, r.size, Path(r.path).is_file()) for r in recs]
    if not recordings and interview.recording_path:
        path = Path(interview.recording_path)
        recordings = [RecordingInfo(path, "finalized", interview.recording_duration,
                                    path.stat().st_size if path.is_file() else None, path.is_file())]
    return SessionDetail(_row(interview, recs), interview.candidate_ref, interview.end_reason, events, recordings,
                         chapters_of(interview.recording_data))


# --------------------------------------------------------------------------------------------------------- stats
def profile_bitrate_bps(config: Config) -> int:
    """Bits per second a take costs at the configured profile (video scaled by area from 720p, plus audio)."""
    audio = config["recording.audio_bitrate_kbps"] * 1000
    if config["recording.profile"].startswith("audio"):
        return audio
    width, height = (int(x) for x in config["camera.size"].lower().split("x"))
    video = config["recording.video_bitrate_kbps"] * 1000 * (width * height) / (1280 * 720)
    return int(video + audio)


@dataclass(frozen=True)
class Statistics:
    per_day: list[tuple[dt.date, int]]          # the last `days` days, oldest first, zeros included
    total: int
    finished: int
    completed: int
    success_rate: float | None                  # completed / finished; None before the first finished one
    duration_mean_s: float | None
    duration_median_s: float | None
    duration_max_s: float | None
    failures_by_cause: dict[str, int]
    bytes_on_disk: int
    free_bytes: int
    reserve_bytes: int                          # storage.min_free_mb: never recorded into
    bitrate_bps: int
    hours_left: float                           # hours of recording the free space still holds at the profile
    status_counts: dict[str, int] = field(default_factory=dict)


def _dir_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def statistics(data: DataDir, config: Config, days: int = 14, today: dt.date | None = None) -> Statistics:
    """The console's figures; counts, success rate, durations and failures match `kiosk stats`."""
    from peewee import fn

    from kiosk.db.models import Interview, Recording

    today = today or dt.date.today()
    first = today - dt.timedelta(days=days - 1)
    per_day: Counter[dt.date] = Counter()
    status_counts: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    durations: list[float] = []
    total = 0
    for interview in Interview.select():
        total += 1
        status_counts[interview.status] += 1
        when = interview.started_at or interview.created_at
        if when is not None:
            day = when.astimezone().date()
            if first <= day <= today:
                per_day[day] += 1
        if interview.status in FINISHED and interview.status != "completed":
            causes[interview.end_reason or interview.status] += 1
    # Durations as `kiosk stats` counts them: what was recorded, summed over an interview's usable files.
    for (total_s,) in (Recording.select(fn.SUM(Recording.duration))
                       .where(Recording.state.in_(("finalized", "recovered")))
                       .group_by(Recording.interview).tuples()):
        if total_s:
            durations.append(float(total_s))
    finished = sum(status_counts[s] for s in FINISHED)
    completed = status_counts["completed"]
    usage = shutil.disk_usage(data.recordings if data.recordings.exists() else data.root)
    reserve = config["storage.min_free_mb"] * 1024 * 1024
    bitrate = profile_bitrate_bps(config)
    hours = max(0, usage.free - reserve) * 8 / bitrate / 3600 if bitrate else 0.0
    return Statistics(
        per_day=[(first + dt.timedelta(days=i), per_day[first + dt.timedelta(days=i)]) for i in range(days)],
        total=total, finished=finished, completed=completed,
        success_rate=completed / finished if finished else None,
        duration_mean_s=pystats.fmean(durations) if durations else None,
        duration_median_s=pystats.median(durations) if durations else None,
        duration_max_s=max(durations) if durations else None,
        failures_by_cause=dict(causes.most_common()),
        bytes_on_disk=_dir_bytes(data.recordings) if data.recordings.exists() else 0,
        free_bytes=usage.free, reserve_bytes=reserve, bitrate_bps=bitrate, hours_left=hours,
        status_counts=dict(status_counts))


@dataclass(frozen=True)
class SyncOverview:
    enabled: bool
    server: str
    counts: dict[str, int]                      # status -> files
    pending_bytes: int
    last_synced_at: dt.datetime | None
    errors: list[tuple[str, str]]               # (file, last error), newest first, at most 10


def sync_overview(config: Config) -> SyncOverview:
    from kiosk.db.models import SyncState

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


# --------------------------------------------------------------------------------------------------------- settings
RETENTION_OPTIONS = ("storage.retention_days", "storage.retention_requires_sync", "storage.retention_requires_export")


def save_settings(config: Config, changes: dict[str, Any], path: Path | None = None) -> Path:
    """Validate `changes` (ConfigError names the problem), apply them to `config` and write the whole kiosk.toml
    atomically (temporary file, fsync, rename). Returns the file written."""
    from kiosk.paths import resolve_config_file

    trial = Config(values=dict(config.values), source=config.source)
    for name, value in changes.items():
        trial.set(name, value, where="admin console")
    target = Path(path or config.source or resolve_config_file())
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(trial.to_toml())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    config.values.update(trial.values)
    config.source = target
    return target
