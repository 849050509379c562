"""The kiosk's own Ed25519 key and OpenSSH signatures (SSHSIG, OpenSSH's PROTOCOL.sshsig) made with it.

The centre pins the public key (``kiosk keys show`` prints it as an OpenSSH line) and checks a manifest with the
standard tool::

    echo 'kiosk-7 namespaces="kiosk-session" ssh-ed25519 AAAA…' > allowed_signers
    ssh-keygen -Y verify -f allowed_signers -I kiosk-7 -n kiosk-session -s M.manifest.json.sig < M.manifest.json

The key file is OpenSSH's own private key format, so ``ssh-keygen -y -f`` reads it too. It is created once (0600);
an existing key is never replaced.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.privacy import PrivacyError
from kiosk.privacy.files import create_private, fsync_dir, make_private_dir

NAMESPACE = "kiosk-session"
MAGIC = b"SSHSIG"
VERSION = 1
HASH = "sha512"
KEY_TYPE = "ssh-ed25519"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"


def _string(data: bytes | str) -> bytes:
    """An SSH wire-format string: uint32 length, then the bytes."""
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(raw)) + raw


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise PrivacyError("the signature is cut short. Fix: copy the whole .sig file")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())


def _public_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(KEY_TYPE) + _string(raw)


def public_line(key: Ed25519PublicKey, comment: str) -> str:
    """The OpenSSH public key line: ``ssh-ed25519 AAAA… comment``."""
    return f"{KEY_TYPE} {base64.b64encode(_public_blob(key)).decode()} {comment}".rstrip()


def fingerprint(key: Ed25519PublicKey) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(_public_blob(key)).digest()).decode().rstrip("=")


def for_kiosk(data, config) -> "KioskKey":
    """This kiosk's key (created at its first start), named by its kiosk id."""
    from kiosk.config import kiosk_id
    return KioskKey.load_or_create(data.signing_key, kiosk_id(config))


def parse_public_line(line: str) -> Ed25519PublicKey:
    parts = line.split()
    # An allowed_signers line puts the principal (and options) first: find the key type.
    if KEY_TYPE not in parts or parts.index(KEY_TYPE) + 1 >= len(parts):
        raise PrivacyError(f"not an OpenSSH ed25519 public key: {line[:40]!r}. Fix: use the line "
                           f"`kiosk keys show` printed (ssh-ed25519 AAAA… kiosk-id)")
    try:
        blob = _Reader(base64.b64decode(parts[parts.index(KEY_TYPE) + 1], validate=True))
        if blob.string() != KEY_TYPE.encode():
            raise ValueError("key type differs inside the blob")
        return Ed25519PublicKey.from_public_bytes(blob.string())
    except (ValueError, PrivacyError):
        raise PrivacyError(f"the public key {line[:40]!r}… is damaged. Fix: copy the whole line `kiosk keys "
                           f"show` printed") from None


def _signed_data(message: bytes, namespace: str, hash_name: str = HASH) -> bytes:
    """What an SSHSIG signature covers: the namespace and the hash of the message, never the message itself."""
    return (MAGIC + _string(namespace) + _string(b"") + _string(hash_name)
            + _string(hashlib.new(hash_name, message).digest()))


def _armor(blob: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(blob).decode(), 70))
    return f"{ARMOR_BEGIN}\n{body}\n{ARMOR_END}\n"


def _unarmor(text: str) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise PrivacyError("not an SSH signature (no BEGIN/END SSH SIGNATURE lines). Fix: give the .sig file "
                           "written beside the manifest")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError:
        raise PrivacyError("the SSH signature is damaged (not base64). Fix: copy the .sig file again") from None


