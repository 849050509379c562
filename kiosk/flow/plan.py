"""What one candidate is asked: the questions and the plan the sessions layer builds from a code or a template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
