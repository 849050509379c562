"""FlowRunner: runs the Flow on one thread and carries out its effects against the recorder and the sessions layer.

Results from worker threads are queued and fed back to the Flow as events on that thread (the UI thread calls
``runner.tick()`` from a timer).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Protocol

from kiosk import logs
from kiosk.disk import NotEnoughSpace
from kiosk.flow.effects import (BeginSession, CheckSpace, Effect, EndSession, FinishTake, Mark, PauseTake,
                                ResumeTake, StartTake)
from kiosk.flow.machine import Event, Flow, Snapshot, State
from kiosk.flow.plan import InterviewPlan

log = logging.getLogger(__package__)      # "kiosk.flow", like the machine's


class SessionsPort(Protocol):
    """What the flow needs from the sessions layer (kiosk.sessions.flow_port.StoreSessions adapts the SessionStore)."""

    def find_plan(self, code: str) -> InterviewPlan | None: ...
    def walk_in_plan(self) -> InterviewPlan | None: ...
    def check_space(self, plan: InterviewPlan) -> None: ...             # raises kiosk.disk.NotEnoughSpace
    def refused(self, plan: InterviewPlan, error: NotEnoughSpace) -> None: ...   # record a refusal for staff
    def begin(self, plan: InterviewPlan) -> tuple[Any, Path]: ...        # (session handle, recording path)
    def finish(self, session: Any, outcome: str, metadata: dict | None, error: str | None) -> None: ...
    def note(self, session: Any, kind: str, **detail: Any) -> None: ...  # an entry in the interview's event log


class FlowRunner:
    """Runs the Flow on one thread: applies its effects to the recorder and the session store.

    Results from other threads (a finalize Future, recorder events, a take whose encoders could not open) are queued
    with `post` and handled on the next `tick`, so the Flow is only ever touched by the thread that owns the runner
    (the UI thread in the app). start_take is called with wait=False: that thread never waits for the encoders.
    Effects that only a UI can carry out (Speak, RecordTestClip, ClearCandidate) go to `ui_effect`.

    The booth's rules around a candidate live here too: no interview starts while `booth_ready()` is False (a device
    is missing: kiosk.capture.health); interview codes go through `codes` (kiosk.code_guard: a growing delay after
    5 wrong ones); the camera device is opened when a candidate has consented (device check) and closed, with the
    camera switched back on for the next candidate, once the flow is back at the welcome screen and the recorder idle.
    """

    def __init__(self, flow: Flow, recorder, sessions: SessionsPort, clock: Callable[[], float],
                 ui_effect: Callable[[Effect], None] | None = None,
                 on_change: Callable[[Snapshot], None] | None = None,
                 booth_ready: Callable[[], bool] = lambda: True, codes=None) -> None:
        from kiosk import code_guard
        self.flow = flow
        self.booth_ready = booth_ready
        self.codes = codes if codes is not None else code_guard.for_database()
        self._rest_camera = True          # close the camera once the recorder is idle (at start: until consent)
        self.recorder = recorder
        self.sessions = sessions
        self.clock = clock
        self.ui_effect = ui_effect or (lambda effect: None)
        self.on_change = on_change or (lambda snapshot: None)
        self.session: Any = None
        self.path: Path | None = None
        self.pending: concurrent.futures.Future | None = None
        self._inbox: "queue.SimpleQueue[tuple[Event | str, dict]]" = queue.SimpleQueue()
        self.last_metadata: dict | None = None
        self._lock = threading.Lock()
        self._take_running = False       # a take this runner started is running and nobody is finishing it yet
        flow.last_input = clock()
        bus = getattr(recorder, "bus", None)
        self._unsubscribe = [bus.subscribe(self._on_engine_event, prefix) for prefix in ("disk.low",
                                                                                           "recording.failed")] \
            if bus is not None else []

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        logs.current_interview.set("-")

    def _track_interview(self) -> None:
        """Log lines on the runner's thread carry the interview's uuid from the start of its session until the flow is
        back at the attract screen. (Other threads do not share this context: see _record_result.)"""
        uuid = _uuid_of(self.session)
        if uuid is None and self.flow.state is not State.ATTRACT:
            return                        # saving, thank-you: still this candidate's interview
        if logs.current_interview.get() != (uuid or "-"):
            logs.current_interview.set(uuid or "-")

    def _claim_finish(self) -> tuple[bool, Any]:
        """Exactly one of the flow (FinishTake) and the engine (it stopped the take itself) finishes a take."""
        with self._lock:
            if not self._take_running:
                return False, None
            self._take_running = False
            session, self.session, self.path = self.session, None, None
            return True, session

    def _on_engine_event(self, event) -> None:
        """On the recorder's thread: it is ending the take by itself. Take the finalize Future now, while the take
        still exists (stop_take returns the same Future to whoever asks), and tell the flow."""
        if event.kind == "recording.failed" and event.data.get("stage") == "start":
            self._on_start_failed(str(event.data.get("error", "no encoder could be opened")))
            return
        claimed, session = self._claim_finish()
        if not claimed:
            return
        reason = event.kind if event.kind != "recording.failed" else str(event.data.get("error", "writer failed"))
        log.info("the recorder is ending the take by itself: %s", reason,
                 extra={"interview": _uuid_of(session) or "-"})
        outcome = "completed" if event.kind == "disk.low" else "failed"
        try:
            future = self.recorder.stop_take()
        except Exception as exc:
            self.sessions.finish(session, "failed", None, f"{reason}; stop failed: {exc}")
            self.post(Event.ENGINE_STOPPED, reason=reason)
            self.post(Event.SAVE_FAILED, error=str(exc))
            return
        self.pending = future
        self.post(Event.ENGINE_STOPPED, reason=reason)
        future.add_done_callback(lambda f: self._record_result(f, session, outcome))

    def _on_start_failed(self, error: str) -> None:
        """On the recorder's thread: the take this runner started (start_take with wait=False) could not open any
        encoder. Nothing was recorded, so there is nothing to finalize; the flow hears of it on the next tick, just as
        if start_take had raised. A failure of a take the runner did not start (the device-check clip) is not its
        business; if the flow is already finishing the take, its stop_take gets the failed result instead."""
        with self._lock:
            if not self._take_running:
                return
            self._take_running = False
        self._inbox.put((_START_FAILED, {"error": error}))

    def _start_failed(self, error: str) -> None:
        """On the runner's thread: end the interview exactly as a RecorderError from start_take would have."""
        if not self.flow.take_open:
            # The flow finished the take meanwhile; _finish found it not running and closed the session as failed.
            log.info("the take could not start: %s", error)
            return
        log.error("effect StartTake failed: %s", error)
        self._apply(self.flow.fail(f"StartTake failed: {error}", self.clock(), ""))

    # inputs
    def send(self, event: Event, **data: Any) -> None:
        if event is Event.START and self.flow.state is State.ATTRACT and not self.booth_ready():
            log.info("start refused: the booth is not ready")
            return
        before = self.flow.snapshot()
        self._apply(self.flow.send(event, self.clock(), **data))
        self._track_interview()
        self._changed(before)

    def post(self, event: Event, **data: Any) -> None:
        """Thread-safe: queue an event for the next tick."""
        self._inbox.put((event, data))

    def tick(self) -> None:
        before = self.flow.snapshot()
        while True:
            try:
                event, data = self._inbox.get_nowait()
            except queue.Empty:
                break
            if event == _START_FAILED:
                self._start_failed(**data)
            else:
                self._apply(self.flow.send(event, self.clock(), **data))
        self._apply(self.flow.tick(self.clock()))
        self._track_interview()
        self._changed(before)
        if self._rest_camera and self.flow.state is State.ATTRACT and getattr(self.recorder, "state", "") == \
                "previewing":
            self._rest_camera = False
            self.recorder.set_camera_enabled(True)     # every candidate starts with the camera on
            self.recorder.release_camera()              # light off until the next consent

    def fail(self, reason: str, detail: str = "") -> None:
        before = self.flow.snapshot()
        self._apply(self.flow.fail(reason, self.clock(), detail))
        self._track_interview()
        self._changed(before)

    def enter_code(self, code: str) -> None:
        attempt = self.codes.attempt(code, self.sessions.find_plan)
        if attempt.plan is not None:
            self.send(Event.CODE_OK, plan=attempt.plan)
        else:
            self.send(Event.CODE_BAD, locked_for_s=attempt.locked_for_s)

    def rest_camera(self) -> None:
        """Close the camera at the next tick when the flow is at the welcome screen (e.g. the admin console closed
        after its Devices page showed the camera)."""
        self._rest_camera = True

    def walk_in(self) -> None:
        plan = self.sessions.walk_in_plan()
        if plan is None:
            self.send(Event.CODE_BAD)
        else:
            self.send(Event.WALK_IN, plan=plan)

    def _changed(self, before: Snapshot) -> None:
        after = self.flow.snapshot()
        if after.state is not before.state:
            if after.state is State.DEVICE_CHECK and self.recorder is not None:
                self.recorder.reopen_camera()          # consent given: now the camera may see the candidate
            elif after.state is State.ATTRACT:
                self._rest_camera = True
        if after != before:
            self.on_change(after)

    # effects
    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            try:
                self._apply_one(effect)
            except Exception as exc:
                # The type only: an effect's fields hold the plan (interview code, consent text) and question texts.
                log.exception("effect %s failed", type(effect).__name__)
                if self.flow.state is not State.FAILSAFE:
                    self._apply(self.flow.fail(f"{type(effect).__name__} failed: {exc}", self.clock(),
                                               traceback.format_exc()))
                    return

    def _apply_one(self, effect: Effect) -> None:
        if isinstance(effect, CheckSpace):
            try:
                self.sessions.check_space(effect.plan)
            except NotEnoughSpace as exc:
                self._refuse(effect.plan, exc)
        elif isinstance(effect, BeginSession):
            try:
                self.session, self.path = self.sessions.begin(effect.plan)
            except NotEnoughSpace as exc:       # space went while the candidate read the consent: nothing written
                self._refuse(effect.plan, exc)
                return
            self._track_interview()
        elif isinstance(effect, StartTake):
            if self.path is None:
                raise RuntimeError("no session was begun before the first take")
            uuid = getattr(self.session, "uuid", None)
            with self._lock:              # before the call: a failure to open the encoders can be reported at once
                self._take_running = True
            try:
                # Never block the UI thread on the encoders opening (60-75 ms for VP9 at 1080p): "no encoder could
                # open" comes back as the "recording.failed" event (stage "start"), handled on the next tick.
                # Refusals known at once (state, existing path, low disk) still raise RecorderError here.
                self.recorder.start_take(self.path, interview_uuid=uuid if isinstance(uuid, str) else None,
                                         label=effect.label, wait=False)
            except BaseException:
                with self._lock:
                    self._take_running = False
                raise
            self._note("answer.started", label=effect.label)
        elif isinstance(effect, PauseTake):
            self.recorder.pause_take()
        elif isinstance(effect, ResumeTake):
            self.recorder.resume_take(effect.label)
            self._note("answer.started", label=effect.label)
        elif isinstance(effect, Mark):
            self.recorder.mark(effect.label)
            self._note("answer.superseded", label=effect.label.split(": ", 1)[-1])
        elif isinstance(effect, FinishTake):
            self._finish(effect.outcome)
        elif isinstance(effect, EndSession):
            if self.session is not None:
                self.sessions.finish(self.session, effect.outcome, None, None)
            self.session = None
            self.path = None
        else:
            self.ui_effect(effect)

    def _refuse(self, plan: InterviewPlan, exc: NotEnoughSpace) -> None:
        """Not enough disk space for this plan: the staff's message (needed and free MB, the fix) goes to the log and
        the sessions layer's record of refusals; the candidate gets the calm "ask staff" screen."""
        log.warning("an interview was refused: %s", exc)
        try:
            self.sessions.refused(plan, exc)
        except Exception:
            log.exception("could not record the refused interview")
        self._apply(self.flow.send(Event.SPACE_REFUSED, self.clock(), reason=str(exc)))

    def _note(self, kind: str, **detail: Any) -> None:
        """An entry in the interview's event log (never fails the flow)."""
        if self.session is None:
            return
        try:
            self.sessions.note(self.session, kind, question_index=self.flow.question_index, **detail)
        except Exception:
            log.exception("could not log %s", kind)

    def _finish(self, outcome: str) -> None:
        claimed, session = self._claim_finish()
        if not claimed:
            if self.session is not None:          # the take never started (its start failed): close the session
                session, self.session, self.path = self.session, None, None
                self.sessions.finish(session, "failed", None, "the recording did not start")
                self.post(Event.SAVE_FAILED, error="the recording did not start")
            return                                # else the engine is finishing it (engine_stopped is queued)
        try:
            future = self.recorder.stop_take()
        except Exception as exc:
            log.exception("stopping the take failed")
            self.sessions.finish(session, "failed", None, f"stop failed: {exc}")
            self.post(Event.SAVE_FAILED, error=str(exc))
            return
        self.pending = future
        future.add_done_callback(lambda f: self._record_result(f, session, outcome))

    def _record_result(self, future: concurrent.futures.Future, session: Any, outcome: str) -> None:
        """On the recorder's thread: record the result at once (the candidate may be gone by now), then tell the
        flow on its own thread."""
        with logs.interview_context(_uuid_of(session)):
            self._record_result_now(future, session, outcome)

    def _record_result_now(self, future: concurrent.futures.Future, session: Any, outcome: str) -> None:
        try:
            result = future.result()
            metadata = dict(getattr(result, "metadata", {}) or {})
            self.last_metadata = metadata
            failed = (getattr(result, "state", None) or metadata.get("state")) == "failed"
            self.sessions.finish(session, outcome if not failed else "failed", metadata,
                                 "finalize failed" if failed else None)
            self.post(Event.SAVE_FAILED if failed else Event.SAVED, metadata=metadata,
                      error="finalize failed" if failed else "")
        except Exception as exc:
            log.exception("finalizing the take failed")
            try:
                self.sessions.finish(session, "failed", None, repr(exc))
            except Exception:
                log.exception("recording the failed session failed")
            self.post(Event.SAVE_FAILED, error=repr(exc))


_START_FAILED = "start_failed"      # runner-internal inbox entry (not a flow Event): the take's encoders did not open


def _uuid_of(session: Any) -> str | None:
    uuid = getattr(session, "uuid", None)
    return uuid if isinstance(uuid, str) else None
