"""The candidate's interview flow as one explicit state machine, with a failsafe state. Pure Python, no Qt.

`Flow` is a reducer: ``flow.send(kind, now, **data)`` and ``flow.tick(now)`` change the state and return a list of
*effects* (what should happen in the outside world: start a take, pause it, speak a question, clear the screen).
It never touches a device, a file or a clock itself, so every transition is tested headless with explicit times.
`FlowRunner` executes the effects against the recorder and the session store and feeds their results back as events,
all on one thread (the UI thread calls ``runner.tick()`` from a timer; results from worker threads are queued).

    ATTRACT -start-> CODE -code_ok/walk_in-> CONSENT -accept-> DEVICE_CHECK -devices_ok-> THINK (practice)
       ^                                        |decline, |space_refused                        |
       |                                     DECLINED  UNAVAILABLE                           ANSWER (practice, not kept)
       |                                                                                         v
       |   THANKS <-saved- SAVING <-last done- ANSWER(Qn) <-think time over- THINK(Qn) <-done- ...
       |                                          |retake -> THINK(Qn, attempt+1)
       +-- idle timeout (from any candidate screen), thank-you timeout, failsafe timeout

    Any exception anywhere -> FAILSAFE: the running take is finalized (kept), back to ATTRACT after a timeout.
    Choosing a plan checks the disk (CheckSpace): when the longest take would not fit, UNAVAILABLE ("this kiosk cannot
    record right now, please ask staff") instead of the consent, nothing is recorded, back to ATTRACT after a timeout.
"""

from __future__ import annotations

import concurrent.futures
import enum
import logging
import queue
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from kiosk import logs
from kiosk.disk import NotEnoughSpace

log = logging.getLogger(__name__)


class State(enum.Enum):
    ATTRACT = "attract"
    CODE = "code"
    CONSENT = "consent"
    DECLINED = "declined"
    DEVICE_CHECK = "device_check"
    THINK = "think"            # question shown, think-time countdown (the take is paused)
    ANSWER = "answer"          # recording (or the practice answer, which is not recorded)
    SAVING = "saving"
    THANKS = "thanks"
    FAILSAFE = "failsafe"
    UNAVAILABLE = "unavailable"   # the kiosk cannot record (not enough disk space): ask staff; nothing recorded


# States that move on by themselves; idle time does not apply to them (a candidate may talk without touching).
TIMED_STATES = frozenset({State.THINK, State.ANSWER, State.SAVING, State.THANKS, State.DECLINED, State.FAILSAFE,
                          State.UNAVAILABLE})


@dataclass(frozen=True)
class Question:
    text: str
    think_s: float = 20.0
    answer_s: float = 120.0
    retakes: int = 1


@dataclass(frozen=True)
class InterviewPlan:
    """What one candidate will be asked. Built by the sessions layer from an interview code or a walk-in template."""

    title: str
    questions: tuple[Question, ...]
    consent_text: str
    code: str | None = None
    practice: Question | None = Question("Practice: tell us your first name and what you had for breakfast.",
                                         think_s=5.0, answer_s=20.0, retakes=0)
    ref: Any = None            # the sessions layer's handle (e.g. its interview id); opaque to the flow

    def __post_init__(self) -> None:
        if not self.questions:
            raise ValueError(f"interview '{self.title}' has no questions. Fix: add at least one question.")


@dataclass(frozen=True)
class Timing:
    idle_timeout_s: float = 120.0
    failsafe_timeout_s: float = 30.0
    thanks_s: float = 12.0
    declined_s: float = 10.0
    device_clip_s: float = 3.0
    read_aloud: bool = False
    countdown_s: float = 0.0       # "I'm ready" -> this many seconds of countdown before the take starts
    unavailable_s: float = 30.0    # the "cannot record right now" screen -> attract

    @classmethod
    def from_config(cls, config) -> "Timing":
        return cls(idle_timeout_s=float(config["ui.idle_timeout_s"]),
                   failsafe_timeout_s=float(config["ui.failsafe_timeout_s"]),
                   unavailable_s=float(config["ui.failsafe_timeout_s"]),
                   read_aloud=bool(config["ui.read_questions_aloud"]),
                   countdown_s=float(config["ui.countdown_s"]))


