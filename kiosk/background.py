"""The app's background jobs beside the interviews: the sync uploader, retention and the transcripts, all held back
while a take is in progress (the recorder owns the CPU and the disk, and retention must never run beside a live
take); the transcripts also while a candidate's session is open.

`BackgroundJobs(config, data, busy=..., bus=...)` is what the app's composition root starts after the window is up
and stops at shutdown with a bounded wait. `take_in_progress(recorder)` is the `busy` test the app passes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.paths import DataDir

log = logging.getLogger(__name__)

# A take is in progress from start_take until its file is finalized (recording, paused between questions, finalizing).
TAKE_STATES = ("recording", "paused", "finalizing")
RETENTION_INTERVAL_S = 4 * 3600.0


def take_in_progress(recorder) -> bool:
    """True while the recorder has a take open (recording, paused or finalizing)."""
    return recorder is not None and getattr(recorder, "state", None) in TAKE_STATES


class RetentionRunner:
    """kiosk.sessions.retention.apply() in its own thread: at start, then every `interval_s`; never while `busy()`.

    A run that falls due during a take waits until the take is finalized. Settings are read at each run, so a change
    on the console's Retention page counts from the next run. `run_now()` makes a run due at once.
    """

    def __init__(self, config: Config, *, busy: Callable[[], bool] | None = None,
                 interval_s: float = RETENTION_INTERVAL_S, poll_s: float = 0.5,
                 on_report: Callable[[object], None] | None = None, data: DataDir | None = None) -> None:
        self.config = config
        self.data = data
        self._busy = busy or (lambda: False)
        self.interval_s = interval_s
        self.poll_s = poll_s
        self._on_report = on_report
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.last_report = None          # kiosk.sessions.retention.RetentionReport of the last run
        self.last_error = ""

    def start(self) -> "RetentionRunner":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()
        return self

    def run_now(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop; returns False when a run still in progress did not end within `timeout` (it finishes by itself)."""
        self.request_stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        from kiosk.db.database import db
        db.connect(reuse_if_open=True)
        try:
            while not self._stop.is_set():
                while self._busy() and not self._stop.is_set():      # a take is on: wait for its end
                    self._stop.wait(self.poll_s)
                if self._stop.is_set():
                    break
                self._run_once()
                self._wake.wait(self.interval_s)
                self._wake.clear()
        finally:
            db.close()

    def _run_once(self) -> None:
        from kiosk.sessions import retention
        started = time.monotonic()
        try:
            report = retention.apply(self.config, data=self.data)
        except Exception as exc:     # the next run tries again; the kiosk keeps recording
            self.last_error = str(exc)
            log.exception("retention could not run")
            return
        self.runs += 1
        self.last_report, self.last_error = report, ""
        log.info("retention run %d: %d deleted, %d kept, %d error(s) in %.1f s", self.runs, len(report.deleted),
                 len(report.kept), len(report.errors), time.monotonic() - started)
        if self._on_report is not None:
            self._on_report(report)


class BackgroundJobs:
    """The sync uploader (when sync.enabled), the retention runner and the transcript queue (when
    transcript.enabled), all paused by `busy`."""

    def __init__(self, config: Config, data: DataDir, *, busy: Callable[[], bool],
                 bus: EventBus | None = None, retention_interval_s: float = RETENTION_INTERVAL_S,
                 candidate_present: Callable[[], bool] | None = None) -> None:
        self.config = config
        self.data = data
        self.busy = busy
        self.candidate_present = candidate_present or (lambda: False)
        self.bus = bus
        self.retention_interval_s = retention_interval_s
        self.sync = None                 # kiosk.sync.worker.SyncWorker, or None when sync is off or cannot start
        self.retention: RetentionRunner | None = None
        self.transcripts = None          # kiosk.transcripts.jobs.TranscriptRunner, or None when transcripts are off

    def start(self) -> "BackgroundJobs":
        from kiosk.sessions import SessionStore
        from kiosk.sync import worker
        from kiosk.transcripts import jobs as transcript_jobs
        self.sync = worker.start_if_enabled(self.config, self.data, busy=self.busy, bus=self.bus)
        self.retention = RetentionRunner(self.config, busy=self.busy, interval_s=self.retention_interval_s,
                                         data=self.data).start()
        # Transcripts also wait while a candidate is at the kiosk (from the first touch), not only during takes.
        self.transcripts = transcript_jobs.start_if_enabled(
            self.config, self.data, busy=lambda: self.busy() or self.candidate_present(),
            template_of=SessionStore(self.data, self.config).get_template)
        log.info("background jobs started: sync %s, retention every %.1f h, transcripts %s",
                 "on" if self.sync is not None else "off", self.retention_interval_s / 3600,
                 "on" if self.transcripts is not None else "off")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Bounded: each job gets `timeout` seconds to stop (an upload stops within one block; its offset is saved;
        a chapter being transcribed is done again at the next start)."""
        if self.transcripts is not None:
            self.transcripts.stop(timeout)
            self.transcripts = None
        if self.retention is not None:
            self.retention.request_stop()            # both stop at once; the waits below overlap
        if self.sync is not None:
            self.sync.stop(timeout)
            self.sync = None
        if self.retention is not None:
            if not self.retention.stop(timeout):
                log.info("retention was still running at shutdown; it ends by itself")
            self.retention = None
