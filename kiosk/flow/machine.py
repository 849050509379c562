"""The candidate's interview flow as one explicit state machine, with a failsafe state. Pure Python, no Qt.

`Flow` is a reducer: ``flow.send(event, now, **data)`` and ``flow.tick(now)`` change the state and return a list of
*effects* (kiosk.flow.effects: start a take, pause it, speak a question, clear the screen). It never touches a
device, a file or a clock itself, so every transition is tested headless with explicit times. Each state has one
handler (`Flow._HANDLERS`); the few events that mean the same in every state are handled before it.

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

import enum
import logging
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.flow.effects import (BeginSession, CheckSpace, ClearCandidate, Effect, EndSession, FinishTake, Mark,
                                PauseTake, RecordTestClip, ResumeTake, Speak, StartTake, StopSpeaking)
from kiosk.flow.plan import InterviewPlan, Question

log = logging.getLogger(__package__)      # "kiosk.flow": one logger for the whole flow, as staff filter on it


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


class Event(enum.Enum):
    """What the flow accepts: the candidate's inputs and the outside world's results."""

    # the candidate
    TOUCH = "touch"
    START = "start"
    CODE_OK = "code_ok"            # data: plan
    CODE_BAD = "code_bad"
    WALK_IN = "walk_in"            # data: plan
    BACK = "back"
    ACCEPT = "accept"
    DECLINE = "decline"
    TEST_CLIP = "test_clip"
    HELP = "help"
    DEVICES_OK = "devices_ok"
    START_NOW = "start_now"
    SKIP_PRACTICE = "skip_practice"
    DONE = "done"
    RETAKE = "retake"
    BACK_HOME = "back_home"
    # staff and the outside world
    ADMIN_EXIT = "admin_exit"
    ERROR = "error"                # data: reason, detail
    SPACE_REFUSED = "space_refused"    # data: reason
    ENGINE_STOPPED = "engine_stopped"  # data: reason
    SAVE_PROGRESS = "save_progress"    # data: progress
    SAVED = "saved"                # data: metadata
    SAVE_FAILED = "save_failed"    # data: error


USER_INPUTS = frozenset({Event.TOUCH, Event.START, Event.CODE_OK, Event.CODE_BAD, Event.WALK_IN, Event.BACK,
                         Event.ACCEPT, Event.DECLINE, Event.TEST_CLIP, Event.HELP, Event.DEVICES_OK, Event.START_NOW,
                         Event.SKIP_PRACTICE, Event.DONE, Event.RETAKE, Event.BACK_HOME})

# Results that may arrive late (e.g. after an idle reset): the runner has already recorded them; ignored silently.
LATE_RESULTS = frozenset({Event.SAVE_PROGRESS, Event.SAVED, Event.SAVE_FAILED, Event.ENGINE_STOPPED,
                          Event.SPACE_REFUSED})

# States that move on by themselves; idle time does not apply to them (a candidate may talk without touching).
TIMED_STATES = frozenset({State.THINK, State.ANSWER, State.SAVING, State.THANKS, State.DECLINED, State.FAILSAFE,
                          State.UNAVAILABLE})


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


# A state's handler: the effects of an event, or None when the event means nothing in that state.
Handler = Callable[["Flow", Event, float, dict[str, Any]], "list[Effect] | None"]


class Flow:
    """The explicit state machine. All inputs carry `now` (seconds on any monotonic clock)."""

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self.state = State.ATTRACT
        self.history: list[tuple[State, State, str]] = []   # (from, to, why), kept short
        self._reset_candidate()
        self.last_input = 0.0

    @property
    def candidate_present(self) -> bool:
        """Someone has started at the kiosk (from the first touch until the flow is back at the attract screen)."""
        return self.state not in (State.ATTRACT, State.UNAVAILABLE)

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

    # --- inputs
    def send(self, event: Event, now: float, **data: Any) -> list[Effect]:
        """A user input or a result from the outside. Out-of-place events are ignored (and logged)."""
        if not isinstance(event, Event):      # a caller's bug, not the candidate's: say so instead of ignoring it
            raise TypeError(f"Flow.send takes a kiosk.flow.Event, not {event!r}. Fix: send Event.{str(event).upper()}.")
        try:
            return self._send(event, now, data)
        except Exception as exc:  # the state machine itself must never leave the candidate stuck
            return self.fail(f"{event.value} in {self.state.value}: {exc!r}", now, traceback.format_exc())

    def _send(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect]:
        if event in USER_INPUTS:
            self.last_input = now
        effects = self._in_any_state(event, now, data)
        if effects is None:
            effects = self._HANDLERS[self.state](self, event, now, data)
        if effects is None:
            if event not in LATE_RESULTS:
                log.debug("flow: %s ignored in %s", event.value, self.state.value)
            return []
        return effects

    def _in_any_state(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.TOUCH:
            return []
        if event is Event.ERROR:
            return self.fail(str(data.get("reason", "error")), now, data.get("detail", ""))
        if event is Event.ADMIN_EXIT:
            return self._to_attract("admin console closed", now)
        return None

    # --- one handler per state
    def _on_attract(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.START:
            self._go(State.CODE, "candidate touched start", now)
            return []
        return None

    def _on_code(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.CODE_OK:
            return self._accept_plan(data["plan"], now, "interview code accepted")
        if event is Event.WALK_IN:
            return self._accept_plan(data["plan"], now, "walk-in interview")
        if event is Event.CODE_BAD:
            self.code_failures += 1
            # Too many wrong codes: no code is taken for a while (kiosk.code_guard); the screen says so.
            self.message = "code_locked" if data.get("locked_for_s") else "code_bad"
            return []
        if event is Event.BACK:
            return self._to_attract("candidate went back", now)
        return None

    def _on_consent(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.ACCEPT:
            self._go(State.DEVICE_CHECK, "consent given", now)
            self.session_open = True
            return [BeginSession(self.plan)]
        if event is Event.DECLINE:
            self._go(State.DECLINED, "consent declined", now, now + self.timing.declined_s)
            return []
        if event is Event.SPACE_REFUSED:
            return self._refused_for_space(now)
        return None

    def _on_device_check(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.SPACE_REFUSED:
            return self._refused_for_space(now)
        if event is Event.TEST_CLIP:
            return [RecordTestClip(self.timing.device_clip_s)]
        if event is Event.HELP:
            self.help_shown = True
            return []
        if event is Event.DEVICES_OK:
            if self.plan.practice is not None:
                self.practice = True
                self.attempt = 1
                self.retakes_left = 0
                return self._enter_think(now, "devices confirmed, practice question")
            return self._first_question(now, "devices confirmed")
        return None

    def _on_think(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.START_NOW:
            if self.counting_down:
                return []                             # a second tap: the countdown already runs
            countdown = self.timing.countdown_s
            if countdown > 0 and self.deadline is not None and self.deadline - now > countdown:
                self.deadline = now + countdown       # a short countdown instead of the rest of the think time
                self.counting_down = True
                return []
            return self._enter_answer(now, "candidate is ready")
        if event is Event.SKIP_PRACTICE and self.practice:
            return self._first_question(now, "practice skipped")
        if event is Event.ENGINE_STOPPED:
            return self._engine_stopped(now, data)
        return None

    def _on_answer(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.DONE:
            return self._answer_done(now, "candidate pressed done")
        if event is Event.RETAKE and not self.practice and self.retakes_left > 0:
            self.retakes_left -= 1
            effects: list[Effect] = [PauseTake(), Mark(f"superseded: {self.chapter_label()}")]
            self.take_recording = False
            self.attempt += 1
            return effects + self._enter_think(now, "retake")
        if event is Event.ENGINE_STOPPED:
            return self._engine_stopped(now, data)
        return None

    def _on_saving(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.SAVE_PROGRESS:
            self.save_progress = float(data.get("progress", 0.0))
            return []
        if event is Event.SAVED:
            self.save_progress = 1.0
            self.session_open = False
            self._go(State.THANKS, "recording saved", now, now + self.timing.thanks_s)
            return []
        if event is Event.SAVE_FAILED:
            return self.fail(f"the recording could not be finalized: {data.get('error', '')}", now, "")
        return None

    def _on_finished_screen(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if event is Event.BACK_HOME:                 # THANKS and DECLINED: "back to the start"
            return self._to_attract("candidate finished", now)
        return None

    def _on_waiting_screen(self, event: Event, now: float, data: dict[str, Any]) -> list[Effect] | None:
        return None                                   # FAILSAFE and UNAVAILABLE only time out

    _HANDLERS: dict[State, Handler] = {
        State.ATTRACT: _on_attract,
        State.CODE: _on_code,
        State.CONSENT: _on_consent,
        State.DEVICE_CHECK: _on_device_check,
        State.THINK: _on_think,
        State.ANSWER: _on_answer,
        State.SAVING: _on_saving,
        State.THANKS: _on_finished_screen,
        State.DECLINED: _on_finished_screen,
        State.FAILSAFE: _on_waiting_screen,
        State.UNAVAILABLE: _on_waiting_screen,
    }

    # --- what several states share
    def _refused_for_space(self, now: float) -> list[Effect]:
        # Not enough disk space for this plan's longest take: checked when the plan is chosen, and again by the
        # store when the session begins (space may have gone meanwhile). Nothing was written either way.
        self.session_open = False
        self.message = "no_space"
        self._go(State.UNAVAILABLE, "not enough disk space to record", now, now + self.timing.unavailable_s)
        return [StopSpeaking()]

    def _engine_stopped(self, now: float, data: dict[str, Any]) -> list[Effect] | None:
        if not self.take_open:
            return None
        # The recorder ended the take itself (disk nearly full, the writer failed): what was recorded is being
        # finalized; the interview ends here like a finished one, and SAVING says how that went.
        self.take_open = self.take_recording = False
        self.session_open = False
        self.outcome = "stopped"
        self.message = str(data.get("reason", ""))
        self._go(State.SAVING, f"recorder stopped the take: {self.message}", now)
        return [StopSpeaking()]

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

    def _accept_plan(self, plan: InterviewPlan, now: float, why: str) -> list[Effect]:
        self.plan = plan
        self.message = ""
        self._go(State.CONSENT, why, now)
        # Before the consent: a runner answers at once, so a kiosk that cannot record never asks for consent.
        return [CheckSpace(plan)]

    def _first_question(self, now: float, why: str) -> list[Effect]:
        self.practice = False
        self.question_index = 0
        self.attempt = 1
        self.retakes_left = self.plan.questions[0].retakes
        return self._enter_think(now, why)

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

    # --- time and failure
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
