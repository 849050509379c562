"""Interview sessions: the write side the UI, the flow and the CLI call. No Qt; all database work goes through
kiosk.db (one owner of the connection) and every multi-row change is one transaction. Reading is in
kiosk.sessions.queries, the interview document in kiosk.sessions.document, start-up recovery in
kiosk.sessions.recovery.

    store = SessionStore.open(data, config)       # opens/migrates the database
    store.recover_at_start()                       # repairs cut-off takes, adopts orphan files (before recording)
    interview, path = store.begin(plan)            # flow: a session row + the file's path, owned by this process
    store.finish(interview, "completed", take_metadata, None)

One recording file per interview (the recorder pauses during think time; each answer and retake is a chapter).
The Recording table still allows several per interview: one resumed after a crash gets a second file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk import disk
from kiosk.db import models
from kiosk.db.database import db, open_database, transaction
from kiosk.db.models import KEPT_STATES, AuditLog, Event, Interview, Recording, utcnow
from kiosk.media.naming import recording_path
from kiosk.paths import DataDir
from kiosk.privacy import PrivacyError, erasure, signing, takes
from kiosk.sessions import queries, templates as templatesmod
from kiosk.sessions.errors import SessionError
from kiosk.sessions.files import file_exists, journal_locked, take_files
from kiosk.sessions.owner import current_owner, owner_alive
from kiosk.sessions.recovery import UUID_IN_NAME, Recover, RecoveryReport, StartupRecovery
from kiosk.sessions.values import clean, end_reason_from_metadata, number, parse_time

log = logging.getLogger("kiosk.sessions")

CLI_TEMPLATE = "cli"
DEFAULT_TEMPLATE_KEY = "templates.default"


@dataclass(frozen=True)
class WalkIn:
    """InterviewPlan.ref of a walk-in plan: which template it came from (a scheduled one carries its row id)."""
    template: str


class SessionStore:
    """Sessions, recordings, events, templates and the audit log, for the UI, the flow and the CLI."""

    def __init__(self, data: DataDir, config=None) -> None:
        self.data = data
        self.config = config

    @classmethod
    def open(cls, data: DataDir, config=None) -> "SessionStore":
        data.ensure()
        open_database(data.database)
        return cls(data, config)

    # ------------------------------------------------------------------ templates
    def import_template(self, path: Path | str, actor: str = "cli") -> tuple[templatesmod.InterviewTemplate, str]:
        """Validate and store a template file. Returns (template, "created" | "updated" | "unchanged")."""
        template = templatesmod.load(path)
        now = utcnow()
        with transaction():
            row = models.InterviewTemplate.get_or_none(models.InterviewTemplate.name == template.name)
            if row is None:
                models.InterviewTemplate.create(name=template.name, title=template.title, body=template.to_dict(),
                                                sha256=template.sha256, source=str(Path(path).resolve()),
                                                imported_at=now, updated_at=now)
                outcome = "created"
            elif row.sha256 == template.sha256:
                outcome = "unchanged"
            else:
                row.title, row.body, row.sha256 = template.title, template.to_dict(), template.sha256
                row.source, row.updated_at = str(Path(path).resolve()), now
                row.save()
                outcome = "updated"
            if outcome != "unchanged":
                AuditLog.record(actor, "template.import", template.name, outcome=outcome, sha256=template.sha256,
                                source=str(path), questions=len(template.questions))
            if models.get_setting(DEFAULT_TEMPLATE_KEY) is None:
                models.set_setting(DEFAULT_TEMPLATE_KEY, template.name)
        return template, outcome

    def list_templates(self) -> list[models.InterviewTemplate]:
        return list(models.InterviewTemplate.select().order_by(models.InterviewTemplate.name))

    def get_template(self, name: str) -> templatesmod.InterviewTemplate | None:
        """An imported template by name; else the bundled sample of that name (walk-ins before any import)."""
        row = models.InterviewTemplate.get_or_none(models.InterviewTemplate.name == name)
        if row is None:
            return next((t for t in self._bundled() if t.name == name), None)
        return templatesmod.from_dict(row.body, f"database template {name!r}")

    def _bundled(self) -> list[templatesmod.InterviewTemplate]:
        if not hasattr(self, "_bundled_cache"):
            self._bundled_cache = [templatesmod.load(p) for p in templatesmod.sample_paths()]
        return self._bundled_cache

    def default_template_name(self) -> str | None:
        return models.get_setting(DEFAULT_TEMPLATE_KEY)

    def set_default_template(self, name: str, actor: str = "admin") -> None:
        if models.InterviewTemplate.get_or_none(models.InterviewTemplate.name == name) is None:
            raise SessionError(f"there is no template named {name!r}. Fix: import it first "
                               f"(kiosk templates import FILE) or pick one from 'kiosk templates list'.")
        with transaction():
            models.set_setting(DEFAULT_TEMPLATE_KEY, name)
            AuditLog.record(actor, "template.default", name)

    def default_template(self) -> templatesmod.InterviewTemplate:
        """The walk-in template: the chosen default, else the first imported, else the bundled sample."""
        name = self.default_template_name()
        template = self.get_template(name) if name else None
        if template is None:
            first = models.InterviewTemplate.select().order_by(models.InterviewTemplate.id).first()
            if first is not None:
                template = self.get_template(first.name)
        if template is None:
            bundled = self._bundled()
            if not bundled:
                raise SessionError("no interview template is available. Fix: kiosk templates import FILE "
                                   "(the bundled samples are missing from resources/templates).")
            template = next((t for t in bundled if t.name == "general"), bundled[0])
        return template

    # ------------------------------------------------------------------ scheduling and the flow's port
    def schedule(self, template: str, code: str = "", candidate_name: str = "", candidate_ref: str = "",
                 actor: str = "admin") -> Interview:
        """An interview a candidate starts later by entering `code`."""
        if self.get_template(template) is None:
            raise SessionError(f"there is no template named {template!r}. Fix: import it first.")
        code = clean(code, 64).strip()
        if code and Interview.select().where((Interview.code == code) & (Interview.status == "scheduled")).exists():
            raise SessionError(f"the code {code!r} is already given to a scheduled interview. Fix: use another.")
        with transaction():
            interview = Interview.create(template=template, code=code, candidate_name=clean(candidate_name),
                                         candidate_ref=clean(candidate_ref), status="scheduled")
            AuditLog.record(actor, "schedule", interview.uuid, template=template)     # never the code: personal
        # Never the name, reference or code at INFO: the uuid is what the log knows an interview by.
        log.info("interview %s scheduled (template %s)", interview.uuid, template,
                 extra={"interview": interview.uuid})
        return interview

    def find_plan(self, code: str):
        """The flow's plan for a scheduled interview's code (case and spaces ignored), or None."""
        wanted = "".join(clean(code).split()).casefold()
        if not wanted:
            return None
        for interview in Interview.select().where(Interview.status == "scheduled"):
            if "".join(interview.code.split()).casefold() == wanted:
                template = self.get_template(interview.template)
                if template is None:
                    log.error("scheduled interview %s names a missing template %r", interview.uuid,
                              interview.template, extra={"interview": interview.uuid})
                    return None
                return template.to_plan(code=interview.code, ref=interview.id)
        return None

    def walk_in_plan(self):
        template = self.default_template()
        return template.to_plan(code=None, ref=WalkIn(template.name))

    def check_space(self, plan, size: tuple[int, int] | None = None):
        """Before a take: kiosk.disk.NotEnoughSpace (its message is for the screen) unless the plan's longest take
        fits. Returns the SpaceEstimate. Needs the config (profile, bitrates, margin, reserve)."""
        return disk.require_space(self.config, plan, self.data.recordings, size)

    def begin(self, plan, profile: str | None = None) -> tuple[Interview, Path]:
        """Start a session for `plan` (a scheduled interview when plan.ref is its id): the interview row in progress,
        owned by this process, and the path its one recording file will have. Returns (interview, path).
        Refuses with kiosk.disk.NotEnoughSpace (nothing is written) when the longest take would not fit."""
        if self.config is not None:
            self.check_space(plan)
        owner = current_owner()
        profile = profile or (self.config["recording.profile"] if self.config is not None else "webm-vp9-opus")
        now = utcnow()
        with transaction():
            if isinstance(plan.ref, int):
                interview = queries.scheduled_interview(plan)
                if interview is None:
                    raise SessionError(f"the scheduled interview (id {plan.ref}) no longer exists. "
                                       f"Fix: enter the code again or ask staff.")
            else:
                name = plan.ref.template if isinstance(plan.ref, WalkIn) else clean(plan.title, 200)
                interview = Interview.create(template=name, status="scheduled")
            if interview.status != "scheduled":
                raise SessionError(f"interview {interview.uuid} is {interview.status}, not scheduled; "
                                   f"it cannot be started again. Fix: schedule a new one.")
            template = self.get_template(interview.template) or (
                self.default_template() if isinstance(plan.ref, WalkIn) else None)
            interview.template_sha256 = template.sha256 if template else interview.template_sha256
            interview.status, interview.started_at = "in_progress", now
            interview.owner_pid, interview.owner_host, interview.owner_boot_id = (
                owner["owner_pid"], owner["owner_host"], owner["owner_boot_id"])
            interview.save()
            path = self.new_recording_path(interview.uuid, profile)
            Recording.create(interview=interview, path=str(path), state="recording", profile=profile,
                             started_at=now, **owner)
            self._event(interview, "session.started", template=interview.template)       # never the code: personal
        log.info("interview %s started (template %s): %s", interview.uuid, interview.template, path.name,
                 extra={"interview": interview.uuid})
        return interview, path

    def finish(self, session: Interview, outcome: str, metadata: dict | None, error: str | None) -> Interview:
        """The flow's end of a session: "completed" | "abandoned" | "failed", with the take's metadata if any."""
        interview = Interview.get_by_id(session.id)
        recording = (Recording.select().where((Recording.interview == interview) & (Recording.state == "recording"))
                     .order_by(Recording.id.desc()).first())
        with transaction():
            if metadata:
                recording = self.store_take(interview, metadata, recording)
            elif recording is not None and not file_exists(recording.path):
                recording.delete_instance()         # the take never started: there is no file to describe
                recording = None
            elif recording is not None:
                recording.state, recording.error, recording.ended_at = "failed", clean(error or outcome), utcnow()
                recording.save()
            kept = interview.recordings.where(Recording.state.in_(KEPT_STATES)).exists()
            reason = end_reason_from_metadata(metadata)
            if outcome == "completed" and not error:
                status = "completed" if kept else "failed"
                reason = reason or ("completed" if kept else "no recording")
            elif outcome == "abandoned" and not kept and interview.code:
                # Walked away before anything was recorded: the code stays usable (the candidate may come back).
                status, reason = "scheduled", ""
            elif outcome == "abandoned":
                status, reason = "interrupted", reason or "abandoned"
            else:
                status, reason = "failed", reason or clean(error or "failed", 200)
            if reason == "disk_full" and kept and status == "completed":
                status = "interrupted"
            interview.status, interview.end_reason = status, reason
            interview.ended_at = utcnow() if status != "scheduled" else None
            interview.owner_pid = interview.owner_host = interview.owner_boot_id = None
            interview.save()
            self._event(interview, "session.ended", recording=recording, outcome=outcome, status=status,
                        reason=reason, error=clean(error) if error else None)
        log.info("interview %s ended: %s (%s)", interview.uuid, status, reason or outcome,
                 extra={"interview": interview.uuid})
        if recording is not None:
            self._close_take(recording)
        return interview

    def _close_take(self, recording: Recording) -> None:
        """Seal the finished take and sign its manifest (kiosk.privacy.takes), after its rows are committed. A
        failure keeps the plaintext take and is retried at the next start."""
        if self.config is None:
            return
        try:
            takes.close_take(self.data, self.config, recording)
        except (PrivacyError, OSError) as exc:
            log.error("take %s kept unsealed, sealed at the next start: %s", Path(recording.path).name, exc,
                      extra={"interview": recording.interview.uuid})

    # ------------------------------------------------------------------ lower level, for the UI and record.py
    def new_recording_path(self, interview_uuid: str, profile: str) -> Path:
        return recording_path(self.data, interview_uuid, profile)

    def store_take(self, interview: Interview, metadata: dict, recording: Recording | None = None) -> Recording:
        """Store the recorder's metadata dict: Recording's columns and the interview's seed fields."""
        metadata = json.loads(json.dumps(metadata, default=str))      # plain JSON types only, a private copy
        path = clean(metadata.get("recording_path") or (recording.path if recording else ""))
        if not path:
            raise SessionError("the take's metadata has no recording_path; there is no file to register.")
        path = os.path.abspath(path)
        metadata["recording_path"] = path
        state = metadata.get("state") if metadata.get("state") in models.RECORDING_STATES else "finalized"
        if state == "recording":
            state = "failed"
        with transaction():
            if recording is None:
                recording = Recording.get_or_none(Recording.path == path) or Recording(interview=interview)
            recording.interview = interview
            recording.path = path
            recording.state = state
            recording.profile = clean(metadata.get("profile") or recording.profile or "", 100)
            recording.container = clean(metadata.get("container") or "", 50)
            recording.video_codec = clean(metadata.get("video_codec") or "", 50)
            recording.audio_codec = clean(metadata.get("audio_codec") or "", 50)
            recording.width = number(metadata.get("width"), int)
            recording.height = number(metadata.get("height"), int)
            recording.fps = number(metadata.get("fps"))
            recording.size = number(metadata.get("file_size"), int)
            recording.duration = number(metadata.get("duration"))
            recording.sha256 = clean(metadata.get("sha256"), 128) if metadata.get("sha256") else None
            recording.frames_written = number(metadata.get("frames_written"), int)
            recording.frames_dropped = number(metadata.get("frames_dropped"), int)
            recording.ended_at = utcnow()
            recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
            if state in ("failed", "empty"):
                recording.error = clean(metadata.get("message") or metadata.get("error") or "finalize failed")
            recording.save()
            if state in KEPT_STATES:
                interview.recording_data = metadata
                interview.recording_path = path
                interview.recording_duration = recording.duration
                interview.is_recorded = bool(recording.duration and recording.duration > 0)
                interview.save()
            self._events_from_metadata(interview, recording, metadata)
        return recording

    def _events_from_metadata(self, interview: Interview, recording: Recording, metadata: dict) -> None:
        started = parse_time(metadata.get("recorded_at")) or recording.started_at or utcnow()
        for event in metadata.get("events") or []:
            if not isinstance(event, dict):
                continue
            offset = number(event.get("t"))
            when = started + dt.timedelta(seconds=offset) if offset is not None and abs(offset) < 1e7 else started
            detail = {k: v for k, v in event.items() if k not in ("t", "kind")}
            Event.create(interview=interview, recording=recording, time=when, offset_s=offset,
                         kind=clean(event.get("kind") or "event", 100),
                         question_index=number(event.get("question"), int), detail=detail or None)

    def register_cli_take(self, metadata: dict) -> Interview:
        """A take recorded with `kiosk record` becomes a session with template "cli"."""
        wanted = metadata.get("interview_uuid")
        with transaction():
            interview = None
            if isinstance(wanted, str) and UUID_IN_NAME.fullmatch(wanted):
                interview = Interview.get_or_none(Interview.uuid == wanted)
                if interview is None:
                    interview = Interview.create(uuid=wanted, template=CLI_TEMPLATE)
            if interview is None:
                interview = Interview.create(template=CLI_TEMPLATE)
            started = parse_time(metadata.get("recorded_at")) or utcnow()
            recording = self.store_take(interview, metadata)
            ok = recording.state in KEPT_STATES
            interview.started_at = interview.started_at or started
            interview.ended_at = utcnow()
            reason = end_reason_from_metadata(metadata)
            interview.status = ("completed" if not reason else "interrupted") if ok else "failed"
            interview.end_reason = reason or ("completed" if ok else "finalize failed")
            interview.save()
            self._event(interview, "session.ended", recording=recording, status=interview.status, source="cli")
        self._close_take(recording)
        return interview

    def record_consent(self, interview: Interview, version: str) -> None:
        with transaction():
            Interview.update(consent_version=clean(version, 64), consent_at=utcnow()).where(
                Interview.id == interview.id).execute()
            self._event(interview, "consent.given", version=clean(version, 64))

    def log_event(self, interview: Interview | str, kind: str, *, recording: Recording | None = None,
                  offset_s: float | None = None, question_index: int | None = None, **detail: Any) -> Event:
        """Question shown, camera toggled, device lost/back, errors ... (the recorder's own events arrive with the
        take's metadata at finish)."""
        if isinstance(interview, str):
            interview = self.get(interview)
        return self._event(interview, kind, recording=recording, offset_s=offset_s, question_index=question_index,
                           **detail)

    def _event(self, interview: Interview, kind: str, *, recording: Recording | None = None,
               offset_s: float | None = None, question_index: int | None = None, **detail: Any) -> Event:
        detail = {k: v for k, v in detail.items() if v is not None}
        return Event.create(interview=interview, recording=recording, kind=clean(kind, 100), offset_s=offset_s,
                            question_index=question_index, detail=detail or None)

    def audit(self, actor: str, action: str, target: str = "", **detail: Any) -> AuditLog:
        return AuditLog.record(actor, action, target, **detail)

    def mark_exported(self, uuids: list[str], actor: str, destination: str, **detail: Any) -> None:
        """The interviews went into the export at `destination`: stamped and audited in one transaction."""
        with transaction():
            Interview.update(exported_at=utcnow()).where(Interview.uuid.in_(uuids)).execute()
            AuditLog.record(actor, "export", destination, sessions=uuids, **detail)

    def get(self, uuid: str) -> Interview:
        """By full uuid, or by a unique prefix of at least 8 characters (SessionNotFound names the fix)."""
        return queries.find_interview(uuid)

    def recover_at_start(self, recover: Recover | None = None) -> RecoveryReport:
        """Repair what a crash left before anything records (kiosk.sessions.recovery), then seal and sign every
        finished take not closed yet (recovered now, or cut off between finalize and sealing)."""
        report = StartupRecovery(self, recover).run()
        if self.config is not None:
            signing.for_kiosk(self.data, self.config)       # the kiosk's key exists from its first start
            report.closed = takes.close_pending(self.data, self.config)
        return report

    # ------------------------------------------------------------------ reading
    # ------------------------------------------------------------------ deleting (asked for by an admin)
    def delete_interview(self, uuid: str, actor: str = "cli", reason: str = "") -> dict:
        """Erase an interview: every file the kiosk holds of it (its takes sealed or not, sidecars, journals,
        manifests, the sync JSON), its rows, and their text in the database file, its WAL and the copies kept
        before migrations. Audited first, with the uuid, each file's name, size and sha256, who and why (the entry's
        time says when), never the name, code or reference."""
        interview = self.get(uuid)
        files: list[Path] = []
        for recording in interview.recordings:
            media = Path(recording.path)
            if recording.state == "recording" and (
                    journal_locked(media) or owner_alive(recording.owner_pid, recording.owner_host,
                                                          recording.owner_boot_id, recording.started_at)):
                raise SessionError(f"interview {interview.uuid} is being recorded right now. "
                                   f"Fix: stop the take first.")
            files.extend(take_files(takes.plain_media(media)) + takes.privacy_files(media))
        files.extend(takes.session_json_files(self.data, interview.uuid))
        described = erasure.describe(files)
        summary = {"uuid": interview.uuid, "status": interview.status, "files": erasure.audit_files(described),
                   "bytes": sum(f.bytes for f in described),
                   "sha256": [r.sha256 for r in interview.recordings if r.sha256],
                   "synced": all(s.status == "synced" for s in interview.sync_states) and
                   interview.sync_states.count() > 0,
                   "exported_at": interview.exported_at.isoformat() if interview.exported_at else None}
        AuditLog.record(actor, "delete", interview.uuid, reason=clean(reason), **{k: v for k, v in summary.items()
                                                                                   if k != "uuid"})
        erasure.remove(files)
        with transaction():
            interview.delete_instance()          # recordings, events and sync rows cascade
        scrubbed = erasure.scrub_backups(self.data.database, interview.uuid)
        erasure.compact(db)
        log.info("interview %s erased by %s (%d files, %d bytes%s)", interview.uuid, actor, len(described),
                 summary["bytes"], f", also from {len(scrubbed)} pre-migration copies" if scrubbed else "",
                 extra={"interview": interview.uuid})
        return summary
