"""The centre report: per booth (sync.kiosk_id), when it was last seen, which sessions arrived and were verified, which
sessions the booth holds that the store lacks, and which uploads were left incomplete.

Verified means: the upload is complete (stored bytes = Upload-Length), the sha256 of the stored bytes equals the
``sha256`` in its Upload-Metadata, a recording's signed manifest (kiosk.privacy.manifest, in the upload's metadata)
has a good signature — made with the booth's key pinned in an allowed_signers file when one is given — and names this
interview, this kiosk and these bytes; and, for a session, every finished recording its session JSON lists arrived
with the sha256 the JSON names (a session JSON sealed to the centre's key cannot be read here: then the recordings'
manifests vouch for them). What the booth holds comes from its newest status document (kiosk.sync.status): the
sessions it has queued and the ones it says are synced.

The report carries no personal data: kiosk ids, interview uuids, file names (uuid-based), sizes and times. The
session JSON, which does hold the candidate's name, is read for its recordings list only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.centre.stores import Store, StoredUpload
from kiosk.privacy import PrivacyError, crypto, signing

FORMAT = "kiosk-centre-report/1"
STATUS_KIND = "status"            # = kiosk.sync.status.KIND (the centre does not import the booth's sync engine)
MAX_JSON_BYTES = 16 * 1024 * 1024
USABLE_STATES = ("finalized", "recovered")


@dataclass
class Booth:
    kiosk_id: str
    status: dict | None = None                   # the newest status document
    last_upload_at: dt.datetime | None = None     # the server's clock (creation date of the newest upload)
    files: list[StoredUpload] = field(default_factory=list)
    incomplete: list[StoredUpload] = field(default_factory=list)


def _sha256(store: Store, upload: StoredUpload) -> str:
    digest = hashlib.sha256()
    for block in store.blocks(upload.id):
        digest.update(block)
    return digest.hexdigest()


def _json(store: Store, upload: StoredUpload) -> dict | None:
    if upload.size is None or upload.size > MAX_JSON_BYTES:
        return None
    try:
        value = json.loads(b"".join(store.blocks(upload.id)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


Signers = dict[str, signing.Ed25519PublicKey]


def load_allowed_signers(text: str) -> Signers:
    """An allowed_signers file (`kiosk keys show --allowed-signers` lines: `KIOSK_ID [options] ssh-ed25519 KEY`) as
    kiosk id -> public key; raises PrivacyError naming the bad line."""
    signers: Signers = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            signers[line.split()[0]] = signing.parse_public_line(line)
        except PrivacyError as exc:
            raise PrivacyError(f"allowed signers line {number}: {exc}") from None
    return signers


def _signature_problem(upload: StoredUpload, signers: Signers | None) -> str | None:
    """None when the recording's signed manifest holds (or there is none and no key is pinned: then "unsigned"),
    else what is wrong."""
    meta = upload.metadata
    text, signature = meta.get("manifest"), meta.get("manifest_signature")
    if not text or not signature:
        return "unsigned" if signers is None else "no signed manifest in its metadata, but the booth's key is pinned"
    try:
        signed = signing.verify(text.encode("ascii"), signature)
        document = json.loads(text)
    except (PrivacyError, UnicodeError, ValueError) as exc:
        return f"manifest signature: {exc}"
    kiosk_id = meta.get("kiosk_id", "")
    if signers is not None:
        pinned = signers.get(kiosk_id)
        if pinned is None:
            return f"{kiosk_id} has no key in the allowed signers file"
        if not signing.same_key(signed.public, pinned):
            return f"the manifest was signed with another key than {kiosk_id}'s"
    if not isinstance(document, dict) or document.get("interview") != meta.get("interview_uuid") \
            or document.get("kiosk_id") != kiosk_id:
        return "the signed manifest is for another interview or kiosk"
    named = [f for f in document.get("files") or [] if isinstance(f, dict) and f.get("role") == "recording"
             and f.get("name") == meta.get("filename")]
    if not any(f.get("sha256") == meta.get("sha256") and f.get("size") == upload.size for f in named):
        return "the signed manifest names other bytes for this file"
    return None


def _time(value: object) -> dt.datetime | None:
    """An ISO 8601 time from a store or a document ("Z" or an offset; naive = UTC), None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def build_report(store: Store, now: dt.datetime | None = None, signers: Signers | None = None) -> dict:
    """Read the whole store (every finished upload is hashed once) and return the report as JSON values. With
    `signers` (load_allowed_signers), every recording must carry a manifest signed with its booth's pinned key."""
    now = now or dt.datetime.now(dt.timezone.utc)
    booths: dict[str, Booth] = {}
    unattributed = 0
    for upload in store.uploads():
        kiosk_id = upload.metadata.get("kiosk_id")
        if not kiosk_id:
            unattributed += 1
            continue
        booth = booths.setdefault(kiosk_id, Booth(kiosk_id))
        created = _time(upload.created)
        if created is not None and (booth.last_upload_at is None or created > booth.last_upload_at):
            booth.last_upload_at = created
        if not upload.complete:
            booth.incomplete.append(upload)
        elif upload.metadata.get("kind") == STATUS_KIND:
            document = _json(store, upload)
            when = _time(document.get("generated_at")) if document is not None else None
            if when is not None and (booth.status is None or when > _time(booth.status["generated_at"])):
                booth.status = document
        else:
            booth.files.append(upload)
    reports = [_booth_report(store, booths[k], now, signers) for k in sorted(booths)]
    return {"format": FORMAT, "generated_at": now.isoformat(), "store": store.description,
            "signers_pinned": signers is not None, "ok": all(r["ok"] for r in reports), "booths": reports,
            "unattributed_uploads": unattributed}


