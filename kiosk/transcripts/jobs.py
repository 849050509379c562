"""The background transcription queue: one job per finished interview, state in the database (transcript_job), one
chapter at a time in an idle child process (worker.py).

- A finished, recorded interview gets a job by itself (the runner looks for them); `kiosk transcribe` runs one now.
- Paused the moment a candidate starts (`busy`: the flow has left the attract screen, or a take is open; also any
  interview in progress in the database): the child is stopped (SIGSTOP) mid-chapter and continued afterwards.
- After a restart a job that was running goes on at its next chapter (each finished chapter is stored at once).
- A missing model blocks the queue with the error naming the setting; a language the model lacks fails that job
  with a message saying so; a child that dies is restarted and the chapter tried again (MAX_ATTEMPTS).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from kiosk.config import Config
from kiosk.db.database import transaction
from kiosk.db.models import FINISHED_STATUSES, Interview, TranscriptJob, utcnow
from kiosk.paths import DataDir
from kiosk.transcripts import engine, interview as interviewmod
from kiosk.transcripts.engine import LanguageUnsupported, RecordingUnreadable, TranscriptError
from kiosk.transcripts.worker import WorkerGone, WorkerProcess

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
IDLE_POLL_S = 5.0


def language_of(interview: Interview, template, config: Config) -> str:
    return engine.interview_language(getattr(template, "language", "") or "", config["ui.language"])


def enqueue_finished() -> int:
    """A pending job for every finished, recorded interview that has none yet; returns how many were added."""
    has_job = TranscriptJob.select(TranscriptJob.interview)
    rows = (Interview.select(Interview.id).where(Interview.status.in_(FINISHED_STATUSES) & Interview.is_recorded
                                                 & Interview.purged_at.is_null() & Interview.id.not_in(has_job)))
    added = 0
    with transaction():
        for row in rows:
            TranscriptJob.create(interview=row.id)
            added += 1
    return added


def enqueue(interview: Interview) -> TranscriptJob:
    """Queue (again) a transcription of `interview`."""
    with transaction():
        job = TranscriptJob.get_or_none(TranscriptJob.interview == interview) or TranscriptJob(interview=interview)
        job.status, job.error, job.attempts, job.updated_at = "pending", "", 0, utcnow()
        job.save()
    return job


def mark_done(interview: Interview, engine_name: str, language: str) -> None:
    """A transcription done outside the queue (`kiosk transcribe`): the queue does not do it again."""
    job = enqueue(interview)
    _set(job, status="done", engine=engine_name, language=language, finished_at=utcnow())


def resume_after_restart() -> int:
    """Jobs left running by a stopped kiosk go on; blocked ones are tried again (the model may be there now)."""
    with transaction():
        return (TranscriptJob.update(status="pending", updated_at=utcnow())
                .where(TranscriptJob.status.in_(("running", "blocked"))).execute())


def _set(job: TranscriptJob, **fields) -> None:
    fields["updated_at"] = utcnow()
    with transaction():
        TranscriptJob.update(**fields).where(TranscriptJob.id == job.id).execute()
    for name, value in fields.items():
        setattr(job, name, value)


def a_candidate_is_in_progress() -> bool:
    return Interview.select().where(Interview.status == "in_progress").exists()


class TranscriptRunner:
    """The queue's thread. `busy()` is the app's test: a take is open, or a candidate is at the kiosk."""

    def __init__(self, config: Config, data: DataDir, *, busy: Callable[[], bool] | None = None,
                 template_of: Callable[[str], object] | None = None, poll_s: float = 0.1,
                 idle_poll_s: float = IDLE_POLL_S) -> None:
        self.config = config
        self.data = data
        self._busy = busy or (lambda: False)
        self._template_of = template_of or (lambda name: None)
        self.poll_s = poll_s
        self.idle_poll_s = idle_poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.worker: WorkerProcess | None = None
        self.blocked = ""                   # why the queue cannot run (no model, engine missing), with the fix
        self.current: str | None = None     # uuid of the interview being transcribed
        self.chapters_done = 0              # since start, for the console and tests
        self.pauses = 0                     # how often the child was stopped for a candidate or a take

    # ---- control
    def start(self) -> "TranscriptRunner":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="transcripts", daemon=True)
            self._thread.start()
        return self

    @property
    def paused(self) -> bool:
        return self._busy() or a_candidate_is_in_progress()

    def stop(self, timeout: float = 5.0) -> bool:
        self._stop.set()
        self._wake.set()
        worker = self.worker
        if worker is not None:
            worker.stop(timeout)            # ends a chapter in progress; it is done again next time
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ---- the thread
    def _apply_pause(self) -> None:
        worker = self.worker
        if worker is None:
            return
        if self._stop.is_set():
            return
        if self.paused:
            if not worker.paused:
                worker.pause()
                self.pauses += 1
                log.info("transcription paused (a candidate or a take)")
        elif worker.paused:
            worker.resume()
            log.info("transcription resumed")

    def _wait_while_paused(self) -> None:
        while not self._stop.is_set() and self.paused:
            self._apply_pause()
            self._stop.wait(self.poll_s)
        self._apply_pause()

    def _run(self) -> None:
        from kiosk.db.database import db
        db.connect(reuse_if_open=True)
        try:
            resumed = resume_after_restart()
            if resumed:
                log.info("%d transcript job(s) go on after the restart", resumed)
            while not self._stop.is_set():
                self._wait_while_paused()
                if self._stop.is_set():
                    break
                enqueue_finished()
                job = (TranscriptJob.select().where(TranscriptJob.status == "pending")
                       .order_by(TranscriptJob.created_at, TranscriptJob.id).first())
                if job is None or self.blocked:
                    self._idle()
                    continue
                self._run_job(job)
        finally:
            if self.worker is not None:
                self.worker.stop()
                self.worker = None
            db.close()

    def _idle(self) -> None:
        if self.worker is not None:          # nothing to do: give the memory back
            self.worker.stop()
            self.worker = None
        self._wake.wait(self.idle_poll_s)
        self._wake.clear()

    def _ensure_worker(self) -> bool:
        if self.worker is not None:
            return True
        try:
            self.worker = WorkerProcess(self.config["transcript.engine"], self.config["transcript.model_path"])
            self.worker.start()
        except TranscriptError as exc:
            self.worker = None
            self.blocked = str(exc)
            with transaction():
                TranscriptJob.update(status="blocked", error=self.blocked, updated_at=utcnow()).where(
                    TranscriptJob.status == "pending").execute()
            log.error("transcripts cannot run: %s", exc)
            return False
        return True

    def _run_job(self, job: TranscriptJob) -> None:
        interview = Interview.get_by_id(job.interview_id)
        template = self._template_of(interview.template)
        language = language_of(interview, template, self.config)
        if not self._ensure_worker():
            return
        _set(job, status="running", engine=self.config["transcript.engine"], language=language)
        self.current = interview.uuid
        place = interviewmod.placement(interview, template)
        try:
            todo = interviewmod.pending_chapters(interview)
            _set(job, chapters_total=job.chapters_done + len(todo))
            for recording, chapter in todo:
                self._wait_while_paused()
                if self._stop.is_set():
                    return                              # stays "running": the next start goes on from here
                interviewmod.transcribe_chapter(interview, recording, chapter, self._transcribe, language,
                                                job.engine, place)
                self.chapters_done += 1
                _set(job, chapters_done=job.chapters_done + 1)
            if self._stop.is_set():
                return
            interviewmod.finish(interview)
            _set(job, status="done", error="", finished_at=utcnow())
            log.info("interview %s transcribed", interview.uuid)
            if self.config["sync.enabled"]:
                from kiosk.sync.worker import enqueue_interview
                # its session JSON now carries the transcript (the row read again: finish() wrote it)
                enqueue_interview(Interview.get_by_id(interview.id), self.data, self.config)
        except (LanguageUnsupported, RecordingUnreadable) as exc:
            _set(job, status="failed", error=str(exc))
            log.error("interview %s cannot be transcribed: %s", interview.uuid, exc)
        except WorkerGone as exc:
            if self.worker is not None:
                self.worker.stop()
            self.worker = None
            if self._stop.is_set():
                return
            attempts = job.attempts + 1
            _set(job, attempts=attempts, status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                 error=str(exc))
            log.error("transcription of interview %s: %s (attempt %d of %d)", interview.uuid, exc, attempts,
                      MAX_ATTEMPTS)
        except Exception as exc:         # a job reports and the queue goes on; the kiosk keeps recording
            _set(job, status="failed", error=f"the transcription failed unexpectedly ({exc!r}); see the log")
            log.exception("transcription of interview %s failed", interview.uuid)
        finally:
            self.current = None

    def _transcribe(self, path: Path, chapter, language: str):
        return self.worker.transcribe(path, chapter.start, chapter.end, language, waiting=self._apply_pause)


def start_if_enabled(config: Config, data: DataDir, *, busy: Callable[[], bool] | None = None,
                     template_of: Callable[[str], object] | None = None) -> TranscriptRunner | None:
    """The runner, started, when transcript.enabled and a model is configured; None otherwise (the console shows
    engine.off_reason(), which says how to turn them on)."""
    if engine.off_reason(config):
        return None
    return TranscriptRunner(config, data, busy=busy, template_of=template_of).start()


