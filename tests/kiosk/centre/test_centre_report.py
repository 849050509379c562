"""The booth status document and `kiosk centre report`, on @tus/server with its S3 store (moto) and its file store."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import disk
from kiosk.config import Config
from kiosk.db.models import Interview, Recording, SyncState
from kiosk.privacy import manifest, signing
from kiosk.sync.worker import SyncWorker, enqueue_interview
from tests.harness.tus import S3Bucket
from tests.helpers.sync import make_interview, sync_config

ROOT = Path(__file__).resolve().parents[3]
KiB = 1024

pytestmark = pytest.mark.usefixtures("database")     # `data` with its database open


def centre(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "centre", "report", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def booth_config(url: str) -> Config:
    return sync_config(url, **{"sync.status_interval_s": 300, "sync.kiosk_id": "booth-7"})


def test_status_document_in_the_bucket_and_the_report_names_what_the_bucket_lacks(data, moto_server,
                                                                                   tus_server_factory):
    bucket = moto_server.new_bucket()
    server = tus_server_factory(s3=S3Bucket(moto_server, bucket))
    synced = [make_interview(data, media="bin", size=150 * KiB) for _ in range(2)]
    worker = SyncWorker(booth_config(server.url), data)
    try:
        reports = worker.run_once()
        assert [r.status for r in reports] == ["synced"] * 4
        held = make_interview(data, media="bin", size=70 * KiB)       # ended after the run: still on the booth
        enqueue_interview(held, data, worker.config)
        url = worker.status.upload(worker._client)
    finally:
        worker.stop()
    assert url is not None
    # The status document is in the bucket, as the booth wrote it, with no personal data.
    upload_id = url.rsplit("/", 1)[1]
    objects = moto_server.objects(bucket)
    assert upload_id in objects and f"{upload_id}.info" in objects
    raw = moto_server.client().get_object(Bucket=bucket, Key=upload_id)["Body"].read()
    assert raw == worker.status.path.read_bytes()
    document = json.loads(raw)
    assert document["format"] == "kiosk-status/1" and document["kiosk_id"] == "booth-7"
    # Hours left by the one formula (kiosk.disk) on the free space the document reports.
    free = document["disk"]["free_bytes"]
    assert document["disk"]["reserve_bytes"] == disk.reserve_bytes(worker.config)
    assert document["disk"]["hours_left"] == round(disk.hours_left(worker.config, free), 2) > 0
    assert document["disk"]["bitrate_bps"] == disk.bitrate_bps(worker.config)
    assert document["queue"]["sessions"] == 1 and document["queue"]["files"] == 2
    [queued] = document["queue"]["queued_sessions"]
    rows = list(SyncState.select().where(SyncState.interview == held))
    assert queued["uuid"] == held.uuid and queued["bytes_left"] == sum(r.size for r in rows)
    assert sorted(document["synced_sessions"]) == sorted(i.uuid for i in synced)
    assert document["last_interview_at"] == max(i.ended_at for i in Interview.select()).isoformat()
    assert document["devices"]["camera"]["state"] == "unknown"          # no recorder in this process
    for personal in ("Zoë", "Ångström", "A17", "Wie heißen"):
        assert personal not in raw.decode("utf-8")
    info = json.loads(moto_server.client().get_object(Bucket=bucket, Key=f"{upload_id}.info")["Body"].read())
    assert info["metadata"]["kind"] == "status" and info["metadata"]["kiosk_id"] == "booth-7"

    args = ("--s3", f"s3://{bucket}", "--endpoint", moto_server.endpoint)
    proc = centre(*args, "--json", env=moto_server.env)
    assert proc.returncode == 1, proc.stderr                      # a session has not arrived
    report = json.loads(proc.stdout)
    [booth] = report["booths"]
    # Last seen by the server's clock: when the status document's upload was created, after the booth wrote it.
    assert booth["kiosk_id"] == "booth-7" and booth["status"]["generated_at"] == document["generated_at"]
    seen = dt.datetime.fromisoformat(booth["last_seen"])
    assert dt.datetime.fromisoformat(document["generated_at"]) <= seen <= dt.datetime.now(dt.timezone.utc)
    assert booth["sessions_arrived"] == booth["sessions_verified"] == 2 and booth["files_verified"] == 4
    assert [e["interview"] for e in booth["not_arrived"]] == [held.uuid]
    assert booth["missing_after_sync"] == [] and booth["unverified_files"] == [] and booth["duplicates"] == []
    text = centre(*args, env=moto_server.env)
    assert text.returncode == 1 and f"not arrived: session {held.uuid}" in text.stdout

    # A recording the booth reports synced disappears from the bucket: the report names the session.
    lost = synced[0]
    rec_row = SyncState.get(SyncState.interview == lost, SyncState.kind == "recording")
    moto_server.client().delete_object(Bucket=bucket, Key=rec_row.upload_url.rsplit("/", 1)[1])
    report = json.loads(centre(*args, "--json", env=moto_server.env).stdout)
    [booth] = report["booths"]
    assert [e["interview"] for e in booth["missing_after_sync"]] == [lost.uuid]
    assert booth["sessions_verified"] == 1


def test_report_on_a_file_store_verifies_and_catches_a_damaged_copy(data, tus_server):
    make_interview(data, media="bin", size=90 * KiB)
    worker = SyncWorker(booth_config(tus_server.url), data)
    try:
        assert [r.status for r in worker.run_once()] == ["synced", "synced"]
    finally:
        worker.stop()
    proc = centre("--dir", str(tus_server.store))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "booth booth-7: ok" in proc.stdout and "1 of 1 arrived sessions verified (2 files; 0 recordings with a good signature, 1 unsigned)" in proc.stdout
    [stored] = [u for u in tus_server.uploads() if u.metadata.get("kind") == "recording"]
    data_bytes = bytearray(stored.path.read_bytes())
    data_bytes[1000] ^= 0xFF
    stored.path.write_bytes(bytes(data_bytes))
    proc = centre("--dir", str(tus_server.store), "--json")
    assert proc.returncode == 1
    [booth] = json.loads(proc.stdout)["booths"]
    assert [e["upload"] for e in booth["unverified_files"]] == [stored.id]
    assert "sha256 of the stored bytes" in booth["unverified_files"][0]["problem"]


def test_report_usage_errors_name_the_fix(tmp_path):
    proc = centre("--dir", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "Fix:" in proc.stderr and "Traceback" not in proc.stderr
    proc = centre("--s3", "bucket-without-scheme", "--endpoint", "http://127.0.0.1:9")
    assert proc.returncode == 2 and "s3://" in proc.stderr


def sign_take(data, interview, key) -> None:
    """The take's manifest as the kiosk writes it at finalize (kiosk.privacy.manifest), signed with `key`."""
    rec = Recording.get(Recording.interview == interview)
    path = Path(rec.path)
    document = manifest.build(interview.uuid, key.kiosk_id, [manifest.FileEntry.plain("recording", path)], "", 0,
                              rec.started_at, rec.ended_at, rec.duration)
    manifest.write(path, document, key)


