"""`kiosk export` and `kiosk admin` against a real database: selection, marking exported, audit, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from kiosk import admin_auth, export
from kiosk.db.database import close_database, open_database
from kiosk.db.models import AuditLog, Event, Interview, Recording, Setting, SyncState

from tests.helpers.media import decode_counts, make_webm

ROOT = Path(__file__).resolve().parents[3]
UTC = dt.timezone.utc


def add_interview(data, day: dt.datetime, code: str, name: str, takes: int = 1, seed: int = 0) -> Interview:
    interview = Interview.create(code=code, candidate_name=name, status="completed", started_at=day,
                                 ended_at=day + dt.timedelta(minutes=5), recording_duration=1.0 * takes,
                                 is_recorded=True, recording_data={"chapters": [{"label": "Q1", "start": 0.0,
                                                                                 "end": 1.0}]})
    for t in range(takes):
        path = make_webm(data.recordings / f"{interview.uuid}-{t}.webm", seconds=1.0, seed=seed + t)
        rec = Recording.create(interview=interview, path=str(path), state="finalized", size=path.stat().st_size,
                               duration=1.0)
        Event.create(interview=interview, recording=rec, kind="recording.started", offset_s=0.0)
    SyncState.create(interview=interview, path="x", status="synced")
    return interview


@pytest.fixture
def three(data, database):
    return [add_interview(data, dt.datetime(2026, 11, d, 12, tzinfo=UTC), f"C{d}", n, takes=1 + (d == 22), seed=d)
            for d, n in ((20, "Ann"), (22, "Bo ../x"), (24, "Čech"))]


def run_cli(data, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_selection_by_date_and_uuid(three):
    days = lambda xs: [i.code for i in xs]  # noqa: E731
    assert days(export.select_interviews()) == ["C20", "C22", "C24"]
    assert days(export.select_interviews(since=dt.date(2026, 11, 21))) == ["C22", "C24"]
    assert days(export.select_interviews(until=dt.date(2026, 11, 22))) == ["C20", "C22"]
    assert days(export.select_interviews(dt.date(2026, 11, 22), dt.date(2026, 11, 22))) == ["C22"]
    assert days(export.select_interviews(uuids=[three[2].uuid, three[0].uuid])) == ["C24", "C20"]
    with pytest.raises(export.ExportError, match="No session with uuid nope"):
        export.select_interviews(uuids=["nope"])
    session = export.to_export_session(three[1])
    assert len(session.files) == 2 and session.row["sync_state"] == "synced"
    assert session.document["events"][0]["kind"] == "recording.started"


def test_cli_export_writes_a_valid_bag_marks_and_audits(three, data, tmp_path):
    target = tmp_path / "usb"
    target.mkdir()
    close_database()                       # the CLI is another process
    proc = run_cli(data, "export", "--to", str(target), "--since", "2026-11-21", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["sessions"] == 2 and result["files"] == 3 and result["verified"]
    bag = Path(result["path"])
    bagit.Bag(str(bag)).validate()
    assert all(decode_counts(p) == (10, 48000) for p in bag.rglob("*.webm"))
    names = [p.name for p in bag.rglob("*")]
    assert not [n for n in names if any(word in n for word in ("C22", "C24", "Bo", "Čech"))]   # no personal data
    open_database(data.database)
    exported = {i.code: i.exported_at for i in Interview.select()}
    assert exported["C20"] is None and exported["C22"] and exported["C24"]
    audit = list(AuditLog.select().where(AuditLog.action == "export"))
    assert len(audit) == 1 and audit[0].actor == "cli" and audit[0].target == str(bag)
    assert sorted(audit[0].detail["sessions"]) == sorted([three[1].uuid, three[2].uuid])


def test_cli_export_errors_name_the_fix(three, data, tmp_path):
    close_database()
    missing = run_cli(data, "export", "--to", str(tmp_path / "absent"))
    assert missing.returncode == 1 and "plug in the USB stick" in missing.stderr
    unknown = run_cli(data, "export", "--to", str(tmp_path), "--session", "nope", "--json")
    assert unknown.returncode == 1 and "No session with uuid nope" in json.loads(unknown.stdout)["error"]
    inside = run_cli(data, "export", "--to", str(data.recordings))
    assert inside.returncode == 1 and "inside the kiosk's data folder" in inside.stderr
    assert [p.name for p in data.recordings.iterdir() if not p.name.endswith(".webm")] == []
    bad_date = run_cli(data, "export", "--to", str(tmp_path), "--since", "24.11.2026")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    open_database(data.database)
    failed = [a for a in AuditLog.select() if a.action == "export.failed"]
    assert len(failed) == 1 and "plug in" in failed[0].detail["reason"]


def test_cli_set_pin_and_status(data, database):
    close_database()
    weak = run_cli(data, "admin", "set-pin", "--stdin", stdin="1111\n")
    assert weak.returncode == 1 and "repeated" in weak.stderr
    assert run_cli(data, "admin", "set-pin", stdin="").returncode == 2      # no terminal, no --stdin
    ok = run_cli(data, "admin", "set-pin", "--stdin", stdin="582047\n")
    assert ok.returncode == 0, ok.stderr
    status = run_cli(data, "admin", "status", "--json")
    assert json.loads(status.stdout) == {"pin_set": True, "tries_left": admin_auth.MAX_TRIES, "locked_for_s": 0}
    open_database(data.database)
    stored = Setting.get(Setting.key == admin_auth.KEY_HASH).value
    assert stored.startswith("scrypt$") and "582047" not in stored
    assert admin_auth.for_database().check("582047").ok
    assert [a.action for a in AuditLog.select().order_by(AuditLog.id)] == ["admin.pin_set", "admin.login"]


def test_cli_sigterm_mid_export_cancels_and_leaves_nothing(data, database, tmp_path):
    import signal
    import time
    interview = Interview.create(code="BIG", candidate_name="Big", status="completed")
    big = data.recordings / "big.webm"
    with open(big, "wb") as handle:             # sparse: cheap to make, still 150 MB to copy and hash
        handle.truncate(150 * 1024 * 1024)
    Recording.create(interview=interview, path=str(big), state="finalized", size=big.stat().st_size)
    close_database()
    target = tmp_path / "usb"
    target.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "export", "--to",
                             str(target), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".partial") for p in target.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert json.loads(out) == {"ok": False, "cancelled": True,
                               "error": "Export cancelled; nothing was left on the target."}
    assert list(target.iterdir()) == []
    open_database(data.database)
    assert [a.detail["reason"] for a in AuditLog.select() if a.action == "export.failed"] == ["cancelled"]
    assert Interview.get(Interview.code == "BIG").exported_at is None
