"""The interview state machine, headless, with explicit times: every transition and its effects."""

from __future__ import annotations

import pytest

from kiosk.flow import (BeginSession, CheckSpace, ClearCandidate, EndSession, Event, FinishTake, Flow, InterviewPlan,
                        Mark, PauseTake, Question, RecordTestClip, ResumeTake, Speak, StartTake, State, StopSpeaking,
                        Timing)

pytestmark = pytest.mark.pure     # the reducer alone: no PulseAudio is started for a run of only these

PLAN = InterviewPlan(
    title="Test", consent_text="We record you.", code="1234",
    questions=(Question("First?", think_s=5, answer_s=30, retakes=1), Question("Second?", think_s=5, answer_s=30,
                                                                                retakes=0)),
    practice=Question("Practice?", think_s=2, answer_s=10, retakes=0))


def kinds(effects):
    return [type(e) for e in effects]


def to_device_check(flow: Flow, t: float = 0.0) -> float:
    assert flow.send(Event.START, t) == []
    assert flow.state is State.CODE
    assert flow.send(Event.CODE_OK, t + 1, plan=PLAN) == [CheckSpace(PLAN)]     # the disk, before the consent
    assert flow.state is State.CONSENT
    effects = flow.send(Event.ACCEPT, t + 2)
    assert effects == [BeginSession(PLAN)]
    assert flow.state is State.DEVICE_CHECK
    return t + 2


def test_full_interview_with_practice_retake_and_timeouts():
    flow = Flow(Timing(read_aloud=True, thanks_s=10))
    t = to_device_check(flow)
    assert flow.send(Event.TEST_CLIP, t) == [RecordTestClip(3.0)]
    flow.send(Event.HELP, t)
    assert flow.snapshot().help_shown
    # practice: question read aloud, never recorded
    assert flow.send(Event.DEVICES_OK, t + 1) == [Speak("Practice?")]
    assert (flow.state, flow.practice, flow.deadline) == (State.THINK, True, t + 3)
    assert not flow.snapshot().help_shown
    assert flow.tick(t + 2.9) == []
    assert flow.tick(t + 3) == [StopSpeaking()]
    assert flow.state is State.ANSWER and flow.practice
    assert flow.send(Event.RETAKE, t + 4) == []          # no retakes in practice
    effects = flow.send(Event.DONE, t + 5)
    assert effects == [Speak("First?")] and flow.state is State.THINK and flow.question_index == 0
    # Q1: think time runs out -> recording starts by itself, first chapter
    assert flow.tick(t + 10) == [StopSpeaking(), StartTake("Q1")]
    assert flow.state is State.ANSWER and flow.deadline == t + 40
    # retake: the earlier attempt is kept, marked superseded; a new chapter after a new think time
    effects = flow.send(Event.RETAKE, t + 12)
    assert effects == [PauseTake(), Mark("superseded: Q1"), Speak("First?")]
    assert (flow.state, flow.attempt, flow.retakes_left) == (State.THINK, 2, 0)
    assert flow.send(Event.START_NOW, t + 13) == [StopSpeaking(), ResumeTake("Q1 retake 2")]
    assert flow.send(Event.RETAKE, t + 14) == []         # none left
    assert flow.state is State.ANSWER
    # answer time over -> next question, take paused
    assert flow.tick(t + 13 + 30) == [PauseTake(), Speak("Second?")]
    assert flow.question_index == 1 and flow.state is State.THINK
    assert flow.tick(t + 48) == [StopSpeaking(), ResumeTake("Q2")]
    assert flow.send(Event.DONE, t + 50) == [FinishTake("completed")]
    assert flow.state is State.SAVING
    flow.send(Event.SAVE_PROGRESS, t + 51, progress=0.5)
    assert flow.snapshot().save_progress == 0.5
    # saving waits however long it takes: no idle reset there
    assert flow.tick(t + 1000) == []
    assert flow.send(Event.SAVED, t + 1001, metadata={}) == []
    assert flow.state is State.THANKS
    assert flow.tick(t + 1011) == [StopSpeaking(), ClearCandidate()]
    assert flow.state is State.ATTRACT and flow.plan is None and flow.question_index is None


def test_wrong_code_then_walk_in_and_back():
    flow = Flow()
    flow.send(Event.START, 0)
    flow.send(Event.CODE_BAD, 1)
    assert flow.state is State.CODE and flow.message == "code_bad" and flow.code_failures == 1
    flow.send(Event.WALK_IN, 2, plan=PLAN)
    assert flow.state is State.CONSENT and flow.message == ""
    flow2 = Flow()
    flow2.send(Event.START, 0)
    assert flow2.send(Event.BACK, 1) == [StopSpeaking(), ClearCandidate()]
    assert flow2.state is State.ATTRACT


