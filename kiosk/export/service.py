"""Exports wired to the database: pick interviews, turn each into an ExportSession (its interview document and
files), run the BagIt engine, mark them exported and audit it."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Sequence

from kiosk.export.bag import (ExportCancelled, ExportError, ExportFile, ExportResult, ExportSession,
                                ProgressCallback, export_bag)
from kiosk.privacy import crypto
from kiosk.privacy.takes import travelling_files
from kiosk.sessions import queries
from kiosk.sessions.document import session_document
from kiosk.sessions.files import caption_files
from kiosk.sessions.store import SessionStore
from kiosk.sync.overview import sync_summary


# --------------------------------------------------------------------------------------------------------- database
def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExportError(f"'{text}' is not a date. Fix: write it as YYYY-MM-DD, e.g. 2026-11-24.") from None


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone().isoformat(timespec="seconds") if value is not None else ""


def select_interviews(since: dt.date | None = None, until: dt.date | None = None,
                      uuids: Sequence[str] | None = None) -> list:
    """Interviews by uuid, or by local start date in [since, until] (both inclusive), oldest first."""
    if uuids:
        chosen, missing = queries.interviews_by_uuid(uuids)
        if missing:
            raise ExportError(f"No session with uuid {', '.join(missing)}. Fix: copy the uuid from "
                              f"the admin console's session list.")
    else:
        chosen = queries.list_interviews(oldest_first=True)
    return [i for i in chosen if queries.started_within(i, since, until)]


def to_export_session(interview, recipients: Sequence = ()) -> ExportSession:
    """The interview as the bag engine takes it. With `recipients` (the centre's age keys) the session.json is
    sealed and sessions.csv, which stays plain text, leaves out the code and the name."""
    files = queries.finished_files(interview)
    started = interview.started_at or interview.created_at
    duration = interview.recording_duration
    # The folder is named by date and uuid only: names and codes are personal data and never reach a file name
    # (they travel inside session.json and sessions.csv).
    label = started.astimezone().strftime("%Y-%m-%d") if started else ""
    sealed = bool(recipients)
    return ExportSession(
        uuid=interview.uuid, label=label, document=session_document(interview),
        row={"code": "" if sealed else interview.code, "candidate": "" if sealed else interview.candidate_name,
             "started_at": _iso(interview.started_at), "ended_at": _iso(interview.ended_at),
             "duration_s": "" if duration is None else round(duration, 1), "status": interview.status,
             "sync_state": sync_summary(interview)},
        # Each take with its captions, and its signed manifest (the centre checks it with ssh-keygen -Y verify).
        files=[ExportFile(p, p.name) for media in files
               for p in (media, *caption_files(media), *travelling_files(media))],
        seal=(lambda blob: crypto.seal_bytes(blob, recipients)) if sealed else None)


def export_sessions(store: SessionStore, target: Path, *, since: dt.date | None = None, until: dt.date | None = None,
                    uuids: Sequence[str] | None = None, actor: str = "admin",
                    progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> ExportResult:
    """Pick interviews from the open database, export them, mark them exported and audit it (also a failure), all
    writes through `store`. A target inside the kiosk's data dir is refused (an export belongs off this machine's
    data, and bags inside the recordings folder would look like recordings to recovery)."""
    data_root = store.data.root
    real_target, real_root = os.path.realpath(target), os.path.realpath(data_root)
    if os.path.commonpath([real_target, real_root]) == real_root:
        raise ExportError(f"The target {target} is inside the kiosk's data folder {data_root}. "
                          f"Fix: pick the USB stick (or another folder outside it).")

    interviews = select_interviews(since, until, uuids)
    if not interviews:
        raise ExportError("No sessions match. Fix: pick sessions or widen the date range (--since/--until).")
    recipients = crypto.parse_recipients(store.config["privacy.recipients"]) if store.config is not None else []
    sessions = [to_export_session(i, recipients) for i in interviews]
    try:
        result = export_bag(sessions, Path(target), progress=progress, cancel=cancel)
    except ExportError as exc:
        store.audit(actor, "export.failed", str(target), sessions=[s.uuid for s in sessions],
                    reason="cancelled" if isinstance(exc, ExportCancelled) else str(exc))
        raise
    store.mark_exported([s.uuid for s in sessions], actor, str(result.path), files=result.files,
                        bytes=result.payload_bytes, verified=result.verified)
    return result
