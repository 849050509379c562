"""Schema migrations, applied in order; the schema version lives in ``PRAGMA user_version``.

Each step is a function of the open database, run in one transaction together with the version bump, so a step either
happens completely or not at all. Step 1 is frozen DDL (it must never follow later edits of models.py); later steps
use playhouse.migrate. Never edit a released step: add a new one, and a test that migrates the previous schema with
data in it (tests/kiosk/db/test_migrations.py keeps a frozen copy of every older schema).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Callable

import peewee as pw
from playhouse.migrate import SqliteMigrator, migrate

log = logging.getLogger(__name__)

V1_DDL = """
CREATE TABLE "interview" ("id" INTEGER NOT NULL PRIMARY KEY, "uuid" VARCHAR(255) NOT NULL, "code" TEXT NOT NULL,
  "candidate_name" TEXT NOT NULL, "candidate_ref" TEXT NOT NULL, "template" TEXT NOT NULL,
  "status" VARCHAR(255) NOT NULL, "end_reason" TEXT NOT NULL, "created_at" TEXT NOT NULL, "started_at" TEXT,
  "ended_at" TEXT, "consent_version" TEXT NOT NULL, "consent_at" TEXT, "transcript" TEXT NOT NULL,
  "summary" TEXT NOT NULL, "recording_data" TEXT, "recording_path" TEXT, "recording_duration" REAL,
  "is_recorded" INTEGER NOT NULL, "owner_pid" INTEGER, "owner_host" TEXT, "owner_boot_id" TEXT,
  "exported_at" TEXT, "purged_at" TEXT);
CREATE UNIQUE INDEX "interview_uuid" ON "interview" ("uuid");
CREATE INDEX "interview_status" ON "interview" ("status");
CREATE TABLE "recording" ("id" INTEGER NOT NULL PRIMARY KEY, "interview_id" INTEGER NOT NULL, "path" TEXT NOT NULL,
  "state" VARCHAR(255) NOT NULL, "profile" TEXT NOT NULL, "container" TEXT NOT NULL, "video_codec" TEXT NOT NULL,
  "audio_codec" TEXT NOT NULL, "width" INTEGER, "height" INTEGER, "fps" REAL, "size" INTEGER, "duration" REAL,
  "sha256" TEXT, "frames_written" INTEGER, "frames_dropped" INTEGER, "error" TEXT NOT NULL,
  "started_at" TEXT NOT NULL, "ended_at" TEXT, "owner_pid" INTEGER, "owner_host" TEXT, "owner_boot_id" TEXT,
  "deleted_at" TEXT,
  FOREIGN KEY ("interview_id") REFERENCES "interview" ("id") ON DELETE CASCADE);
CREATE INDEX "recording_interview_id" ON "recording" ("interview_id");
CREATE UNIQUE INDEX "recording_path" ON "recording" ("path");
CREATE INDEX "recording_state" ON "recording" ("state");
CREATE TABLE "event" ("id" INTEGER NOT NULL PRIMARY KEY, "interview_id" INTEGER NOT NULL, "recording_id" INTEGER,
  "time" TEXT NOT NULL, "offset_s" REAL, "kind" TEXT NOT NULL, "question_index" INTEGER, "detail" TEXT,
  FOREIGN KEY ("interview_id") REFERENCES "interview" ("id") ON DELETE CASCADE,
  FOREIGN KEY ("recording_id") REFERENCES "recording" ("id") ON DELETE SET NULL);
CREATE INDEX "event_interview_id" ON "event" ("interview_id");
CREATE INDEX "event_recording_id" ON "event" ("recording_id");
CREATE TABLE "sync_state" ("id" INTEGER NOT NULL PRIMARY KEY, "interview_id" INTEGER, "recording_id" INTEGER,
  "kind" VARCHAR(255) NOT NULL, "path" TEXT NOT NULL, "size" INTEGER, "sha256" TEXT, "upload_url" TEXT,
  "offset" INTEGER NOT NULL, "status" VARCHAR(255) NOT NULL, "last_error" TEXT NOT NULL, "attempts" INTEGER NOT NULL,
  "next_attempt_at" TEXT, "synced_at" TEXT, "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL,
  FOREIGN KEY ("interview_id") REFERENCES "interview" ("id") ON DELETE CASCADE,
  FOREIGN KEY ("recording_id") REFERENCES "recording" ("id") ON DELETE CASCADE);
