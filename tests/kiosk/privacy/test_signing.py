"""The kiosk's Ed25519 key and its SSHSIG signatures, checked by OpenSSH's own `ssh-keygen` in both directions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.privacy import PrivacyError, signing

ROOT = Path(__file__).resolve().parents[3]


def _ssh_keygen(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(["ssh-keygen", *args], input=stdin, capture_output=True, timeout=60)


@pytest.fixture
def key(tmp_path) -> signing.KioskKey:
    return signing.KioskKey.load_or_create(tmp_path / "keys" / "kiosk_ed25519", "kiosk-7")


def test_the_key_is_made_once_0600_in_a_0700_folder_and_openssh_reads_it(tmp_path, key):
    path = tmp_path / "keys" / "kiosk_ed25519"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    derived = _ssh_keygen("-y", "-f", str(path))
    assert derived.returncode == 0, derived.stderr
    assert key.public_line.split()[:2] == derived.stdout.decode().split()[:2]
    assert key.public_line.endswith(" kiosk-7")
    fingerprint = _ssh_keygen("-l", "-f", str(path)).stdout.decode()
    assert key.fingerprint in fingerprint
    again = signing.KioskKey.load_or_create(path, "kiosk-7")
    assert again.public_line == key.public_line                 # never replaced


def test_processes_starting_at_once_end_with_one_key(tmp_path):
    path = tmp_path / "keys" / "kiosk_ed25519"
    script = ("import sys; from pathlib import Path; from kiosk.privacy.signing import KioskKey; "
              "print(KioskKey.load_or_create(Path(sys.argv[1]), 'k').public_line)")
    processes = [subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                 for _ in range(4)]
    lines = {p.communicate(timeout=120)[0].strip() for p in processes}
    assert len(lines) == 1 and all(p.returncode == 0 for p in processes)
    assert sorted(p.name for p in path.parent.iterdir()) == ["kiosk_ed25519"]


def test_ssh_keygen_accepts_the_kiosks_signature_and_refuses_an_altered_message(tmp_path, key):
    message = b'{"interview": "3f2a9c1e", "sha256": "ab"}\n'
    signature = tmp_path / "m.sig"
    signature.write_text(key.sign(message))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(key.allowed_signers_line + "\n")
    good = _ssh_keygen("-Y", "verify", "-f", str(allowed), "-I", "kiosk-7", "-n", "kiosk-session", "-s",
                       str(signature), stdin=message)
    assert good.returncode == 0, good.stderr
    assert b'Good "kiosk-session" signature for kiosk-7' in good.stdout + good.stderr
    novalidate = _ssh_keygen("-Y", "check-novalidate", "-n", "kiosk-session", "-s", str(signature), stdin=message)
    assert novalidate.returncode == 0, novalidate.stderr
    altered = _ssh_keygen("-Y", "verify", "-f", str(allowed), "-I", "kiosk-7", "-n", "kiosk-session", "-s",
                          str(signature), stdin=message.replace(b"ab", b"ac"))
    assert altered.returncode != 0
    other_namespace = _ssh_keygen("-Y", "verify", "-f", str(allowed), "-I", "kiosk-7", "-n", "file", "-s",
                                  str(signature), stdin=message)
    assert other_namespace.returncode != 0


def test_a_signature_made_by_ssh_keygen_verifies_here_and_one_flipped_bit_does_not(tmp_path, key):
    message = tmp_path / "m.json"
    message.write_bytes(b"{}\n")
    made = _ssh_keygen("-Y", "sign", "-f", str(tmp_path / "keys" / "kiosk_ed25519"), "-n", "kiosk-session",
                       str(message))
    assert made.returncode == 0, made.stderr
    armored = (tmp_path / "m.json.sig").read_text()
    verified = signing.verify(b"{}\n", armored)
    assert signing.same_key(verified.public, key.public) and verified.namespace == "kiosk-session"
    with pytest.raises(PrivacyError, match="changed after signing"):
        signing.verify(b"{} \n", armored)
    with pytest.raises(PrivacyError, match="namespace"):
        signing.verify(b"{}\n", key.sign(b"{}\n", namespace="file"))
    with pytest.raises(PrivacyError, match="BEGIN/END"):
        signing.verify(b"{}\n", "not a signature")


def test_kiosk_keys_show_prints_the_openssh_line_and_the_allowed_signers_line(tmp_path, capsys):
    data = tmp_path / "data"
    config = tmp_path / "kiosk.toml"
    config.write_text('[sync]\nkiosk_id = "booth-3"\n')
    assert main(["--data-dir", str(data), "--config", str(config), "keys", "show"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("ssh-ed25519 AAAA") and line.endswith(" booth-3")
    assert main(["--data-dir", str(data), "--config", str(config), "keys", "show", "--allowed-signers"]) == 0
    assert capsys.readouterr().out.strip() == f'booth-3 namespaces="kiosk-session" {" ".join(line.split()[:2])}'
    derived = _ssh_keygen("-y", "-f", str(data / "keys" / "kiosk_ed25519")).stdout.decode().split()[:2]
    assert line.split()[:2] == derived
