import datetime as dt
import shutil
from pathlib import Path

import pytest

from kiosk import config as configmod
from kiosk.sessions import retention
from kiosk.db.models import AuditLog, Interview, Recording, SyncState, utcnow
from kiosk.sessions import SessionStore
from tests.helpers.db import record_real_take

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def take_file(tmp_path_factory):
    """One real take, copied for each session (recording many would only cost CPU)."""
    path = tmp_path_factory.mktemp("take") / "take.webm"
    result = record_real_take(path, 0.5)
    return path, result.metadata


def _config(days=30, sync=True, export=False):
    config = configmod.Config()
    config.set("storage.retention_days", days)
    config.set("storage.retention_requires_sync", sync)
    config.set("storage.retention_requires_export", export)
    return config


def _session(data, take_file, name, sync_status=None, synced_days_ago=None, exported_days_ago=None,
             status="completed"):
    source, metadata = take_file
    media = data.recordings / f"{name}.webm"
    shutil.copy(source, media)
    media.with_name(media.name + ".json").write_text("{}")
    interview = Interview.create(template="cli", candidate_name=name, status=status, ended_at=utcnow() - 60 * DAY)
    store = SessionStore(data)
    recording = store.store_take(interview, {**metadata, "recording_path": str(media), "state": "finalized"})
    Recording.update(ended_at=utcnow() - 60 * DAY).where(Recording.id == recording.id).execute()
    if sync_status:
        SyncState.create(interview=interview, recording=recording, kind="recording", path=str(media),
                         status=sync_status,
                         synced_at=utcnow() - synced_days_ago * DAY if synced_days_ago is not None else None)
    if exported_days_ago is not None:
        Interview.update(exported_at=utcnow() - exported_days_ago * DAY).where(Interview.id == interview.id).execute()
    return Recording.get_by_id(recording.id)


def test_retention_off_keeps_everything(data, database, take_file):
    rec = _session(data, take_file, "old", "synced", synced_days_ago=400)
    report = retention.apply(_config(days=0))
    assert not report.deleted and Path(rec.path).exists()
    assert "retention is off" in report.kept[0].reason


def test_only_synced_recordings_past_the_window_are_deleted_with_an_audit(data, database, take_file):
    due = _session(data, take_file, "due", "synced", synced_days_ago=31)
    young = _session(data, take_file, "young", "synced", synced_days_ago=10)
    pending = _session(data, take_file, "pending", "uploading")
    never = _session(data, take_file, "never")
    live = _session(data, take_file, "live", "synced", synced_days_ago=90, status="in_progress")

    dry = retention.apply(_config(), dry_run=True)
    assert [d.path for d in dry.deleted] == [due.path] and Path(due.path).exists()
    assert not AuditLog.select().exists()

    report = retention.apply(_config())
    assert [d.path for d in report.deleted] == [due.path] and report.bytes_freed > 0
    assert not Path(due.path).exists() and not Path(due.path + ".json").exists()
    for kept in (young, pending, never, live):
        assert Path(kept.path).exists()
    reasons = {Path(d.path).stem: d.reason for d in report.kept}
    assert "due on" in reasons["young"] and "not synced yet (uploading)" in reasons["pending"]
    assert "no upload queued" in reasons["never"] and "not finished" in reasons["live"]
    (audit,) = AuditLog.select().where(AuditLog.action == "retention.delete")
    assert (audit.actor, audit.target) == ("system", due.interview.uuid)
    assert audit.detail["path"] == due.path and audit.detail["sha256"] == due.sha256 and audit.detail["days"] == 30
    # the rows stay for the history: the recording is marked deleted, the interview purged
    assert Recording.get_by_id(due.id).deleted_at is not None
    assert Interview.get_by_id(due.interview.id).purged_at is not None
    assert Interview.get_by_id(young.interview.id).purged_at is None
    assert not retention.apply(_config()).deleted                      # nothing twice


def test_export_required_too(data, database, take_file):
    synced_only = _session(data, take_file, "synced-only", "synced", synced_days_ago=40)
    both = _session(data, take_file, "both", "synced", synced_days_ago=40, exported_days_ago=35)
    fresh_export = _session(data, take_file, "fresh-export", "synced", synced_days_ago=40, exported_days_ago=5)
    report = retention.apply(_config(export=True))
    assert [d.path for d in report.deleted] == [both.path]
    assert Path(synced_only.path).exists() and Path(fresh_export.path).exists()
    reasons = {Path(d.path).stem: d.reason for d in report.kept}
    assert "not exported" in reasons["synced-only"] and "due on" in reasons["fresh-export"]


def test_export_only_and_nothing_required(data, database, take_file):
    exported = _session(data, take_file, "exported", exported_days_ago=31)
    not_exported = _session(data, take_file, "not-exported")
    report = retention.apply(_config(sync=False, export=True))
    assert [d.path for d in report.deleted] == [exported.path] and Path(not_exported.path).exists()
    report = retention.apply(_config(sync=False, export=False))      # window from the end of the recording
    assert [d.path for d in report.deleted] == [not_exported.path]


def test_a_take_with_a_journal_is_kept_and_an_interrupted_deletion_is_finished(data, database, take_file):
    journaled = _session(data, take_file, "journaled", "synced", synced_days_ago=90)
    Path(journaled.path + ".recording").write_text('{"kind": "take"}\n')
    half_done = _session(data, take_file, "half-done", "synced", synced_days_ago=90)
    Recording.update(deleted_at=utcnow()).where(Recording.id == half_done.id).execute()   # crashed before unlink
    report = retention.apply(_config())
    assert not report.deleted and "journal" in report.kept[0].reason
    assert Path(journaled.path).exists() and not Path(half_done.path).exists()