def _file_entry(upload: StoredUpload, problem: str = "") -> dict:
    entry = {"upload": upload.id, "interview": upload.metadata.get("interview_uuid"),
             "file": upload.metadata.get("filename"), "kind": upload.metadata.get("kind"), "size": upload.size,
             "stored": upload.stored}
    if problem:
        entry["problem"] = problem
    return entry


def _booth_report(store: Store, booth: Booth, now: dt.datetime, signers: Signers | None) -> dict:
    # (interview, file name) -> the verified copies
    verified: dict[str, dict[str, list[StoredUpload]]] = defaultdict(lambda: defaultdict(list))
    unverified: list[dict] = []
    signed = unsigned = 0
    for upload in booth.files:
        uuid, name = upload.metadata.get("interview_uuid"), upload.metadata.get("filename")
        expected = upload.metadata.get("sha256", "")
        if not uuid or not name or not expected:
            unverified.append(_file_entry(upload, "no interview_uuid, filename or sha256 in its metadata"))
            continue
        actual = _sha256(store, upload)
        if actual != expected:
            unverified.append(_file_entry(upload, f"sha256 of the stored bytes is {actual}, the booth sent "
                                                  f"{expected}"))
            continue
        if upload.metadata.get("kind") == "recording":
            problem = _signature_problem(upload, signers)
            if problem == "unsigned":
                unsigned += 1
            elif problem:
                unverified.append(_file_entry(upload, problem))
                continue
            else:
                signed += 1
        verified[uuid][name].append(upload)
    duplicates = [{"interview": uuid, "file": name, "uploads": [u.id for u in copies]}
                  for uuid, files in sorted(verified.items()) for name, copies in sorted(files.items())
                  if len(copies) > 1]
    sessions_verified: set[str] = set()
    incomplete_sessions: list[dict] = []
    bad_sessions = {entry["interview"] for entry in unverified}
    for uuid, files in sorted(verified.items()):
        session_json = next((copies[0] for copies in files.values()
                             if copies[0].metadata.get("kind") == "metadata"), None)
        if session_json is not None and crypto.is_sealed(Path(session_json.metadata.get("filename", ""))):
            # Sealed to the centre's key: its recordings list is not readable here; their manifests vouch.
            if uuid not in bad_sessions:
                sessions_verified.add(uuid)
            continue
        document = _json(store, session_json) if session_json is not None else None
        if document is None:
            incomplete_sessions.append({"interview": uuid, "missing": ["session JSON"]})
            continue
        missing = [rec.get("file") for rec in document.get("recordings") or []
                   if rec.get("state") in USABLE_STATES
                   and not any(c.metadata.get("sha256") == rec.get("sha256") for c in files.get(rec.get("file"), []))]
        if missing:
            incomplete_sessions.append({"interview": uuid, "missing": missing})
        elif uuid not in bad_sessions:
            sessions_verified.add(uuid)
    status = booth.status or {}
    queue = status.get("queue") or {}
    not_arrived = [{"interview": q.get("uuid"), "on_booth": "queued", "files_left": q.get("files"),
                    "bytes_left": q.get("bytes_left"), "statuses": q.get("statuses")}
                   for q in queue.get("queued_sessions") or [] if q.get("uuid") not in sessions_verified]
    lost = [{"interview": uuid, "on_booth": "synced"} for uuid in status.get("synced_sessions") or []
            if uuid not in sessions_verified]
    incomplete = [_file_entry(u) for u in booth.incomplete
                  if u.metadata.get("kind") != STATUS_KIND
                  and not verified.get(u.metadata.get("interview_uuid", ""), {}).get(u.metadata.get("filename", ""))]
    abandoned = len(booth.incomplete) - len(incomplete)
    # Last seen on the server's clock (a booth's own clock may be off); the status's own time is in "status".
    seen = booth.last_upload_at
    return {
        "kiosk_id": booth.kiosk_id,
        "last_seen": seen.isoformat() if seen else None,
        "last_seen_age_s": round((now - seen).total_seconds()) if seen else None,
        "status": {key: status.get(key) for key in ("generated_at", "version", "disk", "devices", "last_errors",
                                                    "last_interview_at")} | {
            "queued_sessions": queue.get("sessions"), "queued_bytes": queue.get("bytes_left")} if status else None,
        "sessions_arrived": len(verified),
        "sessions_verified": len(sessions_verified),
        "files_verified": sum(len(files) for files in verified.values()),
        "recordings_signed": signed,
        "recordings_unsigned": unsigned,
        "not_arrived": not_arrived,
        "missing_after_sync": lost,
        "incomplete_sessions": incomplete_sessions,
        "unverified_files": unverified,
        "incomplete_uploads": incomplete,
        "abandoned_uploads": abandoned,
        "duplicates": duplicates,
        "ok": not (not_arrived or lost or incomplete_sessions or unverified or incomplete),
    }


