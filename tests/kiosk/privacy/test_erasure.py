"""Erasure that erases: after `kiosk sessions delete`, no byte of the candidate's name, code or reference is left in
any file under the data dir (database, WAL, the copy kept before a migration, logs, sync JSON), and the audit keeps
the uuid, file hashes, who and when."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config as configmod
from kiosk.db.database import close_database, db, open_database
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore
from kiosk.sync.worker import enqueue_interview
from tests.helpers.db import record_real_take
from tests.kiosk.privacy.helpers import bytes_found, make_centre_key

ROOT = Path(__file__).resolve().parents[3]
NAME = "Canary Kandidatin-Ölmez"
CODE = "CANARY-CODE-5150"
REF = "CANARY-REF-8086"
TRANSCRIPT = "Kanarienvogel-Gehaltswunsch"
CANARIES = [NAME.encode(), CODE.encode(), REF.encode(), b"Kandidatin", TRANSCRIPT.encode()]


def _kiosk(data: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=180, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_delete_leaves_no_byte_of_the_candidate_in_any_file_under_the_data_dir(tmp_path):
    centre = make_centre_key(tmp_path)
    toml = tmp_path / "kiosk.toml"
    toml.write_text(f'[privacy]\nrecipients = ["{centre.recipient}"]\n[storage]\nmin_free_mb = 50\n'
                    '[recording]\nprofile = "webm-vp8-opus"\n[log]\nlevel = "DEBUG"\n')
    data = DataDir(tmp_path / "data").ensure()
    scheduled = _kiosk(data.root, toml, "--verbose", "sessions", "schedule", "--template", "general", "--code",
                       CODE, "--name", NAME, "--ref", REF, "--json")
    assert scheduled.returncode == 0, scheduled.stderr
    uuid = json.loads(scheduled.stdout)["uuid"]

    # The candidate comes, types the code and is recorded; the session is queued for sync (its JSON written).
    config = configmod.load(toml)
    store = SessionStore.open(data, config)
    try:
        plan = store.find_plan(CODE.lower())
        interview, path = store.begin(plan, "webm-vp8-opus")
        result = record_real_take(path, 1.0, uuid=uuid)
        store.finish(interview, "completed", result.metadata, None)
        _transcribed(interview)
        enqueue_interview(interview, data, config)
        # An earlier upgrade kept a copy of the database from before its migration: it holds the candidate too.
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(data.database, data.root / "kiosk.sqlite3.v2-20261201T000000Z.bak")
    finally:
        close_database()
    before = bytes_found(data.root, CANARIES)
    assert "kiosk.sqlite3" in before                               # the rows hold the candidate ...
    assert not [name for name in before if name.startswith(("sync/", "media/", "logs/"))]    # ... files are sealed
    assert list(data.sync.glob("*.session.json.age")) and list(data.recordings.glob("*.webm.age"))
    assert "kiosk.sqlite3.v2-20261201T000000Z.bak" in before

    deleted = _kiosk(data.root, toml, "--verbose", "sessions", "delete", uuid, "--yes", "--reason", "withdrew")
    assert deleted.returncode == 0, deleted.stderr
    assert [c for c in CANARIES if c.decode() in deleted.stderr] == []

    # Every byte of every file under the data dir: the database, its WAL and -shm, the pre-migration copy, the logs.
    assert bytes_found(data.root, CANARIES) == {}
    assert sorted(p.name for p in data.recordings.iterdir()) == []
    assert list(data.sync.glob(f"{uuid}*")) == []

    conn = sqlite3.connect(data.database)
    try:
        assert conn.execute("SELECT count(*) FROM interview").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 0
        (actor, target, detail, when), = conn.execute(
            "SELECT actor, target, detail, time FROM audit_log WHERE action = 'delete'").fetchall()
    finally:
        conn.close()
    detail = json.loads(detail)
    assert (actor, target, detail["reason"]) == ("cli", uuid, "withdrew") and when
    names = {f["name"] for f in detail["files"]}
    assert any(n.endswith(".webm.age") for n in names) and any(n.endswith(".manifest.json.sig") for n in names)
    assert any(n == f"{uuid}.session.json.age" for n in names)
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in detail["files"])
    assert not {"candidate_name", "code", "candidate_ref"} & set(detail)


def _transcribed(interview) -> None:
    """A transcript passage (indexed by FTS5, which keeps deleted words in its segments until they are merged)."""
    from kiosk.db.models import Recording, TranscriptPassage

    recording = Recording.get(Recording.interview == interview)
    TranscriptPassage.create(interview=interview, recording=recording, chapter_index=0, label="Question 1",
                             start=0.0, end=1.0, text=f"my {TRANSCRIPT} is high", words=[])


def test_retention_erases_the_take_and_the_personal_data_and_keeps_the_row_and_the_audit(tmp_path):
    import datetime as dt

    from kiosk.db.models import AuditLog, Interview, Recording, utcnow
    from kiosk.sessions import retention

    centre = make_centre_key(tmp_path)
    config = configmod.Config()
    for name, value in (("privacy.recipients", [centre.recipient]), ("storage.min_free_mb", 50),
                        ("storage.retention_days", 1), ("storage.retention_requires_sync", False)):
        config.set(name, value)
    data = DataDir(tmp_path / "data").ensure()
    store = SessionStore.open(data, config)
    try:
        scheduled = store.schedule("general", code=CODE, candidate_name=NAME, candidate_ref=REF)
        interview, path = store.begin(store.find_plan(CODE), "webm-vp8-opus")
        result = record_real_take(path, 1.0, uuid=scheduled.uuid)
        store.finish(interview, "completed", result.metadata, None)
        _transcribed(interview)
        enqueue_interview(interview, data, config)
        long_ago = utcnow() - dt.timedelta(days=3)
        Recording.update(ended_at=long_ago).execute()
        Interview.update(ended_at=long_ago).execute()
        report = retention.apply(config, data=data)
        assert [d.uuid for d in report.deleted] == [scheduled.uuid]
        kept = Interview.get(Interview.uuid == scheduled.uuid)
        assert kept.purged_at is not None and (kept.status, kept.candidate_name, kept.code) == ("completed", "", "")
        (audit,) = AuditLog.select().where(AuditLog.action == "retention.delete")
        assert {f["name"].rsplit(".", 2)[-1] for f in audit.detail["files"]} >= {"age", "sig"}
    finally:
        close_database()
    assert bytes_found(data.root, CANARIES) == {}
    assert list(data.recordings.iterdir()) == [] and list(data.sync.glob(f"{scheduled.uuid}*")) == []


def test_scrubbing_a_pre_migration_copy_keeps_the_other_interviews(tmp_path):
    data = DataDir(tmp_path / "data").ensure()
    open_database(data.database)
    store = SessionStore(data, configmod.Config())
    gone = store.schedule("general", code=CODE, candidate_name=NAME, candidate_ref=REF)
    kept = store.schedule("general", code="KEEP-1", candidate_name="Someone Else")
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    backup = data.root / "kiosk.sqlite3.v2-20261201T000000Z.bak"
    shutil.copy(data.database, backup)
    try:
        store.delete_interview(gone.uuid, reason="withdrew")
    finally:
        close_database()
    assert bytes_found(data.root, CANARIES) == {}
    conn = sqlite3.connect(backup)
    try:
        assert [r[0] for r in conn.execute("SELECT uuid FROM interview")] == [kept.uuid]
        with_detail = conn.execute("SELECT count(*) FROM audit_log WHERE target = ? AND detail IS NOT NULL",
                                   (kept.uuid,)).fetchone()[0]
        assert with_detail == 1                    # the other interview's history is left as it was
    finally:
        conn.close()


@pytest.mark.qt_log_ignore(r"does not support propagateSizeHints", r"pipewire", r"No RHI backend")
def test_the_console_asks_then_erases_off_the_ui_thread(qtbot, tmp_path):
    from types import SimpleNamespace

    from kiosk.cli import Context
    from kiosk.db.models import AuditLog, Interview
    from kiosk.events import EventBus
    from ui.admin.console import AdminConsole

    data = DataDir(tmp_path / "data").ensure()
    config = configmod.Config()
    config.set("storage.min_free_mb", 50)
    store = SessionStore.open(data, config)
    try:
        scheduled = store.schedule("general", code=CODE, candidate_name=NAME, candidate_ref=REF)
        interview, path = store.begin(store.find_plan(CODE), "webm-vp8-opus")
        store.finish(interview, "completed", record_real_take(path, 1.0, uuid=scheduled.uuid).metadata, None)
        console = AdminConsole(SimpleNamespace(ctx=Context(data=data, config=config), bus=EventBus(), store=store,
                                               db=db, recorder=None, devices=None))
        qtbot.addWidget(console)
        console.show()
        asked = []
        console.confirm = lambda text: asked.append(text) or len(asked) > 1     # "no" first, then "yes"
        console.sessions.open_session(scheduled.uuid)
        detail = console.sessions.detail
        detail.delete_button.click()
        assert len(asked) == 1 and Interview.select().count() == 1              # the admin said no
        with qtbot.waitSignal(console.erased, timeout=60000):
            detail.delete_button.click()
        assert Interview.select().count() == 0 and console.sessions.currentWidget() is console.sessions.list
        (entry,) = AuditLog.select().where(AuditLog.action == "delete")
        assert entry.actor == "admin" and entry.target == scheduled.uuid
        console.close_console("closed")
    finally:
        close_database()
    assert bytes_found(data.root, CANARIES) == {}