# ---- effects: what the flow asks the outside world to do -------------------------------------------------------

@dataclass(frozen=True)
class Effect:
    pass


@dataclass(frozen=True)
class CheckSpace(Effect):            # will the plan's longest take fit? A refusal comes back as "space_refused"
    plan: InterviewPlan


@dataclass(frozen=True)
class BeginSession(Effect):          # create the session row; the result comes back as "session_ready"/"error"
    plan: InterviewPlan


@dataclass(frozen=True)
class StartTake(Effect):             # open the one file of this interview, first chapter `label`
    label: str


@dataclass(frozen=True)
class PauseTake(Effect):
    pass


@dataclass(frozen=True)
class ResumeTake(Effect):
    label: str


@dataclass(frozen=True)
class Mark(Effect):
    label: str


@dataclass(frozen=True)
class FinishTake(Effect):            # finalize in the background; result comes back as "saved"/"save_failed"
    outcome: str                     # "completed" | "abandoned" | "failed"


@dataclass(frozen=True)
class Speak(Effect):
    text: str


@dataclass(frozen=True)
class StopSpeaking(Effect):
    pass


@dataclass(frozen=True)
class RecordTestClip(Effect):        # device check: record a short clip, then play it back
    seconds: float


@dataclass(frozen=True)
class ClearCandidate(Effect):        # forget everything about the last candidate (screens and memory)
    pass


@dataclass(frozen=True)
class EndSession(Effect):            # record the outcome of a session that has no take to finish
    outcome: str


# ---- the state machine -------------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    """Everything a screen needs to draw the current state (read-only view)."""

    state: State
    plan: InterviewPlan | None
    question_index: int | None       # None during practice
    practice: bool
    attempt: int                     # 1 = first answer, 2 = first retake, ...
    retakes_left: int
    deadline: float | None           # when the current timed state moves on (flow clock)
    message: str                     # e.g. a wrong-code notice, the failsafe reason
    save_progress: float
    help_shown: bool
    counting_down: bool = False      # THINK: "I'm ready" was pressed, the short countdown runs


