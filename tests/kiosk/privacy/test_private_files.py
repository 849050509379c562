"""Private files: stat of every file and folder the kiosk writes, whatever umask it was started with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kiosk.db import migrations
from tests.kiosk.privacy.helpers import assert_private, modes_under

ROOT = Path(__file__).resolve().parents[3]


def _kiosk(data: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess:
    """`kiosk` as a user would start it: from a shell with the usual umask 022."""
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data), *args], capture_output=True,
                          text=True, timeout=180, cwd=ROOT, preexec_fn=lambda: os.umask(umask),
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_every_file_and_folder_a_session_leaves_is_the_kiosk_users_alone(tmp_path):
    data = tmp_path / "data"
    for args in (["sessions", "schedule", "--template", "general", "--code", "A1", "--name", "N"],
                 ["keys", "show"], ["record", "--camera", "demo", "--mic", "demo", "--duration", "1", "--size",
                                    "160x120", "--fps", "10", "--profile", "webm-vp8-opus"],
                 ["sessions", "list"]):
        done = _kiosk(data, *args)
        assert done.returncode == 0, done.stderr
    found = modes_under(data)
    # The database with its WAL, the log, the key and the take are all there, and all private.
    for expected in ("kiosk.sqlite3", "logs/kiosk.log", "keys/kiosk_ed25519", "media/interview_recordings"):
        assert expected in found, sorted(found)
    assert any(name.endswith(".webm") for name in found), sorted(found)
    assert_private(data)


def test_a_data_dir_an_older_kiosk_left_open_is_closed_at_start(tmp_path):
    data = tmp_path / "data"
    (data / "media" / "interview_recordings").mkdir(parents=True)
    (data / "logs").mkdir()
    (data / "sync").mkdir()
    for name in ("media/interview_recordings/interview_x.webm", "logs/kiosk.log", "sync/x.session.json"):
        (data / name).write_bytes(b"older kiosk")
        (data / name).chmod(0o644)
    for folder in (data, data / "media", data / "media" / "interview_recordings", data / "logs", data / "sync"):
        folder.chmod(0o755)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the kiosk's")
    outside.chmod(0o644)
    (data / "link-to-elsewhere").symlink_to(outside)
    done = _kiosk(data, "sessions", "list")
    assert done.returncode == 0, done.stderr
    modes = modes_under(data)
    link = modes.pop("link-to-elsewhere")
    assert all(mode in (0o600, 0o700) for mode in modes.values()), modes
    assert modes["sync"] == 0o700 and modes["sync/x.session.json"] == 0o600
    assert (outside.stat().st_mode & 0o777) == 0o644 and link    # a symlink's target is not ours to change


def test_doctor_warns_about_a_readable_kiosk_toml_holding_a_token(tmp_path):
    import json

    data = tmp_path / "data"
    config = tmp_path / "kiosk.toml"
    config.write_text('[camera]\nspec = "demo"\n[mic]\nspec = "demo"\n[sync]\ntoken = "t0ken-in-file"\n')
    config.chmod(0o644)
    done = _kiosk(data, "--config", str(config), "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["config"]["status"] == "warn" and f"chmod 600 '{config}'" in checks["config"]["fix"]
    assert "t0ken-in-file" not in done.stdout + done.stderr
    assert checks["privacy"]["status"] == "warn" and "privacy.recipients" in checks["privacy"]["fix"]
    config.chmod(0o600)
    done = _kiosk(data, "--config", str(config), "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["config"]["status"] == "ok" and "holds sync.token" in checks["config"]["detail"]
    assert f"schema {migrations.LATEST}" in checks["database"]["detail"]
