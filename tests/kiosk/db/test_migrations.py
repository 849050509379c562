"""Each older schema (a frozen copy of its DDL in schemas/) is built with data in it, then opened and migrated."""

import hashlib
import sqlite3
from pathlib import Path

import pytest

from kiosk.db import migrations, models
from kiosk.db.database import close_database, db, open_database, schema_version


SCHEMAS = Path(__file__).with_name("schemas")


def _build_v1(path: Path) -> None:
    """A version-1 database as a kiosk of that version left it: two interviews, a recording, events, sync, audit."""
    conn = sqlite3.connect(path)
    conn.executescript((SCHEMAS / "v1.sql").read_text())
    conn.executescript("""
        PRAGMA foreign_keys = ON;
        INSERT INTO interview VALUES (1, '11111111-1111-4111-8111-111111111111', 'A1', 'Zoë Ünal', 'ref-7',
          'general', 'completed', 'completed', '2026-01-02T03:04:05.000000+00:00',
          '2026-01-02T03:04:06.000000+00:00', '2026-01-02T03:10:00.000000+00:00', '2026-01', 
          '2026-01-02T03:04:06.500000+00:00', 'hello', 'sum', '{"duration": 354.2, "chapters": []}',
          '/data/media/interview_recordings/1111.webm', 354.2, 1, NULL, NULL, NULL, NULL, NULL);
        INSERT INTO interview VALUES (2, '22222222-2222-4222-8222-222222222222', '', '', '', 'cli', 'failed',
          'disk_full', '2026-01-03T00:00:00.000000+00:00', NULL, NULL, '', NULL, '', '', NULL, NULL, NULL, 0,
          4242, 'kiosk-1', 'boot-a', NULL, NULL);
        INSERT INTO recording VALUES (1, 1, '/data/media/interview_recordings/1111.webm', 'finalized',
          'webm-vp9-opus', 'webm', 'vp9', 'opus', 1280, 720, 30.0, 12345678, 354.2, 'ab' , 10626, 0, '',
          '2026-01-02T03:04:06.000000+00:00', '2026-01-02T03:10:00.000000+00:00', NULL, NULL, NULL, NULL);
        INSERT INTO event VALUES (1, 1, 1, '2026-01-02T03:04:07.000000+00:00', 0.0, 'question.shown', 0,
          '{"text": "Who are you?"}');
        INSERT INTO sync_state VALUES (1, 1, 1, 'recording', '/data/media/interview_recordings/1111.webm', 12345678,
          'ab', 'http://x/files/abc', 4194304, 'uploading', '', 1, NULL, NULL,
          '2026-01-02T03:10:01.000000+00:00', '2026-01-02T03:10:02.000000+00:00');
        INSERT INTO audit_log VALUES (1, '2026-01-04T00:00:00.000000+00:00', 'admin', 'playback',
          '11111111-1111-4111-8111-111111111111', NULL);
        INSERT INTO setting VALUES ('admin.pin_hash', 'scrypt$x');
    """)
    conn.commit()
    conn.close()


