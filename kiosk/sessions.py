"""Interview sessions: the domain service the UI, the flow and the CLI call. No Qt; all database work goes through
kiosk.db (one owner of the connection) and every multi-row change is one transaction.

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
import re
import socket
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from peewee import fn

from kiosk import templates as templatesmod
from kiosk.db import models
from kiosk.db.database import open_database, transaction
from kiosk.db.models import AuditLog, Event, Interview, Recording, SyncState, utcnow
from kiosk.paths import DataDir

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = (".webm", ".mkv", ".mp4", ".m4a")
CLI_TEMPLATE = "cli"
DEFAULT_TEMPLATE_KEY = "templates.default"
FINISHED = ("completed", "interrupted", "recovered", "failed")
_UUID_IN_NAME = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


class SessionError(Exception):
    """Something the user asked for cannot be done; the message says why and the fix."""


class SessionNotFound(SessionError):
    pass


# ---- who owns a row: process id, host, boot id ---------------------------------------------------------------

def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        # No /proc (not Linux): the boot time stands in for a boot id.
        return f"boot-{int(time.time() - time.monotonic())}"


def current_owner() -> dict[str, Any]:
    return {"owner_pid": os.getpid(), "owner_host": socket.gethostname(), "owner_boot_id": boot_id()}


def _process_start(pid: int) -> float | None:
    """Wall-clock start time of a process (Linux), to tell a reused pid from the original owner."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])          # field 22 of stat: start time in clock ticks after boot
        state = fields[0]
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                if state == "Z":
                    return None
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    return None