class Flow:
    """The explicit state machine. All inputs carry `now` (seconds on any monotonic clock)."""

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self.state = State.ATTRACT
        self.history: list[tuple[State, State, str]] = []   # (from, to, why), kept short
        self._reset_candidate()
        self.last_input = 0.0

    # --- candidate data, forgotten on every return to ATTRACT
    def _reset_candidate(self) -> None:
        self.plan: InterviewPlan | None = None
        self.question_index: int | None = None
        self.practice = False
        self.attempt = 1
        self.retakes_left = 0
        self.deadline: float | None = None
        self.message = ""
        self.code_failures = 0
        self.take_open = False          # a take exists in the recorder (started, maybe paused)
        self.take_recording = False     # ... and is writing right now
        self.session_open = False
        self.save_progress = 0.0
        self.help_shown = False
        self.counting_down = False      # THINK: "I'm ready" started the countdown (a second tap does nothing)
        self.outcome = ""

    def snapshot(self) -> Snapshot:
        return Snapshot(self.state, self.plan, self.question_index, self.practice, self.attempt, self.retakes_left,
                        self.deadline, self.message, self.save_progress, self.help_shown, self.counting_down)

    @property
    def question(self) -> Question | None:
        if self.plan is None:
            return None
        if self.practice:
            return self.plan.practice
        if self.question_index is None:
            return None
        return self.plan.questions[self.question_index]

    def chapter_label(self) -> str:
        n = (self.question_index or 0) + 1
        return f"Q{n}" if self.attempt == 1 else f"Q{n} retake {self.attempt}"

    # --- transitions
    def _go(self, to: State, why: str, now: float, deadline: float | None = None) -> None:
        self.history.append((self.state, to, why))
        del self.history[:-50]
        log.info("flow %s -> %s (%s)", self.state.value, to.value, why)
        self.state = to
        self.deadline = deadline
        self.help_shown = False
        self.counting_down = False

    def _to_attract(self, why: str, now: float) -> list[Effect]:
        effects: list[Effect] = [StopSpeaking()]
        if self.take_open:
            effects.append(FinishTake("abandoned"))
        elif self.session_open:
            effects.append(EndSession("abandoned"))
        self._go(State.ATTRACT, why, now)
        self._reset_candidate()
        effects.append(ClearCandidate())
        return effects

    def _enter_think(self, now: float, why: str) -> list[Effect]:
        question = self.question
        assert question is not None
        self._go(State.THINK, why, now, now + question.think_s)
        effects: list[Effect] = []
        if self.timing.read_aloud:
            effects.append(Speak(question.text))
        return effects

    def _enter_answer(self, now: float, why: str) -> list[Effect]:
        question = self.question
        assert question is not None
        self._go(State.ANSWER, why, now, now + question.answer_s)
        effects: list[Effect] = [StopSpeaking()]
        if self.practice:
            return effects
        label = self.chapter_label()
        if not self.take_open:
            effects.append(StartTake(label))
            self.take_open = True
        else:
            effects.append(ResumeTake(label))
        self.take_recording = True
        return effects

    def _answer_done(self, now: float, why: str) -> list[Effect]:
        effects: list[Effect] = []
        if self.practice:
            self.practice = False
            self.question_index = 0
            self.attempt = 1
            self.retakes_left = self.plan.questions[0].retakes
            return effects + self._enter_think(now, why)
        assert self.question_index is not None and self.plan is not None
        if self.question_index + 1 < len(self.plan.questions):
            effects.append(PauseTake())
            self.take_recording = False
            self.question_index += 1
            self.attempt = 1
            self.retakes_left = self.plan.questions[self.question_index].retakes
            return effects + self._enter_think(now, why)
        self.take_recording = False
        self.take_open = False
        self.session_open = False       # finishing the take closes the session (the runner records the outcome)
        self.outcome = "completed"
        effects.append(FinishTake("completed"))
        self._go(State.SAVING, why, now)
        return effects

    def send(self, kind: str, now: float, **data: Any) -> list[Effect]:
        """A user input or a result from the outside. Unknown or out-of-place events are ignored (and logged)."""
        try:
            return self._send(kind, now, data)
        except Exception as exc:  # the state machine itself must never leave the candidate stuck
            return self.fail(f"{kind} in {self.state.value}: {exc!r}", now, traceback.format_exc())

    def _send(self, kind: str, now: float, data: dict[str, Any]) -> list[Effect]:
        if kind in USER_INPUTS:
            self.last_input = now
        s = self.state
        if kind == "touch":
            return []
        if kind == "error":
            return self.fail(str(data.get("reason", "error")), now, data.get("detail", ""))
        if kind == "admin_exit":
            return self._to_attract("admin console closed", now)
        if kind == "back_home" and s in (State.THANKS, State.DECLINED):
            return self._to_attract("candidate finished", now)
        if s is State.ATTRACT and kind == "start":
            self._go(State.CODE, "candidate touched start", now)
            return []
        if s is State.CODE:
            if kind == "code_ok":
                return self._accept_plan(data["plan"], now, "interview code accepted")
            if kind == "walk_in":
                return self._accept_plan(data["plan"], now, "walk-in interview")
            if kind == "code_bad":
                self.code_failures += 1
                self.message = "code_bad"
                return []
            if kind == "back":
                return self._to_attract("candidate went back", now)
        if s is State.CONSENT:
            if kind == "accept":
                self._go(State.DEVICE_CHECK, "consent given", now)
                self.session_open = True
                return [BeginSession(self.plan)]
            if kind == "decline":
                self._go(State.DECLINED, "consent declined", now, now + self.timing.declined_s)
                return []
        if kind == "space_refused" and s in (State.CONSENT, State.DEVICE_CHECK):
            # Not enough disk space for this plan's longest take: checked when the plan is chosen, and again by the
            # store when the session begins (space may have gone meanwhile). Nothing was written either way.
            self.session_open = False
            self.message = "no_space"
            self._go(State.UNAVAILABLE, "not enough disk space to record", now, now + self.timing.unavailable_s)
            return [StopSpeaking()]
        if s is State.DEVICE_CHECK:
            if kind == "test_clip":
                return [RecordTestClip(self.timing.device_clip_s)]
            if kind == "help":
                self.help_shown = True
                return []
            if kind == "devices_ok":
                if self.plan.practice is not None:
                    self.practice = True
                    self.attempt = 1
                    self.retakes_left = 0
                    return self._enter_think(now, "devices confirmed, practice question")
                return self._first_question(now, "devices confirmed")
        if s is State.THINK:
            if kind == "start_now":
                if self.counting_down:
                    return []                             # a second tap: the countdown already runs
                countdown = self.timing.countdown_s
                if countdown > 0 and self.deadline is not None and self.deadline - now > countdown:
                    self.deadline = now + countdown       # a short countdown instead of the rest of the think time
                    self.counting_down = True
                    return []
                return self._enter_think_over(now, "candidate is ready")
            if kind == "skip_practice" and self.practice:
                return self._first_question(now, "practice skipped")
        if s is State.ANSWER:
            if kind == "done":
                return self._answer_done(now, "candidate pressed done")
            if kind == "retake" and not self.practice and self.retakes_left > 0:
                self.retakes_left -= 1
                effects: list[Effect] = [PauseTake(), Mark(f"superseded: {self.chapter_label()}")]
                self.take_recording = False
                self.attempt += 1
                return effects + self._enter_think(now, "retake")
        if kind == "engine_stopped" and s in (State.THINK, State.ANSWER) and self.take_open:
            # The recorder ended the take itself (disk nearly full, the writer failed): what was recorded is being
            # finalized; the interview ends here like a finished one, and SAVING says how that went.
            self.take_open = self.take_recording = False
            self.session_open = False
            self.outcome = "stopped"
            self.message = str(data.get("reason", ""))
            self._go(State.SAVING, f"recorder stopped the take: {self.message}", now)
            return [StopSpeaking()]
        if s is State.SAVING:
            if kind == "save_progress":
                self.save_progress = float(data.get("progress", 0.0))
                return []
            if kind == "saved":
                self.save_progress = 1.0
                self.session_open = False
                self._go(State.THANKS, "recording saved", now, now + self.timing.thanks_s)
                return []
            if kind == "save_failed":
                return self.fail(f"the recording could not be finalized: {data.get('error', '')}", now, "")
        if s is State.DEVICE_CHECK and kind == "session_ready":
            return []
        if kind in ("save_progress", "saved", "save_failed", "session_ready", "engine_stopped", "space_refused"):
            return []   # a late result (e.g. after an idle reset): the runner has already recorded it
        log.debug("flow: %s ignored in %s", kind, s.value)
        return []

    def _enter_think_over(self, now: float, why: str) -> list[Effect]:
        return self._enter_answer(now, why)

    def _first_question(self, now: float, why: str) -> list[Effect]:
        self.practice = False
        self.question_index = 0
        self.attempt = 1
        self.retakes_left = self.plan.questions[0].retakes
        return self._enter_think(now, why)

    def _accept_plan(self, plan: InterviewPlan, now: float, why: str) -> list[Effect]:
        self.plan = plan
        self.message = ""
        self._go(State.CONSENT, why, now)
        # Before the consent: a runner answers at once, so a kiosk that cannot record never asks for consent.
        return [CheckSpace(plan)]

    def tick(self, now: float) -> list[Effect]:
        """Time passes: countdowns end, idle candidates are reset."""
        try:
            s = self.state
            if self.deadline is not None and now >= self.deadline:
                if s is State.THINK:
                    return self._enter_answer(now, "think time over")
                if s is State.ANSWER:
                    return self._answer_done(now, "answer time over")
                if s in (State.THANKS, State.DECLINED, State.FAILSAFE, State.UNAVAILABLE):
                    return self._to_attract(f"{s.value} timeout", now)
            if s is not State.ATTRACT and s not in TIMED_STATES \
                    and now - self.last_input >= self.timing.idle_timeout_s:
                return self._to_attract("idle timeout", now)
            return []
        except Exception as exc:
            return self.fail(f"tick in {self.state.value}: {exc!r}", now, traceback.format_exc())

    def fail(self, reason: str, now: float, detail: str = "") -> list[Effect]:
        """Any exception -> FAILSAFE. The take is finalized (kept); back to ATTRACT after the failsafe timeout."""
        log.error("failsafe in state %s (question %s, attempt %s): %s\n%s", self.state.value,
                  self.question_index, self.attempt, reason, detail)
        effects: list[Effect] = [StopSpeaking()]
        if self.take_open:
            effects.append(FinishTake("failed"))
            self.take_open = self.take_recording = False
        elif self.session_open:
            effects.append(EndSession("failed"))
        self.session_open = False
        if self.state is not State.FAILSAFE:
            self._go(State.FAILSAFE, "failure", now)
        self.message = reason
        self.deadline = now + self.timing.failsafe_timeout_s
        return effects