@dataclass(frozen=True)
class KioskKey:
    """The kiosk's signing key and the name (kiosk id) its public line carries."""

    private: Ed25519PrivateKey
    kiosk_id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_line(self) -> str:
        return public_line(self.public, self.kiosk_id)

    @property
    def fingerprint(self) -> str:
        """As ssh-keygen -l shows it: SHA256:base64 of the key blob, unpadded."""
        return fingerprint(self.public)

    @property
    def allowed_signers_line(self) -> str:
        """The line for the centre's allowed_signers file (ssh-keygen -Y verify -f)."""
        return f'{self.kiosk_id} namespaces="{NAMESPACE}" {public_line(self.public, "")}'

    def sign(self, message: bytes, namespace: str = NAMESPACE) -> str:
        """An armored SSHSIG signature of `message`, as ``ssh-keygen -Y sign -n namespace`` writes it."""
        signature = self.private.sign(_signed_data(message, namespace))
        blob = (MAGIC + struct.pack(">I", VERSION) + _string(_public_blob(self.public)) + _string(namespace)
                + _string(b"") + _string(HASH) + _string(_string(KEY_TYPE) + _string(signature)))
        return _armor(blob)

    @classmethod
    def load_or_create(cls, path: Path, kiosk_id: str) -> "KioskKey":
        """The key at `path`; created (0600, in a 0700 folder) when there is none yet."""
        if not path.exists():
            _create(path)
        try:
            key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise PrivacyError(f"the kiosk's signing key {path} cannot be read ({exc}). Nothing was replaced. "
                               f"Fix: restore it from the backup, or move it aside to make a new key (the centre "
                               f"must then pin the new public key)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise PrivacyError(f"{path} is not an Ed25519 key. Fix: move it aside; a new key is made at next start")
        return cls(key, kiosk_id)


def _create(path: Path) -> None:
    """Write a new key under a temporary name and link it into place: two processes starting at once end with one
    key, and a reader never sees half a file."""
    make_private_dir(path.parent)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    # Per process and thread: the app's threads (the flow, the sync worker) may close their first takes at once.
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    temp.unlink(missing_ok=True)
    with create_private(temp) as handle:
        handle.write(pem)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass                    # the other process was first: its key stands
    finally:
        temp.unlink()
    fsync_dir(path.parent)


@dataclass(frozen=True)
class Signature:
    """What a verified SSHSIG says: the signer's public key and the namespace."""

    public: Ed25519PublicKey
    namespace: str


def verify(message: bytes, armored: str, namespace: str = NAMESPACE) -> Signature:
    """Check an SSHSIG signature of `message`; raises PrivacyError naming what is wrong. The caller compares
    ``Signature.public`` with the key it pinned."""
    blob = _Reader(_unarmor(armored))
    if blob.take(6) != MAGIC or blob.uint32() != VERSION:
        raise PrivacyError("not an SSHSIG version 1 signature. Fix: give the .sig file written beside the manifest")
    key_blob, signed_namespace = blob.string(), blob.string().decode("utf-8", "replace")
    blob.string()                                                    # reserved
    hash_name = blob.string().decode("ascii", "replace")
    inner = _Reader(blob.string())
    if signed_namespace != namespace:
        raise PrivacyError(f"the signature is for namespace {signed_namespace!r}, not {namespace!r}")
    if hash_name not in ("sha512", "sha256") or inner.string() != KEY_TYPE.encode():
        raise PrivacyError(f"unsupported signature ({hash_name}); the kiosk signs with ssh-ed25519 and sha512")
    key = _Reader(key_blob)
    if key.string() != KEY_TYPE.encode():
        raise PrivacyError("the signature was not made with an ed25519 key")
    public = Ed25519PublicKey.from_public_bytes(key.string())
    try:
        public.verify(inner.string(), _signed_data(message, namespace, hash_name))
    except InvalidSignature:
        raise PrivacyError("the signature does not match the manifest: it was changed after signing") from None
    return Signature(public, signed_namespace)


def same_key(a: Ed25519PublicKey, b: Ed25519PublicKey) -> bool:
    raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return a.public_bytes(*raw) == b.public_bytes(*raw)