def owner_alive(pid: int | None, host: str | None, boot: str | None, since: dt.datetime | None = None) -> bool:
    """Is the process that owns a row still running? Rows of another host are treated as alive (not ours to touch)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    if boot and boot != boot_id():
        return False                      # the machine restarted since: that process is gone
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if Path("/proc").is_dir():
        started = _process_start(pid)
        if started is None:
            return False                  # a zombie, or gone between the two checks
        if since is not None and started > since.timestamp() + 2.0:
            return False                  # the pid was reused by a process that started after the row was written
    return True


def _clean(value: Any, limit: int | None = None) -> str:
    """Text safe for a TEXT column: lone surrogates (which UTF-8 cannot hold) become U+FFFD; NUL is kept."""
    text = "" if value is None else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit else text


def _number(value: Any, kind: type = float) -> Any:
    try:
        if value is None or isinstance(value, bool):
            return None
        number = kind(value)
        if isinstance(number, float) and number != number:   # NaN
            return None
        return number
    except (TypeError, ValueError, OverflowError):
        return None


def _parse_time(value: Any) -> dt.datetime | None:
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
    return _clean(reason, 200) if reason else ""


# ---- reports ---------------------------------------------------------------------------------------------------

@dataclass
class RecoveryReport:
    recovered: list[dict] = field(default_factory=list)     # {"uuid", "path", "duration", "message"}
    failed: list[dict] = field(default_factory=list)        # could not be repaired; file kept
    adopted: list[dict] = field(default_factory=list)       # files with no row: a row was created
    interrupted: list[str] = field(default_factory=list)    # in-progress interviews whose process is gone
    live: list[str] = field(default_factory=list)           # rows another running process owns: left alone

    def to_json(self) -> dict:
        return {"recovered": self.recovered, "failed": self.failed, "adopted": self.adopted,
                "interrupted": self.interrupted, "live": self.live}

    @property
    def changed(self) -> bool:
        return bool(self.recovered or self.failed or self.adopted or self.interrupted)


Recover = Callable[[Path], Any]      # kiosk.media.finalize.recover: path -> RecoverResult(path, ok, duration, ...)


def _default_recover(path: Path):
    from kiosk.media.finalize import recover
    return recover(path)


def _journal_of(path: Path) -> Path:
    return path.with_name(path.name + ".recording")


def _journal_locked(path: Path) -> bool:
    try:
        from kiosk.media.journal import is_locked
    except ImportError:                       # the media engine is missing: be careful, assume live
        return _journal_of(path).exists()
    return is_locked(path)


def _sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _read_sidecar(path: Path) -> dict | None:
    try:
        value = json.loads(_sidecar_of(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


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
        code = _clean(code, 64).strip()
        if code and Interview.select().where((Interview.code == code) & (Interview.status == "scheduled")).exists():
            raise SessionError(f"the code {code!r} is already given to a scheduled interview. Fix: use another.")
        with transaction():
            interview = Interview.create(template=template, code=code, candidate_name=_clean(candidate_name),
                                         candidate_ref=_clean(candidate_ref), status="scheduled")
            AuditLog.record(actor, "schedule", interview.uuid, template=template, code=code)
        # Never the name, reference or code at INFO: the uuid is what the log knows an interview by.
        log.info("interview %s scheduled (template %s)", interview.uuid, template,
                 extra={"interview": interview.uuid})
        return interview

    def find_plan(self, code: str):
        """The flow's plan for a scheduled interview's code (case and spaces ignored), or None."""
        wanted = "".join(_clean(code).split()).casefold()
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
        from kiosk import disk
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
                interview = Interview.get_or_none(Interview.id == plan.ref)
                if interview is None:
                    raise SessionError(f"the scheduled interview (id {plan.ref}) no longer exists. "
                                       f"Fix: enter the code again or ask staff.")
            else:
                name = plan.ref.template if isinstance(plan.ref, WalkIn) else _clean(plan.title, 200)
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
            self._event(interview, "session.started", code=interview.code, template=interview.template)
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
            elif recording is not None and not self._file_exists(recording.path):
                recording.delete_instance()         # the take never started: there is no file to describe
                recording = None
            elif recording is not None:
                recording.state, recording.error, recording.ended_at = "failed", _clean(error or outcome), utcnow()
                recording.save()
            kept = interview.recordings.where(Recording.state.in_(("finalized", "recovered"))).exists()
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
                status, reason = "failed", reason or _clean(error or "failed", 200)
            if reason == "disk_full" and kept and status == "completed":
                status = "interrupted"
            interview.status, interview.end_reason = status, reason
            interview.ended_at = utcnow() if status != "scheduled" else None
            interview.owner_pid = interview.owner_host = interview.owner_boot_id = None
            interview.save()
            self._event(interview, "session.ended", recording=recording, outcome=outcome, status=status,
                        reason=reason, error=_clean(error) if error else None)
        log.info("interview %s ended: %s (%s)", interview.uuid, status, reason or outcome,
                 extra={"interview": interview.uuid})
        return interview

    # ------------------------------------------------------------------ lower level, for the UI and record.py
    def new_recording_path(self, interview_uuid: str, profile: str) -> Path:
        try:
            from kiosk.media.naming import recording_path
            return recording_path(self.data, interview_uuid, profile)
        except ImportError:
            stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
            ext = "mp4" if profile.startswith("mp4") else "webm"
            return self.data.recordings / f"interview_{interview_uuid}_{stamp}.{ext}"

    def store_take(self, interview: Interview, metadata: dict, recording: Recording | None = None) -> Recording:
        """Store the recorder's metadata dict: Recording's columns and the interview's seed fields."""
        metadata = json.loads(json.dumps(metadata, default=str))      # plain JSON types only, a private copy
        path = _clean(metadata.get("recording_path") or (recording.path if recording else ""))
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
            recording.profile = _clean(metadata.get("profile") or recording.profile or "", 100)
            recording.container = _clean(metadata.get("container") or "", 50)
            recording.video_codec = _clean(metadata.get("video_codec") or "", 50)
            recording.audio_codec = _clean(metadata.get("audio_codec") or "", 50)
            recording.width = _number(metadata.get("width"), int)
            recording.height = _number(metadata.get("height"), int)
            recording.fps = _number(metadata.get("fps"))
            recording.size = _number(metadata.get("file_size"), int)
            recording.duration = _number(metadata.get("duration"))
            recording.sha256 = _clean(metadata.get("sha256"), 128) if metadata.get("sha256") else None
            recording.frames_written = _number(metadata.get("frames_written"), int)
            recording.frames_dropped = _number(metadata.get("frames_dropped"), int)
            recording.ended_at = utcnow()
            recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
            if state == "failed":
                recording.error = _clean(metadata.get("message") or metadata.get("error") or "finalize failed")
            recording.save()
            if state in ("finalized", "recovered"):
                interview.recording_data = metadata
                interview.recording_path = path
                interview.recording_duration = recording.duration
                interview.is_recorded = bool(recording.duration and recording.duration > 0)
                interview.save()
            self._events_from_metadata(interview, recording, metadata)
        return recording

    def _events_from_metadata(self, interview: Interview, recording: Recording, metadata: dict) -> None:
        started = _parse_time(metadata.get("recorded_at")) or recording.started_at or utcnow()
        for event in metadata.get("events") or []:
            if not isinstance(event, dict):
                continue
            offset = _number(event.get("t"))
            when = started + dt.timedelta(seconds=offset) if offset is not None and abs(offset) < 1e7 else started
            detail = {k: v for k, v in event.items() if k not in ("t", "kind")}
            Event.create(interview=interview, recording=recording, time=when, offset_s=offset,
                         kind=_clean(event.get("kind") or "event", 100),
                         question_index=_number(event.get("question"), int), detail=detail or None)

    def register_cli_take(self, metadata: dict) -> Interview:
        """A take recorded with `kiosk record` becomes a session with template "cli"."""
        wanted = metadata.get("interview_uuid")
        with transaction():
            interview = None
            if isinstance(wanted, str) and _UUID_IN_NAME.fullmatch(wanted):
                interview = Interview.get_or_none(Interview.uuid == wanted)
                if interview is None:
                    interview = Interview.create(uuid=wanted, template=CLI_TEMPLATE)
            if interview is None:
                interview = Interview.create(template=CLI_TEMPLATE)
            started = _parse_time(metadata.get("recorded_at")) or utcnow()
            recording = self.store_take(interview, metadata)
            ok = recording.state in ("finalized", "recovered")
            interview.started_at = interview.started_at or started
            interview.ended_at = utcnow()
            reason = end_reason_from_metadata(metadata)
            interview.status = ("completed" if not reason else "interrupted") if ok else "failed"
            interview.end_reason = reason or ("completed" if ok else "finalize failed")
            interview.save()
            self._event(interview, "session.ended", recording=recording, status=interview.status, source="cli")
        return interview

    def record_consent(self, interview: Interview, version: str) -> None:
        with transaction():
            Interview.update(consent_version=_clean(version, 64), consent_at=utcnow()).where(
                Interview.id == interview.id).execute()
            self._event(interview, "consent.given", version=_clean(version, 64))

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
        return Event.create(interview=interview, recording=recording, kind=_clean(kind, 100), offset_s=offset_s,
                            question_index=question_index, detail=detail or None)

    def audit(self, actor: str, action: str, target: str = "", **detail: Any) -> AuditLog:
        return AuditLog.record(actor, action, target, **detail)

    def mark_exported(self, uuids: Iterable[str], actor: str = "admin", destination: str = "") -> None:
        uuids = list(uuids)
        with transaction():
            Interview.update(exported_at=utcnow()).where(Interview.uuid.in_(uuids)).execute()
            AuditLog.record(actor, "export", destination, sessions=uuids)

    # ------------------------------------------------------------------ reading
    def list_interviews(self, status: str | None = None) -> list[Interview]:
        query = Interview.select().order_by(Interview.created_at.desc(), Interview.id.desc())
        if status:
            query = query.where(Interview.status == status)
        return list(query)

    def get(self, uuid: str) -> Interview:
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

    def describe(self, interview: Interview, with_events: bool = True) -> dict:
        """Everything about one interview as plain JSON types (for `sessions show --json` and the admin UI)."""
        return self.describe_many([interview], with_events)[0]

    def describe_many(self, interviews: list[Interview], with_events: bool = False) -> list[dict]:
        """describe() for many interviews with three queries in all (not three per interview)."""
        ids = [i.id for i in interviews]
        recordings: dict[int, list[Recording]] = {i: [] for i in ids}
        syncs: dict[int, list[SyncState]] = {}
        events: dict[int, list[Event]] = {i: [] for i in ids}
        for chunk in range(0, len(ids), 500):                       # SQLite's bound-variable limit
            part = ids[chunk:chunk + 500]
            for r in Recording.select().where(Recording.interview.in_(part)).order_by(Recording.id):
                recordings[r.interview_id].append(r)
                syncs[r.id] = []
            for s in SyncState.select().where(SyncState.interview.in_(part) | SyncState.recording.in_(
                    Recording.select(Recording.id).where(Recording.interview.in_(part)))):
                if s.recording_id in syncs:
                    syncs[s.recording_id].append(s)
            if with_events:
                for e in Event.select().where(Event.interview.in_(part)).order_by(Event.time, Event.id):
                    events[e.interview_id].append(e)
        return [self._describe(i, recordings[i.id], syncs, events[i.id] if with_events else None)
                for i in interviews]

    def _describe(self, interview: Interview, recording_rows: list[Recording], syncs: dict[int, list[SyncState]],
                  event_rows: list[Event] | None) -> dict:
        def iso(value):
            return value.isoformat() if value else None
        recordings = []
        for r in recording_rows:
            recordings.append({
                "path": r.path, "state": r.state, "profile": r.profile, "container": r.container,
                "video_codec": r.video_codec, "audio_codec": r.audio_codec, "width": r.width, "height": r.height,
                "fps": r.fps, "size": r.size, "duration": r.duration, "sha256": r.sha256,
                "frames_written": r.frames_written, "frames_dropped": r.frames_dropped, "error": r.error,
                "started_at": iso(r.started_at), "ended_at": iso(r.ended_at), "deleted_at": iso(r.deleted_at),
                "exists": self._file_exists(r.path),
                "sync": [{"kind": s.kind, "status": s.status, "offset": s.offset, "size": s.size,
                          "last_error": s.last_error, "synced_at": iso(s.synced_at)} for s in syncs.get(r.id, [])],
            })
        out = {
            "uuid": interview.uuid, "code": interview.code, "candidate_name": interview.candidate_name,
            "candidate_ref": interview.candidate_ref, "template": interview.template,
            "template_sha256": interview.template_sha256, "status": interview.status,
            "end_reason": interview.end_reason, "created_at": iso(interview.created_at),
            "started_at": iso(interview.started_at), "ended_at": iso(interview.ended_at),
            "consent_version": interview.consent_version, "consent_at": iso(interview.consent_at),
            "transcript": interview.transcript, "summary": interview.summary,
            "recording_path": interview.recording_path, "recording_duration": interview.recording_duration,
            "is_recorded": interview.is_recorded, "recording_data": interview.recording_data,
            "exported_at": iso(interview.exported_at), "purged_at": iso(interview.purged_at),
            "recordings": recordings,
        }
        if event_rows is not None:
            out["events"] = [{"time": iso(e.time), "offset_s": e.offset_s, "kind": e.kind,
                              "question_index": e.question_index, "detail": e.detail} for e in event_rows]
        return out

    @staticmethod
    def _file_exists(path: str | None) -> bool:
        return bool(path) and Path(path).exists()

    def stats(self) -> dict:
        """count, total and mean duration, success rate, bytes on disk, failures by cause."""
        counts: dict[str, int] = {}
        causes: dict[str, int] = {}
        durations: list[float] = []
        for interview in Interview.select():
            counts[interview.status] = counts.get(interview.status, 0) + 1
            if interview.status in ("failed", "interrupted", "recovered"):
                cause = interview.end_reason or interview.status
                causes[cause] = causes.get(cause, 0) + 1
        for interview_id, total in (Recording.select(Recording.interview, fn.SUM(Recording.duration))
                                    .where(Recording.state.in_(("finalized", "recovered")))
                                    .group_by(Recording.interview).tuples()):
            if total:
                durations.append(float(total))
        finished = sum(counts.get(s, 0) for s in FINISHED)
        on_disk = 0
        if self.data.recordings.exists():
            for item in self.data.recordings.rglob("*"):
                try:
                    if item.is_file():
                        on_disk += item.stat().st_size
                except OSError:
                    continue
        return {
            "count": sum(counts.values()),
            "by_status": dict(sorted(counts.items())),
            "finished": finished,
            "total_duration_s": round(sum(durations), 3),
            "mean_duration_s": round(sum(durations) / len(durations), 3) if durations else None,
            "success_rate": round(counts.get("completed", 0) / finished, 4) if finished else None,
            "bytes_on_disk": on_disk,
            "recordings": Recording.select().where(Recording.deleted_at.is_null()).count(),
            "failures_by_cause": dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        }

    # ------------------------------------------------------------------ deleting (asked for by an admin)
    def delete_interview(self, uuid: str, actor: str = "cli", reason: str = "") -> dict:
        """Delete an interview, its files (media, metadata sidecar, journal) and its rows; audited first."""
        interview = self.get(uuid)
        files: list[Path] = []
        for recording in interview.recordings:
            media = Path(recording.path)
            if recording.state == "recording" and (
                    _journal_locked(media) or owner_alive(recording.owner_pid, recording.owner_host,
                                                          recording.owner_boot_id, recording.started_at)):
                raise SessionError(f"interview {interview.uuid} is being recorded right now. "
                                   f"Fix: stop the take first.")
            for candidate in (media, _sidecar_of(media), _journal_of(media),
                              media.with_name(f"{media.stem}.orig{media.suffix}")):
                if candidate.exists():
                    files.append(candidate)
        summary = {"uuid": interview.uuid, "candidate_name": interview.candidate_name, "status": interview.status,
                   "files": [str(f) for f in files], "bytes": sum(f.stat().st_size for f in files),
                   "sha256": [r.sha256 for r in interview.recordings if r.sha256],
                   "synced": all(s.status == "synced" for s in interview.sync_states) and
                   interview.sync_states.count() > 0,
                   "exported_at": interview.exported_at.isoformat() if interview.exported_at else None}
        AuditLog.record(actor, "delete", interview.uuid, reason=_clean(reason), **{k: v for k, v in summary.items()
                                                                                   if k != "uuid"})
        for item in files:
            item.unlink()
        with transaction():
            interview.delete_instance()          # recordings, events and sync rows cascade
        log.info("interview %s deleted by %s (%d files, %d bytes)", interview.uuid, actor, len(files),
                 summary["bytes"], extra={"interview": interview.uuid})
        return summary

    # ------------------------------------------------------------------ start-up recovery
    def recover_at_start(self, recover: Recover | None = None) -> RecoveryReport:
        """Repair what a crash left: takes still marked `recording` whose process is gone go through the engine's
        recover path and are marked recovered with what survived; interviews still `in_progress` are closed;
        media files with no row are adopted (a row is created), never deleted. Live takes are left alone."""
        recover = recover or _default_recover
        report = RecoveryReport()
        handled: set[str] = set()
        for recording in list(Recording.select().where(Recording.state.in_(("recording", "failed")))):
            media = Path(recording.path)
            if recording.state == "failed" and not _journal_of(media).exists():
                continue                            # failed and nothing left to repair
            if _journal_locked(media) or (recording.state == "recording" and owner_alive(
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
            log.info("start-up recovery: %d recovered, %d failed, %d adopted, %d interrupted",
                     len(report.recovered), len(report.failed), len(report.adopted), len(report.interrupted))
        return report

    def _recover_recording(self, recording: Recording, recover: Recover, report: RecoveryReport) -> None:
        media = Path(recording.path)
        interview = recording.interview
        orig = media.with_name(f"{media.stem}.orig{media.suffix}")
        if not media.exists() and not orig.exists():
            sidecar = None
        else:
            sidecar = _read_sidecar(media) if not _journal_of(media).exists() else None
        if sidecar is not None and sidecar.get("state") in ("finalized", "recovered"):
            # Finalized on disk, but the process died before the database heard of it.
            self.store_take(interview, sidecar, recording)
            report.recovered.append({"uuid": interview.uuid, "path": str(media), "duration": sidecar.get("duration"),
                                     "message": "finalized before the crash; metadata taken from its sidecar"})
            self._event(interview, "recording.recovered", recording=recording, source="sidecar")
            return
        if not media.exists() and not orig.exists():
            with transaction():
                recording.state, recording.ended_at = "failed", utcnow()
                recording.error = "no file was written before the process ended"
                recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
                recording.save()
                self._event(interview, "recording.lost", recording=recording, detail=recording.error)
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
                self.store_take(interview, metadata, recording)
                if interview.status in ("failed", "interrupted"):
                    # The session had ended with this take unfinished (e.g. the disk was full); now it is kept.
                    Interview.update(status="recovered").where(Interview.id == interview.id).execute()
            report.recovered.append({"uuid": interview.uuid, "path": str(result.path), "duration": result.duration,
                                     "message": result.message})
            self._event(interview, "recording.recovered", recording=recording, duration=result.duration,
                        message=result.message)
            return
        message = result.message if result is not None else message
        with transaction():
            recording.state, recording.ended_at, recording.error = "failed", utcnow(), _clean(message)
            recording.owner_pid = recording.owner_host = recording.owner_boot_id = None
            recording.save()
            self._event(interview, "recording.unrecoverable", recording=recording, message=message)
        log.error("recording %s could not be recovered: %s (the file is kept)", media, message,
                  extra={"interview": interview.uuid})
        report.failed.append({"uuid": interview.uuid, "path": str(media), "message": message})

    def _close_crashed_interview(self, interview: Interview, report: RecoveryReport) -> None:
        with transaction():
            kept = interview.recordings.where(Recording.state.in_(("finalized", "recovered"))).exists()
            interview.status = "recovered" if kept else "interrupted"
            interview.end_reason = "crash"
            interview.ended_at = interview.ended_at or utcnow()
            interview.owner_pid = interview.owner_host = interview.owner_boot_id = None
            interview.save()
            self._event(interview, "session.recovered" if kept else "session.interrupted", reason="crash")
        report.interrupted.append(interview.uuid)

    def _adopt_orphans(self, recover: Recover, report: RecoveryReport, handled: set[str]) -> None:
        folder = self.data.recordings
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
            if str(media) in known or str(media) in handled or _journal_locked(media):
                continue
            handled.add(str(media))
            self._adopt(media, recover, report)

    def _adopt(self, media: Path, recover: Recover, report: RecoveryReport) -> None:
        metadata = _read_sidecar(media) if not _journal_of(media).exists() else None
        message = "adopted: finished file with no database row"
        if metadata is None or metadata.get("state") not in ("finalized", "recovered"):
            try:
                result = recover(media)
            except Exception as exc:
                log.exception("recovering orphan %s failed", media)
                result = None
                message = f"recover raised {exc!r}"
            if result is not None and result.ok:
                metadata = dict(result.metadata or {})
                metadata.setdefault("duration", result.duration)
                message = f"adopted: {result.message}"
            else:
                message = f"adopted, not repairable: {result.message if result is not None else message}"
                metadata = {"state": "failed", "message": message,
                            "file_size": media.stat().st_size if media.exists() else None}
            metadata["state"] = "recovered" if result is not None and result.ok else "failed"
        metadata["recording_path"] = str(media)
        found = _UUID_IN_NAME.search(str(metadata.get("interview_uuid") or "")) or _UUID_IN_NAME.search(media.name)
        with transaction():
            interview = Interview.get_or_none(Interview.uuid == found.group(1)) if found else None
            if interview is None:
                interview = Interview.create(uuid=found.group(1) if found else str(uuidlib.uuid4()),
                                             status="recovered", end_reason="adopted")
                started = _parse_time(metadata.get("recorded_at"))
                interview.started_at = started
                interview.ended_at = utcnow()
                interview.save()
            recording = self.store_take(interview, metadata)
            if recording.state == "failed":
                interview.status = "failed" if interview.status == "recovered" else interview.status
                interview.save()
            self._event(interview, "recording.adopted", recording=recording, message=message)
        entry = {"uuid": interview.uuid, "path": str(media), "duration": metadata.get("duration"), "message": message}
        (report.adopted if recording.state != "failed" else report.failed).append(entry)
        if recording.state == "failed":
            log.error("orphan file %s could not be repaired; adopted as failed (the file is kept)", media,
                      extra={"interview": interview.uuid})


