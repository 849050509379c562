"""`kiosk sync` as the admin runs it: a separate process against the real server and database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.db.database import close_database, open_database
from kiosk.db.models import SyncState
from tests.helpers.sync import make_interview, sync_config

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.usefixtures("database")     # `data` with its database open


def run_cli(data, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "sync", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=full_env)


def test_sync_once_json_reports_each_file_and_exits_0(data, tus_server):
    interview = make_interview(data, media="bin", size=300 * 1024)
    close_database()
    proc = run_cli(data, "--once", "--queue-all", "--server", tus_server.url, "--json",
                   env={"KIOSK_SYNC_CHUNK_MB": "0.125"})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["synced"] == 2 and result["not_synced"] == 0
    assert result["server"] == tus_server.url
    by_kind = {f["kind"]: f for f in result["files"]}
    assert by_kind["recording"]["size"] == 300 * 1024 and by_kind["recording"]["verified_by"] == ["offset",
                                                                                                   "readback"]
    assert all(f["interview"] == interview.uuid for f in result["files"])
    open_database(data.database)
    row = SyncState.get(SyncState.kind == "recording")
    assert row.status == "synced"
    stored = [u for u in tus_server.uploads() if u.metadata["kind"] == "recording"]
    assert hashlib.sha256(stored[0].path.read_bytes()).hexdigest() == row.sha256
    close_database()
    again = run_cli(data, "--once", "--server", tus_server.url)
    assert again.returncode == 0 and "nothing to upload" in again.stdout and "0 not synced" in again.stdout


def test_sync_once_with_server_down_exits_1_and_keeps_the_queue(data, tus_server):
    make_interview(data, media="bin", size=10 * 1024)
    tus_server.kill()
    close_database()
    proc = run_cli(data, "--once", "--queue-all", "--server", tus_server.url)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("pending") for line in lines[:2]), proc.stdout
    assert "0 synced, 2 not synced" in lines[-1]
    tus_server.restart()
    proc = run_cli(data, "--once", "--server", tus_server.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()[:2]] == ["synced", "synced"]


def test_sync_refuses_a_token_over_plain_http_and_never_prints_it(data):
    close_database()
    proc = run_cli(data, "--once", env={"KIOSK_SYNC_TOKEN": "tok-abcdef-123456",
                                        "KIOSK_SYNC_SERVER_URL": "http://sync.example.org/files/"})
    assert proc.returncode == 2 and "https" in proc.stderr and "Fix:" in proc.stderr
    assert "tok-abcdef-123456" not in proc.stdout + proc.stderr
    proc = run_cli(data, "--once")
    assert proc.returncode == 2 and "sync.server_url" in proc.stderr


def test_sync_without_once_drains_the_queue_until_stopped(data, tus_server):
    import signal
    import time

    from kiosk.sync.worker import enqueue_interview

    enqueue_interview(make_interview(data, media="bin", size=20 * 1024), data, Config())
    close_database()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "sync", "--json",
                             "--server", tus_server.url], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        lines = []
        deadline = time.monotonic() + 60
        while len(lines) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line:
                lines.append(json.loads(line))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [(e["event"], e["status"]) for e in lines] == [("sync.item", "synced")] * 2
    # The booth status document goes out when the uploader starts (sync.status_interval_s, default 300 s).
    assert sorted(u.metadata["kind"] for u in tus_server.uploads()) == ["metadata", "recording", "status"]


def test_a_second_uploader_on_the_same_data_dir_is_refused(data, tus_server):
    from kiosk.sync.worker import SyncWorker

    make_interview(data, media="bin", size=10 * 1024)
    app_worker = SyncWorker(sync_config(tus_server.url), data, auto_queue=False)
    assert app_worker.run_once() == []          # holds the uploader lock until stopped, like the running app
    close_database()
    try:
        proc = run_cli(data, "--once", "--queue-all", "--server", tus_server.url)
        assert proc.returncode == 1 and "another uploader" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    finally:
        app_worker.stop()
    proc = run_cli(data, "--once", "--server", tus_server.url)
    assert proc.returncode == 0 and proc.stdout.count("synced   ") == 2, proc.stdout + proc.stderr



def test_sync_killed_mid_upload_resumes_in_the_next_run(data, tus_server):
    import signal
    import time

    from kiosk.sync.worker import enqueue_interview

    enqueue_interview(make_interview(data, media="bin", size=1024 * 1024), data, Config())
    close_database()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_SYNC_BANDWIDTH_KBPS": "4096",   # 512 kB/s: ~2 s
           "KIOSK_SYNC_CHUNK_MB": "0.25"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "sync", "--once",
                             "--server", tus_server.url], stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    try:
        open_database(data.database)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = SyncState.get(SyncState.kind == "recording")
            if row.offset >= 256 * 1024:
                break
            time.sleep(0.05)
        close_database()
        proc.send_signal(signal.SIGKILL)       # power cut of the uploader: no clean-up at all
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    open_database(data.database)
    row = SyncState.get(SyncState.kind == "recording")
    assert row.status == "uploading" and 256 * 1024 <= row.offset < 1024 * 1024 and row.upload_url
    close_database()
    # The next run takes the lock the dead process held and resumes at the server's offset.
    done = run_cli(data, "--once", "--json", "--server", tus_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    report = {f["kind"]: f for f in json.loads(done.stdout)["files"]}["recording"]
    assert report["status"] == "synced" and report["resumed_from"] >= 256 * 1024
    assert report["sent"] == 1024 * 1024 - report["resumed_from"]
    stored = [u for u in tus_server.uploads() if u.metadata["kind"] == "recording"]
    assert len(stored) == 1
    open_database(data.database)
    assert hashlib.sha256(stored[0].path.read_bytes()).hexdigest() == SyncState.get(
        SyncState.kind == "recording").sha256