USER_INPUTS = frozenset({"touch", "start", "code_ok", "code_bad", "walk_in", "back", "accept", "decline",
                         "test_clip", "help", "devices_ok", "start_now", "skip_practice", "done", "retake",
                         "back_home"})


# ---- the runner: effects -> recorder and sessions ----------------------------------------------------------------

class SessionsPort(Protocol):
    """What the flow needs from the sessions layer (ui/services.py adapts the SessionStore to it)."""

    def find_plan(self, code: str) -> InterviewPlan | None: ...
    def walk_in_plan(self) -> InterviewPlan | None: ...
    def begin(self, plan: InterviewPlan) -> tuple[Any, Path]: ...        # (session handle, recording path)
    def finish(self, session: Any, outcome: str, metadata: dict | None, error: str | None) -> None: ...
    # optional: check_space(plan) raising kiosk.disk.NotEnoughSpace; refused(plan, error) to record a refusal;
    # note(session, kind, **detail) for the interview's event log


class FlowRunner:
    """Runs the Flow on one thread: applies its effects to the recorder and the session store.

    Results from other threads (a finalize Future, recorder events, a take whose encoders could not open) are queued
    with `post` and handled on the next `tick`, so the Flow is only ever touched by the thread that owns the runner
    (the UI thread in the app). start_take is called with wait=False: that thread never waits for the encoders.
    Effects that only a UI can carry out (Speak, RecordTestClip, ClearCandidate) go to `ui_effect`.
    """

    def __init__(self, flow: Flow, recorder, sessions: SessionsPort, clock: Callable[[], float],
                 ui_effect: Callable[[Effect], None] | None = None,
                 on_change: Callable[[Snapshot], None] | None = None) -> None:
        self.flow = flow
        self.recorder = recorder
        self.sessions = sessions
        self.clock = clock
        self.ui_effect = ui_effect or (lambda effect: None)
        self.on_change = on_change or (lambda snapshot: None)
        self.session: Any = None
        self.path: Path | None = None
        self.pending: concurrent.futures.Future | None = None
        self._inbox: "queue.SimpleQueue[tuple[str, dict]]" = queue.SimpleQueue()
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
            self.post("engine_stopped", reason=reason)
            self.post("save_failed", error=str(exc))
            return
        self.pending = future
        self.post("engine_stopped", reason=reason)
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
        self.post(_START_FAILED, error=error)

    def _start_failed(self, error: str) -> None:
        """On the runner's thread: end the interview exactly as a RecorderError from start_take would have."""
        if not self.flow.take_open:
            # The flow finished the take meanwhile; _finish found it not running and closed the session as failed.
            log.info("the take could not start: %s", error)
            return
        log.error("effect StartTake failed: %s", error)
        self._apply(self.flow.fail(f"StartTake failed: {error}", self.clock(), ""))

    # inputs
    def send(self, kind: str, **data: Any) -> None:
        before = self.flow.snapshot()
        self._apply(self.flow.send(kind, self.clock(), **data))
        self._track_interview()
        self._changed(before)

    def post(self, kind: str, **data: Any) -> None:
        """Thread-safe: queue an event for the next tick."""
        self._inbox.put((kind, data))

    def tick(self) -> None:
        before = self.flow.snapshot()
        while True:
            try:
                kind, data = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == _START_FAILED:
                self._start_failed(**data)
            else:
                self._apply(self.flow.send(kind, self.clock(), **data))
        self._apply(self.flow.tick(self.clock()))
        self._track_interview()
        self._changed(before)

    def fail(self, reason: str, detail: str = "") -> None:
        before = self.flow.snapshot()
        self._apply(self.flow.fail(reason, self.clock(), detail))
        self._track_interview()
        self._changed(before)

    def enter_code(self, code: str) -> None:
        plan = self.sessions.find_plan(code)
        if plan is None:
            self.send("code_bad")
        else:
            self.send("code_ok", plan=plan)

    def walk_in(self) -> None:
        plan = self.sessions.walk_in_plan()
        if plan is None:
            self.send("code_bad")
        else:
            self.send("walk_in", plan=plan)

    def _changed(self, before: Snapshot) -> None:
        after = self.flow.snapshot()
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
            check = getattr(self.sessions, "check_space", None)
            try:
                if check is not None:
                    check(effect.plan)
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
        """Not enough disk space for this plan: the staff's message (needed and free MB, the fix) goes to the log and,
        when the sessions layer keeps one, the audit log; the candidate gets the calm "ask staff" screen."""
        log.warning("an interview was refused: %s", exc)
        refused = getattr(self.sessions, "refused", None)
        if refused is not None:
            try:
                refused(plan, exc)
            except Exception:
                log.exception("could not record the refused interview")
        self._apply(self.flow.send("space_refused", self.clock(), reason=str(exc)))

    def _note(self, kind: str, **detail: Any) -> None:
        """An entry in the interview's event log, when the sessions layer keeps one (never fails the flow)."""
        note = getattr(self.sessions, "note", None)
        if note is None or self.session is None:
            return
        try:
            note(self.session, kind, question_index=self.flow.question_index, **detail)
        except Exception:
            log.exception("could not log %s", kind)

    def _finish(self, outcome: str) -> None:
        claimed, session = self._claim_finish()
        if not claimed:
            if self.session is not None:          # the take never started (its start failed): close the session
                session, self.session, self.path = self.session, None, None
                self.sessions.finish(session, "failed", None, "the recording did not start")
                self.post("save_failed", error="the recording did not start")
            return                                # else the engine is finishing it (engine_stopped is queued)
        try:
            future = self.recorder.stop_take()
        except Exception as exc:
            log.exception("stopping the take failed")
            self.sessions.finish(session, "failed", None, f"stop failed: {exc}")
            self.post("save_failed", error=str(exc))
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
            self.post("save_failed" if failed else "saved", metadata=metadata,
                      error="finalize failed" if failed else "")
        except Exception as exc:
            log.exception("finalizing the take failed")
            try:
                self.sessions.finish(session, "failed", None, repr(exc))
            except Exception:
                log.exception("recording the failed session failed")
            self.post("save_failed", error=repr(exc))


