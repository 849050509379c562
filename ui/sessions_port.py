"""The flow's view of the sessions database (kiosk.flow.SessionsPort).

When the SessionStore provides the port itself (find_plan, walk_in_plan, begin, finish) the flow uses it as it is.
Until then this adapter keeps the same promises with the database models directly: an interview code picks a
scheduled Interview row and its imported template; a walk-in uses the first imported template; `begin` marks the row
in progress with the consent time and reserves a fresh recording path; `finish` stores the recorder's metadata.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from kiosk.flow import InterviewPlan

log = logging.getLogger("ui.sessions")

PORT_METHODS = ("find_plan", "walk_in_plan", "begin", "finish")
OUTCOME_STATUS = {"completed": "completed", "abandoned": "interrupted", "failed": "failed"}


class StoreSessions:
    def __init__(self, store: Any, data, profile: str) -> None:
        self.store = store
        self.data = data
        self.profile = profile
        self._delegate = store if store is not None and all(hasattr(store, m) for m in PORT_METHODS) else None

    # ---- lookups
    def find_plan(self, code: str) -> InterviewPlan | None:
        if self._delegate is not None:
            return self._delegate.find_plan(code)
        from kiosk.db.models import Interview
        row = (Interview.select().where((Interview.code == code) & (Interview.status == "scheduled"))
               .order_by(Interview.created_at).first())
        if row is None:
            log.info("interview code not found (%d digits)", len(code))
            return None
        template = self._template(row.template)
        if template is None:
            log.error("interview %s names template %r, which is not imported", row.uuid, row.template)
            return None
        return template.to_plan(code=code, ref=row.id)

    def walk_in_plan(self) -> InterviewPlan | None:
        if self._delegate is not None:
            return self._delegate.walk_in_plan()
        template = self._template(None)
        if template is None:
            log.info("walk-in asked for, but no interview template is imported")
            return None
        return template.to_plan(code=None, ref=None)

    @staticmethod
    def _template(name: str | None):
        from kiosk import templates
        from kiosk.db.models import InterviewTemplate
        query = InterviewTemplate.select().order_by(InterviewTemplate.name)
        if name:
            query = query.where(InterviewTemplate.name == name)
        row = query.first()
        return templates.from_dict(row.body, source=f"template {row.name}") if row is not None else None

    # ---- the session
    def begin(self, plan: InterviewPlan) -> tuple[Any, Path]:
        if self._delegate is not None:
            return self._delegate.begin(plan)
        from kiosk.db.database import transaction
        from kiosk.db.models import Interview, Recording, utcnow
        from kiosk.media.naming import recording_path
        now = utcnow()
        with transaction():
            if plan.ref is not None:
                row = Interview.get_by_id(plan.ref)
            else:
                row = Interview(code="", template=self._template_name(plan))
            row.status = "in_progress"
            row.started_at = now
            row.consent_at = now
            row.owner_pid = os.getpid()
            row.owner_host = socket.gethostname()
            row.save()
            path = recording_path(self.data, row.uuid, self.profile)
            row.recording_path = str(path)
            row.save()
            Recording.create(interview=row, path=str(path), state="recording", profile=self.profile,
                             owner_pid=os.getpid(), owner_host=socket.gethostname())
        log.info("session %s begun: %s", row.uuid, path.name)
        return row, path

    @staticmethod
    def _template_name(plan: InterviewPlan) -> str:
        from kiosk.db.models import InterviewTemplate
        row = InterviewTemplate.select().where(InterviewTemplate.title == plan.title).first()
        return row.name if row is not None else ""

    def finish(self, session: Any, outcome: str, metadata: dict | None, error: str | None) -> None:
        if self._delegate is not None:
            return self._delegate.finish(session, outcome, metadata, error)
        if session is None:
            return
        from kiosk.db.database import transaction
        from kiosk.db.models import Interview, Recording, utcnow
        with transaction():
            row = Interview.get_by_id(session.id)
            row.status = OUTCOME_STATUS.get(outcome, "failed")
            row.end_reason = outcome if not error else f"{outcome}: {error}"
            row.ended_at = utcnow()
            row.owner_pid = None
            if metadata:
                row.recording_data = metadata
                row.recording_path = metadata.get("recording_path") or row.recording_path
                row.recording_duration = metadata.get("duration")
                row.is_recorded = metadata.get("state") in ("finalized", "recovered") and \
                    bool(metadata.get("duration"))
            row.save()
            recording = Recording.get_or_none(Recording.interview == row)
            if recording is not None:
                if metadata:
                    for field, key in (("container", "container"), ("video_codec", "video_codec"),
                                       ("audio_codec", "audio_codec"), ("width", "width"), ("height", "height"),
                                       ("fps", "fps"), ("size", "file_size"), ("duration", "duration"),
                                       ("sha256", "sha256"), ("frames_written", "frames_written"),
                                       ("frames_dropped", "frames_dropped")):
                        if metadata.get(key) is not None:
                            setattr(recording, field, metadata[key])
                    recording.path = metadata.get("recording_path") or recording.path
                    recording.state = metadata.get("state") or "failed"
                elif outcome != "completed":
                    recording.state = "failed"
                recording.error = error or ""
                recording.ended_at = utcnow()
                recording.owner_pid = None
                recording.save()
        log.info("session %s finished: %s", row.uuid, row.status)


def import_template(path: Path) -> None:
    """Import a template file into the database (for tests and first start)."""
    from kiosk import templates
    from kiosk.db.models import InterviewTemplate
    template = templates.load(path)
    InterviewTemplate.insert(name=template.name, title=template.title, body=template.to_dict(),
                             sha256=template.sha256, source=str(path)).on_conflict_replace().execute()

