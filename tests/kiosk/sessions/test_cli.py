"""`kiosk sessions`, `kiosk stats`, `kiosk templates` through the real CLI entry point."""

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.db.database import close_database
from kiosk.db.models import AuditLog, Interview
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore
from kiosk.sessions.templates import sample_paths
from tests.helpers.db import record_real_take


@pytest.fixture
def cli(data_dir, capsys):
    def run(*argv):
        code = main(["--data-dir", str(data_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err
    yield run
    close_database()


def _toml():
    return str(next(p for p in sample_paths() if p.suffix == ".toml"))


def test_templates_import_list_show_check(cli, tmp_path):
    code, out, _ = cli("templates", "list")
    assert code == 0 and "no templates imported" in out
    code, out, _ = cli("templates", "import", _toml())
    assert code == 0 and "created template 'general': 3 question(s)" in out and "default for walk-ins" in out
    json_file = str(next(p for p in sample_paths() if p.suffix == ".json"))
    code, out, _ = cli("templates", "import", json_file, "--default")
    assert code == 0 and "created template 'oral-history'" in out
    code, out, _ = cli("templates", "list", "--json")
    listed = {t["name"]: t for t in json.loads(out)}
    assert listed["oral-history"]["default"] and not listed["general"]["default"]
    assert listed["general"]["questions"] == 3
    code, out, _ = cli("templates", "show", "general")
    assert code == 0 and "1. Please introduce yourself" in out and "answer 60 s" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[template]\nname = "x"\nconsent_text = "c"\n\n[[questions]]\ntext = "q"\nthink_s = "long"\n')
    code, _, err = cli("templates", "import", str(bad))
    assert code == 1 and f"{bad}:7: questions[0].think_s: must be a number of seconds" in err
    code, _, err = cli("templates", "check", str(bad))
    assert code == 1 and ":7: questions[0].think_s" in err
    code, out, _ = cli("templates", "check", json_file)
    assert code == 0 and "OK" in out


def test_sessions_list_show_stats_and_delete(cli, data_dir, monkeypatch):
    assert cli("templates", "import", _toml())[0] == 0
    code, out, _ = cli("sessions", "schedule", "--template", "general", "--code", "AB12", "--name", "Zoë Ünal",
                       "--json")
    scheduled = json.loads(out)["uuid"]
    data = DataDir(Path(data_dir))
    result = record_real_take(data.recordings / "cli-take.webm", 0.8)
    take = SessionStore(data).register_cli_take(result.metadata)

    code, out, _ = cli("sessions", "list")
    assert code == 0 and scheduled in out and take.uuid in out and "Zoë Ünal" in out and "scheduled" in out
    code, out, _ = cli("sessions", "list", "--json", "--status", "completed")
    (listed,) = json.loads(out)
    assert listed["uuid"] == take.uuid and listed["template"] == "cli"
    assert listed["recordings"][0]["sha256"] == result.metadata["sha256"]

    code, out, _ = cli("sessions", "show", take.uuid[:8])
    assert code == 0 and f"interview {take.uuid}" in out and "recording 1: finalized" in out
    assert "chapter" in out
    code, out, _ = cli("sessions", "show", take.uuid, "--json")
    shown = json.loads(out)
    assert shown["recording_duration"] == pytest.approx(result.metadata["duration"])
    assert any(e["kind"] == "session.ended" for e in shown["events"])
    code, _, err = cli("sessions", "show", "ffffffff")
    assert code == 1 and "no interview" in err

    code, out, _ = cli("stats", "--json")
    stats = json.loads(out)
    assert stats["count"] == 2 and stats["by_status"] == {"completed": 1, "scheduled": 1}
    assert stats["success_rate"] == 1.0 and stats["bytes_on_disk"] > 0
    assert stats["total_duration_s"] == pytest.approx(result.metadata["duration"], abs=0.01)
    code, out, _ = cli("stats")
    assert code == 0 and "success rate:    100.0 % of 1 finished" in out

    # delete asks: with no terminal it refuses; "no" keeps; "yes" deletes and audits
    code, _, err = cli("sessions", "delete", take.uuid)
    assert code == 2 and "--yes" in err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["no", "yes"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    code, out, _ = cli("sessions", "delete", take.uuid)
    assert code == 1 and "nothing deleted" in out and "only copy" in out
    assert (data.recordings / "cli-take.webm").exists()
    code, out, _ = cli("sessions", "delete", take.uuid, "--reason", "test")
    assert code == 0 and "deleted interview" in out
    assert not (data.recordings / "cli-take.webm").exists()
    assert not Interview.select().where(Interview.uuid == take.uuid).exists()
    assert AuditLog.select().where((AuditLog.action == "delete") & (AuditLog.target == take.uuid)).get().actor \
        == "cli"


def test_recover_and_retention_commands(cli, data_dir):
    data = DataDir(Path(data_dir))
    orphan = data.recordings / "interview_5e5e5e5e-1111-4222-8333-444455556666_20260101_000000.webm"
    record_real_take(orphan, 0.5, uuid="5e5e5e5e-1111-4222-8333-444455556666")
    code, out, _ = cli("sessions", "recover")
    assert code == 0 and f"adopted {orphan} as 5e5e5e5e-1111-4222-8333-444455556666" in out
    code, out, _ = cli("sessions", "recover", "--json")
    assert json.loads(out)["adopted"] == []
    code, out, _ = cli("sessions", "retention", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["deleted"] == []         # retention is off by default


def test_a_database_from_a_newer_kiosk_is_refused_by_the_commands(cli, data_dir):
    data = DataDir(Path(data_dir)).ensure()
    with sqlite3.connect(data.database) as conn:
        conn.execute("CREATE TABLE interview (id INTEGER PRIMARY KEY)")
        conn.execute("PRAGMA user_version = 999")
    before = data.database.read_bytes()
    for argv in (("sessions", "list"), ("stats",), ("templates", "list")):
        code, _, err = cli(*argv)
        assert code == 1 and "newer kiosk (schema version 999" in err and "Fix:" in err
    assert data.database.read_bytes() == before


def _kiosk_record(data_dir, *extra):
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[3]
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), "record", "--duration", "1",
                           "--camera", "demo", "--mic", "demo", "--size", "160x120", "--fps", "15",
                           "--profile", "webm-vp8-opus", "--json", *extra], cwd=root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(root)})


def test_kiosk_record_registers_its_take_as_a_cli_session(cli, data_dir):
    proc = _kiosk_record(data_dir)
    assert proc.returncode == 0, proc.stderr
    metadata = json.loads(proc.stdout.strip().splitlines()[-1])
    code, out, _ = cli("sessions", "list", "--json")
    (session,) = json.loads(out)
    assert (session["template"], session["status"], session["uuid"]) == ("cli", "completed",
                                                                       metadata["interview_uuid"])
    (recording,) = session["recordings"]
    assert recording["path"] == metadata["recording_path"] and recording["sha256"] == metadata["sha256"]
    assert recording["duration"] == pytest.approx(metadata["duration"])


def test_kiosk_record_keeps_the_take_when_the_database_cannot_be_used(data_dir):
    data = DataDir(Path(data_dir)).ensure()
    data.database.write_bytes(b"this is not a database" * 100)
    proc = _kiosk_record(data_dir)
    assert proc.returncode == 0, proc.stderr
    metadata = json.loads(proc.stdout.strip().splitlines()[-1])
    assert metadata["state"] == "finalized" and Path(metadata["recording_path"]).exists()
    assert "could not be registered as a session" in proc.stderr and "not an SQLite database" in proc.stderr
    assert data.database.read_bytes() == b"this is not a database" * 100