_START_FAILED = "_start_failed"     # runner-internal inbox entry (not a flow input): the take's encoders did not open


def _uuid_of(session: Any) -> str | None:
    uuid = getattr(session, "uuid", None)
    return uuid if isinstance(uuid, str) else None


class StoreSessions:
    """SessionsPort over kiosk.sessions.SessionStore, plus what the kiosk knows on top: the consent the candidate gave
    on the consent screen (recorded when the session begins, i.e. when they press "I agree") and the flow's own notes
    in the interview's event log (answers started, retakes)."""

    def __init__(self, store: Any, profile: str) -> None:
        self.store = store
        self.profile = profile

    def find_plan(self, code: str) -> InterviewPlan | None:
        return self.store.find_plan(code)

    def walk_in_plan(self) -> InterviewPlan | None:
        return self.store.walk_in_plan()

    def check_space(self, plan: InterviewPlan) -> None:
        """Raises kiosk.disk.NotEnoughSpace when the plan's longest take would not fit (a store without a config has
        no bitrates to estimate with: not checked)."""
        if getattr(self.store, "config", None) is not None:
            self.store.check_space(plan)

    def refused(self, plan: InterviewPlan, error: NotEnoughSpace) -> None:
        """A refusal for lack of space, where staff look: the audit log (and a scheduled interview's event log; it
        stays scheduled, so the candidate can use the code again once there is space)."""
        estimate = error.estimate
        detail = dict(reason="no_space", needed_bytes=estimate.needed_bytes, free_bytes=estimate.free_bytes,
                      where=estimate.where, message=str(error))
        interview = None
        if isinstance(plan.ref, int):
            from kiosk.db.models import Interview
            interview = Interview.get_or_none(Interview.id == plan.ref)
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
