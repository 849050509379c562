"""The tables of the kiosk. Times are UTC, stored as ISO 8601 text; JSON columns hold UTF-8 JSON text.

The schema these classes describe is built by the ordered migrations in kiosk/db/migrations.py, never by
``create_tables``; a test checks that the migrated schema and these classes agree column for column.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuidlib
from typing import Any

import peewee as pw

from kiosk.db.database import db

# --- value sets (strings in the database, so a script reading the file can make sense of them)
INTERVIEW_STATUSES = ("scheduled", "in_progress", "completed", "interrupted", "recovered", "failed")
# "empty": cut off (crash, kill) before its first frame reached the disk; nothing was recorded, the file is kept.
RECORDING_STATES = ("recording", "finalized", "recovered", "failed", "empty")
# An interview that has ended, one way or another (everything after scheduled/in_progress).
FINISHED_STATUSES = INTERVIEW_STATUSES[2:]
# A recording whose file is usable: finalized at stop, or repaired after a crash.
KEPT_STATES = ("finalized", "recovered")
SYNC_KINDS = ("recording", "metadata")
SYNC_STATUSES = ("pending", "uploading", "synced", "failed", "blocked")
AUDIT_ACTORS = ("admin", "cli", "system")


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC: the only kind of time the tables hold."""
    return dt.datetime.now(dt.timezone.utc)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class UtcDateTimeField(pw.TextField):
    """An aware UTC datetime kept as fixed-width ISO text, so text order is time order (and comparisons work).

    A naive datetime is taken as UTC. Values come back aware.
    """

    def db_value(self, value: Any) -> Any:
        if value is None or isinstance(value, pw.Node):
            return value
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        return dt.datetime.fromisoformat(value)


def utf8_safe(value: str) -> str:
    """SQLite text is UTF-8: lone surrogates (possible in a Python str, not in UTF-8) become U+FFFD. NUL is kept."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


class SafeTextField(pw.TextField):
    """TEXT that accepts any Python str (see utf8_safe)."""

    def db_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return utf8_safe(value)
        return super().db_value(value)


class JsonField(pw.TextField):
    """JSON as plain text (readable with any sqlite3 shell); non-ASCII kept as is.

    A value holding lone surrogates is written with \\u escapes instead, so it still comes back exactly."""

    def db_value(self, value: Any) -> Any:
        if value is None or isinstance(value, pw.Node):
            return value
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
        return text

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.loads(value)


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False


class Interview(BaseModel):
    """One candidate's interview: one sitting at the kiosk from code entry to the end screen."""

    uuid = pw.CharField(unique=True, default=new_uuid)          # the public id (in file names, exports, sync)
    code = SafeTextField(default="")                              # the code the candidate entered
    candidate_name = SafeTextField(default="")
    candidate_ref = SafeTextField(default="")
    template = SafeTextField(default="")                         # template name; "cli" for `kiosk record` takes
    template_sha256 = SafeTextField(default="")                  # which version of it (InterviewTemplate.sha256)
    status = pw.CharField(default="scheduled", index=True)      # see INTERVIEW_STATUSES
    end_reason = SafeTextField(default="")                       # why it ended: completed, disk_full, crash, ...
    created_at = UtcDateTimeField(default=utcnow)
    started_at = UtcDateTimeField(null=True)
    ended_at = UtcDateTimeField(null=True)
    consent_version = SafeTextField(default="")                  # version of the consent text the candidate accepted
    consent_at = UtcDateTimeField(null=True)
    # The seed's fields, same names and meaning.
    transcript = SafeTextField(default="")
    summary = SafeTextField(default="")
    recording_data = JsonField(null=True)                       # the recorder's metadata dict of the main file
    recording_path = SafeTextField(null=True)
    recording_duration = pw.FloatField(null=True)               # seconds
    is_recorded = pw.BooleanField(default=False)
    # Who is recording it right now (recovery at start treats a row whose owner is gone as crashed).
    owner_pid = pw.IntegerField(null=True)
    owner_host = SafeTextField(null=True)
    owner_boot_id = SafeTextField(null=True)
    exported_at = UtcDateTimeField(null=True)                   # last export (retention may require one)
    purged_at = UtcDateTimeField(null=True)                     # media deleted by retention; the row stays

    class Meta:
        table_name = "interview"


