"""A fleet: 8 booths (own data dirs, databases and sync.kiosk_id, each a real `kiosk sync` process) upload at once to
one @tus/server on S3 (moto) through a proxy that cuts connections, while the server is SIGKILLed and restarted.
Afterwards every recording and session JSON is in the bucket exactly once, byte-identical (sha256 read back through
boto3), with its metadata; and `kiosk centre report` finds every booth complete."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.db.database import close_database, open_database
from kiosk.db.models import Interview, SyncState
from kiosk.paths import DataDir
from tests.harness.tus import FaultProxy, S3Bucket, TusServer
from tests.helpers.sync import make_interview

ROOT = Path(__file__).resolve().parents[3]
BOOTHS = 8
SESSIONS_PER_BOOTH = 2
KiB = 1024


def make_booth(root: Path, index: int, server_url: str, rng: random.Random) -> tuple[DataDir, Path]:
    data = DataDir(root / f"booth-{index}").ensure()
    config = root / f"booth-{index}.toml"
    config.write_text(f'[sync]\nenabled = true\nserver_url = "{server_url}"\nkiosk_id = "booth-{index}"\n'
                      f'chunk_mb = 0.25\nstatus_interval_s = 4\n', encoding="utf-8")
    open_database(data.database)
    try:
        for _ in range(SESSIONS_PER_BOOTH):
            make_interview(data, media="bin", size=rng.randrange(200 * KiB, 900 * KiB))
    finally:
        close_database()
    return data, config


def not_synced(data: DataDir) -> int | None:
    """Rows not yet synced, read beside the running booth (WAL: readers never block it); None before it queued."""
    try:
        with sqlite3.connect(f"file:{data.database}?mode=ro", uri=True, timeout=5) as conn:
            total, waiting = conn.execute(
                "SELECT COUNT(*), SUM(status != 'synced') FROM sync_state").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if total < SESSIONS_PER_BOOTH * 2 else waiting


MIN_CUTS = 8
CHAOS_MAX_S = 60.0


def chaos(server: TusServer, proxy: FaultProxy, stop: threading.Event, log: list[str]) -> None:
    """While the booths upload: cut a connection at a random byte of the traffic (re-armed every 0.4 s) until
    MIN_CUTS cuts happened, and SIGKILL the server twice (at 2 s and 7 s) and bring it back. Counted in cuts, not
    seconds, so a loaded machine gets the same chaos; then the booths' back-off runs out and they finish."""
    rng = random.Random(15)
    started = time.monotonic()
    kills = [2.0, 7.0]
    while not stop.wait(0.4) and (kills or proxy.cuts < MIN_CUTS) and time.monotonic() - started < CHAOS_MAX_S:
        if not proxy.armed and proxy.cuts < MIN_CUTS:
            proxy.arm(rng.randrange(0, 200 * KiB))
        if kills and time.monotonic() - started >= kills[0]:
            kills.pop(0)
            server.kill()
            log.append(f"killed at {time.monotonic() - started:.1f} s")
            time.sleep(1.0)
            server.start()
            log.append(f"restarted at {time.monotonic() - started:.1f} s")
    proxy.disarm()


@pytest.mark.slow
def test_eight_booths_sync_to_s3_through_kills_and_cuts_each_file_once_byte_identical(tmp_path, moto_server):
    bucket = moto_server.new_bucket("fleet")
    server = TusServer(tmp_path / "tus-unused-dir", s3=S3Bucket(moto_server, bucket)).start()
    proxy = FaultProxy(server.port)
    rng = random.Random(8)
    booths = [make_booth(tmp_path, i, proxy.url(), rng) for i in range(BOOTHS)]
    processes: list[subprocess.Popen] = []
    stop = threading.Event()
    events: list[str] = []
    chaos_thread = threading.Thread(target=chaos, args=(server, proxy, stop, events), daemon=True)
    try:
        for data, config in booths:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_CONFIG": str(config)}
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--data-dir", str(data.root), "sync", "--json"], cwd=ROOT, env=env,
                stdout=open(data.root / "sync-out.jsonl", "w"), stderr=open(data.root / "sync-err.txt", "w")))
        chaos_thread.start()
        deadline = time.monotonic() + 110
        while time.monotonic() < deadline:
            if all(not_synced(data) == 0 for data, _ in booths) and not chaos_thread.is_alive():
                break
            time.sleep(0.5)
        stop.set()
        chaos_thread.join(10)
        left = {data.root.name: not_synced(data) for data, _ in booths}
        assert all(n == 0 for n in left.values()), f"not synced after 110 s: {left}; chaos: {events}"
        assert len(events) == 4 and proxy.cuts >= MIN_CUTS, (events, proxy.cuts)
    finally:
        stop.set()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        proxy.disarm()
        proxy.close()
    assert [p.returncode for p in processes] == [0] * BOOTHS
    for data, _ in booths:
        assert "Traceback" not in (data.root / "sync-err.txt").read_text()

    # Read the bucket back: every complete upload, its metadata and the sha256 of its bytes.
    s3 = moto_server.client()
    sizes = moto_server.objects(bucket)
    complete: dict[tuple[str, str, str], list[dict]] = {}
    for key in (k for k in sizes if k.endswith(".info")):
        info = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        upload_id, meta = key[:-len(".info")], info["metadata"]
        if meta.get("kind") == "status" or sizes.get(upload_id) != info["size"]:
            continue                  # booth status documents; uploads a cut left empty (retried as new ones)
        complete.setdefault((meta["kiosk_id"], meta["interview_uuid"], meta["filename"]), []).append(
            {"id": upload_id, "size": info["size"], "meta": meta, "sha256": moto_server.sha256(bucket, upload_id)})
    expected = 0
    for index, (data, _) in enumerate(booths):
        open_database(data.database)
        try:
            rows = list(SyncState.select(SyncState, Interview.uuid).join(Interview).objects())
        finally:
            close_database()
        assert len(rows) == SESSIONS_PER_BOOTH * 2 and {r.kind for r in rows} == {"recording", "metadata"}
        for row in rows:
            expected += 1
            copies = complete.get((f"booth-{index}", row.uuid, Path(row.path).name), [])
            assert len(copies) == 1, f"{Path(row.path).name} of booth-{index} arrived {len(copies)} times"
            [copy] = copies
            assert copy["sha256"] == row.sha256 == copy["meta"]["sha256"]
            assert copy["size"] == row.size == Path(row.path).stat().st_size
            assert copy["meta"]["kind"] == row.kind and row.upload_url.endswith(copy["id"])
    assert sum(len(c) for c in complete.values()) == expected == BOOTHS * SESSIONS_PER_BOOTH * 2

    proc = subprocess.run([sys.executable, "-m", "kiosk", "centre", "report", "--s3", f"s3://{bucket}",
                           "--endpoint", moto_server.endpoint, "--json"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **moto_server.env})
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], proc.stdout[-3000:]
    assert [b["kiosk_id"] for b in report["booths"]] == [f"booth-{i}" for i in range(BOOTHS)]
    assert all(b["sessions_verified"] == SESSIONS_PER_BOOTH and b["status"] is not None for b in report["booths"])
    server.stop()
