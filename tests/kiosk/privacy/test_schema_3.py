"""Schema 3: events an older kiosk wrote are chained at migration, and names and codes leave the audit log."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.db import models
from kiosk.db.database import close_database, db, open_database
from kiosk.privacy import chain
from tests.kiosk.db.test_migrations import _build_v1

UUID = "11111111-1111-4111-8111-111111111111"


def test_old_events_are_chained_and_old_audit_entries_lose_names_and_codes(data):
    _build_v1(data.database)
    conn = sqlite3.connect(data.database)
    conn.executescript(f"""
        INSERT INTO event VALUES (2, 1, NULL, '2026-01-02T03:05:00.000000+00:00', NULL, 'question.answered', 0,
          NULL);
        INSERT INTO audit_log VALUES (2, '2026-01-04T00:00:00.000000+00:00', 'cli', 'schedule', '{UUID}',
          '{{"code": "OLD-CODE-1", "template": "general"}}');
        INSERT INTO audit_log VALUES (3, '2026-01-05T00:00:00.000000+00:00', 'cli', 'delete', '{UUID}',
          '{{"candidate_name": "Old Name", "reason": "withdrew", "sha256": ["ab"]}}');
    """)
    conn.commit()
    conn.close()
    open_database(data.database)
    try:
        interview = models.Interview.get(models.Interview.uuid == UUID)
        events = models.Event.chain_of(interview)
        assert [e["seq"] for e in events] == [1, 2]
        checked = chain.check(UUID, events)
        assert checked.intact and checked.head == events[-1]["sha256"]
        new = models.Event.create(interview=interview, kind="session.note")
        assert (new.seq, new.prev_sha256) == (3, events[-1]["sha256"])
        assert chain.check(UUID, models.Event.chain_of(interview)).intact

        details = {row.id: row.detail for row in models.AuditLog.select()}
        assert details[2] == {"template": "general"} and details[3] == {"reason": "withdrew", "sha256": ["ab"]}
        with pytest.raises(Exception, match="append-only"):
            db.execute_sql("UPDATE audit_log SET detail = NULL WHERE id = 2")
        with pytest.raises(Exception, match="append-only"):
            db.execute_sql("DELETE FROM audit_log WHERE id = 2")
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        close_database()
    # secure_delete: the old text is not left in a free page of the database (the copy kept before migrating
    # still has it until an erasure scrubs it).
    assert b"OLD-CODE-1" not in data.database.read_bytes() and b"Old Name" not in data.database.read_bytes()


def test_an_edited_event_breaks_the_chain_at_that_event(data):
    open_database(data.database)
    try:
        interview = models.Interview.create()
        for kind in ("session.started", "question.shown", "session.ended"):
            models.Event.create(interview=interview, kind=kind, detail={"n": kind})
        assert chain.check(interview.uuid, models.Event.chain_of(interview)).intact
        db.execute_sql("UPDATE event SET detail = '{\"n\": \"edited\"}' WHERE seq = 2")
        broken = chain.check(interview.uuid, models.Event.chain_of(interview))
        assert not broken.intact and broken.problems == [
            "event 2 (question.shown): its content differs from what was hashed (edited)"]
        db.execute_sql("DELETE FROM event WHERE seq = 2")
        removed = chain.check(interview.uuid, models.Event.chain_of(interview))
        assert "sequence number 3 where 2 belongs" in removed.problems[0]
    finally:
        close_database()
