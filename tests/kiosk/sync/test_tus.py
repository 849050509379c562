"""The tus client against the official @tus/server on 127.0.0.1: every byte, every resume, every refusal."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import requests

from kiosk.sync import tus
from kiosk.sync.tus import MemoryRecord, TusClient
from tests.harness.tus import random_bytes

KiB = 1024
MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[3]


def make_file(tmp_path: Path, name: str, size: int, seed: int = 1) -> tuple[Path, str]:
    path = tmp_path / name
    data = random_bytes(size, seed)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def stored_sha256(upload) -> str:
    return hashlib.sha256(upload.path.read_bytes()).hexdigest()


def test_options_reports_what_tus_server_offers(tus_server):
    with TusClient(tus_server.url) as client:
        caps = client.capabilities()
    assert "1.0.0" in caps.versions
    assert {"creation", "termination"} <= caps.extensions
    # @tus/server 2.x has no checksum extension: the client must not send Upload-Checksum to it.
    assert not caps.has("checksum") and caps.checksum_algorithm is None


def test_upload_arrives_byte_identical_with_metadata(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "take-1.webm", 1 * MiB + 12345)
    record = MemoryRecord()
    progress = []
    metadata = {"filename": "take-1.webm", "filetype": "video/webm", "interview": "4b0c-uuid",
                "kiosk_id": "kiosk-7", "recorded_at": "2026-11-25T01:00:00+00:00", "duration": "12.5",
                "kind": "recording", "name": "Zoë Ångström, 東京"}
    with TusClient(tus_server.url, chunk_size=256 * KiB) as client:
        result = client.upload(path, record, metadata=metadata, on_progress=lambda o, s: progress.append(o))
    assert result.size == path.stat().st_size and result.sha256 == sha
    assert result.resumed_from == 0 and result.bytes_sent == result.size
    assert result.verified_by == ("offset", "readback")
    assert record.upload_url == result.url and record.offset == result.size
    assert progress == sorted(progress) and progress[-1] == result.size and len(progress) == 5
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha and stored.size == stored.offset == result.size
    assert stored.metadata == {**metadata, "sha256": sha}
    assert result.url.endswith(stored.id)


def test_upload_with_checksum_extension_sends_checksum_per_patch(tus_server_factory, tmp_path):
    server = tus_server_factory(checksum=True)
    path, sha = make_file(tmp_path, "a.webm", 700 * KiB)
    with TusClient(server.url, chunk_size=128 * KiB) as client:
        assert client.capabilities().checksum_algorithm == "sha256"
        result = client.upload(path, MemoryRecord(), metadata={"filename": "a.webm"})
    assert result.verified_by == ("offset", "checksum", "readback")
    assert stored_sha256(server.uploads()[0]) == sha


def test_checksum_mismatch_460_resends_the_chunk(tus_server_factory, tmp_path):
    # The server flips a byte in the 2nd and 3rd PATCH bodies: it answers 460 and writes nothing; the client resends.
    server = tus_server_factory(checksum=True, corrupt_patches=(2, 3))
    path, sha = make_file(tmp_path, "a.webm", 500 * KiB)
    record = MemoryRecord()
    with TusClient(server.url, chunk_size=100 * KiB) as client:
        result = client.upload(path, record, metadata={"filename": "a.webm"})
    assert result.bytes_sent == path.stat().st_size + 2 * 100 * KiB
    assert stored_sha256(server.uploads()[0]) == sha
    assert "checksum" in result.verified_by


def test_resume_from_stored_url_continues_at_server_offset(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "take.webm", 1 * MiB)
    record = MemoryRecord()
    chunks = []
    with TusClient(tus_server.url, chunk_size=128 * KiB) as client:
        with pytest.raises(tus.Paused):
            client.upload(path, record, metadata={"filename": "take.webm"},
                          on_progress=lambda o, s: chunks.append(o), should_pause=lambda: len(chunks) >= 3)
    assert record.offset == 3 * 128 * KiB and record.upload_url
    # A new client (as after a reboot) with only the stored record.
    stored_record = MemoryRecord(upload_url=record.upload_url, offset=0)   # a stale offset: the server's counts
    with TusClient(tus_server.url, chunk_size=128 * KiB) as client:
        result = client.upload(path, stored_record, metadata={"filename": "take.webm"})
    assert result.resumed_from == 3 * 128 * KiB
    assert result.bytes_sent == 1 * MiB - 3 * 128 * KiB
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha


def test_server_killed_mid_upload_resumes_after_restart(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "take.webm", 2 * MiB)
    record = MemoryRecord()
    errors: list[Exception] = []
    client = TusClient(tus_server.url, chunk_size=512 * KiB, throttle=tus.Throttle(2 * MiB),
                       timeout=(2.0, 5.0))

    def run():
        try:
            client.upload(path, record, metadata={"filename": "take.webm"})
        except tus.TusError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        uploads = tus_server.uploads()
        if uploads and 0 < uploads[0].offset:
            break
        time.sleep(0.02)
    tus_server.kill()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], tus.TusUnavailable) and errors[0].retryable
    on_disk = tus_server.uploads()[0].offset
    assert 0 < on_disk < 2 * MiB
    tus_server.restart()
    client.throttle = None
    result = client.upload(path, record, metadata={"filename": "take.webm"})
    client.close()
    assert result.resumed_from == on_disk          # not from zero: from what the server kept
    assert result.bytes_sent == 2 * MiB - on_disk
    [stored] = tus_server.uploads()               # no second upload
    assert stored_sha256(stored) == sha


CHILD = r"""
import json, sys
from pathlib import Path
from kiosk.sync.tus import TusClient, Throttle