class Recording(BaseModel):
    """One media file. Normally one per interview; an interview resumed after a crash has a second one."""

    interview = pw.ForeignKeyField(Interview, backref="recordings", on_delete="CASCADE", index=True)
    path = SafeTextField(unique=True)                            # absolute path of the file
    state = pw.CharField(default="recording", index=True)       # see RECORDING_STATES
    profile = SafeTextField(default="")
    container = SafeTextField(default="")
    video_codec = SafeTextField(default="")
    audio_codec = SafeTextField(default="")
    width = pw.IntegerField(null=True)
    height = pw.IntegerField(null=True)
    fps = pw.FloatField(null=True)
    size = pw.IntegerField(null=True)                           # bytes
    duration = pw.FloatField(null=True)                         # seconds
    sha256 = SafeTextField(null=True)
    frames_written = pw.IntegerField(null=True)
    frames_dropped = pw.IntegerField(null=True)
    error = SafeTextField(default="")                            # what went wrong (failed / recovered)
    started_at = UtcDateTimeField(default=utcnow)
    ended_at = UtcDateTimeField(null=True)
    owner_pid = pw.IntegerField(null=True)
    owner_host = SafeTextField(null=True)
    owner_boot_id = SafeTextField(null=True)
    deleted_at = UtcDateTimeField(null=True)                    # file removed (retention); the row stays

    class Meta:
        table_name = "recording"


class Event(BaseModel):
    """Time-stamped log of one interview: question shown, recording started/stopped, device lost/back, errors.

    Every event is chained (kiosk/privacy/chain.py) as it is inserted, wherever it comes from: ``seq`` is its place
    in the interview's chain, ``prev_sha256`` the hash of the one before, ``sha256`` its own. An event is never
    changed afterwards; an edit shows as a broken chain in `kiosk verify`.
    """

    interview = pw.ForeignKeyField(Interview, backref="events", on_delete="CASCADE", index=True)
    recording = pw.ForeignKeyField(Recording, backref="events", null=True, on_delete="SET NULL")
    time = UtcDateTimeField(default=utcnow)
    offset_s = pw.FloatField(null=True)                         # seconds into the recording, when recording
    kind = SafeTextField()                                       # e.g. question.shown, recording.started
    question_index = pw.IntegerField(null=True)
    detail = JsonField(null=True)
    seq = pw.IntegerField(null=True)
    prev_sha256 = SafeTextField(null=True)
    sha256 = SafeTextField(null=True)

    class Meta:
        table_name = "event"
        indexes = ((("interview", "seq"), True),)

    def chain_fields(self) -> dict[str, Any]:
        """The fields the event's hash covers, in the chain's canonical form (as the session JSON shows them)."""
        from kiosk.privacy import chain
        return chain.event_fields(self.seq, self.time, self.offset_s, self.kind, self.question_index,
                                  self.recording.path if self.recording_id else None, self.detail)

    @classmethod
    def chain_of(cls, interview) -> list[dict[str, Any]]:
        """The interview's events in chain order, each as the session JSON carries it (hashed fields + links)."""
        return [{**event.chain_fields(), "prev_sha256": event.prev_sha256, "sha256": event.sha256}
                for event in cls.select().where(cls.interview == interview).order_by(cls.seq, cls.id)]

    def save(self, force_insert: bool = False, only=None):
        if self._pk is not None and not force_insert:
            return super().save(force_insert=force_insert, only=only)
        from kiosk.privacy import chain

        self.detail = chain.plain_json(self.detail)     # hashed exactly as the JSON column gives it back
        # IMMEDIATE: two processes adding to one interview take turns, so no two events get the same place.
        with db.atomic("IMMEDIATE"):
            last = (Event.select(Event.seq, Event.sha256).where(Event.interview == self.interview_id)
                    .order_by(Event.seq.desc()).first())
            self.seq = (last.seq or 0) + 1 if last else 1
            self.prev_sha256 = last.sha256 if last else chain.start(self.interview.uuid)
            self.sha256 = chain.link(self.prev_sha256, self.chain_fields())
            return super().save(force_insert=force_insert, only=only)


class SyncState(BaseModel):
    """One file to upload with tus (owned by the sync engine)."""

    interview = pw.ForeignKeyField(Interview, backref="sync_states", null=True, on_delete="CASCADE")
    recording = pw.ForeignKeyField(Recording, backref="sync_states", null=True, on_delete="CASCADE")
    kind = pw.CharField(default="recording")                    # see SYNC_KINDS
    path = SafeTextField()
    size = pw.IntegerField(null=True)
    sha256 = SafeTextField(null=True)
    upload_url = SafeTextField(null=True)
    offset = pw.IntegerField(default=0)
    status = pw.CharField(default="pending", index=True)        # see SYNC_STATUSES
    last_error = SafeTextField(default="")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UtcDateTimeField(null=True)
    synced_at = UtcDateTimeField(null=True)
    created_at = UtcDateTimeField(default=utcnow)
    updated_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_state"