def report_lines(report: dict) -> list[str]:
    """The report as text for a terminal."""
    lines = [f"centre report of {report['store']} at {report['generated_at']}"]
    for booth in report["booths"]:
        status = booth["status"] or {}
        disk = status.get("disk") or {}
        seen = booth["last_seen"] or "never"
        age = f" ({booth['last_seen_age_s']} s ago)" if booth["last_seen_age_s"] is not None else ""
        lines.append(f"booth {booth['kiosk_id']}: {'ok' if booth['ok'] else 'PROBLEMS'}; last seen {seen}{age}; "
                     f"{booth['sessions_verified']} of {booth['sessions_arrived']} arrived sessions verified "
                     f"({booth['files_verified']} files; {booth['recordings_signed']} recordings with a good "
                     f"signature{', pinned key' if report['signers_pinned'] else ''}, "
                     f"{booth['recordings_unsigned']} unsigned)"
                     + (f"; {disk.get('hours_left')} h of recording left" if disk else "; no status document"))
        for entry in booth["not_arrived"]:
            lines.append(f"  not arrived: session {entry['interview']} (queued on the booth, "
                         f"{entry['files_left']} file(s), {entry['bytes_left']} bytes left)")
        for entry in booth["missing_after_sync"]:
            lines.append(f"  MISSING: session {entry['interview']}: the booth reports it synced, the store lacks it")
        for entry in booth["incomplete_sessions"]:
            lines.append(f"  incomplete session {entry['interview']}: missing {', '.join(map(str, entry['missing']))}")
        for entry in booth["unverified_files"]:
            lines.append(f"  NOT VERIFIED: {entry['file']} (upload {entry['upload']}): {entry['problem']}")
        for entry in booth["incomplete_uploads"]:
            lines.append(f"  incomplete upload {entry['upload']}: {entry['file']} of session {entry['interview']}, "
                         f"{entry['stored']} of {entry['size']} bytes")
        for entry in booth["duplicates"]:
            lines.append(f"  duplicate: {entry['file']} of session {entry['interview']} arrived "
                         f"{len(entry['uploads'])} times")
        for error in status.get("last_errors") or []:
            lines.append(f"  booth error at {error.get('at')}: {error.get('error')}")
    if report["unattributed_uploads"]:
        lines.append(f"{report['unattributed_uploads']} upload(s) without a kiosk_id (not from a kiosk)")
    if not report["booths"]:
        lines.append("no booth has uploaded anything yet")
    lines.append("all booths ok" if report["ok"] else "problems found (see above)")
    return lines
