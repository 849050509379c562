"""Finished takes on the real parts: sealed to the centre's key, signed, checked by `age`, `ssh-keygen` and
`kiosk verify`; no plaintext media left after a finished take or after a kill -9 and a restart."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.db import decode
from tests.kiosk.privacy.helpers import age_decrypt, assert_private, make_centre_key

ROOT = Path(__file__).resolve().parents[3]
MEDIA = (".webm", ".mkv", ".mp4", ".m4a")
RECORD = ["record", "--camera", "demo", "--mic", "demo", "--size", "160x120", "--fps", "10",
          "--profile", "webm-vp8-opus", "--json"]


@pytest.fixture
def kiosk(tmp_path):
    """kiosk(*args) runs the real CLI against one data dir and a kiosk.toml naming the centre's age key."""
    centre = make_centre_key(tmp_path)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[privacy]\nrecipients = ["{centre.recipient}"]\n[sync]\nkiosk_id = "booth-3"\n'
                      '[storage]\nmin_free_mb = 50\n')
    data = tmp_path / "data"

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data), "--config", str(config),
                               *args], capture_output=True, text=True, timeout=240, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done
    run.data, run.centre, run.tmp = data, centre, tmp_path
    return run


def _plain_media(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in MEDIA or p.name.endswith(
        tuple(s + ".json" for s in MEDIA)))


def _uuid(kiosk) -> str:
    listing = json.loads(kiosk("sessions", "list", "--json").stdout)
    (only,) = listing
    return only["uuid"]


def test_a_finished_take_is_sealed_signed_and_decrypted_by_age(kiosk):
    kiosk(*RECORD, "--duration", "2")
    data = kiosk.data
    assert _plain_media(data) == []                         # no plaintext media, no plaintext sidecar
    (sealed,) = data.rglob("*.webm.age")
    out = age_decrypt(kiosk.centre, sealed, kiosk.tmp / "take.webm")
    frames, audio, duration = decode(out)
    assert frames >= 10 and audio > 1.5 and 1.5 < duration < 4
    (side,) = data.rglob("*.webm.json.age")
    metadata = json.loads(age_decrypt(kiosk.centre, side, kiosk.tmp / "take.json").read_text())
    assert metadata["state"] == "finalized"
    assert_private(data)

    uuid = _uuid(kiosk)
    shown = json.loads(kiosk("sessions", "show", uuid, "--json").stdout)
    assert shown["recording_path"] == str(sealed)
    (manifest,) = data.rglob("*.manifest.json")
    document = json.loads(manifest.read_text())
    (entry,) = document["files"]
    assert document["interview"] == uuid and document["kiosk_id"] == "booth-3"
    assert entry["name"] == sealed.name and entry["encrypted"] and entry["size"] == sealed.stat().st_size
    assert entry["plain_sha256"] == metadata["sha256"]

    allowed = kiosk.tmp / "allowed_signers"
    allowed.write_text(kiosk("keys", "show", "--allowed-signers").stdout)
    checked = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "booth-3", "-n",
                              "kiosk-session", "-s", str(manifest) + ".sig"], stdin=manifest.open("rb"),
                             capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    verified = json.loads(kiosk("verify", uuid, "--json").stdout)
    assert verified["intact"] and verified["manifests"][0]["manifest"] == str(manifest)
    assert verified["manifests"][0]["signature"] == str(manifest) + ".sig"
    assert {c["check"] for c in verified["manifests"][0]["checks"]} == {"signature", "file", "chain"}


def test_one_flipped_byte_or_one_edited_event_makes_verify_fail(kiosk):
    kiosk(*RECORD, "--duration", "1")
    uuid = _uuid(kiosk)
    assert kiosk("verify", uuid).stdout.strip().endswith("intact")
    (sealed,) = kiosk.data.rglob("*.webm.age")
    original = sealed.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    sealed.write_bytes(bytes(flipped))
    failed = kiosk("verify", uuid, check=False)
    assert failed.returncode == 1 and f"FAIL  file: {sealed.name}: its bytes differ" in failed.stdout
    by_path = kiosk("verify", str(sealed.parent), "--json", check=False)
    assert by_path.returncode == 1 and not json.loads(by_path.stdout)["intact"]
    sealed.write_bytes(original)
    assert kiosk("verify", uuid).returncode == 0

    # Signed, but not by a kiosk the centre pinned: refused.
    from kiosk.privacy.signing import KioskKey
    other = KioskKey.load_or_create(kiosk.tmp / "other" / "key", "booth-9")
    foreign = kiosk("verify", uuid, "--key", other.public_line, check=False)
    assert foreign.returncode == 1 and "FAIL  signature: the signature was made with another key" in foreign.stdout

    conn = sqlite3.connect(kiosk.data / "kiosk.sqlite3")
    with conn:
        conn.execute("UPDATE event SET detail = '{\"status\": \"edited\"}' WHERE kind = 'session.ended'")
    conn.close()
    edited = kiosk("verify", uuid, check=False)
    assert edited.returncode == 1 and "FAIL  chain: event" in edited.stdout and "(session.ended)" in edited.stdout


