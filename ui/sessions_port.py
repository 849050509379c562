"""The flow's view of the sessions database (kiosk.flow.SessionsPort), over kiosk.sessions.SessionStore.

The store already speaks the port (find_plan, walk_in_plan, begin, finish); this adds what the kiosk knows on top:
the consent the candidate gave on the consent screen (recorded when the session begins, which is the moment they
press "I agree") and the flow's own notes in the interview's event log (answers started, retakes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kiosk.flow import InterviewPlan

log = logging.getLogger("ui.sessions")


class StoreSessions:
    def __init__(self, store: Any, profile: str) -> None:
        self.store = store
        self.profile = profile

    def find_plan(self, code: str) -> InterviewPlan | None:
        return self.store.find_plan(code)

    def walk_in_plan(self) -> InterviewPlan | None:
        return self.store.walk_in_plan()

    def begin(self, plan: InterviewPlan) -> tuple[Any, Path]:
        interview, path = self.store.begin(plan, self.profile)
        template = self.store.get_template(interview.template)
        self.store.record_consent(interview, template.consent_version if template is not None else "")
        log.info("session %s begun: %s", interview.uuid, path.name)
        return interview, path

    def finish(self, session: Any, outcome: str, metadata: dict | None, error: str | None) -> None:
        if session is None:
            return
        interview = self.store.finish(session, outcome, metadata, error)
        log.info("session %s finished: %s (%s)", interview.uuid, interview.status, interview.end_reason)

    def note(self, session: Any, kind: str, **detail: Any) -> None:
        if session is not None:
            self.store.log_event(session, kind, **detail)
