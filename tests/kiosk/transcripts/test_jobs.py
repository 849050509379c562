"""The background queue on the real parts: the idle worker process is stopped the moment a candidate starts (and a
take recorded meanwhile drops nothing), a restart goes on at the next chapter, a killed worker is replaced, and
problems (no model, a language the model lacks) are kept on the job with their fix."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from kiosk.db.models import Interview, TranscriptJob, TranscriptPassage
from kiosk.transcripts import engine, jobs
from tests.harness.speech import ANSWERS, record_answers, render


def wait_for(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def proc_stat(pid: int) -> tuple[str, int]:
    """(state letter, CPU ticks used) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[11]) + int(fields[12])


def job_of(interview) -> TranscriptJob:
    return TranscriptJob.get(TranscriptJob.interview == interview)


def status_of(interview) -> str | None:
    job = TranscriptJob.get_or_none(TranscriptJob.interview == interview)
    return job.status if job is not None else None


def passages_of(interview) -> list[TranscriptPassage]:
    return list(TranscriptPassage.select().where(TranscriptPassage.interview == interview)
                .order_by(TranscriptPassage.start))


def runner_for(s, **kwargs) -> jobs.TranscriptRunner:
    return jobs.TranscriptRunner(s.config, s.data, template_of=s.store.get_template, idle_poll_s=0.2, **kwargs)


def test_a_candidate_starting_stops_the_worker_at_once_and_a_take_meanwhile_drops_nothing(stored_interview, pulse,
                                                                                          tmp_path):
    s = stored_interview
    wav = render(ANSWERS[2], tmp_path / "answer.wav", "espeak-ng")
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: runner.worker is not None and runner.current == s.interview.uuid, 120)
        pid = runner.worker.pid
        # A candidate starts: the sessions layer has an interview in progress.
        candidate = Interview.create(status="in_progress", template="general")
        assert wait_for(lambda: proc_stat(pid)[0] == "T", 2.0), proc_stat(pid)
        used = proc_stat(pid)[1]
        take = record_answers(pulse, [wav], tmp_path / "candidate.webm", labels=["Q1"])
        assert take.frames_dropped == 0 and take.metadata["frames_written"] > 0
        assert proc_stat(pid) == ("T", used)          # not one CPU tick while the candidate was recorded
        assert job_of(s.interview).status == "running"
        # The candidate is done: the worker goes on where it stopped and finishes the interview.
        Interview.update(status="completed").where(Interview.id == candidate.id).execute()
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
        assert runner.pauses >= 1
    finally:
        assert runner.stop(10)
    assert [p.label for p in passages_of(s.interview)] == ["Q1", "Q2"]


def test_a_restart_goes_on_at_the_next_chapter(stored_interview):
    s = stored_interview
    candidate = [False]
    first = runner_for(s, busy=lambda: candidate[0]).start()
    assert wait_for(lambda: len(passages_of(s.interview)) == 1, 240)
    candidate[0] = True                               # keep chapter 2 from finishing before the "power cut"
    assert wait_for(lambda: first.worker is None or first.worker.paused, 2.0)
    assert first.stop(10)
    assert job_of(s.interview).status == "running" and len(passages_of(s.interview)) == 1
    kept = passages_of(s.interview)[0]
    second = runner_for(s).start()
    try:
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
    finally:
        second.stop(10)
    done = passages_of(s.interview)
    assert [p.label for p in done] == ["Q1", "Q2"]
    assert (done[0].id, done[0].text) == (kept.id, kept.text)        # chapter 1 was not transcribed again
    assert s.reload().transcript.count("\n\n") == 1


def test_a_killed_worker_is_replaced_and_the_chapter_done_again(stored_interview, expect_log):
    expect_log("kiosk.transcripts.jobs", r"transcript worker ended .*attempt 1 of 3")
    s = stored_interview
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: runner.worker is not None and runner.current == s.interview.uuid, 120)
        os.kill(runner.worker.pid, signal.SIGKILL)
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
    finally:
        runner.stop(10)
    assert job_of(s.interview).attempts == 1 and len(passages_of(s.interview)) == 2


def test_no_model_blocks_the_queue_with_the_setting_named(stored_interview, expect_log):
    expect_log("kiosk.transcripts.jobs", r"transcripts cannot run: transcript.model_path")
    s = stored_interview
    s.config.set("transcript.model_path", "/no/such/model")
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: runner.blocked != "", 60)
    finally:
        runner.stop(10)
    job = job_of(s.interview)
    assert job.status == "blocked" and "transcript.model_path = '/no/such/model'" in job.error
    assert "Fix:" in job.error and passages_of(s.interview) == []


def test_an_english_only_model_for_a_german_interview_fails_the_job_saying_so(stored_interview, expect_log):
    expect_log("kiosk.transcripts.jobs", r"cannot be transcribed: .*English only")
    s = stored_interview
    s.config.set("ui.language", "de")
    template = s.store.get_template("general")
    Interview.update(template="cli").where(Interview.id == s.interview.id).execute()   # no template language
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: status_of(s.interview) == "failed", 120)
    finally:
        runner.stop(10)
    job = job_of(s.interview)
    assert "'de'" in job.error and "English only" in job.error and "Fix:" in job.error
    assert s.reload().transcript == "" and template.language == "en"


