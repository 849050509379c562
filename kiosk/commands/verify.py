"""`kiosk verify PATH|UUID [--json] [--key KEY] [--identity FILE]`: is a session's record as the kiosk signed it?

Checks each manifest's signature (against the kiosk's own key, or the one given with --key), the sha256 and size of
every file it names, and the event chain (from the database for a UUID; from the session JSON beside the manifest
for a PATH, decrypted with --identity when it is sealed). Exit 0 when everything is intact, 1 naming what differs,
2 when there is nothing to check.

    kiosk verify 3f2a9c1e                       # an interview on this kiosk (uuid or a unique 8+ prefix)
    kiosk verify /media/usb/export-2026-12-04   # an export, a sync folder, a manifest or a recording
    kiosk verify take.manifest.json --key kiosk-7.pub --identity centre.key --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.privacy import PrivacyError, chain, crypto, manifest, signing

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("verify", help="check a session's signature, event chain and file hashes; "
                                           "exit 1 naming what differs")
    parser.add_argument("target", metavar="PATH|UUID",
                        help="a manifest, a recording, a folder (export, sync) or an interview's uuid")
    parser.add_argument("--json", action="store_true", help="one JSON object naming the manifest and signature "
                                                            "files and each check")
    parser.add_argument("--key", metavar="KEY",
                        help="the kiosk's public key: its OpenSSH line or a file holding it (a .pub or an "
                             "allowed_signers file); default: this kiosk's own key")
    parser.add_argument("--identity", metavar="FILE",
                        help="an age identity file, to check the chain inside an encrypted session JSON")
    parser.set_defaults(func=_run)


def _pinned_keys(args, ctx):
    """The kiosk keys a signature may be made with: each ssh-ed25519 line of --key (a line, a .pub, an
    allowed_signers file of the centre's kiosks), else this kiosk's own; None when neither is there."""
    if args.key:
        text = Path(args.key).read_text(encoding="utf-8") if Path(args.key).is_file() else args.key
        lines = [line for line in text.splitlines() if signing.KEY_TYPE in line and not line.startswith("#")]
        return [signing.parse_public_line(line) for line in lines or [text]]
    if ctx.data.signing_key.exists():
        return [signing.for_kiosk(ctx.data, ctx.config).public]
    return None


def _session_events(found: Path, document: dict, identities) -> tuple[list | None, str]:
    """The events of the interview's session JSON beside the manifest (an export's session.json, or the
    <uuid>.session.json sync uploads; either sealed), and a note when they cannot be read."""
    names = ("session.json", f"{document.get('interview')}.session.json")
    candidates = [found.with_name(n) for n in names] + [crypto.sealed_name(found.with_name(n)) for n in names]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return None, f"no session JSON beside {found.name}: the event chain was not checked"
    if crypto.is_sealed(path):
        if not identities:
            return None, f"{path.name} is encrypted: pass --identity to check the event chain inside it"
        data = crypto.open_bytes(path, identities)
    else:
        data = path.read_bytes()
    try:
        return [chain.from_document(e) for e in json.loads(data).get("events") or []], ""
    except (ValueError, AttributeError, TypeError):
        return [{"kind": "unreadable session JSON"}], ""


def _check_path(target: Path, pinned, identities) -> tuple[list[manifest.Verification], list[str]]:
    if target.is_dir():
        manifests = sorted(target.rglob(f"*{manifest.MANIFEST_SUFFIX}"))
    elif target.name.endswith(manifest.MANIFEST_SUFFIX):
        manifests = [target]
    elif target.name.endswith(manifest.MANIFEST_SUFFIX + manifest.SIGNATURE_SUFFIX):
        manifests = [target.with_name(target.name[: -len(manifest.SIGNATURE_SUFFIX)])]
    else:
        manifests = [manifest.manifest_path(target)]
    results, notes = [], []
    for found in manifests:
        events, note = None, ""
        if found.exists():
            try:
                events, note = _session_events(found, manifest.load(found), identities)
            except PrivacyError as exc:
                note = str(exc)
        if note:
            notes.append(note)
        results.append(manifest.verify(found, pinned, events))
    return results, notes


def _check_uuid(value: str, ctx, pinned) -> tuple[list[manifest.Verification], list[str]] | None:
    from kiosk.commands.sessions import open_store
    from kiosk.db.models import KEPT_STATES, Event

    store = open_store(ctx)
    if store is None:
        return None
    interview = store.get(value)
    events = Event.chain_of(interview)
    results, notes = [], []
    for recording in interview.recordings:
        path = Path(recording.path)
        if recording.state not in KEPT_STATES:
            notes.append(f"{path.name} is {recording.state}: it has no manifest")
            continue
        if recording.deleted_at is not None:
            notes.append(f"{path.name} was removed by retention on {recording.deleted_at:%Y-%m-%d}")
            continue
        results.append(manifest.verify(manifest.manifest_path(path), pinned, events))
    return results, notes


def _run(args, ctx) -> int:
    from kiosk.sessions import SessionError

    target = Path(args.target)
    try:
        pinned = _pinned_keys(args, ctx)
        identities = crypto.load_identities(Path(args.identity)) if args.identity else []
        if target.exists():
            checked = _check_path(target.resolve(), pinned, identities)
        else:
            checked = _check_uuid(args.target, ctx, pinned)
            if checked is None:
                return EXIT_USAGE
    except (PrivacyError, SessionError, OSError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    results, notes = checked
    if not results:
        print(f"kiosk: {args.target}: no manifest to check. Fix: give a folder with .manifest.json files, a "
              f"manifest, or the uuid of a finished interview", file=sys.stderr)
        return EXIT_USAGE
    intact = all(r.intact for r in results)
    if args.json:
        print(json.dumps({"intact": intact, "manifests": [r.to_json() for r in results], "notes": notes}))
    else:
        for result in results:
            print(f"manifest:  {result.manifest}\nsignature: {result.signature}")
            for finding in result.findings:
                print(f"  {'ok  ' if finding.ok else 'FAIL'}  {finding.check}: {finding.detail}")
        for note in notes:
            print(f"  note  {note}")
        bad = sum(not f.ok for r in results for f in r.findings)
        print("intact" if intact else f"NOT intact: {bad} check(s) failed")
    return EXIT_OK if intact else EXIT_FAILED
