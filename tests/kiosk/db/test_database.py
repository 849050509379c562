import hashlib
import sqlite3

import peewee as pw
import pytest

from kiosk.db import migrations, models
from kiosk.db.database import (DatabaseCorrupt, DatabaseError, DatabaseTooNew, close_database, db, open_database,
                               schema_version)



def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_database_is_wal_with_foreign_keys_at_latest(database, data):
    assert schema_version() == migrations.LATEST
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    with sqlite3.connect(data.database) as other:   # the version is in the file, not only in this connection
        assert other.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST


def test_migrated_schema_matches_the_models_column_for_column(database):
    for model in models.ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name: c for c in database.get_columns(table)}
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        assert set(columns) == set(fields), table
        for name, field in fields.items():
            assert columns[name].null == field.null, (table, name)
        for field in model._meta.refs:
            fks = {fk.column for fk in database.get_foreign_keys(table)}
            assert field.column_name in fks, (table, field.name)


def test_reopen_keeps_data_and_does_not_migrate_again(database, data):
    interview = models.Interview.create(code="X7", candidate_name="Zoë")
    close_database()
    open_database(data.database)
    assert models.Interview.get(models.Interview.uuid == interview.uuid).candidate_name == "Zoë"
    assert not list(data.root.glob("*.bak"))      # no copy when nothing was migrated


def test_newer_database_is_refused_and_left_byte_for_byte(data):
    open_database(data.database)
    models.Interview.create(code="N1")
    db.execute_sql(f"PRAGMA user_version = {migrations.LATEST + 1}")
    close_database()
    files = sorted(p.name for p in data.root.iterdir())
    assert "kiosk.sqlite3-wal" not in files
    before = _digest(data.database)
    with pytest.raises(DatabaseTooNew) as err:
        open_database(data.database)
    message = str(err.value)
    assert "newer kiosk" in message and "Fix:" in message and str(data.database) in message
    assert "was not changed" in message
    assert _digest(data.database) == before
    # Reading a WAL database creates SQLite's empty side files; nothing else appears (no copy, no migration).
    after = {p.name for p in data.root.iterdir()} - set(files)
    assert after <= {"kiosk.sqlite3-wal", "kiosk.sqlite3-shm"}
    wal = data.root / "kiosk.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated-pages"])
def test_corrupt_database_is_reported_and_left_in_place(data, damage):
    open_database(data.database)
    with db.atomic():
        for n in range(300):
            models.Interview.create(code=f"C{n}", transcript="x" * 500)
    close_database()
    raw = bytearray(data.database.read_bytes())
    if damage == "garbage":
        raw[:100] = b"\xff" * 100                 # header gone
    else:
        for offset in range(4096 * 2, len(raw), 4096):   # scribble over every page after the second
            raw[offset + 8:offset + 200] = b"\x5a" * 192
    data.database.write_bytes(bytes(raw))
    before = _digest(data.database)
    with pytest.raises(DatabaseCorrupt) as err:
        open_database(data.database)
    assert str(data.database) in str(err.value) and "Fix:" in str(err.value)
    assert "left in place" in str(err.value)
    assert data.database.exists() and _digest(data.database) == before
    assert db.is_closed()


def test_foreign_sqlite_file_is_refused_unchanged(data):
    with sqlite3.connect(data.database) as conn:
        conn.execute("CREATE TABLE notes (x)")
    before = _digest(data.database)
    with pytest.raises(DatabaseError, match="not one of this kiosk's"):
        open_database(data.database)
    assert _digest(data.database) == before


def test_audit_log_is_append_only_in_the_model_and_in_the_file(database):
    entry = models.AuditLog.record("admin", "playback", "some-uuid", seconds=12.5)
    entry.action = "something else"
    with pytest.raises(models.AuditRefused):
        entry.save()
    with pytest.raises(models.AuditRefused):
        entry.delete_instance()
    with pytest.raises(models.AuditRefused):
        models.AuditLog.update(action="x")
    with pytest.raises(models.AuditRefused):
        models.AuditLog.delete()
    with pytest.raises(pw.IntegrityError, match="append-only"):   # raw SQL is stopped by the triggers
        database.execute_sql("UPDATE audit_log SET action = 'x'")
    with pytest.raises(pw.IntegrityError, match="append-only"):
        database.execute_sql("DELETE FROM audit_log")
    (stored,) = models.AuditLog.select()
    assert (stored.actor, stored.action, stored.target, stored.detail) == ("admin", "playback", "some-uuid",
                                                                          {"seconds": 12.5})
    with pytest.raises(ValueError, match="actor"):
        models.AuditLog.record("robot", "delete")