def test_frozen_v1_schema_is_what_step_1_builds():
    """Guards the frozen copy and step 1 against each other: step 1 must never change once released."""
    conn = sqlite3.connect(":memory:")
    for statement in migrations._split(migrations.V1_DDL):
        conn.execute(statement)
    built = [row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    frozen = sqlite3.connect(":memory:")
    frozen.executescript((SCHEMAS / "v1.sql").read_text())
    kept = [row[0] for row in frozen.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    assert built == kept


def test_v1_with_data_migrates_to_latest_and_keeps_everything(data):
    _build_v1(data.database)
    before = hashlib.sha256(data.database.read_bytes()).hexdigest()
    open_database(data.database)
    assert schema_version() == migrations.LATEST

    first = models.Interview.get(models.Interview.uuid == "11111111-1111-4111-8111-111111111111")
    assert (first.candidate_name, first.status, first.recording_duration, first.is_recorded) == \
        ("Zoë Ünal", "completed", 354.2, True)
    assert first.recording_data == {"duration": 354.2, "chapters": []}
    assert first.template_sha256 == ""                       # the column added in step 2, default for old rows
    assert first.started_at.isoformat() == "2026-01-02T03:04:06+00:00"
    second = models.Interview.get_by_id(2)
    assert (second.owner_pid, second.end_reason) == (4242, "disk_full")
    (recording,) = first.recordings
    assert (recording.size, recording.video_codec, recording.state) == (12345678, "vp9", "finalized")
    assert [e.detail for e in first.events] == [{"text": "Who are you?"}]
    (sync,) = models.SyncState.select()
    assert (sync.offset, sync.status, sync.recording.id) == (4194304, "uploading", recording.id)
    assert models.get_setting("admin.pin_hash") == "scrypt$x"
    # the new table works, and the audit log is still append-only after the migration
    models.InterviewTemplate.create(name="t", title="T", body={"a": 1}, sha256="0")
    with pytest.raises(models.AuditRefused):
        models.AuditLog.get_by_id(1).delete_instance()
    with pytest.raises(Exception, match="append-only"):
        db.execute_sql("DELETE FROM audit_log")

    # a copy of the old file was kept, byte-identical in content (same rows), under a name that did not exist
    (copy,) = data.root.glob("kiosk.sqlite3.v1-*.bak")
    with sqlite3.connect(copy) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 1
        assert old.execute("SELECT count(*) FROM interview").fetchone()[0] == 2
    close_database()
    assert hashlib.sha256(data.database.read_bytes()).hexdigest() != before


def test_a_backup_copy_is_never_overwritten(data, monkeypatch):
    _build_v1(data.database)
    import datetime as dt

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=tz)
    monkeypatch.setattr("kiosk.db.database.dt.datetime", Frozen)
    squatter = data.root / "kiosk.sqlite3.v1-20260506T070809Z.bak"
    squatter.write_bytes(b"an older copy someone keeps")
    open_database(data.database)
    close_database()
    assert squatter.read_bytes() == b"an older copy someone keeps"
    assert (data.root / "kiosk.sqlite3.v1-20260506T070809Z-1.bak").exists()


def test_a_failing_step_leaves_the_database_at_its_old_version(data, monkeypatch):
    _build_v1(data.database)

    def broken(database, migrator):
        database.execute_sql('CREATE TABLE "half_done" (x)')
        raise RuntimeError("step failed half-way")
    monkeypatch.setattr(migrations, "STEPS", migrations.STEPS[:1] + [(2, broken)])
    monkeypatch.setattr(migrations, "LATEST", 2)
    with pytest.raises(RuntimeError, match="half-way"):
        open_database(data.database)
    with sqlite3.connect(data.database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "half_done" not in tables and "interview_template" not in tables
        assert conn.execute("SELECT count(*) FROM interview").fetchone()[0] == 2


def test_latest_schema_has_its_frozen_copy(data):
    """A schema change without a new step and a new frozen copy fails here (the next migration test needs it)."""
    open_database(data.database)
    built = [r[0] for r in db.execute_sql("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    close_database()
    frozen_file = SCHEMAS / f"v{migrations.LATEST}.sql"
    assert frozen_file.exists(), f"add {frozen_file} (dump of sqlite_master) for schema {migrations.LATEST}"
    frozen = sqlite3.connect(":memory:")
    frozen.executescript(frozen_file.read_text())
    kept = [r[0] for r in frozen.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    assert built == kept


def test_processes_opening_an_old_database_at_once_migrate_it_once(data):
    """The app and `kiosk record` may start together on an old database: one migrates, the others wait and skip."""
    import os
    import subprocess
    import sys
    _build_v1(data.database)
    root = Path(__file__).resolve().parents[3]
    script = ("import sys; from kiosk.db.database import open_database, schema_version; "
              "open_database(sys.argv[1]); print(schema_version())")
    processes = [subprocess.Popen([sys.executable, "-c", script, str(data.database)], cwd=root,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(root)}) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [str(migrations.LATEST)] * 3
    open_database(data.database)
    assert models.Interview.select().count() == 2 and models.Recording.select().count() == 1
    close_database()
