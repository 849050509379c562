"""Effects: what the flow asks the outside world to do. The runner carries out the engine's and the store's; the
ones only a screen can carry out (Speak, StopSpeaking, RecordTestClip, ClearCandidate) go to the UI."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.flow.plan import InterviewPlan


@dataclass(frozen=True)
class Effect:
    pass


@dataclass(frozen=True)
class CheckSpace(Effect):            # will the plan's longest take fit? A refusal comes back as Event.SPACE_REFUSED
    plan: InterviewPlan


@dataclass(frozen=True)
class BeginSession(Effect):          # create the session row (a refusal for lack of space: Event.SPACE_REFUSED)
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
class FinishTake(Effect):            # finalize in the background; result comes back as Event.SAVED/SAVE_FAILED
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