def test_settings_helpers(database):
    assert models.get_setting("admin.pin_hash") is None
    assert models.get_setting("admin.pin_hash", "none") == "none"
    models.set_setting("admin.pin_hash", "scrypt$abc")
    models.set_setting("admin.pin_hash", "scrypt$def")
    assert models.get_setting("admin.pin_hash") == "scrypt$def"
    assert models.Setting.select().count() == 1


def test_deleting_an_interview_cascades_but_keeps_the_audit(database):
    interview = models.Interview.create(code="D1")
    recording = models.Recording.create(interview=interview, path="/nowhere/a.webm")
    models.Event.create(interview=interview, recording=recording, kind="question.shown", question_index=0)
    models.SyncState.create(interview=interview, recording=recording, path="/nowhere/a.webm")
    models.AuditLog.record("cli", "delete", interview.uuid)
    interview.delete_instance()
    assert [m.select().count() for m in (models.Recording, models.Event, models.SyncState, models.AuditLog)] == \
        [0, 0, 0, 1]


def test_times_are_utc_and_ordered_as_text(database):
    import datetime as dt
    naive = dt.datetime(2026, 1, 2, 3, 4, 5)
    berlin = dt.datetime(2026, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    a = models.Interview.create(code="T1", started_at=naive)
    b = models.Interview.create(code="T2", started_at=berlin)
    assert models.Interview.get_by_id(a.id).started_at == models.Interview.get_by_id(b.id).started_at
    assert models.Interview.get_by_id(a.id).started_at.tzinfo is not None
    later = models.Interview.select().where(models.Interview.started_at > naive - dt.timedelta(seconds=1)).count()
    assert later == 2


def test_read_only_file_system_is_reported_with_the_fix(tiny_fs, tmp_path):
    import subprocess
    root = tiny_fs(2048)
    path = root / "kiosk.sqlite3"
    open_database(path)
    models.Interview.create(code="RO")
    close_database()
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True, timeout=30)
    with pytest.raises(DatabaseError) as err:
        open_database(path)
    assert "cannot be opened for writing" in str(err.value) and "read-only" in str(err.value)
    assert db.is_closed()


def test_disk_full_during_a_migration_rolls_it_back(tiny_fs, tmp_path):
    from tests.kiosk.db.test_migrations import _build_v1
    root = tiny_fs(4096)
    path = root / "kiosk.sqlite3"
    _build_v1(path)
    with sqlite3.connect(path) as conn:                   # enough rows that rebuilding a table needs real room
        conn.executemany("INSERT INTO interview (uuid, code, candidate_name, candidate_ref, template, status, "
                         "end_reason, created_at, consent_version, transcript, summary, is_recorded) VALUES "
                         "(?, '', '', '', 'cli', 'completed', '', '2026-01-01', '', ?, '', 0)",
                         [(f"u{n}", "t" * 1000) for n in range(150)])
    rows_before = _rows(path)
    size = path.stat().st_size
    # 1) not even room for the copy kept before migrating: refused, nothing changed, no half copy left
    _fill(root, size // 2)
    with pytest.raises(DatabaseError) as err:
        open_database(path)
    assert "copy kept before migrating could not be written" in str(err.value) and "full" in str(err.value)
    assert not list(root.glob("*.bak"))
    # 2) room for the copy, not for the migration: the step is rolled back, the database stays at version 1
    (root / "filler").unlink()
    _fill(root, size + 40_000)
    with pytest.raises(DatabaseError) as err:
        open_database(path)
    assert "full" in str(err.value) and "rolled back" in str(err.value)
    assert len(list(root.glob("*.bak"))) == 1
    (root / "filler").unlink()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert _rows(path) == rows_before
    open_database(path)                                   # with room again, the migration goes through
    assert schema_version() == migrations.LATEST and models.Interview.select().count() == 152
    close_database()


def _fill(root, leave_bytes):
    import shutil
    with open(root / "filler", "wb") as filler:
        filler.write(b"\0" * max(0, shutil.disk_usage(root).free - leave_bytes))


def _rows(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*), sum(length(transcript)) FROM interview").fetchone()
