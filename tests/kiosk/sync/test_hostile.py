"""The client against a broken or hostile tus server (tests/harness/tus_hostile.py in front of the real @tus/server):
every bad answer ends in a clear TusError naming the server and the header, the row goes back to the queue with
back-off, nothing reaches another host, and the next run against the same server, now sane, completes byte-identical."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.db.database import close_database, open_database
from kiosk.db.models import SyncState, utcnow
from kiosk.sync import tus
from kiosk.sync.tus import MemoryRecord, TusClient
from kiosk.sync.worker import SyncWorker, enqueue_interview
from tests.harness.tus import random_bytes
from tests.harness.tus_hostile import HostileTus
from tests.helpers.sync import make_interview, sync_config
from tests.helpers.wait import wait_for

KiB = 1024
ROOT = Path(__file__).resolve().parents[3]

# fault -> what the error must say (besides naming the server)
EXPECTED = {
    "options-bare": r"answered OPTIONS without the Tus-Version header that tus 1.0 requires",
    "headers-cut": r"answer ended inside its headers or they are malformed",
    "offset-nonascii": r"malformed Upload-Offset header \('²', 1 characters\): expected ASCII digits",
    "offset-huge": r"malformed Upload-Offset header \('9+'\.\.\., 5000 characters\): expected ASCII digits",
    "location-malformed": r"malformed Location header \('http://\[x'",
    "location-foreign": r"Location on another origin \(http://127\.0\.0\.1:\d+/files/\w+\)\. Fix: .*sync\.allowed_hosts",
    "no-progress": r"took 3 chunks of .* in a row without moving its Upload-Offset past 0",
    "huge-error-body": r"PATCH .* -> 500",
}

pytestmark = pytest.mark.usefixtures("database")     # `data` with its database open


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_a_hostile_answer_requeues_the_row_and_the_next_run_completes(fault, data, tus_server,
                                                                       hostile_tus):
    interview = make_interview(data, media="bin", size=200 * KiB)
    enqueue_interview(interview, data, Config())
    hostile_tus.fault = fault
    worker = SyncWorker(sync_config(hostile_tus.url), data, quick_retry_delay_s=0.05)
    started = time.monotonic()
    try:
        reports = worker.run_once()
    finally:
        worker.stop()
    elapsed = time.monotonic() - started
    recording = next(r for r in reports if r.kind == "recording")
    assert recording.status == "pending", recording
    assert "sync server http://127.0.0.1:" in recording.error or "-> 500" in recording.error
    assert re.search(EXPECTED[fault], recording.error), recording.error
    row = SyncState.get(SyncState.id == recording.id)
    assert row.status == "pending" and row.last_error == recording.error
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()       # back-off, not a tight loop
    assert hostile_tus.witness.connections == 0                  # nothing went to another host
    if fault == "huge-error-body":
        # The 4 GiB body was not downloaded: the client read its cap and hung up (socket buffers aside).
        assert hostile_tus.error_body_sent < 64 * 1024 * KiB and elapsed < 60
    hostile_tus.fault = None                                     # the same server, sane again
    worker = SyncWorker(sync_config(hostile_tus.url), data)
    try:
        again = worker.run_once()
    finally:
        worker.stop()
    # (A small file whose only PATCH was stored before its answer was cut is already synced by the first run.)
    assert again and [r.status for r in again] == ["synced"] * len(again)
    assert [r.status for r in SyncState.select()] == ["synced", "synced"]
    row = SyncState.get(SyncState.id == recording.id)
    complete = [u for u in tus_server.uploads() if u.metadata.get("kind") == "recording" and u.offset == u.size]
    assert len(complete) == 1 and hashlib.sha256(complete[0].path.read_bytes()).hexdigest() == row.sha256


def test_a_stalled_server_never_gets_the_same_chunk_forever(tus_server, hostile_tus, tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(random_bytes(300 * KiB, 5))
    hostile_tus.fault = "no-progress"
    with TusClient(hostile_tus.url, chunk_size=64 * KiB) as client:
        with pytest.raises(tus.TusProtocolError, match="without moving its Upload-Offset"):
            client.upload(path, MemoryRecord())
    patches = [r for r in hostile_tus.requests if r[0] == "PATCH"]
    assert len(patches) == tus.MAX_STALLED_CHUNKS


def test_a_huge_error_body_is_read_only_to_the_cap(tus_server, hostile_tus, tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(random_bytes(100 * KiB, 6))
    hostile_tus.fault = "huge-error-body"
    tracemalloc.start()
    try:
        with TusClient(hostile_tus.url, chunk_size=64 * KiB) as client:
            with pytest.raises(tus.TusUnavailable, match="-> 500"):
                client.upload(path, MemoryRecord())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * KiB, f"peak Python allocation {peak} bytes"
    assert hostile_tus.error_body_sent < 64 * 1024 * KiB


def test_location_rules():
    with TusClient("https://centre.example.org/files/", allowed_hosts=[("cdn.example.org", None),
                                                                         ("up.example.org", 8443)]) as client:
        assert client.url_problem("https://centre.example.org/files/abc") == ""
        assert client.url_problem("https://centre.example.org:443/files/abc") == ""
        assert client.url_problem("https://cdn.example.org/x") == ""
        assert client.url_problem("https://up.example.org:8443/x") == ""
        assert "another origin" in client.url_problem("https://up.example.org/x")          # port not listed
        assert "another origin" in client.url_problem("https://evil.example.net/x")
        assert "plain http" in client.url_problem("http://cdn.example.org/x")             # no downgrade
        assert "another origin" in client.url_problem("http://centre.example.org/files/abc")  # scheme is origin


def test_the_worker_survives_an_injected_exception(data, tus_server, expect_log, monkeypatch, caplog):
    """A bug no branch foresaw (here: building the upload metadata raises once): logged with the session's uuid, the
    row back in the queue with back-off, the worker thread carries on and uploads it on the next try."""
    expect_log("kiosk.sync.worker", r"failed on an unexpected error \(RuntimeError: injected fault\)")
    interview = make_interview(data, media="bin", size=50 * KiB)
    enqueue_interview(interview, data, Config())
    original = SyncWorker._metadata
    calls = []

    def failing_once(self, row, path):
        calls.append(row.id)
        if len(calls) == 1:
            raise RuntimeError("injected fault")
        return original(self, row, path)
    monkeypatch.setattr(SyncWorker, "_metadata", failing_once)
    caplog.set_level(logging.INFO, logger="kiosk.sync.worker")
    worker = SyncWorker(sync_config(tus_server.url), data, poll_s=0.1, backoff_base_s=0.5).start()
    try:
        wait_for(lambda: SyncState.get(SyncState.kind == "recording").last_error.startswith("unexpected error"),
                 what="the injected failure to be recorded")
        row = SyncState.get(SyncState.kind == "recording")
        assert row.status == "pending" and row.next_attempt_at is not None
        wait_for(lambda: SyncState.select().where(SyncState.status == "synced").count() == 2, what="sync")
        assert worker._thread is not None and worker._thread.is_alive()       # it carried on
    finally:
        worker.stop()
    logged = [r for r in caplog.records if r.name == "kiosk.sync.worker"]
    error = next(r for r in logged if r.levelno == logging.ERROR)
    assert interview.uuid in error.getMessage()
    assert any(r.exc_info for r in logged if r.levelno == logging.INFO)     # the traceback is in the log file
    assert SyncState.get(SyncState.kind == "recording").last_error == ""


def run_cli(data, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_SYNC_STATUS_INTERVAL_S": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "sync", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=full_env)


def test_sync_once_against_a_hostile_server_exits_1_with_a_clear_error(data, hostile_tus, tus_server):
    make_interview(data, media="bin", size=100 * KiB)
    close_database()
    hostile_tus.fault = "offset-nonascii"
    proc = run_cli(data, "--once", "--queue-all", "--server", hostile_tus.url)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "malformed Upload-Offset header ('²'" in proc.stdout and "0 synced, 2 not synced" in proc.stdout
    hostile_tus.fault = None
    proc = run_cli(data, "--once", "--server", hostile_tus.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    open_database(data.database)


def test_the_token_goes_only_to_the_configured_origin(data, tus_server_factory, hostile_tus):
    """`kiosk sync --server URL` with another origin than sync.server_url: the token stays home."""
    home = tus_server_factory(token="home-token-123")
    make_interview(data, media="bin", size=30 * KiB)
    close_database()
    env = {"KIOSK_SYNC_SERVER_URL": home.url, "KIOSK_SYNC_TOKEN": "home-token-123"}
    proc = run_cli(data, "--once", "--queue-all", "--server", hostile_tus.url, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "it is not sent to" in proc.stderr and "home-token-123" not in proc.stdout + proc.stderr
    assert hostile_tus.requests and not any("Authorization" in headers or "authorization" in headers
                                            for _, _, headers in hostile_tus.requests)
    open_database(data.database)
    SyncState.update(status="pending", upload_url=None, offset=0).execute()
    close_database()
    # The configured server itself does get it (it refuses requests without it).
    proc = run_cli(data, "--once", "--server", home.url, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not sent" not in proc.stderr
    assert len([u for u in home.uploads() if u.offset == u.size]) == 2
    open_database(data.database)


def test_a_host_in_allowed_hosts_receives_the_upload_but_never_the_token(data, tus_server, hostile_tus):
    """The server sends uploads to another front of the centre (another origin: its own port), listed in
    sync.allowed_hosts: the file goes there, byte-identical, and the token stays with sync.server_url."""
    other_front = HostileTus(tus_server.port)
    try:
        hostile_tus.fault, hostile_tus.foreign_port = "location-foreign", other_front.port
        make_interview(data, media="bin", size=120 * KiB)
        config = sync_config(hostile_tus.url, **{"sync.token": "centre-token-42",
                                                 "sync.allowed_hosts": [f"127.0.0.1:{other_front.port}"]})
        worker = SyncWorker(config, data)
        try:
            reports = worker.run_once()
        finally:
            worker.stop()
    finally:
        other_front.close()
    assert [r.status for r in reports] == ["synced", "synced"], reports
    assert all(r.url.startswith(f"http://127.0.0.1:{other_front.port}/files/") for r in reports)
    methods = {method for method, _, _ in other_front.requests}
    assert {"HEAD", "PATCH", "GET"} <= methods                   # the upload and its read-back went there
    assert not any(k.lower() == "authorization" for _, _, headers in other_front.requests for k in headers)
    assert all(headers.get("Authorization") == "Bearer centre-token-42"
               for method, _, headers in hostile_tus.requests if method != "OPTIONS")
    complete = [u for u in tus_server.uploads() if u.offset == u.size]
    rows = {r.sha256 for r in SyncState.select()}
    assert {hashlib.sha256(u.path.read_bytes()).hexdigest() for u in complete} == rows and len(complete) == 2
