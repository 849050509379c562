-- Frozen: the kiosk database at schema version 4 (dumped from sqlite_master; FTS5's own shadow tables left out,
-- the virtual table makes them). Version 3 is the privacy change (event chain, audit without personal data),
-- version 4 the transcripts. Never edit.
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
  "time" TEXT NOT NULL, "offset_s" REAL, "kind" TEXT NOT NULL, "question_index" INTEGER, "detail" TEXT, "seq" INTEGER, "prev_sha256" TEXT, "sha256" TEXT,
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
CREATE TRIGGER "audit_log_no_delete" BEFORE DELETE ON "audit_log"
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE "setting" ("key" TEXT NOT NULL PRIMARY KEY, "value" TEXT);
CREATE TABLE "interview_template" ("id" INTEGER NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, "title" TEXT NOT NULL,
  "body" TEXT NOT NULL, "sha256" TEXT NOT NULL, "source" TEXT NOT NULL, "imported_at" TEXT NOT NULL,
  "updated_at" TEXT NOT NULL);
CREATE UNIQUE INDEX "interview_template_name" ON "interview_template" ("name");
CREATE TABLE "interview" ("id" INTEGER NOT NULL PRIMARY KEY, "uuid" VARCHAR(255) NOT NULL, "code" TEXT NOT NULL, "candidate_name" TEXT NOT NULL, "candidate_ref" TEXT NOT NULL, "template" TEXT NOT NULL, "status" VARCHAR(255) NOT NULL, "end_reason" TEXT NOT NULL, "created_at" TEXT NOT NULL, "started_at" TEXT, "ended_at" TEXT, "consent_version" TEXT NOT NULL, "consent_at" TEXT, "transcript" TEXT NOT NULL, "summary" TEXT NOT NULL, "recording_data" TEXT, "recording_path" TEXT, "recording_duration" REAL, "is_recorded" INTEGER NOT NULL, "owner_pid" INTEGER, "owner_host" TEXT, "owner_boot_id" TEXT, "exported_at" TEXT, "purged_at" TEXT, "template_sha256" TEXT NOT NULL);
CREATE INDEX "interview_status" ON "interview" ("status");
CREATE UNIQUE INDEX "interview_uuid" ON "interview" ("uuid");
CREATE UNIQUE INDEX "event_interview_id_seq" ON "event" ("interview_id", "seq");
CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "audit_log"
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
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
