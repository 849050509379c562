"""Encryption at rest in the age format (age-encryption.org/v1), to the centre's X25519 public keys.

The kiosk holds public keys only, so it cannot read back what it encrypted. To know a sealed file is good before the
plaintext goes, each file is also encrypted to one ephemeral recipient whose identity exists in memory for that one
check: decrypt, compare the sha256 with the plaintext's, forget the identity. Both passes are streamed (pyrage reads
and writes 8 KiB at a time), so memory stays flat for a take of any length.

The standard `age` tool decrypts every sealed file with the centre's identity: ``age -d -i centre.key take.webm.age``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import pyrage
from pyrage import x25519

from kiosk.privacy import PrivacyError
from kiosk.privacy.files import PRIVATE_DIR, create_private, fsync_dir

SUFFIX = ".age"
PART = ".part"
BINARY_HEADER = b"age-encryption.org/v1\n"
ARMOR_HEADER = b"-----BEGIN AGE ENCRYPTED FILE-----"


def _bad_recipient(values: Iterable[str]) -> tuple[int, str, str] | None:
    """(position, the start of the value, why) of the first value that is not an age X25519 public key."""
    for number, value in enumerate(values, start=1):
        try:
            x25519.Recipient.from_str(value.strip())
        except pyrage.RecipientError as exc:
            return number, value.strip()[:12], str(exc)
    return None


FIX_RECIPIENT = "copy the 'public key: age1…' line that age-keygen printed for the centre's key"


def parse_recipients(values: Iterable[str]) -> list[x25519.Recipient]:
    """The centre's public keys (``age1…``); a wrong one is named by its position, with the fix."""
    values = list(values)
    bad = _bad_recipient(values)
    if bad is not None:
        raise PrivacyError(f"recipient {bad[0]} ({bad[1]}…) is not an age X25519 public key ({bad[2]}). "
                           f"Fix: {FIX_RECIPIENT}")
    return [x25519.Recipient.from_str(value.strip()) for value in values]


def recipients_problem(values: Sequence[str]) -> str | None:
    """For the config check: None when every value is an age public key, else which one is wrong and the fix."""
    bad = _bad_recipient(values)
    if bad is None:
        return None
    return f"recipient {bad[0]} ({bad[1]}…) is not an age X25519 public key ({bad[2]}); {FIX_RECIPIENT}"


