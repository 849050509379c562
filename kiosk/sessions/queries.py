"""The read side of sessions: finding interviews, the searchable list, one session's detail, the statistics.

Every read of the interview tables for the CLI and the admin console is here (the console only formats what these
return); there is one implementation of each figure, so `kiosk stats`, `kiosk doctor` and the console agree.
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
from typing import Any, Iterable

from peewee import fn

from kiosk import disk
from kiosk.config import Config
from kiosk.db.models import FINISHED_STATUSES, KEPT_STATES, Event, Interview, Recording, SyncState, TranscriptJob
from kiosk.paths import DataDir
from kiosk.sessions import document
from kiosk.sessions.errors import SessionNotFound
from kiosk.sessions.files import file_exists
from kiosk.sessions.values import parse_time
from kiosk.sync.overview import summarize_sync, sync_statuses_by_interview, sync_summary
from kiosk.transcripts import search as transcript_search
from kiosk.transcripts.chapters import passage_from_json as transcript_passage_of
from kiosk.transcripts.vtt import caption_cues

# ---------------------------------------------------------------------------------------------------- finding


def find_interview(uuid: str) -> Interview:
    """By full uuid, or by a unique prefix of at least 8 characters."""
    uuid = uuid.strip().lower()
    found = Interview.get_or_none(Interview.uuid == uuid)
    if found is not None:
        return found
    if len(uuid) >= 8:
        matches = list(Interview.select().where(Interview.uuid.startswith(uuid)).limit(2))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise SessionNotFound(f"{uuid!r} matches more than one interview. Fix: give more of the uuid.")
    raise SessionNotFound(f"no interview {uuid!r}. Fix: see 'kiosk sessions list' for the uuids.")


def scheduled_interview(plan) -> Interview | None:
    """The interview row a flow plan was built from (a scheduled one's ref is its row id), or None for a walk-in."""
    if not isinstance(plan.ref, int):
        return None
    return Interview.get_or_none(Interview.id == plan.ref)


def list_interviews(status: str | None = None, oldest_first: bool = False) -> list[Interview]:
    """Newest first (or oldest first), optionally only those with `status`."""
    order = (Interview.created_at, Interview.id) if oldest_first else (Interview.created_at.desc(),
                                                                        Interview.id.desc())
    query = Interview.select().order_by(*order)
    if status:
        query = query.where(Interview.status == status)
    return list(query)


def interviews_by_uuid(uuids: Iterable[str]) -> tuple[list[Interview], list[str]]:
    """(the interviews, in the order asked, each once; the uuids that match none)."""
    wanted = list(dict.fromkeys(uuids))
    found = {i.uuid: i for i in Interview.select().where(Interview.uuid.in_(wanted))}
    return [found[u] for u in wanted if u in found], [u for u in wanted if u not in found]


def started_within(interview: Interview, since: dt.date | None, until: dt.date | None) -> bool:
    """Did it start (or, never started, was it created) on a local date in [since, until]? Open ends allowed."""
    when = interview.started_at or interview.created_at
    day = when.astimezone().date() if when is not None else None
    if since is not None and (day is None or day < since):
        return False
    return not (until is not None and (day is None or day > until))


def finished_files(interview: Interview) -> list[Path]:
    """The interview's finished media files that exist on disk (a take still being written is left out)."""
    paths = [Path(r.path) for r in Recording.select().where(Recording.interview == interview)
             .order_by(Recording.started_at, Recording.id) if r.state != "recording" and r.deleted_at is None]
    if not paths and interview.recording_path:
        paths.append(Path(interview.recording_path))
    return [p for p in paths if p.is_file()]


# ---------------------------------------------------------------------------------------------------- documents

def describe(interview: Interview, with_events: bool = True) -> dict:
    """The interview document (kiosk.sessions.document) plus, per recording, whether its file exists and its sync
    rows: for `sessions show --json`."""
    return describe_many([interview], with_events)[0]


def describe_many(interviews: list[Interview], with_events: bool = False) -> list[dict]:
    """describe() for many interviews with three queries in all (not three per interview)."""
    ids = [i.id for i in interviews]
    recordings: dict[int, list[Recording]] = {i: [] for i in ids}
    syncs: dict[int, list[SyncState]] = {}
    events: dict[int, list[Event]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):                       # SQLite's bound-variable limit
        part = ids[chunk:chunk + 500]
        for r in Recording.select().where(Recording.interview.in_(part)).order_by(Recording.started_at,
                                                                                  Recording.id):
            recordings[r.interview_id].append(r)
            syncs[r.id] = []
        for s in SyncState.select().where(SyncState.interview.in_(part) | SyncState.recording.in_(
                Recording.select(Recording.id).where(Recording.interview.in_(part)))):
            if s.recording_id in syncs:
                syncs[s.recording_id].append(s)
        if with_events:
            for e in Event.select().where(Event.interview.in_(part)).order_by(Event.time, Event.id):
                events[e.interview_id].append(e)
    out = []
    for interview in interviews:
        rows = recordings[interview.id]
        doc = document.build(interview, rows, events[interview.id] if with_events else None)
        for entry, row in zip(doc["recordings"], rows):
            entry["exists"] = file_exists(row.path)
            entry["sync"] = [{"kind": s.kind, "status": s.status, "offset": s.offset, "size": s.size,
                              "last_error": s.last_error, "synced_at": document.iso(s.synced_at)}
                             for s in syncs.get(row.id, [])]
        out.append(doc)
    return out


# ---------------------------------------------------------------------------------------------------- the console's list

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


def _row(interview: Interview, recordings: list[Recording], sync_state: str) -> SessionRow:
    live = [r for r in recordings if r.deleted_at is None]
    size = sum(r.size or 0 for r in live)
    duration = interview.recording_duration
    if duration is None and live:
        duration = sum(r.duration or 0.0 for r in live) or None
    return SessionRow(interview.uuid, interview.code, interview.candidate_name,
                      interview.started_at or interview.created_at, duration, interview.status, sync_state,
                      interview.exported_at, len(live), size)


def list_sessions(search: str = "") -> list[SessionRow]:
    """Every interview, newest first, filtered by `search` (all words must match)."""
    by_interview: dict[int, list[Recording]] = {}
    for rec in Recording.select():
        by_interview.setdefault(rec.interview_id, []).append(rec)
    statuses = sync_statuses_by_interview()
    rows = [_row(i, by_interview.get(i.id, []), summarize_sync(statuses.get(i.id, set())))
            for i in list_interviews()]
    return [r for r in rows if r.matches(search)]


# ---------------------------------------------------------------------------------------------------- one session

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
class TranscriptLine:
    """One line of the transcript beside playback: a caption cue (the same lines as the WebVTT file), or a
    question's heading (is_heading) at the start of its answer."""
    recording: Path
    start: float
    end: float
    text: str
    is_heading: bool = False


@dataclass(frozen=True)
class TranscriptState:
    lines: list[TranscriptLine]
    status: str                  # "none" (no job yet), or the job's: pending, running, done, failed, blocked
    error: str                   # why it failed or is blocked, with the fix


@dataclass(frozen=True)
class SessionDetail:
    row: SessionRow
    candidate_ref: str
    end_reason: str
    events: list[EventRow]
    recordings: list[RecordingInfo]
    chapters: list[Chapter]
    transcript: TranscriptState = field(default_factory=lambda: TranscriptState([], "none", ""))


def transcript_state(interview: Interview, doc: dict) -> TranscriptState:
    """The interview's transcript as lines (from its document's passages) and its job's state."""
    by_name = {Path(r["path"]).name: Path(r["path"]) for r in doc["recordings"]}
    lines: list[TranscriptLine] = []
    for item in doc.get("transcript_passages") or []:
        passage = transcript_passage_of(item)
        recording = by_name.get(item.get("recording") or "", Path(""))
        lines.append(TranscriptLine(recording, passage.chapter.start, passage.chapter.end,
                                    passage.heading or passage.chapter.label, is_heading=True))
        lines += [TranscriptLine(recording, start, end, text) for start, end, text in caption_cues(passage)]
    job = TranscriptJob.get_or_none(TranscriptJob.interview == interview)
    return TranscriptState(lines, job.status if job is not None else "none", job.error if job is not None else "")


@dataclass(frozen=True)
class TranscriptHit:
    uuid: str
    candidate: str
    label: str
    start: float
    snippet: str


def search_transcripts(text: str, limit: int = 50) -> list[TranscriptHit]:
    """Sessions whose transcript holds every word of `text` (FTS5), best first, with the chapter to seek to."""
    hits = transcript_search.search(text, limit)
    names = {i.uuid: i.candidate_name for i in Interview.select(Interview.uuid, Interview.candidate_name)
             .where(Interview.uuid.in_([h.uuid for h in hits]))} if hits else {}
    return [TranscriptHit(h.uuid, names.get(h.uuid, ""), h.label, h.start, h.snippet) for h in hits]


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
    """The console's view of one interview, made from its document."""
    interview = Interview.get_or_none(Interview.uuid == uuid)
    if interview is None:
        return None
    recs = list(Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                   Recording.id))
    doc = document.session_document(interview)
    events = [EventRow(parse_time(e["time"]), e["offset_s"], e["kind"], e["question_index"], e["detail"])
              for e in doc["events"]]
    recordings = [RecordingInfo(Path(r["path"]), r["state"], r["duration"], r["size"], Path(r["path"]).is_file())
                  for r in doc["recordings"]]
    if not recordings and interview.recording_path:
        path = Path(interview.recording_path)
        recordings = [RecordingInfo(path, "finalized", interview.recording_duration,
                                    path.stat().st_size if path.is_file() else None, path.is_file())]
    return SessionDetail(_row(interview, recs, sync_summary(interview)), interview.candidate_ref,
                         interview.end_reason, events, recordings, chapters_of(interview.recording_data),
                         transcript_state(interview, doc))


