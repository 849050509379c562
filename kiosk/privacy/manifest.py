"""The signed manifest of a finished take: what the centre checks to tell a true record from an altered one.

Written at finalize beside the recording: ``<recording>.manifest.json`` and its OpenSSH signature
``<recording>.manifest.json.sig`` (namespace ``kiosk-session``). It names the interview's uuid, the kiosk, each file
(the recording and the session JSON as stored, and their plaintext when encrypted) with sha256 and size, the head and
length of the event chain, and times. No personal data: no name, code, reference or transcript.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.privacy import PrivacyError, chain, crypto, signing
from kiosk.privacy.files import write_private

FORMAT = "kiosk-manifest/1"
MANIFEST_SUFFIX = ".manifest.json"
SIGNATURE_SUFFIX = ".sig"


def _media_name(path: Path) -> str:
    """The recording's name without .age: the manifest is named after the take, sealed or not."""
    return path.name[: -len(crypto.SUFFIX)] if crypto.is_sealed(path) else path.name


def manifest_path(recording: Path) -> Path:
    return recording.with_name(_media_name(recording) + MANIFEST_SUFFIX)


def signature_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name + SIGNATURE_SUFFIX)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class FileEntry:
    """One file the manifest vouches for, as stored (and, when sealed, what is inside)."""

    role: str                       # "recording" | "session"
    name: str
    sha256: str
    size: int
    encrypted: bool
    plain_sha256: str
    plain_size: int

    @classmethod
    def plain(cls, role: str, path: Path) -> "FileEntry":
        digest = file_sha256(path)
        size = path.stat().st_size
        return cls(role, path.name, digest, size, False, digest, size)

    @classmethod
    def sealed(cls, role: str, sealed: crypto.Sealed) -> "FileEntry":
        return cls(role, sealed.path.name, sealed.sha256, sealed.size, True, sealed.plain_sha256, sealed.plain_size)


def _iso(value: dt.datetime | None) -> str | None:
    return chain.time_text(value) if value is not None else None


def build(interview_uuid: str, kiosk_id: str, files: Iterable[FileEntry], chain_head: str, chain_count: int,
          started_at: dt.datetime | None, ended_at: dt.datetime | None, duration_s: float | None) -> dict[str, Any]:
    return {
        "format": FORMAT, "interview": interview_uuid, "kiosk_id": kiosk_id,
        "files": [asdict(entry) for entry in files],
        "chain": {"format": chain.FORMAT, "head": chain_head, "count": chain_count},
        "started_at": _iso(started_at), "ended_at": _iso(ended_at), "duration_s": duration_s,
        "signed_at": _iso(dt.datetime.now(dt.timezone.utc)),
    }


def to_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def write(recording: Path, document: Mapping[str, Any], key: signing.KioskKey) -> tuple[Path, Path]:
    """Write the manifest and its signature beside `recording` (0600); returns both paths."""
    data = to_bytes(document)
    target = manifest_path(recording)
    write_private(target, data)
    signature = signature_path(target)
    write_private(signature, key.sign(data).encode("ascii"))
    return target, signature


# --- checking -----------------------------------------------------------------------------------------------------

@dataclass
class Finding:
    check: str                      # signature | file | chain
    ok: bool
    detail: str


@dataclass
class Verification:
    """The result of checking one manifest: every finding, and whether all are good."""

    manifest: Path
    signature: Path
    interview: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    def add(self, check: str, ok: bool, detail: str) -> None:
        self.findings.append(Finding(check, ok, detail))

    def to_json(self) -> dict[str, Any]:
        return {"manifest": str(self.manifest), "signature": str(self.signature), "interview": self.interview,
                "intact": self.intact, "checks": [asdict(f) for f in self.findings]}


def load(manifest: Path) -> dict[str, Any]:
    try:
        document = json.loads(manifest.read_bytes())
    except (OSError, ValueError) as exc:
        raise PrivacyError(f"{manifest} cannot be read as a manifest ({exc}). Fix: give the .manifest.json file "
                           f"the kiosk wrote") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PrivacyError(f"{manifest} is not a kiosk manifest ({FORMAT}). Fix: give the .manifest.json file")
    return document


def verify(manifest: Path, pinned: list[Ed25519PublicKey] | None,
           events: list[Mapping[str, Any]] | None) -> Verification:
    """Check `manifest`: its signature (made with one of the `pinned` keys; None accepts the key inside the signature
    and says so), each file it names (found beside it), and the event chain when `events` are given (the interview's events,
    with seq, prev_sha256 and sha256)."""
    signature = signature_path(manifest)
    result = Verification(manifest, signature)
    try:
        data = manifest.read_bytes()
        document = load(manifest)
        result.interview = str(document.get("interview", ""))
    except (OSError, PrivacyError) as exc:
        result.add("manifest", False, str(exc))
        return result
    try:
        signed = signing.verify(data, signature.read_text(encoding="ascii", errors="replace"))
        if pinned is None:
            result.add("signature", True, "signature good; the key is the one inside the signature (not pinned: "
                                          "pass --key with the kiosk's public key line)")
        elif any(signing.same_key(signed.public, key) for key in pinned):
            result.add("signature", True, "signature good, made with the pinned kiosk key")
        else:
            result.add("signature", False, "the signature was made with another key than the kiosk's")
    except FileNotFoundError:
        result.add("signature", False, f"{signature.name} is missing")
    except PrivacyError as exc:
        result.add("signature", False, str(exc))
    for entry in document.get("files") or []:
        name = str(entry.get("name", ""))
        path = manifest.with_name(name)
        if not path.exists():
            result.add("file", False, f"{name} ({entry.get('role')}) is missing")
            continue
        size = path.stat().st_size
        if size != entry.get("size") or file_sha256(path) != entry.get("sha256"):
            result.add("file", False, f"{name}: its bytes differ from the manifest (size {size}, manifest "
                                      f"{entry.get('size')}): altered or damaged")
        else:
            result.add("file", True, f"{name}: sha256 and size match")
    if events is not None:
        pinned_chain = document.get("chain") or {}
        count = int(pinned_chain.get("count") or 0)
        whole = chain.check(result.interview, events)
        head = chain.check(result.interview, sorted(events, key=lambda e: e.get("seq") or 0)[:count])
        if not whole.intact:
            result.add("chain", False, "; ".join(whole.problems))
        elif head.count < count or head.head != pinned_chain.get("head"):
            result.add("chain", False, f"the first {count} events do not end at the signed head: events were "
                                       f"removed or replaced")
        else:
            result.add("chain", True, f"{whole.count} events chained; the first {count} end at the signed head")
    return result
