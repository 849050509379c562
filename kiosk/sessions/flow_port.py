"""StoreSessions: the flow's SessionsPort (kiosk.flow.runner) over the SessionStore; the sessions side implements it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.disk import NotEnoughSpace
from kiosk.flow.plan import InterviewPlan
from kiosk.sessions.queries import scheduled_interview
from kiosk.sessions.store import SessionStore


class StoreSessions:
    """SessionsPort over kiosk.sessions.SessionStore, plus what the kiosk knows on top: the consent the candidate gave
    on the consent screen (recorded when the session begins, i.e. when they press "I agree") and the flow's own notes
    in the interview's event log (answers started, retakes)."""

    def __init__(self, store: SessionStore, profile: str) -> None:
        self.store = store
        self.profile = profile

    def find_plan(self, code: str) -> InterviewPlan | None:
        return self.store.find_plan(code)

    def walk_in_plan(self) -> InterviewPlan | None:
        return self.store.walk_in_plan()

    def check_space(self, plan: InterviewPlan) -> None:
        """Raises kiosk.disk.NotEnoughSpace when the plan's longest take would not fit (a store without a config has
        no bitrates to estimate with: not checked)."""
        if self.store.config is not None:
            self.store.check_space(plan)

    def refused(self, plan: InterviewPlan, error: NotEnoughSpace) -> None:
        """A refusal for lack of space, where staff look: the audit log (and a scheduled interview's event log; it
        stays scheduled, so the candidate can use the code again once there is space)."""
        estimate = error.estimate
        detail = dict(reason="no_space", needed_bytes=estimate.needed_bytes, free_bytes=estimate.free_bytes,
                      where=estimate.where, message=str(error))
        interview = scheduled_interview(plan)
        if interview is not None:
            self.store.log_event(interview, "session.refused", **detail)
        self.store.audit("system", "session.refused", interview.uuid if interview is not None else "",
                         template=getattr(plan.ref, "template", None) or plan.title, **detail)

    def begin(self, plan: InterviewPlan) -> tuple[Any, Path]:
        interview, path = self.store.begin(plan, self.profile)
        template = self.store.get_template(interview.template)
        self.store.record_consent(interview, template.consent_version if template is not None else "")
        return interview, path          # the store logs the start and the end of the session

    def finish(self, session: Any, outcome: str, metadata: dict | None, error: str | None) -> None:
        if session is None:
            return
        self.store.finish(session, outcome, metadata, error)

    def note(self, session: Any, kind: str, **detail: Any) -> None:
        if session is not None:
            self.store.log_event(session, kind, **detail)
