"""A finished take's privacy steps: sealed at rest when privacy.recipients is set, then its signed manifest.

    close_take(data, config, recording)   # after the take's row says finalized/recovered (flow, kiosk record)
    close_pending(data, config)           # at start: takes recovered, or cut off between finalize and sealing

The live file is plaintext while the take runs (crash safety needs it); this runs once it is finished. Each step is
idempotent, so a crash anywhere is finished by the next start: the plaintext goes only after the ciphertext was
checked, the row names the ciphertext only once it exists, and the manifest is written last.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.config import Config, kiosk_id
from kiosk.db.database import transaction
from kiosk.db.models import KEPT_STATES, Event, Interview, Recording
from kiosk.media.finalize import sidecar
from kiosk.paths import DataDir
from kiosk.privacy import chain, crypto, manifest, signing

log = logging.getLogger(__name__)

def plain_media(path: Path) -> Path:
    """The media file's own name (a sealed take's path without .age)."""
    return path.with_name(path.name[: -len(crypto.SUFFIX)]) if crypto.is_sealed(path) else path


def privacy_files(path: Path) -> list[Path]:
    """Every file the privacy steps make for a take, sealed or not, that exists: ciphertexts of the media and of
    its sidecar, a half-written ciphertext, the manifest and its signature."""
    media = plain_media(path)
    sealed = crypto.sealed_name(media)
    found = manifest.manifest_path(media)
    candidates = [sealed, sealed.with_name(sealed.name + crypto.PART), crypto.sealed_name(sidecar(media)),
                  found, manifest.signature_path(found)]
    return [p for p in candidates if p.exists()]


def session_json_files(data: DataDir, interview_uuid: str) -> list[Path]:
    """The sync JSON of an interview as it may be on disk: plain, or sealed."""
    plain = data.sync_document(interview_uuid)
    return [plain, crypto.sealed_name(plain)]


def travelling_files(media: Path) -> list[Path]:
    """What an export carries of a finished take besides its media: the manifest and its signature."""
    found = manifest.manifest_path(media)
    return [p for p in (found, manifest.signature_path(found)) if p.exists()]


def signed_manifest(recording: Recording) -> dict[str, str]:
    """The manifest and its signature as text, for a sync upload's metadata ({} before the take is closed)."""
    found = manifest.manifest_path(Path(recording.path))
    try:
        return {"manifest": found.read_text(encoding="ascii"),
                "manifest_signature": manifest.signature_path(found).read_text(encoding="ascii")}
    except FileNotFoundError:
        return {}


def _signed(media: Path) -> bool:
    """Its manifest and the manifest's signature are both there (the signature is written second)."""
    found = manifest.manifest_path(media)
    return found.exists() and manifest.signature_path(found).exists()


def _recipients(config: Config):
    return crypto.parse_recipients(config["privacy.recipients"])


def _point_rows_at(recording: Recording, sealed: Path, sha256: str, size: int) -> Recording:
    """The row (and the interview's seed fields) name the ciphertext from now on."""
    old = recording.path
    with transaction():
        recording.path, recording.sha256, recording.size = str(sealed), sha256, size
        recording.save()
        interview = Interview.get_by_id(recording.interview_id)
        if interview.recording_path == old:
            interview.recording_path = str(sealed)
            data = dict(interview.recording_data or {})
            data["recording_path"], data["encrypted"] = str(sealed), True
            interview.recording_data = data
            interview.save()
    return recording


def _seal(recording: Recording, recipients) -> manifest.FileEntry:
    media = Path(recording.path)
    target = crypto.sealed_name(media)
    plain_sha256, plain_size = recording.sha256 or "", recording.size or 0      # the recorder's, of the plaintext
    if not media.exists() and target.exists():
        # Sealed before a crash, the row not yet updated: the ciphertext was checked before the plaintext went.
        sha256, size = manifest.file_sha256(target), target.stat().st_size
        _point_rows_at(recording, target, sha256, size)
        return manifest.FileEntry("recording", target.name, sha256, size, True, plain_sha256, plain_size)
    sealed = crypto.seal(media, recipients)
    side = sidecar(media)
    if side.exists():
        crypto.seal(side, recipients)
    _point_rows_at(recording, sealed.path, sealed.sha256, sealed.size)
    if plain_sha256 and plain_sha256 != sealed.plain_sha256:
        log.error("take %s changed between finalize and sealing (sha256 %s..., recorded %s...)", media.name,
                  sealed.plain_sha256[:12], plain_sha256[:12], extra={"interview": recording.interview.uuid})
    return manifest.FileEntry.sealed("recording", sealed)


def close_take(data: DataDir, config: Config, recording: Recording) -> Recording:
    """Seal a finished take (when privacy.recipients is set) and write its signed manifest. Returns the row."""
    recording = Recording.get_by_id(recording.id)
    if recording.state not in KEPT_STATES or recording.deleted_at is not None:
        return recording
    recipients = _recipients(config)
    media = Path(recording.path)
    needs_seal = bool(recipients) and not crypto.is_sealed(media)
    if not needs_seal and _signed(media):
        return recording
    interview = recording.interview
    if needs_seal:
        entry = _seal(recording, recipients)
    elif media.exists():
        entry = manifest.FileEntry.plain("recording", media)
    else:
        log.error("take %s is missing: no manifest written", media.name, extra={"interview": interview.uuid})
        return recording
    events = Event.chain_of(interview)
    head = events[-1]["sha256"] if events else chain.start(interview.uuid)
    document = manifest.build(interview.uuid, kiosk_id(config), [entry], head, len(events),
                              recording.started_at, recording.ended_at, recording.duration)
    written, _ = manifest.write(Path(recording.path), document, signing.for_kiosk(data, config))
    log.info("take %s %s, manifest %s signed", Path(recording.path).name, "sealed" if needs_seal else "kept",
             written.name, extra={"interview": interview.uuid})
    return recording


def close_pending(data: DataDir, config: Config) -> list[str]:
    """Every finished take that is not closed yet (recovered at this start, or cut off before its sealing or its
    manifest): closed now. Returns the uuids of the interviews done."""
    done = []
    recipients = bool(config["privacy.recipients"])
    query = Recording.select().where(Recording.state.in_(KEPT_STATES) & Recording.deleted_at.is_null())
    for recording in list(query):
        media = Path(recording.path)
        if (recipients and not crypto.is_sealed(media)) or not _signed(media):
            close_take(data, config, recording)
            done.append(recording.interview.uuid)
    return done