def test_a_take_written_outside_the_data_dir_leaves_no_plaintext_beside_it(kiosk):
    out = kiosk.tmp / "elsewhere" / "take.webm"
    out.parent.mkdir()
    kiosk(*RECORD, "--duration", "1", "--out", str(out))
    assert _plain_media(out.parent) == [] and _plain_media(kiosk.data) == []
    (sealed,) = out.parent.glob("*.webm.age")
    assert decode(age_decrypt(kiosk.centre, sealed, kiosk.tmp / "back.webm"))[0] >= 5


def test_kill_9_mid_take_then_restart_leaves_only_ciphertext(kiosk):
    data = kiosk.data
    live = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(data), "--config",
                             str(kiosk.tmp / "kiosk.toml"), *RECORD], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not [p for p in data.rglob("*.webm") if p.stat().st_size > 20_000]:
            assert time.monotonic() < deadline and live.poll() is None, live.stderr.read() if live.poll() else ""
            time.sleep(0.2)
        assert _plain_media(data)                        # the live take is plaintext (crash safety)
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait(timeout=30)
    recovered = json.loads(kiosk("sessions", "recover", "--json").stdout)
    assert recovered["recovered"] or recovered["adopted"], recovered
    assert _plain_media(data) == [] and not list(data.rglob("*.journal*"))
    (sealed,) = data.rglob("*.webm.age")
    frames, _, duration = decode(age_decrypt(kiosk.centre, sealed, kiosk.tmp / "recovered.webm"))
    assert frames >= 5 and duration > 0.5
    assert kiosk("verify", str(sealed)).returncode == 0
    assert_private(data)


def test_an_export_carries_ciphertext_and_signed_manifests_privately_and_verifies_at_the_centre(kiosk):
    import bagit

    from kiosk.export.bag import modes_note

    kiosk(*RECORD, "--duration", "1")
    uuid = _uuid(kiosk)
    kiosk("sessions", "schedule", "--template", "general", "--code", "EXP-CODE-1", "--name", "Export Person")
    stick = kiosk.tmp / "stick"
    stick.mkdir()
    done = json.loads(kiosk("export", "--to", str(stick), "--json").stdout)
    assert done["modes"].startswith("files 0600, folders 0700")
    bag = Path(done["path"])
    assert bagit.Bag(str(bag)).is_valid()
    assert_private(bag)
    assert _plain_media(bag) == [] and not list(bag.rglob("session.json"))
    text = b"".join(p.read_bytes() for p in bag.rglob("*") if p.is_file())
    assert b"Export Person" not in text and b"EXP-CODE-1" not in text      # not even in sessions.csv
    (document,) = [p for p in bag.rglob("session.json.age") if uuid[:8] in str(p)]
    inside = json.loads(age_decrypt(kiosk.centre, document, kiosk.tmp / "session.json").read_text())
    assert inside["uuid"] == uuid and inside["events"][0]["seq"] == 1
    assert list(document.parent.glob("*.manifest.json")) and list(document.parent.glob("*.manifest.json.sig"))

    # At the centre: the pinned key and the centre's identity; the chain inside the sealed session.json is checked.
    allowed = kiosk.tmp / "allowed_signers"
    allowed.write_text(kiosk("keys", "show", "--allowed-signers").stdout)
    verified = json.loads(kiosk("verify", str(bag), "--key", str(allowed), "--identity",
                                str(kiosk.centre.identity_file), "--json").stdout)
    assert verified["intact"] and verified["notes"] == []
    assert {c["check"] for m in verified["manifests"] for c in m["checks"]} == {"signature", "file", "chain"}
    assert "no file permissions" in modes_note("vfat") and "no file permissions" in modes_note("exfat")