CREATE INDEX "sync_state_interview_id" ON "sync_state" ("interview_id");
CREATE INDEX "sync_state_recording_id" ON "sync_state" ("recording_id");
CREATE INDEX "sync_state_status" ON "sync_state" ("status");
CREATE TABLE "audit_log" ("id" INTEGER NOT NULL PRIMARY KEY, "time" TEXT NOT NULL, "actor" VARCHAR(255) NOT NULL,
  "action" TEXT NOT NULL, "target" TEXT NOT NULL, "detail" TEXT);
CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "audit_log"
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER "audit_log_no_delete" BEFORE DELETE ON "audit_log"
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE "setting" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT);
"""


def _split(ddl: str) -> list[str]:
    """Statements of a DDL script (triggers contain ';' inside BEGIN ... END)."""
    statements, current = [], ""
    for line in ddl.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete statement in DDL: {current!r}")
    return statements


def _v1_initial(database: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    for statement in _split(V1_DDL):
        database.execute_sql(statement)


V2_TEMPLATE_DDL = """
CREATE TABLE "interview_template" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "title" TEXT NOT NULL,
  "body" TEXT NOT NULL, "sha256" TEXT NOT NULL, "source" TEXT NOT NULL, "imported_at" TEXT NOT NULL,
  "updated_at" TEXT NOT NULL);
CREATE UNIQUE INDEX "interview_template_name" ON "interview_template" ("name");
"""


def _v2_templates(database: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Templates imported by admins live in the database; an interview pins the exact template it used."""
    for statement in _split(V2_TEMPLATE_DDL):
        database.execute_sql(statement)
    migrate(migrator.add_column("interview", "template_sha256", pw.TextField(default="")))


# Audit detail keys that held personal data before schema 3 (`schedule` kept the code, `delete` the name).
PERSONAL_AUDIT_KEYS = ("candidate_name", "candidate_ref", "code", "name", "ref")
V3_AUDIT_UPDATE_TRIGGER = """CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "audit_log"
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"""


