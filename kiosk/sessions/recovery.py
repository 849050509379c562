"""Start-up recovery: repair what a crash left before anything records.

Takes still marked `recording` whose process is gone go through the engine's recover path and are marked recovered
with what survived; interviews still `in_progress` are closed; media files with no row are adopted (a row is
created), never deleted. Live takes (another running process owns them) are left alone.
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kiosk.db.database import transaction
from kiosk.db.models import KEPT_STATES, AuditLog, Interview, Recording, utcnow
from kiosk.media.finalize import recover as engine_recover, remove_scratch
from kiosk.sessions.files import MEDIA_SUFFIXES, journal_locked, journal_of, orig_of, read_sidecar
from kiosk.sessions.owner import owner_alive
from kiosk.sessions.values import clean, parse_time

log = logging.getLogger("kiosk.sessions")

UUID_IN_NAME = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")

Recover = Callable[[Path], Any]      # kiosk.media.finalize.recover: path -> RecoverResult(path, ok, duration, ...)


@dataclass
class RecoveryReport:
    recovered: list[dict] = field(default_factory=list)     # {"uuid", "path", "duration", "message"}
    failed: list[dict] = field(default_factory=list)        # could not be repaired; file kept
    empty: list[dict] = field(default_factory=list)         # cut off before their first frame: nothing recorded
    adopted: list[dict] = field(default_factory=list)       # files with no row: a row was created
    interrupted: list[str] = field(default_factory=list)    # in-progress interviews whose process is gone
    live: list[str] = field(default_factory=list)           # rows another running process owns: left alone
    closed: list[str] = field(default_factory=list)         # finished takes sealed and signed now (privacy.takes)

    def to_json(self) -> dict:
        return {"recovered": self.recovered, "failed": self.failed, "empty": self.empty, "adopted": self.adopted,
                "interrupted": self.interrupted, "live": self.live, "closed": self.closed}

    @property
    def changed(self) -> bool:
        return bool(self.recovered or self.failed or self.empty or self.adopted or self.interrupted)


class StartupRecovery:
    """One pass over the database and the recordings folder for `store` (a kiosk.sessions.store.SessionStore)."""

    def __init__(self, store, recover: Recover | None = None) -> None:
        self.store = store
        self.recover = recover or engine_recover

    def run(self) -> RecoveryReport:
        """Repair what a crash left: takes still marked `recording` whose process is gone go through the engine's
        recover path and are marked recovered with what survived; interviews still `in_progress` are closed;
        media files with no row are adopted (a row is created), never deleted. Live takes are left alone."""
        recover = self.recover
        report = RecoveryReport()
        if self.store.data.recordings.exists():
            remove_scratch(self.store.data.recordings)
        handled: set[str] = set()
        for recording in list(Recording.select().where(Recording.state.in_(("recording", "failed")))):
            media = Path(recording.path)
            if recording.state == "failed" and not journal_of(media).exists():
                continue                            # failed and nothing left to repair
            if journal_locked(media) or (recording.state == "recording" and owner_alive(
                    recording.owner_pid, recording.owner_host, recording.owner_boot_id, recording.started_at)):
                report.live.append(recording.interview.uuid)
                handled.add(str(media))
                continue
            handled.add(str(media))
            self._recover_recording(recording, recover, report)
        for interview in list(Interview.select().where(Interview.status == "in_progress")):
            if interview.uuid in report.live or owner_alive(interview.owner_pid, interview.owner_host,
                                                            interview.owner_boot_id, interview.started_at):
                continue
            self._close_crashed_interview(interview, report)
        self._adopt_orphans(recover, report, handled)
        if report.changed:
            AuditLog.record("system", "recovery", "", **report.to_json())
            log.info("start-up recovery: %d recovered, %d failed, %d with no frame, %d adopted, %d interrupted",
                     len(report.recovered), len(report.failed), len(report.empty), len(report.adopted),
                     len(report.interrupted))
        return report

    def _recover_recording(self, recording: Recording, recover: Recover, report: RecoveryReport) -> None:
        media = Path(recording.path)
        interview = recording.interview
        orig = orig_of(media)
        if not media.exists() and not orig.exists():
            sidecar = None
        else:
            sidecar = read_sidecar(media) if not journal_of(media).exists() else None
        if sidecar is not None and sidecar.get("state") in KEPT_STATES:
            # Finalized on disk, but the process died before the database heard of it.
            self.store.store_take(interview, sidecar, recording)
            report.recovered.append({"uuid": interview.uuid, "path": str(media), "duration": sidecar.get("duration"),
                                     "message": "finalized before the crash; metadata taken from its sidecar"})
            self.store.log_event(interview, "recording.recovered", recording=recording, source="sidecar")
            return
        if not media.exists() and not orig.exists():
            with transaction():
                recording.state, recording.ended_at = "failed", utcnow()
                recording.error = "no file was written before the process ended"
                recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
                recording.save()
                self.store.log_event(interview, "recording.lost", recording=recording, detail=recording.error)
            report.failed.append({"uuid": interview.uuid, "path": str(media), "message": recording.error})
            return
        try:
            result = recover(media)
        except Exception as exc:                    # the engine's recover must never stop the start-up
            log.exception("recovering %s failed", media, extra={"interview": interview.uuid})
            result = None
            message = f"recover raised {exc!r}"
        if result is not None and result.ok:
            metadata = dict(result.metadata or {})
            metadata.setdefault("recording_path", str(result.path))
            metadata.setdefault("duration", result.duration)
            metadata["state"] = "recovered"
            with transaction():
                self.store.store_take(interview, metadata, recording)
                if interview.status in ("failed", "interrupted"):
                    # The session had ended with this take unfinished (e.g. the disk was full); now it is kept.
                    Interview.update(status="recovered").where(Interview.id == interview.id).execute()
            report.recovered.append({"uuid": interview.uuid, "path": str(result.path), "duration": result.duration,
                                     "message": result.message})
            self.store.log_event(interview, "recording.recovered", recording=recording, duration=result.duration,
                        message=result.message)
            return
        if result is not None and result.state == "empty":
            # Cut off before its first frame reached the disk: a settled outcome, not a damaged file.
            with transaction():
                self.store.store_take(interview, {**result.metadata, "message": result.message}, recording)
                self.store.log_event(interview, "recording.empty", recording=recording, message=result.message)
            report.empty.append({"uuid": interview.uuid, "path": str(result.path), "message": result.message})
            log.info("recording %s: no frame was recorded before the process ended", media.name,
                     extra={"interview": interview.uuid})
            return
        message = result.message if result is not None else message
        with transaction():
            recording.state, recording.ended_at, recording.error = "failed", utcnow(), clean(message)
            recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
            recording.save()
            self.store.log_event(interview, "recording.unrecoverable", recording=recording, message=message)
        log.error("recording %s could not be recovered: %s (the file is kept)", media, message,
                  extra={"interview": interview.uuid})
        report.failed.append({"uuid": interview.uuid, "path": str(media), "message": message})

    def _close_crashed_interview(self, interview: Interview, report: RecoveryReport) -> None:
        with transaction():
            kept = interview.recordings.where(Recording.state.in_(KEPT_STATES)).exists()
            interview.status = "recovered" if kept else "interrupted"
            interview.end_reason = "crash"
            interview.ended_at = interview.ended_at or utcnow()
            interview.owner_pid = interview.owner_host = interview.owner_boot_id = None
            interview.save()
            self.store.log_event(interview, "session.recovered" if kept else "session.interrupted", reason="crash")
        report.interrupted.append(interview.uuid)

    def _adopt_orphans(self, recover: Recover, report: RecoveryReport, handled: set[str]) -> None:
        folder = self.store.data.recordings
        if not folder.exists():
            return
        known = {r.path for r in Recording.select(Recording.path)}
        for item in sorted(folder.rglob("*")):
            if not item.is_file() or item.suffix.lower() not in MEDIA_SUFFIXES:
                continue
            stem_parts = item.stem.rsplit(".", 1)
            if len(stem_parts) == 2 and stem_parts[1] in ("final", "orig"):
                media = item.with_name(stem_parts[0] + item.suffix)   # a remux cut off half-way: the take's name
                if stem_parts[1] == "final" or media.exists():
                    continue
            else:
                media = item
            if str(media) in known or str(media) in handled or journal_locked(media):
                continue
            handled.add(str(media))
            self._adopt(media, recover, report)

    def _adopt(self, media: Path, recover: Recover, report: RecoveryReport) -> None:
        metadata = read_sidecar(media) if not journal_of(media).exists() else None
        message = "adopted: finished file with no database row"
        if metadata is None or metadata.get("state") not in KEPT_STATES:
            try:
                result = recover(media)
            except Exception as exc:
                log.exception("recovering orphan %s failed", media)
                result = None
                message = f"recover raised {exc!r}"
            if result is not None and result.state in ("recovered", "empty"):
                metadata = dict(result.metadata or {})
                metadata.setdefault("duration", result.duration)
                metadata["state"] = result.state
                message = f"adopted: {result.message}"
            else:
                message = f"adopted, not repairable: {result.message if result is not None else message}"
                metadata = {"state": "failed", "file_size": media.stat().st_size if media.exists() else None}
            metadata["message"] = message
        metadata["recording_path"] = str(media)
        found = UUID_IN_NAME.search(str(metadata.get("interview_uuid") or "")) or UUID_IN_NAME.search(media.name)
        with transaction():
            interview = Interview.get_or_none(Interview.uuid == found.group(1)) if found else None
            if interview is None:
                interview = Interview.create(uuid=found.group(1) if found else str(uuidlib.uuid4()),
                                             status="recovered", end_reason="adopted")
                started = parse_time(metadata.get("recorded_at"))
                interview.started_at = started
                interview.ended_at = utcnow()
                interview.save()
            recording = self.store.store_take(interview, metadata)
            if recording.state in ("failed", "empty"):
                fallback = "failed" if recording.state == "failed" else "interrupted"
                interview.status = fallback if interview.status == "recovered" else interview.status
                interview.save()
            self.store.log_event(interview, "recording.adopted", recording=recording, message=message)
        entry = {"uuid": interview.uuid, "path": str(media), "duration": metadata.get("duration"), "message": message}
        {"failed": report.failed, "empty": report.empty}.get(recording.state, report.adopted).append(entry)
        if recording.state == "failed":
            log.error("orphan file %s could not be repaired; adopted as failed (the file is kept)", media,
                      extra={"interview": interview.uuid})