class JsonRecord:
    def __init__(self, path):
        self.path = Path(path); self.upload_url = None; self.offset = 0
    def save(self):
        tmp = self.path.with_suffix('.tmp')
        tmp.write_text(json.dumps({'upload_url': self.upload_url, 'offset': self.offset}))
        tmp.replace(self.path)

url, file, state = sys.argv[1:4]
with TusClient(url, chunk_size=64 * 1024, throttle=Throttle(1024 * 1024)) as client:
    client.upload(file, JsonRecord(state), metadata={'filename': 'take.webm'})
"""


def test_client_killed_mid_upload_resumes_from_its_stored_record(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "take.webm", 3 * MiB)
    state = tmp_path / "state.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, tus_server.url, str(path), str(state)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if state.exists() and json.loads(state.read_text())["offset"] >= 256 * KiB:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    saved = json.loads(state.read_text())
    assert saved["upload_url"] and 0 < saved["offset"] < 3 * MiB
    record = MemoryRecord(upload_url=saved["upload_url"], offset=saved["offset"])
    with TusClient(tus_server.url, chunk_size=512 * KiB) as client:
        result = client.upload(path, record, metadata={"filename": "take.webm"})
    assert result.resumed_from >= saved["offset"] > 0
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha


def test_fifty_cuts_at_random_byte_offsets_fifty_complete_no_duplicates(tus_server, fault_proxy, tmp_path):
    rng = random.Random(20261125)
    files = []
    for i in range(50):
        files.append(make_file(tmp_path, f"take-{i}.webm", rng.randrange(64 * KiB, 384 * KiB), seed=i))
    attempts = 0
    with TusClient(fault_proxy.url(), chunk_size=64 * KiB, timeout=(5.0, 10.0)) as client:
        for i, (path, sha) in enumerate(files):
            record = MemoryRecord()
            # One cut somewhere in this file's traffic (request and response bytes, any request).
            fault_proxy.arm(rng.randrange(0, path.stat().st_size * 2))
            while True:
                attempts += 1
                assert attempts < 500, "uploads through the proxy do not converge"
                try:
                    result = client.upload(path, record, metadata={"filename": path.name, "n": str(i)})
                    break
                except tus.TusUnavailable:
                    continue
            assert result.sha256 == sha
            fault_proxy.disarm()   # a cut that did not land in this file's traffic is not carried over
    uploads = tus_server.uploads()
    complete = [u for u in uploads if u.size is not None and u.offset == u.size]
    assert fault_proxy.cuts == 50      # each offset lies within its file's first attempt (>= 2 x size bytes)
    by_file = {}
    for upload in complete:
        by_file.setdefault(upload.metadata["n"], []).append(upload)
    assert sorted(by_file, key=int) == [str(i) for i in range(50)]
    for n, found in by_file.items():
        assert len(found) == 1, f"file {n} uploaded {len(found)} times"
        assert stored_sha256(found[0]) == files[int(n)][1]
    # Anything else on the server is an empty upload whose creation answer was cut (no data sent twice).
    assert all(u.offset == 0 for u in uploads if u not in complete)
    print(f"cuts {fault_proxy.cuts}, attempts {attempts}, orphans {len(uploads) - len(complete)}")


def test_offset_conflict_409_resyncs_from_head(tus_server, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kiosk.sync.tus")
    path, sha = make_file(tmp_path, "take.webm", 512 * KiB)
    data = path.read_bytes()
    record = MemoryRecord()
    interfered = []

    def sneak_in_a_chunk(offset, size):
        # Another writer appends the next chunk behind the client's back: the client's next PATCH gets 409.
        if not interfered and offset < size:
            response = requests.patch(record.upload_url, data=data[offset:offset + 64 * KiB], headers={
                "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"}, timeout=10)
            assert response.status_code == 204
            interfered.append(offset)

    with TusClient(tus_server.url, chunk_size=128 * KiB) as client:
        result = client.upload(path, record, metadata={"filename": "take.webm"}, on_progress=sneak_in_a_chunk)
    assert interfered == [128 * KiB]
    assert [r.getMessage() for r in caplog.records if "conflict" in r.getMessage()] == [
        f"offset conflict on {record.upload_url}: the server is at {192 * KiB}"]
    assert result.size == 512 * KiB
    assert stored_sha256(tus_server.uploads()[0]) == sha


def test_upload_gone_on_server_starts_again(tus_server, tmp_path, expect_log):
    expect_log("kiosk.sync.tus", r"no longer has upload")
    path, sha = make_file(tmp_path, "take.webm", 300 * KiB)
    record = MemoryRecord()
    with TusClient(tus_server.url, chunk_size=100 * KiB) as client:
        with pytest.raises(tus.Paused):
            client.upload(path, record, should_pause=lambda: record.offset >= 100 * KiB)
        assert client.terminate(record.upload_url)
        old = record.upload_url
        result = client.upload(path, record)
    assert result.url != old and result.resumed_from == 0
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha


def test_read_back_mismatch_is_not_synced_and_uploads_again(tus_server, tmp_path, expect_log):
    expect_log("kiosk.sync.tus", r"server copy of take.webm differs")
    path, sha = make_file(tmp_path, "take.webm", 200 * KiB)
    record = MemoryRecord()

    def damage_server_copy(offset, size):
        if offset == size:
            [stored] = tus_server.uploads()
            with open(stored.path, "r+b") as f:
                f.seek(1000)
                f.write(b"\x00" * 16)

    with TusClient(tus_server.url, chunk_size=100 * KiB) as client:
        with pytest.raises(tus.VerifyFailed) as failure:
            client.upload(path, record, on_progress=damage_server_copy)
        assert failure.value.retryable and record.upload_url is None
        assert tus_server.uploads() == []      # the bad copy was terminated
        result = client.upload(path, record)
    assert "readback" in result.verified_by
    assert stored_sha256(tus_server.uploads()[0]) == sha


def test_token_is_sent_and_never_logged(tus_server_factory, tmp_path, caplog):
    token = "tok-9f8e7d6c5b4a-secret"
    server = tus_server_factory(token=token)
    path, sha = make_file(tmp_path, "take.webm", 100 * KiB)
    caplog.set_level(logging.DEBUG)
    with TusClient(server.url) as client:
        with pytest.raises(tus.TusRejected) as refused:
            client.upload(path, MemoryRecord())
    assert refused.value.status == 401 and not refused.value.retryable
    assert "sync.token" in str(refused.value)
    with TusClient(server.url, token=token, chunk_size=32 * KiB) as client:
        result = client.upload(path, MemoryRecord())
    assert stored_sha256(server.uploads()[0]) == sha and "readback" in result.verified_by
    assert any(r.name.startswith("urllib3") for r in caplog.records)   # DEBUG really was captured
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert token not in text


def test_token_needs_https_unless_loopback(tmp_path):
    with pytest.raises(tus.TusConfigError, match="https"):
        TusClient("http://sync.example.org/files/", token="t")
    TusClient("https://sync.example.org/files/", token="t").close()
    TusClient("http://localhost:1080/files/", token="t").close()
    TusClient("http://[::1]:1080/files/", token="t").close()
    TusClient("http://sync.example.org/files/").close()           # no token: plain http is allowed
    with pytest.raises(tus.TusConfigError, match="ca_bundle"):
        TusClient("https://sync.example.org/files/", ca_bundle=str(tmp_path / "missing.pem"))


def test_file_larger_than_server_limit_is_refused_413(tus_server_factory, tmp_path):
    server = tus_server_factory(max_size=50 * KiB)
    path, _ = make_file(tmp_path, "big.webm", 60 * KiB)
    with TusClient(server.url) as client:
        assert client.capabilities().max_size == 50 * KiB
        with pytest.raises(tus.TusRejected) as refused:
            client.upload(path, MemoryRecord())
    assert refused.value.status == 413 and not refused.value.retryable
    assert server.uploads() == []


def test_memory_stays_bounded_by_block_not_chunk(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "big.webm", 24 * MiB)
    with TusClient(tus_server.url, chunk_size=12 * MiB, verify=False) as client:
        client.capabilities()
        tracemalloc.start()
        try:
            client.upload(path, MemoryRecord(), sha256=sha)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # A couple of send blocks (1 MiB each) in flight, never the 12 MiB chunk.
    assert peak < 3 * tus.SEND_BLOCK + 512 * KiB < 12 * MiB, f"peak Python allocation {peak} bytes"
    assert stored_sha256(tus_server.uploads()[0]) == sha


def test_bandwidth_cap_is_honoured(tus_server, tmp_path):
    path, _ = make_file(tmp_path, "take.webm", 1 * MiB)
    rate = 2 * MiB
    with TusClient(tus_server.url, chunk_size=256 * KiB, throttle=tus.Throttle(rate), verify=False) as client:
        client.capabilities()
        started = time.monotonic()
        client.upload(path, MemoryRecord())
        elapsed = time.monotonic() - started
    # 1 MiB at 2 MiB/s with at most 0.25 s of burst credit: never faster than 0.25 s.
    assert elapsed >= (1 * MiB / rate) - tus.Throttle.BURST_S - 0.01


def test_pause_abandons_a_chunk_midway_and_resumes_where_the_server_stands(tus_server, tmp_path):
    # One chunk for the whole file at a capped rate: a pause must not wait for the chunk to end.
    path, sha = make_file(tmp_path, "take.webm", 1 * MiB)
    record = MemoryRecord()
    started = time.monotonic()
    with TusClient(tus_server.url, chunk_size=1 * MiB, throttle=tus.Throttle(1 * MiB)) as client:
        with pytest.raises(tus.Paused):
            client.upload(path, record, should_pause=lambda: time.monotonic() - started > 0.5)
        paused_at = record.offset
        assert 0 < paused_at < 1 * MiB          # the server kept what arrived before the pause
        client.throttle = None
        result = client.upload(path, record)
    assert result.resumed_from >= paused_at and result.bytes_sent == 1 * MiB - result.resumed_from
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha


def test_pause_during_read_back_keeps_the_upload_and_verifies_on_resume(tus_server, tmp_path):
    path, sha = make_file(tmp_path, "take.webm", 300 * KiB)
    record = MemoryRecord()
    all_sent = []
    with TusClient(tus_server.url, chunk_size=100 * KiB) as client:
        with pytest.raises(tus.Paused, match="reading back"):
            client.upload(path, record, on_progress=lambda o, s: all_sent.append(o == s),
                          should_pause=lambda: bool(all_sent) and all_sent[-1])
        assert record.offset == 300 * KiB
        result = client.upload(path, record)
    assert result.resumed_from == 300 * KiB and result.bytes_sent == 0
    assert result.verified_by == ("offset", "readback")
    [stored] = tus_server.uploads()
    assert stored_sha256(stored) == sha


def test_https_with_private_ca_bundle_and_token(tus_https, tmp_path):
    proxy, server, ca = tus_https
    path, sha = make_file(tmp_path, "take.webm", 300 * KiB)
    # Verified by default: without the CA bundle the certificate is refused, nothing is sent.
    with TusClient(proxy.url, token="tls-token") as client:
        with pytest.raises(tus.TusUnavailable, match="sync.ca_bundle"):
            client.upload(path, MemoryRecord())
    assert server.uploads() == []
    with TusClient(proxy.url, token="tls-token", ca_bundle=str(ca), chunk_size=100 * KiB) as client:
        record = MemoryRecord()
        result = client.upload(path, record, metadata={"filename": "take.webm"})
    # The server behind the proxy answered with an http:// Location; the client stayed on https.
    assert record.upload_url.startswith(f"https://127.0.0.1:{proxy.port}/files/")
    assert "readback" in result.verified_by
    [stored] = server.uploads()
    assert stored_sha256(stored) == sha
