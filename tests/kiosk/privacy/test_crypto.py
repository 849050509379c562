"""Sealing with age: the real Debian `age` decrypts what the kiosk wrote, and the result decodes.

Real parts: a take from the real recorder (demo camera and microphone), `age-keygen` and `age` from Debian, PyAV.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pyrage
import pytest

from kiosk.export.targets import filesystem_type
from kiosk.privacy import PrivacyError, crypto
from tests.helpers.db import decode, record_real_take
from tests.kiosk.privacy.helpers import age_decrypt, make_centre_key


@pytest.fixture
def centre(tmp_path):
    return make_centre_key(tmp_path)


def test_a_sealed_take_is_decrypted_by_age_and_decodes_with_video_audio_and_duration(tmp_path, centre):
    take = record_real_take(tmp_path / "take.webm", seconds=2.0)
    plain = tmp_path / "take.webm"
    before = hashlib.sha256(plain.read_bytes()).hexdigest()
    frames, audio, duration = decode(plain)

    sealed = crypto.seal(plain, crypto.parse_recipients([centre.recipient]))

    assert sealed.path == tmp_path / "take.webm.age"
    assert not plain.exists() and not (tmp_path / "take.webm.age.part").exists()
    assert stat.S_IMODE(os.stat(sealed.path).st_mode) == 0o600
    assert sealed.path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert sealed.plain_sha256 == before == take.metadata["sha256"]
    assert sealed.sha256 == hashlib.sha256(sealed.path.read_bytes()).hexdigest()
    assert sealed.size == sealed.path.stat().st_size
    out = age_decrypt(centre, sealed.path, tmp_path / "decrypted.webm")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
    assert decode(out) == (frames, audio, duration)
    assert frames > 10 and audio > 1.5 and duration > 1.5


def test_the_check_recipient_is_not_one_of_the_centres_and_the_kiosk_cannot_read_its_own_ciphertext(tmp_path,
                                                                                                    centre):
    plain = tmp_path / "note.json"
    plain.write_bytes(b'{"a": 1}\n' * 1000)
    sealed = crypto.seal(plain, crypto.parse_recipients([centre.recipient]))
    # Two stanzas: the centre's and the ephemeral check recipient's, whose identity no longer exists.
    header = sealed.path.read_bytes().split(b"\n---", 1)[0]
    assert header.count(b"\n-> X25519 ") == 2
    with pytest.raises(PrivacyError, match="cannot be decrypted"):
        crypto.open_bytes(sealed.path, [pyrage.x25519.Identity.generate()])
    assert crypto.open_bytes(sealed.path, crypto.load_identities(centre.identity_file)) == b'{"a": 1}\n' * 1000


def test_sealing_again_after_a_crash_replaces_a_half_written_ciphertext(tmp_path, centre):
    plain = tmp_path / "take.webm"
    content = os.urandom(300_000)
    plain.write_bytes(content)
    (tmp_path / "take.webm.age.part").write_bytes(b"age-encryption.org/v1\n-> cut off")      # a crash mid-write
    (tmp_path / "take.webm.age").write_bytes(b"an older ciphertext whose plaintext was not removed yet")
    sealed = crypto.seal(plain, crypto.parse_recipients([centre.recipient]))
    assert not plain.exists() and not (tmp_path / "take.webm.age.part").exists()
    assert age_decrypt(centre, sealed.path, tmp_path / "back").read_bytes() == content


def test_a_ciphertext_that_does_not_decrypt_to_the_plaintext_keeps_the_plaintext(tmp_path, centre, monkeypatch):
    """The check pass sees other bytes than were encrypted (a disk that returns wrong data): nothing is removed."""
    plain = tmp_path / "take.webm"
    plain.write_bytes(b"x" * 100_000)
    real_decrypt = pyrage.decrypt_io

    def disk_returns_other_bytes(source, sink, identities):
        class Flipping:
            def write(self, data):
                return sink.write(bytes([data[0] ^ 1]) + data[1:])
        return real_decrypt(source, Flipping(), identities)
    monkeypatch.setattr(crypto.pyrage, "decrypt_io", disk_returns_other_bytes)
    with pytest.raises(PrivacyError, match="plaintext was kept"):
        crypto.seal(plain, crypto.parse_recipients([centre.recipient]))
    assert plain.read_bytes() == b"x" * 100_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centre.key", "take.webm"]


def test_recipients_that_are_not_age_keys_are_refused_with_the_fix(tmp_path, centre):
    with pytest.raises(PrivacyError, match=r"recipient 2 .*age-keygen"):
        crypto.parse_recipients([centre.recipient, "ssh-ed25519 AAAAC3Nz"])
    from kiosk import config as configmod
    toml = tmp_path / "kiosk.toml"
    toml.write_text('[privacy]\nrecipients = ["age1notakey"]\n')
    with pytest.raises(configmod.ConfigError, match=r"privacy.recipients.*Fix: recipient 1"):
        configmod.load(toml)
    toml.write_text(f'[privacy]\nrecipients = ["{centre.recipient}"]\n')
    assert configmod.load(toml)["privacy.recipients"] == [centre.recipient]
    with pytest.raises(PrivacyError, match="no recipients"):
        crypto.seal(toml, [])


def test_identities_from_a_key_file_or_one_protected_by_a_passphrase(tmp_path, centre):
    secret = centre.identity_file.read_text()
    protected = tmp_path / "centre.key.age"
    protected.write_bytes(pyrage.passphrase.encrypt(secret.encode(), "correct horse"))
    with pytest.raises(crypto.PassphraseNeeded):
        crypto.load_identities(protected)
    with pytest.raises(PrivacyError, match="passphrase does not open") as wrong:
        crypto.load_identities(protected, "wrong")
    (identity,) = crypto.load_identities(protected, "correct horse")
    assert str(identity.to_public()) == centre.recipient
    garbage = tmp_path / "notes.txt"
    garbage.write_text("# my keys\nAGE-SECRET-KEY-1NOTREALLY\n")
    with pytest.raises(PrivacyError, match="line 2 is not an age identity") as bad:
        crypto.load_identities(garbage)
    # The secret never reaches a message.
    assert "NOTREALLY" not in str(bad.value) and secret.strip().splitlines()[-1] not in str(wrong.value)


def test_a_playback_copy_lives_in_a_private_folder_in_ram_and_is_gone_afterwards(tmp_path, centre):
    record_real_take(tmp_path / "take.webm", seconds=1.0)
    sealed = crypto.seal(tmp_path / "take.webm", crypto.parse_recipients([centre.recipient]))
    with crypto.PlaybackCopy(sealed.path, crypto.load_identities(centre.identity_file)) as plain:
        folder = plain.parent
        assert plain.name == "take.webm"
        assert filesystem_type(folder) in ("tmpfs", "ramfs")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(plain.stat().st_mode) == 0o600
        assert decode(plain)[0] > 5
    assert not folder.exists()