def test_transcripts_off_says_how_to_turn_them_on(stored_interview):
    s = stored_interview
    s.config.set("transcript.model_path", "")
    assert "transcript.model_path" in engine.off_reason(s.config)
    s.config.set("transcript.enabled", False)
    assert jobs.start_if_enabled(s.config, s.data) is None
    assert "transcript.enabled = true" in engine.off_reason(s.config)


def test_the_apps_background_jobs_run_the_transcripts_and_leave_them_off_without_a_model(stored_interview):
    from kiosk.background import BackgroundJobs

    s = stored_interview
    jobs_on = BackgroundJobs(s.config, s.data, busy=lambda: False).start()
    try:
        assert jobs_on.transcripts is not None
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
    finally:
        jobs_on.stop(10)
    assert jobs_on.transcripts is None and s.reload().transcript.startswith("Q1. ")
    s.config.set("transcript.model_path", "")
    jobs_off = BackgroundJobs(s.config, s.data, busy=lambda: False).start()
    try:
        assert jobs_off.transcripts is None
    finally:
        jobs_off.stop(10)


def test_with_sync_on_a_finished_transcript_travels_in_the_session_json(stored_interview):
    from kiosk.db.models import SyncState

    s = stored_interview
    s.config.set("sync.enabled", True)
    s.config.set("sync.server_url", "http://127.0.0.1:9/files/")     # nothing uploads here: the queue is checked
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
    finally:
        runner.stop(10)
    meta = SyncState.get(SyncState.interview == s.interview, SyncState.kind == "metadata")
    document = json.loads(Path(meta.path).read_text(encoding="utf-8"))
    assert document["transcript"] == s.reload().transcript != ""
    assert [p["label"] for p in document["transcript_passages"]] == ["Q1", "Q2"]


def test_a_sealed_recording_fails_its_job_and_the_cli_saying_where_to_transcribe(stored_interview, expect_log,
                                                                                 capsys, monkeypatch):
    """With encryption on the kiosk holds public keys only: it cannot read a sealed take back, so it says so and
    writes no plaintext transcript or caption beside the ciphertext."""
    from pyrage import x25519

    from kiosk.cli import main
    from kiosk.db.models import Recording
    from kiosk.privacy import crypto
    from kiosk.transcripts import vtt

    expect_log("kiosk.transcripts.jobs", r"cannot be transcribed: .*encrypted to the centre's keys")
    s = stored_interview
    media = Path(s.interview.recording_path)
    sealed = crypto.seal(media, [x25519.Identity.generate().to_public()]).path
    Recording.update(path=str(sealed)).where(Recording.interview == s.interview).execute()
    Interview.update(recording_path=str(sealed)).where(Interview.id == s.interview.id).execute()
    runner = runner_for(s).start()
    try:
        assert wait_for(lambda: status_of(s.interview) == "failed", 120)
    finally:
        runner.stop(10)
    assert "privacy.recipients" in job_of(s.interview).error and "Fix: transcribe at the centre" in \
        job_of(s.interview).error
    monkeypatch.setenv("KIOSK_TRANSCRIPT_MODEL_PATH", s.config["transcript.model_path"])
    assert main(["--data-dir", str(s.data.root), "transcribe", str(sealed)]) == 1
    assert "encrypted to the centre's keys" in capsys.readouterr().err
    assert not any(p.exists() for p in (*vtt.caption_paths(sealed), *vtt.caption_paths(media)))
    assert s.reload().transcript == "" and passages_of(s.interview) == []


def test_a_candidate_at_the_kiosk_pauses_the_background_transcripts_from_the_first_touch(stored_interview):
    """The app's jobs get the flow's `candidate_present`: the code and consent screens already pause the worker."""
    from kiosk.background import BackgroundJobs
    from kiosk.flow import Event, Flow

    s = stored_interview
    flow = Flow()
    background = BackgroundJobs(s.config, s.data, busy=lambda: False,
                                candidate_present=lambda: flow.candidate_present).start()
    runner = background.transcripts
    try:
        assert wait_for(lambda: runner.worker is not None and runner.current == s.interview.uuid, 120)
        pid = runner.worker.pid
        flow.send(Event.START, now=1.0)                 # the candidate touches "start": the code screen
        assert flow.candidate_present
        assert wait_for(lambda: proc_stat(pid)[0] == "T", 2.0), proc_stat(pid)
        time.sleep(0.5)
        assert proc_stat(pid)[0] == "T" and status_of(s.interview) == "running"
        flow.send(Event.ADMIN_EXIT, now=2.0)            # back at the attract screen: it goes on
        assert not flow.candidate_present
        assert wait_for(lambda: status_of(s.interview) == "done", 240), job_of(s.interview).error
    finally:
        background.stop(10)