def test_report_checks_each_recordings_signed_manifest_against_the_pinned_key(data, tus_server, tmp_path):
    booth_key = signing.KioskKey.load_or_create(tmp_path / "booth-7.key", "booth-7")
    other_key = signing.KioskKey.load_or_create(tmp_path / "other.key", "booth-7")
    good, forged = make_interview(data, media="bin", size=60 * KiB), make_interview(data, media="bin", size=60 * KiB)
    sign_take(data, good, booth_key)
    sign_take(data, forged, other_key)          # a manifest signed by someone else in booth-7's name
    worker = SyncWorker(booth_config(tus_server.url), data)
    try:
        assert [r.status for r in worker.run_once()] == ["synced"] * 4
    finally:
        worker.stop()
    stored = {u.metadata["interview_uuid"]: u for u in tus_server.uploads() if u.metadata.get("kind") == "recording"}
    assert stored[good.uuid].metadata["manifest"].startswith("{")          # the manifest travelled with sync
    # Without pinned keys: both signatures are good as such (each verifies with the key inside it).
    proc = centre("--dir", str(tus_server.store), "--json")
    [booth] = json.loads(proc.stdout)["booths"]
    assert proc.returncode == 0 and booth["recordings_signed"] == 2 and booth["sessions_verified"] == 2
    # With booth-7's key pinned, the forged one is named.
    signers = tmp_path / "allowed_signers"
    signers.write_text(booth_key.allowed_signers_line + "\n", encoding="utf-8")
    proc = centre("--dir", str(tus_server.store), "--allowed-signers", str(signers), "--json")
    assert proc.returncode == 1
    [booth] = json.loads(proc.stdout)["booths"]
    assert booth["recordings_signed"] == 1 and booth["sessions_verified"] == 1
    [bad] = booth["unverified_files"]
    assert bad["interview"] == forged.uuid and "signed with another key than booth-7's" in bad["problem"]
    signers.write_text("booth-7 ssh-ed25519 not-a-key\n", encoding="utf-8")
    proc = centre("--dir", str(tus_server.store), "--allowed-signers", str(signers))
    assert proc.returncode == 2 and "allowed signers line 1" in proc.stderr and "Traceback" not in proc.stderr