# ---------------------------------------------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Statistics:
    per_day: list[tuple[dt.date, int]]          # the last `days` days, oldest first, zeros included
    total: int
    finished: int
    completed: int
    success_rate: float | None                  # completed / finished; None before the first finished one
    duration_total_s: float
    duration_mean_s: float | None
    duration_median_s: float | None
    duration_max_s: float | None
    failures_by_cause: dict[str, int]           # most first, then by name
    bytes_on_disk: int
    recordings: int                             # recordings whose file has not been deleted
    free_bytes: int
    reserve_bytes: int                          # storage.min_free_mb: never recorded into
    bitrate_bps: int
    hours_left: float                           # hours of recording the free space still holds at the profile
    status_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The figures of `kiosk stats --json`."""
        return {
            "count": self.total,
            "by_status": dict(sorted(self.status_counts.items())),
            "finished": self.finished,
            "total_duration_s": round(self.duration_total_s, 3),
            "mean_duration_s": round(self.duration_mean_s, 3) if self.duration_mean_s is not None else None,
            "success_rate": round(self.success_rate, 4) if self.success_rate is not None else None,
            "bytes_on_disk": self.bytes_on_disk,
            "recordings": self.recordings,
            "failures_by_cause": self.failures_by_cause,
            "free_bytes": self.free_bytes,
            "hours_left": round(self.hours_left, 2),
        }


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
    """Counts, success rate, durations (what was recorded, summed over an interview's usable files), failures by
    cause, disk use and hours left."""
    today = today or dt.date.today()
    first = today - dt.timedelta(days=days - 1)
    per_day: Counter[dt.date] = Counter()
    status_counts: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    total = 0
    for interview in Interview.select():
        total += 1
        status_counts[interview.status] += 1
        when = interview.started_at or interview.created_at
        if when is not None:
            day = when.astimezone().date()
            if first <= day <= today:
                per_day[day] += 1
        if interview.status in FINISHED_STATUSES and interview.status != "completed":
            causes[interview.end_reason or interview.status] += 1
    durations = [float(total_s) for (total_s,) in (
        Recording.select(fn.SUM(Recording.duration)).where(Recording.state.in_(KEPT_STATES))
        .group_by(Recording.interview).tuples()) if total_s]
    finished = sum(status_counts[s] for s in FINISHED_STATUSES)
    completed = status_counts["completed"]
    free = shutil.disk_usage(data.recordings if data.recordings.exists() else data.root).free
    return Statistics(
        per_day=[(first + dt.timedelta(days=i), per_day[first + dt.timedelta(days=i)]) for i in range(days)],
        total=total, finished=finished, completed=completed,
        success_rate=completed / finished if finished else None,
        duration_total_s=sum(durations),
        duration_mean_s=pystats.fmean(durations) if durations else None,
        duration_median_s=pystats.median(durations) if durations else None,
        duration_max_s=max(durations) if durations else None,
        failures_by_cause=dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        bytes_on_disk=_dir_bytes(data.recordings) if data.recordings.exists() else 0,
        recordings=Recording.select().where(Recording.deleted_at.is_null()).count(),
        free_bytes=free, reserve_bytes=disk.reserve_bytes(config), bitrate_bps=disk.bitrate_bps(config),
        hours_left=disk.hours_left(config, free), status_counts=dict(status_counts))