def test_decline_ends_politely_then_attract():
    flow = Flow(Timing(declined_s=8))
    flow.send(Event.START, 0)
    flow.send(Event.CODE_OK, 1, plan=PLAN)
    assert flow.send(Event.DECLINE, 2) == []
    assert flow.state is State.DECLINED
    assert flow.tick(9) == []
    assert kinds(flow.tick(10)) == [StopSpeaking, ClearCandidate]
    assert flow.state is State.ATTRACT and flow.plan is None


@pytest.mark.parametrize("state_steps", [[Event.START], [Event.START, Event.CODE_OK],
                                         [Event.START, Event.CODE_OK, Event.ACCEPT]])
def test_idle_anywhere_returns_to_attract_and_forgets(state_steps):
    flow = Flow(Timing(idle_timeout_s=60))
    for i, step in enumerate(state_steps):
        flow.send(step, i, plan=PLAN)
    last = len(state_steps) - 1
    assert flow.tick(last + 59.9) == []
    flow.send(Event.TOUCH, last + 30)                    # any touch restarts the idle clock
    assert flow.tick(last + 89.9) == []
    effects = flow.tick(last + 90)
    assert flow.state is State.ATTRACT and flow.plan is None
    # a session begun at consent is closed as abandoned
    expected = [StopSpeaking(), EndSession("abandoned"), ClearCandidate()] if Event.ACCEPT in state_steps \
        else [StopSpeaking(), ClearCandidate()]
    assert effects == expected


def test_attract_never_idles_and_recording_is_not_idle():
    flow = Flow(Timing(idle_timeout_s=10))
    assert flow.tick(1000) == []
    t = to_device_check(flow, 1000)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t + 1)
    flow.send(Event.START_NOW, t + 2)
    assert flow.state is State.ANSWER
    assert flow.tick(t + 25) == []                   # talking without touching for 23 s (> idle) is fine
    assert flow.state is State.ANSWER


def test_failsafe_keeps_the_take_and_returns_to_attract(caplog, expect_log):
    expect_log("kiosk.flow", r"^failsafe in state")
    flow = Flow(Timing(failsafe_timeout_s=30))
    t = to_device_check(flow)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t)
    flow.send(Event.START_NOW, t)
    assert flow.take_open
    effects = flow.send(Event.ERROR, t + 5, reason="screen crashed", detail="Traceback ...")
    assert effects == [StopSpeaking(), FinishTake("failed")]
    assert flow.state is State.FAILSAFE and "screen crashed" in flow.message
    assert any("failsafe in state answer" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    # a second failure while in failsafe does not finish twice
    assert flow.fail("again", t + 6) == [StopSpeaking()]
    assert flow.tick(t + 35) == []
    assert flow.tick(t + 36) == [StopSpeaking(), ClearCandidate()]
    assert flow.state is State.ATTRACT and not flow.take_open


def test_failsafe_without_take_ends_the_session_and_bad_event_data_fails_safe(expect_log):
    expect_log("kiosk.flow", r"^failsafe in state")
    flow = Flow()
    t = to_device_check(flow)
    assert flow.fail("camera exploded", t) == [StopSpeaking(), EndSession("failed")]
    flow2 = Flow()
    flow2.send(Event.START, 0)
    effects = flow2.send(Event.CODE_OK, 1)               # missing plan: a programming error -> failsafe, not a crash
    assert flow2.state is State.FAILSAFE and effects == [StopSpeaking()]


def test_save_failure_goes_to_failsafe_and_late_results_are_ignored(expect_log):
    expect_log("kiosk.flow", r"^failsafe in state saving .*disk full")
    flow = Flow()
    t = to_device_check(flow)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t)
    flow.send(Event.START_NOW, t)
    flow.send(Event.DONE, t)
    flow.send(Event.START_NOW, t)
    flow.send(Event.DONE, t)
    assert flow.state is State.SAVING
    assert flow.send(Event.SAVE_FAILED, t + 1, error="disk full") == [StopSpeaking()]
    assert flow.state is State.FAILSAFE and "disk full" in flow.message
    assert flow.send(Event.SAVED, t + 2) == []


def test_an_empty_interview_is_refused():
    with pytest.raises(ValueError, match="no questions"):
        InterviewPlan(title="x", questions=(), consent_text="")


def test_engine_stopping_the_take_ends_the_interview_in_saving():
    flow = Flow()
    t = to_device_check(flow)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t)
    assert flow.send(Event.ENGINE_STOPPED, t + 1, reason="disk.low") == []      # not recording yet: nothing to end
    flow.send(Event.START_NOW, t + 1)
    assert flow.send(Event.ENGINE_STOPPED, t + 2, reason="disk.low") == [StopSpeaking()]
    assert flow.state is State.SAVING and not flow.take_open and flow.message == "disk.low"
    assert flow.send(Event.DONE, t + 3) == []                                   # the candidate's late touch: ignored
    flow.send(Event.SAVED, t + 4, metadata={})
    assert flow.state is State.THANKS


