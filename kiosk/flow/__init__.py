"""The candidate's interview flow: the state machine (machine.py), its effects (effects.py), the plan it runs
(plan.py) and the threaded runner (runner.py); the sessions side implements its port (kiosk.sessions.flow_port). Pure Python,
no Qt."""

from kiosk.flow.effects import (BeginSession, CheckSpace, ClearCandidate, Effect, EndSession, FinishTake, Mark,
                                PauseTake, RecordTestClip, ResumeTake, Speak, StartTake, StopSpeaking)
from kiosk.flow.machine import Event, Flow, Snapshot, State, Timing
from kiosk.flow.plan import InterviewPlan, Question
from kiosk.flow.runner import FlowRunner, SessionsPort

__all__ = ["BeginSession", "CheckSpace", "ClearCandidate", "Effect", "EndSession", "Event", "FinishTake", "Flow",
           "FlowRunner", "InterviewPlan", "Mark", "PauseTake", "Question", "RecordTestClip", "ResumeTake",
           "SessionsPort", "Snapshot", "Speak", "StartTake", "State", "StopSpeaking", "Timing"]