def is_sealed(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def sealed_name(plain: Path) -> Path:
    """Where the ciphertext of `plain` lives: beside it, with .age appended."""
    return plain.with_name(plain.name + SUFFIX)


class _HashingReader:
    """A reader that hashes and counts what passes through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class _HashingWriter:
    """A writer that hashes and counts what passes through it, into `handle` or nowhere."""

    def __init__(self, handle: BinaryIO | None = None) -> None:
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        if self.handle is not None:
            self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.flush()


@dataclass(frozen=True)
class Sealed:
    """A file encrypted and checked: the ciphertext's path and hashes, and the plaintext's."""

    path: Path
    sha256: str            # of the ciphertext (what sync uploads and the manifest names)
    size: int
    plain_sha256: str      # of the media inside (what the centre finds after `age -d`)
    plain_size: int


def seal(plain: Path, recipients: Sequence[x25519.Recipient], remove_plain: bool = True) -> Sealed:
    """Encrypt `plain` to ``<plain>.age`` for `recipients`, check that it decrypts to the same bytes, then remove
    the plaintext. A crash at any point leaves the plaintext, or the checked ciphertext, or both (sealing again at
    the next start replaces the ciphertext with a new checked one and then removes the plaintext)."""
    if not recipients:
        raise PrivacyError("no recipients to encrypt to. Fix: set privacy.recipients to the centre's age public keys")
    target = sealed_name(plain)
    part = target.with_name(target.name + PART)
    part.unlink(missing_ok=True)            # a half-written ciphertext of ours from a crash: never the only copy
    check = x25519.Identity.generate()
    try:
        with open(plain, "rb") as source, create_private(part) as sink:
            reader, writer = _HashingReader(source), _HashingWriter(sink)
            pyrage.encrypt_io(reader, writer, [*recipients, check.to_public()])
        plain_sha256 = reader.digest.hexdigest()
        with open(part, "rb") as source:
            echo = _HashingWriter()
            pyrage.decrypt_io(source, echo, [check])
        if echo.digest.hexdigest() != plain_sha256 or echo.size != reader.size:
            raise PrivacyError(f"the encrypted copy of {plain.name} does not decrypt to the same bytes; the "
                               f"plaintext was kept. Fix: check the disk (dmesg, smartctl) and free space")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        del check
    os.replace(part, target)
    fsync_dir(target.parent)
    if remove_plain:
        plain.unlink()
        fsync_dir(plain.parent)
    return Sealed(target, writer.digest.hexdigest(), writer.size, plain_sha256, reader.size)


def seal_bytes(data: bytes, recipients: Sequence[x25519.Recipient]) -> bytes:
    """Encrypt a small document (a session JSON) in memory, checked the same way as `seal`."""
    check = x25519.Identity.generate()
    sealed = pyrage.encrypt(data, [*recipients, check.to_public()])
    if pyrage.decrypt(sealed, [check]) != data:
        raise PrivacyError("an encrypted document does not decrypt to the same bytes. Fix: report this bug")
    return sealed


# --- the centre's side, and admin playback on the kiosk ------------------------------------------------------------

class PassphraseNeeded(PrivacyError):
    """The identity file is itself encrypted with a passphrase: ask for it and call load_identities again."""


def load_identities(path: Path, passphrase: str | None = None) -> list[x25519.Identity]:
    """The age identities in a key file (as age-keygen writes it), or in one protected by a passphrase
    (``age -p -o key.age key.txt``). The secret never reaches a message."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PrivacyError(f"{path} cannot be read ({exc.strerror}). Fix: insert the USB stick with the centre's "
                           f"identity and choose the key file on it") from None
    if data.startswith(BINARY_HEADER) or data.startswith(ARMOR_HEADER):
        if passphrase is None:
            raise PassphraseNeeded(f"{path.name} is protected by a passphrase. Fix: type the passphrase")
        try:
            data = pyrage.passphrase.decrypt(data, passphrase)
        except pyrage.DecryptError:
            raise PrivacyError(f"the passphrase does not open {path.name}. Fix: type it again (it is "
                               f"case-sensitive)") from None
    identities = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise PrivacyError(f"{path.name} line {number} is not an age identity. Fix: choose the file age-keygen "
                               f"wrote (lines AGE-SECRET-KEY-1…)") from None
    if not identities:
        raise PrivacyError(f"{path.name} holds no age identity. Fix: choose the file age-keygen wrote")
    return identities


def _decrypt_error(path: Path, exc: Exception) -> PrivacyError:
    return PrivacyError(f"{path.name} cannot be decrypted with this identity ({exc}). Fix: use the centre's "
                        f"identity whose public key is in privacy.recipients")


def open_bytes(path: Path, identities: Sequence[x25519.Identity]) -> bytes:
    """Decrypt a small sealed document into memory."""
    try:
        return pyrage.decrypt(path.read_bytes(), list(identities))
    except pyrage.DecryptError as exc:
        raise _decrypt_error(path, exc) from None


def decrypt_to(path: Path, identities: Sequence[x25519.Identity], out: BinaryIO) -> str:
    """Decrypt `path` into `out`, streamed; returns the plaintext's sha256."""
    writer = _HashingWriter(out)
    with open(path, "rb") as source:
        try:
            pyrage.decrypt_io(source, writer, list(identities))
        except pyrage.DecryptError as exc:
            raise _decrypt_error(path, exc) from None
    return writer.digest.hexdigest()


def private_memory_dir() -> Path:
    """A folder in RAM (tmpfs) that only this user can enter: $XDG_RUNTIME_DIR, else /dev/shm."""
    from kiosk.export.targets import filesystem_type

    for candidate in (os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and filesystem_type(candidate) in ("tmpfs", "ramfs"):
            return Path(os.path.realpath(candidate))
    raise PrivacyError("no tmpfs to decrypt into (neither $XDG_RUNTIME_DIR nor /dev/shm is in RAM), so a decrypted "
                       "take would touch the disk. Fix: log in through a session manager that sets XDG_RUNTIME_DIR, "
                       "or mount a tmpfs on /dev/shm")


class PlaybackCopy:
    """A decrypted copy of a sealed take in a private folder in RAM, for the admin's player; `close()` (or the end
    of a with block) removes it."""

    def __init__(self, sealed: Path, identities: Sequence[x25519.Identity]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-play-", dir=private_memory_dir()))
        os.chmod(self.folder, PRIVATE_DIR)
        self.path = self.folder / (sealed.name[: -len(SUFFIX)] if is_sealed(sealed) else sealed.name)
        try:
            with create_private(self.path) as out:
                decrypt_to(sealed, identities, out)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.close()