def test_ready_shortens_the_think_time_to_the_countdown():
    flow = Flow(Timing(countdown_s=3))
    t = to_device_check(flow)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t)                 # Q1: think 5 s
    assert flow.send(Event.START_NOW, t + 1) == [] and flow.deadline == t + 4
    assert flow.snapshot().counting_down
    assert flow.tick(t + 3.9) == []
    assert flow.tick(t + 4) == [StopSpeaking(), StartTake("Q1")]
    assert flow.state is State.ANSWER and not flow.snapshot().counting_down
    # less think time left than the countdown: "I'm ready" starts at once
    flow.send(Event.DONE, t + 10)                     # Q2: think 5 s
    assert flow.send(Event.START_NOW, t + 13) == [StopSpeaking(), ResumeTake("Q2")]


def test_a_double_tap_on_ready_starts_the_countdown_once():
    flow = Flow(Timing(countdown_s=3))
    t = to_device_check(flow)
    flow.send(Event.DEVICES_OK, t)
    flow.send(Event.SKIP_PRACTICE, t)                 # Q1: think 5 s
    assert flow.send(Event.START_NOW, t + 0.5) == [] and flow.deadline == t + 3.5
    for tap in (t + 0.6, t + 1.0, t + 3.0):       # the second tap of a double tap, and more: nothing changes
        assert flow.send(Event.START_NOW, tap) == []
        assert flow.state is State.THINK and flow.deadline == t + 3.5
    assert flow.tick(t + 3.4) == []
    assert flow.tick(t + 3.5) == [StopSpeaking(), StartTake("Q1")]
    # a retake has its own think time and its own single countdown
    flow.send(Event.RETAKE, t + 5)
    assert flow.state is State.THINK and not flow.counting_down
    assert flow.send(Event.START_NOW, t + 5.1) == [] and flow.deadline == t + 8.1
    assert flow.send(Event.START_NOW, t + 5.2) == [] and flow.state is State.THINK
    assert flow.tick(t + 8.1) == [StopSpeaking(), ResumeTake("Q1 retake 2")]
    # the practice question's think time too
    flow2 = Flow(Timing(countdown_s=1))
    t = to_device_check(flow2)
    flow2.send(Event.DEVICES_OK, t)                   # practice: think 2 s
    assert flow2.send(Event.START_NOW, t + 0.1) == [] and flow2.send(Event.START_NOW, t + 0.2) == []
    assert flow2.state is State.THINK and flow2.deadline == t + 1.1


def test_not_enough_space_refuses_before_the_consent_and_returns_to_attract():
    flow = Flow(Timing(failsafe_timeout_s=20, unavailable_s=15))
    flow.send(Event.START, 0)
    assert flow.send(Event.WALK_IN, 1, plan=PLAN) == [CheckSpace(PLAN)]
    effects = flow.send(Event.SPACE_REFUSED, 1, reason="Not enough disk space to record: ... Fix: ...")
    assert effects == [StopSpeaking()]            # nothing to finish: no session, no take
    snap = flow.snapshot()
    assert (snap.state, snap.message, snap.deadline) == (State.UNAVAILABLE, "no_space", 16)
    assert not flow.session_open and not flow.take_open
    assert flow.send(Event.ACCEPT, 2) == [] and flow.state is State.UNAVAILABLE    # no consent from here
    assert flow.tick(15.9) == []                  # not idle-reset early: it is a timed screen
    assert flow.tick(16) == [StopSpeaking(), ClearCandidate()]
    assert flow.state is State.ATTRACT and flow.plan is None and flow.message == ""
    assert flow.send(Event.SPACE_REFUSED, 17) == [] and flow.state is State.ATTRACT     # a late answer: ignored
    assert Timing().unavailable_s == 30


def test_space_gone_when_the_session_begins_refuses_without_closing_a_session():
    flow = Flow(Timing(unavailable_s=5))
    t = to_device_check(flow)                     # BeginSession was asked for; the store refused it
    assert flow.send(Event.SPACE_REFUSED, t, reason="Not enough disk space") == [StopSpeaking()]
    assert flow.state is State.UNAVAILABLE and not flow.session_open
    assert flow.tick(t + 5) == [StopSpeaking(), ClearCandidate()]     # no EndSession: none was begun


def test_every_state_has_its_one_handler():
    assert set(Flow._HANDLERS) == set(State)


def test_a_string_kind_is_refused_with_the_fix():
    flow = Flow()
    with pytest.raises(TypeError, match=r"kiosk\.flow\.Event, not 'start'\. Fix: send Event\.START"):
        flow.send("start", 0)
    assert flow.state is State.ATTRACT and flow.history == []