def _v3_privacy(database: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """The event hash chain (seq, prev_sha256, sha256; existing events are chained in the order they were written)
    and an audit log without personal data (names and codes older kiosks wrote there are removed, once)."""
    import json

    from kiosk.privacy import chain

    migrate(migrator.add_column("event", "seq", pw.IntegerField(null=True)),
            migrator.add_column("event", "prev_sha256", pw.TextField(null=True)),
            migrator.add_column("event", "sha256", pw.TextField(null=True)))
    database.execute_sql('CREATE UNIQUE INDEX "event_interview_id_seq" ON "event" ("interview_id", "seq")')
    rows = database.execute_sql(
        'SELECT e.id, i.uuid, e.time, e.offset_s, e.kind, e.question_index, r.path, e.detail FROM event e '
        'JOIN interview i ON i.id = e.interview_id LEFT JOIN recording r ON r.id = e.recording_id '
        'ORDER BY e.interview_id, e.id').fetchall()
    previous: dict[str, tuple[int, str]] = {}
    for event_id, uuid, time, offset_s, kind, question_index, path, detail in rows:
        seq, prev = previous.get(uuid, (0, chain.start(uuid)))
        fields = chain.event_fields(seq + 1, time, offset_s, kind, question_index, path,
                                    json.loads(detail) if detail else None)
        digest = chain.link(prev, fields)
        database.execute_sql('UPDATE event SET seq = ?, prev_sha256 = ?, sha256 = ? WHERE id = ?',
                             (seq + 1, prev, digest, event_id))
        previous[uuid] = (seq + 1, digest)
    database.execute_sql('DROP TRIGGER "audit_log_no_update"')
    for audit_id, detail in database.execute_sql('SELECT id, detail FROM audit_log WHERE detail IS NOT NULL'):
        value = json.loads(detail)
        if isinstance(value, dict) and any(key in value for key in PERSONAL_AUDIT_KEYS):
            kept = {k: v for k, v in value.items() if k not in PERSONAL_AUDIT_KEYS}
            database.execute_sql('UPDATE audit_log SET detail = ? WHERE id = ?',
                                 (json.dumps(kept, ensure_ascii=False, sort_keys=True), audit_id))
    database.execute_sql(V3_AUDIT_UPDATE_TRIGGER)


V4_TRANSCRIPT_DDL = """
CREATE TABLE "transcript_job" ("id" INTEGER NOT NULL PRIMARY KEY, "interview_id" INTEGER NOT NULL,
  "status" VARCHAR(255) NOT NULL, "engine" TEXT NOT NULL, "language" TEXT NOT NULL, "error" TEXT NOT NULL,
  "attempts" INTEGER NOT NULL, "chapters_total" INTEGER, "chapters_done" INTEGER NOT NULL,
  "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, "finished_at" TEXT,
  FOREIGN KEY ("interview_id") REFERENCES "interview" ("id") ON DELETE CASCADE);
CREATE UNIQUE INDEX "transcript_job_interview_id" ON "transcript_job" ("interview_id");
CREATE INDEX "transcript_job_status" ON "transcript_job" ("status");
CREATE TABLE "transcript_passage" ("id" INTEGER NOT NULL PRIMARY KEY, "interview_id" INTEGER NOT NULL,
  "recording_id" INTEGER NOT NULL, "chapter_index" INTEGER NOT NULL, "label" TEXT NOT NULL, "start" REAL NOT NULL,
  "end" REAL NOT NULL, "heading" TEXT NOT NULL, "question_index" INTEGER, "superseded" INTEGER NOT NULL,
  "text" TEXT NOT NULL, "words" TEXT NOT NULL, "language" TEXT NOT NULL, "engine" TEXT NOT NULL,
  "created_at" TEXT NOT NULL,
  FOREIGN KEY ("interview_id") REFERENCES "interview" ("id") ON DELETE CASCADE,
  FOREIGN KEY ("recording_id") REFERENCES "recording" ("id") ON DELETE CASCADE);
CREATE INDEX "transcript_passage_interview_id" ON "transcript_passage" ("interview_id");
CREATE UNIQUE INDEX "transcript_passage_recording_id_chapter_index"
  ON "transcript_passage" ("recording_id", "chapter_index");
CREATE VIRTUAL TABLE "transcript_search" USING fts5("text", content='transcript_passage', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER "transcript_search_insert" AFTER INSERT ON "transcript_passage"
  BEGIN INSERT INTO "transcript_search" (rowid, "text") VALUES (new."id", new."text"); END;
CREATE TRIGGER "transcript_search_delete" AFTER DELETE ON "transcript_passage"
  BEGIN INSERT INTO "transcript_search" ("transcript_search", rowid, "text") VALUES ('delete', old."id", old."text");
  END;
CREATE TRIGGER "transcript_search_update" AFTER UPDATE OF "text" ON "transcript_passage"
  BEGIN INSERT INTO "transcript_search" ("transcript_search", rowid, "text") VALUES ('delete', old."id", old."text");
  INSERT INTO "transcript_search" (rowid, "text") VALUES (new."id", new."text"); END;
"""


def _v4_transcripts(database: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Transcripts: one background job per interview (its state survives a restart), one passage per chapter
    (answer or retake) with its words and times, and an FTS5 index over the passages' text.
    Version 3 is left to the privacy change, which lands beside this one."""
    for statement in _split(V4_TRANSCRIPT_DDL):
        database.execute_sql(statement)


# (version it brings the database to, step). Append only.
STEPS: list[tuple[int, Callable[[pw.SqliteDatabase, SqliteMigrator], None]]] = [
    (1, _v1_initial),
    (2, _v2_templates),
    (3, _v3_privacy),
    (4, _v4_transcripts),
]

LATEST = STEPS[-1][0]


def migrate_to_latest(database: pw.SqliteDatabase) -> int:
    """Apply every step above the database's version; returns the version it ends at."""
    current = database.execute_sql("PRAGMA user_version").fetchone()[0]
    if current > LATEST:  # open_database refuses earlier; this guards direct calls
        raise RuntimeError(f"schema version {current} is newer than this kiosk's {LATEST}")
    pending = [(version, step) for version, step in STEPS if version > current]
    if not pending:
        return current
    # Table rebuilds in playhouse.migrate must not fire ON DELETE CASCADE: foreign keys off for the migration (it
    # cannot be changed inside a transaction), checked afterwards.
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        migrator = SqliteMigrator(database)
        for version, step in pending:
            # IMMEDIATE takes the write lock before reading the version: when the app and `kiosk record` start on
            # an old database at once, the second waits (busy_timeout), sees the new version and skips the step.
            with database.atomic("IMMEDIATE"):
                if database.execute_sql("PRAGMA user_version").fetchone()[0] >= version:
                    continue
                step(database, migrator)
                database.execute_sql(f"PRAGMA user_version = {int(version)}")
            log.info("database migrated to schema %d", version)
        problems = database.execute_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key check failed after migration: {problems[:5]}")
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")
    return LATEST


__all__ = ["LATEST", "STEPS", "migrate_to_latest", "migrate"]
