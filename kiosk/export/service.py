"""Exports wired to the database: pick interviews, turn each into an ExportSession (its interview document and
files), run the BagIt engine, mark them exported and audit it."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Sequence

from kiosk.db.database import transaction
from kiosk.db.models import AuditLog, Interview, Recording, utcnow
from kiosk.export.bag import (ExportCancelled, ExportError, ExportFile, ExportResult, ExportSession,
                                ProgressCallback, export_bag)
from kiosk.sessions.document import session_document
from kiosk.sessions.files import caption_files
from kiosk.sync.overview import sync_summary


# --------------------------------------------------------------------------------------------------------- database
def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExportError(f"'{text}' is not a date. Fix: write it as YYYY-MM-DD, e.g. 2026-11-24.") from None


def _local_date(value: dt.datetime | None) -> dt.date | None:
    return value.astimezone().date() if value is not None else None


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone().isoformat(timespec="seconds") if value is not None else ""


def interview_files(interview) -> list[Path]:
    """The interview's finished media files that exist on disk (a take still being written is left out)."""
    paths: list[Path] = []
    for rec in Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                   Recording.id):
        if rec.state == "recording" or rec.deleted_at is not None:
            continue
        paths.append(Path(rec.path))
    if not paths and interview.recording_path:
        paths.append(Path(interview.recording_path))
    return [p for p in paths if p.is_file()]


def select_interviews(since: dt.date | None = None, until: dt.date | None = None,
                      uuids: Sequence[str] | None = None) -> list:
    """Interviews by uuid, or by local start date in [since, until] (both inclusive), oldest first."""
    query = Interview.select().order_by(Interview.created_at, Interview.id)
    if uuids:
        wanted = list(dict.fromkeys(uuids))
        found = {i.uuid: i for i in Interview.select().where(Interview.uuid.in_(wanted))}
        missing = [u for u in wanted if u not in found]
        if missing:
            raise ExportError(f"No session with uuid {', '.join(missing)}. Fix: copy the uuid from "
                              f"the admin console's session list.")
        chosen = [found[u] for u in wanted]
    else:
        chosen = list(query)
    result = []
    for interview in chosen:
        day = _local_date(interview.started_at or interview.created_at)
        if since is not None and (day is None or day < since):
            continue
        if until is not None and (day is None or day > until):
            continue
        result.append(interview)
    return result


def to_export_session(interview) -> ExportSession:
    files = interview_files(interview)
    started = interview.started_at or interview.created_at
    duration = interview.recording_duration
    # The folder is named by date and uuid only: names and codes are personal data and never reach a file name
    # (they travel inside session.json and sessions.csv).
    label = started.astimezone().strftime("%Y-%m-%d") if started else ""
    return ExportSession(
        uuid=interview.uuid, label=label, document=session_document(interview),
        row={"code": interview.code, "candidate": interview.candidate_name, "started_at": _iso(interview.started_at),
             "ended_at": _iso(interview.ended_at), "duration_s": "" if duration is None else round(duration, 1),
             "status": interview.status, "sync_state": sync_summary(interview)},
        files=[ExportFile(p, p.name) for media in files for p in (media, *caption_files(media))])


def export_sessions(target: Path, *, since: dt.date | None = None, until: dt.date | None = None,
                    uuids: Sequence[str] | None = None, actor: str = "admin",
                    progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                    data_root: Path | None = None) -> ExportResult:
    """Pick interviews from the open database, export them, mark them exported and audit it (also a failure).

    `data_root`: the kiosk's data dir; a target inside it is refused (an export belongs off this machine's data, and
    bags inside the recordings folder would look like recordings to recovery)."""
    if data_root is not None:
        real_target, real_root = os.path.realpath(target), os.path.realpath(data_root)
        if os.path.commonpath([real_target, real_root]) == real_root:
            raise ExportError(f"The target {target} is inside the kiosk's data folder {data_root}. "
                              f"Fix: pick the USB stick (or another folder outside it).")

    interviews = select_interviews(since, until, uuids)
    if not interviews:
        raise ExportError("No sessions match. Fix: pick sessions or widen the date range (--since/--until).")
    sessions = [to_export_session(i) for i in interviews]
    try:
        result = export_bag(sessions, Path(target), progress=progress, cancel=cancel)
    except ExportError as exc:
        AuditLog.record(actor, "export.failed", str(target), sessions=[s.uuid for s in sessions],
                        reason="cancelled" if isinstance(exc, ExportCancelled) else str(exc))
        raise
    with transaction():
        Interview.update(exported_at=utcnow()).where(Interview.uuid.in_([s.uuid for s in sessions])).execute()
        AuditLog.record(actor, "export", str(result.path), sessions=[s.uuid for s in sessions],
                        files=result.files, bytes=result.payload_bytes, verified=result.verified)
    return result