class InterviewTemplate(BaseModel):
    """An interview template imported by an admin (kiosk/sessions/templates.py validates it; body is its canonical JSON)."""

    name = SafeTextField(unique=True)
    title = SafeTextField()
    body = JsonField()
    sha256 = SafeTextField()
    source = SafeTextField(default="")                           # the file it was imported from
    imported_at = UtcDateTimeField(default=utcnow)
    updated_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "interview_template"


class AuditRefused(pw.IntegrityError):
    """The audit log is append-only."""


class AuditLog(BaseModel):
    """Append-only record of admin and system actions. Updates and deletes are refused here and by triggers."""

    time = UtcDateTimeField(default=utcnow)
    actor = pw.CharField()                                      # see AUDIT_ACTORS
    action = SafeTextField()                                     # export, delete, playback, retention.delete, pin.set
    target = SafeTextField(default="")                           # usually an interview uuid
    detail = JsonField(null=True)

    class Meta:
        table_name = "audit_log"

    def save(self, force_insert: bool = False, only=None):
        if self._pk is not None and not force_insert:
            raise AuditRefused("the audit log is append-only: an entry cannot be changed")
        return super().save(force_insert=force_insert, only=only)

    def delete_instance(self, *args, **kwargs):
        raise AuditRefused("the audit log is append-only: an entry cannot be deleted")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AuditRefused("the audit log is append-only: entries cannot be changed")

    @classmethod
    def delete(cls):
        raise AuditRefused("the audit log is append-only: entries cannot be deleted")

    @classmethod
    def record(cls, actor: str, action: str, target: str = "", **detail: Any) -> "AuditLog":
        if actor not in AUDIT_ACTORS:
            raise ValueError(f"unknown audit actor {actor!r}; use one of {AUDIT_ACTORS}")
        return cls.create(actor=actor, action=action, target=target, detail=detail or None)


class Setting(BaseModel):
    """Key/value settings kept in the database (admin PIN hash, lockout state)."""

    key = SafeTextField(primary_key=True)
    value = SafeTextField(null=True)

    class Meta:
        table_name = "setting"


TRANSCRIPT_STATUSES = ("pending", "running", "done", "failed", "blocked")


class TranscriptJob(BaseModel):
    """The background transcription of one interview (kiosk/transcripts/jobs.py); survives restarts."""

    interview = pw.ForeignKeyField(Interview, backref="transcript_jobs", unique=True, on_delete="CASCADE")
    status = pw.CharField(default="pending", index=True)       # see TRANSCRIPT_STATUSES
    engine = SafeTextField(default="")
    language = SafeTextField(default="")
    error = SafeTextField(default="")                           # why it failed or is blocked, with the fix
    attempts = pw.IntegerField(default=0)
    chapters_total = pw.IntegerField(null=True)
    chapters_done = pw.IntegerField(default=0)
    created_at = UtcDateTimeField(default=utcnow)
    updated_at = UtcDateTimeField(default=utcnow)
    finished_at = UtcDateTimeField(null=True)

    class Meta:
        table_name = "transcript_job"


class TranscriptPassage(BaseModel):
    """The words of one chapter (answer or retake) of a recording; `text` is indexed by FTS5 (transcript_search)."""

    interview = pw.ForeignKeyField(Interview, backref="transcript_passages", on_delete="CASCADE", index=True)
    recording = pw.ForeignKeyField(Recording, backref="transcript_passages", on_delete="CASCADE", index=False)
    chapter_index = pw.IntegerField()
    label = SafeTextField()
    start = pw.FloatField()
    end = pw.FloatField()
    heading = SafeTextField(default="")                         # the question's text, else the label
    question_index = pw.IntegerField(null=True)
    superseded = pw.BooleanField(default=False)
    text = SafeTextField(default="")
    words = JsonField()                                        # [{"start", "end", "text", "probability"}, ...]
    language = SafeTextField(default="")
    engine = SafeTextField(default="")
    created_at = UtcDateTimeField(default=utcnow)

    class Meta:
        table_name = "transcript_passage"
        indexes = ((("recording", "chapter_index"), True),)


ALL_MODELS = (Interview, Recording, Event, SyncState, AuditLog, Setting, InterviewTemplate, TranscriptJob,
              TranscriptPassage)


def get_setting(key: str, default: str | None = None) -> str | None:
    row = Setting.get_or_none(Setting.key == key)
    return default if row is None else row.value


def set_setting(key: str, value) -> None:
    """Store a text (other values are stored as their JSON text)."""
    if value is not None and not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    Setting.insert(key=key, value=value).on_conflict_replace().execute()
