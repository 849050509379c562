"""Retention: recordings are deleted `storage.retention_days` after they became safe, never before.

Safe means: synced (every SyncState row of the file says "synced") when storage.retention_requires_sync is on, and
exported (Interview.exported_at, after the recording ended) when storage.retention_requires_export is on. The window
counts from the moment the last required condition was met (or from the end of the recording when nothing is
required). A file that is not safe is kept however old it is; a live take is never touched.

Each deletion is audited (actor "system", action "retention.delete") before the file goes; the rows stay, with
Recording.deleted_at (and Interview.purged_at once all its files are gone), so the history and statistics remain.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.db.database import db, transaction
from kiosk.db.models import FINISHED_STATUSES, AuditLog, Interview, Recording, SyncState, TranscriptPassage, utcnow
from kiosk.paths import DataDir
from kiosk.privacy import erasure, takes
from kiosk.sessions.files import journal_of, sidecar_of
from kiosk.transcripts.vtt import caption_paths

log = logging.getLogger(__name__)

DELETABLE_STATES = ("finalized", "recovered", "failed")


@dataclass(frozen=True)
class Decision:
    recording_id: int
    uuid: str
    path: str
    delete: bool
    reason: str                     # why it is kept, or why it goes
    safe_since: dt.datetime | None
    bytes: int


@dataclass
class RetentionReport:
    deleted: list[Decision] = field(default_factory=list)
    kept: list[Decision] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(d.bytes for d in self.deleted)

    def to_json(self) -> dict:
        def item(d: Decision) -> dict:
            return {"uuid": d.uuid, "path": d.path, "reason": d.reason, "bytes": d.bytes,
                    "safe_since": d.safe_since.isoformat() if d.safe_since else None}
        return {"dry_run": self.dry_run, "deleted": [item(d) for d in self.deleted],
                "kept": [item(d) for d in self.kept], "bytes_freed": self.bytes_freed, "errors": self.errors}


def _companions(media: Path) -> list[Path]:
    """The files that belong to a recording: itself, its metadata sidecar and its captions (the transcript is
    personal data: it goes with the recording), sealed or not, and its manifest; never the take journal of a live
    one."""
    plain = takes.plain_media(media)
    return list(dict.fromkeys([media, plain, sidecar_of(plain), *caption_paths(media), *caption_paths(plain),
                               *takes.privacy_files(media)]))


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total


def decide(recording: Recording, config, now: dt.datetime) -> Decision:
    days = int(config["storage.retention_days"])
    need_sync = bool(config["storage.retention_requires_sync"])
    need_export = bool(config["storage.retention_requires_export"])
    interview: Interview = recording.interview
    media = Path(recording.path)
    size = _size(_companions(media))

    def keep(reason: str, since: dt.datetime | None = None) -> Decision:
        return Decision(recording.id, interview.uuid, recording.path, False, reason, since, size)

    if days <= 0:
        return keep("retention is off (storage.retention_days = 0)")
    if recording.state not in DELETABLE_STATES or interview.status not in FINISHED_STATUSES:
        return keep(f"not finished (recording {recording.state}, interview {interview.status})")
    if journal_of(media).exists():
        return keep("its take journal is still there: it may need repair (kiosk recover)")
    ended = recording.ended_at or interview.ended_at or recording.started_at
    moments = [ended]
    if need_sync:
        states = list(SyncState.select().where((SyncState.recording == recording) &
                                               (SyncState.kind == "recording")))
        if not states:
            return keep("not synced (no upload queued) and sync is required")
        if any(s.status != "synced" for s in states):
            return keep(f"not synced yet ({', '.join(sorted({s.status for s in states}))}) and sync is required")
        moments.extend(s.synced_at or s.updated_at for s in states)
    if need_export:
        if interview.exported_at is None or (ended is not None and interview.exported_at < ended):
            return keep("not exported since it was recorded, and export is required")
        moments.append(interview.exported_at)
    safe_since = max(m for m in moments if m is not None)
    due = safe_since + dt.timedelta(days=days)
    if now < due:
        return keep(f"safe since {safe_since:%Y-%m-%d}; due on {due:%Y-%m-%d}", safe_since)
    reasons = [f"safe since {safe_since:%Y-%m-%d} (> {days} days)"]
    if need_sync:
        reasons.append("synced")
    if need_export:
        reasons.append("exported")
    return Decision(recording.id, interview.uuid, recording.path, True, ", ".join(reasons), safe_since, size)


def plan(config, now: dt.datetime | None = None) -> list[Decision]:
    now = now or utcnow()
    query = Recording.select().where(Recording.deleted_at.is_null()).order_by(Recording.id)
    return [decide(recording, config, now) for recording in query]


def apply(config, now: dt.datetime | None = None, dry_run: bool = False, actor: str = "system",
          data: DataDir | None = None) -> RetentionReport:
    """Delete what is due; returns what was deleted and what was kept (with the reason for each). An interview
    whose last recording goes loses its personal data too, and (given the `data` dir) its sync JSON."""
    now = now or utcnow()
    report = RetentionReport(dry_run=dry_run)
    for decision in plan(config, now):
        if not decision.delete:
            report.kept.append(decision)
            continue
        if dry_run:
            report.deleted.append(decision)
            continue
        recording = Recording.get_by_id(decision.recording_id)
        files = [p for p in _companions(Path(recording.path)) if p.exists()]
        with transaction():
            # The audit entry and the row change are committed before the first byte goes: a crash in between leaves
            # a row marked deleted with its file still there, which the next run finishes (see sweep below).
            AuditLog.record(actor, "retention.delete", decision.uuid, path=recording.path, bytes=decision.bytes,
                            sha256=recording.sha256, reason=decision.reason,
                            safe_since=decision.safe_since.isoformat() if decision.safe_since else None,
                            days=int(config["storage.retention_days"]),
                            files=erasure.audit_files(erasure.describe(files)))
            recording.deleted_at = now
            recording.save()
            TranscriptPassage.delete().where(TranscriptPassage.recording == recording).execute()
        try:
            for path in files:
                path.unlink(missing_ok=True)
        except OSError as exc:
            message = f"{recording.path}: could not delete ({exc.strerror}); it will be tried again"
            log.error("retention: %s", message, extra={"interview": decision.uuid})
            report.errors.append(message)
            continue
        report.deleted.append(decision)
        interview = recording.interview
        if not interview.recordings.where(Recording.deleted_at.is_null()).exists():
            _purge(interview, data, now)
    if not dry_run:
        _sweep(report)
        if report.deleted:
            erasure.compact(db)
    if report.deleted:
        log.info("retention: %s %d recording(s), %d bytes", "would delete" if dry_run else "deleted",
                 len(report.deleted), report.bytes_freed)
    return report


def _purge(interview: Interview, data: DataDir | None, now: dt.datetime) -> None:
    """The interview's last recording is gone: its personal data goes too (the row stays for the statistics, with
    uuid, times and outcome), and so does the session JSON sync wrote."""
    Interview.update(purged_at=now, **{column: "" for column in erasure.PERSONAL_COLUMNS}).where(
        Interview.id == interview.id).execute()
    if data is not None:
        erasure.remove(takes.session_json_files(data, interview.uuid))


def _sweep(report: RetentionReport) -> None:
    """Files of rows already marked deleted (an earlier run was interrupted, or unlink failed) go now."""
    for recording in Recording.select().where(Recording.deleted_at.is_null(False)):
        for path in _companions(Path(recording.path)):
            if path.exists():
                try:
                    path.unlink()
                except OSError as exc:
                    report.errors.append(f"{path}: could not delete ({exc.strerror})")
