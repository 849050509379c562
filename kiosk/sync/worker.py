"""The sync queue: SyncState rows, one per file, drained by a background worker through kiosk.sync.tus.

- `enqueue_interview(interview, data, config)` (called by the sessions layer when an interview ends) adds a row for
  each finished recording (its signed manifest travels in the upload's metadata) and one for the session JSON
  (sealed when encryption is on), written under ``<data dir>/sync/``.
- `SyncWorker` uploads what is due, oldest first: it pauses while a take records (`busy`), shares one bandwidth cap,
  backs off exponentially with jitter after a failure, and marks a row ``synced`` only when the server's final offset
  equals the size and, where the server allows, the per-PATCH checksums or the read-back sha256 matched.
- Statuses: pending -> uploading -> synced; a retryable failure goes back to pending with `next_attempt_at`; a refusal
  that retrying cannot fix (401, 403, 413...) is ``blocked``; a local problem (file missing or changed) is ``failed``.
  Both stop until an admin retries (`retry_stopped()`, the console's "sync now", `kiosk sync --retry`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import peewee as pw

from kiosk import logs
from kiosk.config import Config, host_list, kiosk_id
from kiosk.db.database import db, transaction
from kiosk.db.models import FINISHED_STATUSES, KEPT_STATES, Interview, Recording, SyncState, utcnow
from kiosk.events import EventBus
from kiosk.paths import DataDir
from kiosk.privacy import crypto
from kiosk.privacy.files import make_private_dir, write_private
from kiosk.privacy.takes import signed_manifest
from kiosk.sessions.document import session_json_bytes
from kiosk.sync import tus
from kiosk.sync.lock import DataDirLock, SyncBusy
from kiosk.sync.status import StatusReporter

log = logging.getLogger(__name__)

_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska", ".mp4": "video/mp4", ".ogg": "audio/ogg",
          ".opus": "audio/ogg", ".json": "application/json"}


def sync_dir(data: DataDir) -> Path:
    """Where the session JSON files that sync uploads are written."""
    return data.sync


def _write_once(path: Path, content: bytes) -> None:
    make_private_dir(path.parent)
    write_private(path, content)


def enqueue_interview(interview: Interview, data: DataDir, config: Config) -> list[SyncState]:
    """Queue an ended interview for upload: its finished recordings with their signed manifests, and its session
    JSON (sealed to privacy.recipients when they are set). Safe to call again.

    A recording already queued is not queued twice. The session JSON is rewritten (so later edits travel) unless
    its upload has already begun or finished; then it is left exactly as it is.
    """
    recipients = crypto.parse_recipients(config["privacy.recipients"])
    rows: list[SyncState] = []
    # IMMEDIATE: the app's session layer and the worker may queue the same interview at once; one waits for the other.
    with db.atomic("IMMEDIATE"):
        for rec in Recording.select().where(Recording.interview == interview).order_by(Recording.started_at,
                                                                                       Recording.id):
            if rec.state not in KEPT_STATES or rec.deleted_at is not None:
                continue
            existing = SyncState.get_or_none(SyncState.recording == rec, SyncState.kind == "recording")
            if existing is not None:
                rows.append(existing)
                continue
            rows.append(SyncState.create(interview=interview, recording=rec, kind="recording", path=rec.path,
                                         size=rec.size, sha256=rec.sha256, status="pending"))
        content = session_json_bytes(interview)
        path = data.sync_document(interview.uuid)
        if recipients:
            content, plain, path = crypto.seal_bytes(content, recipients), path, crypto.sealed_name(path)
        meta = SyncState.get_or_none(SyncState.interview == interview, SyncState.kind == "metadata")
        if meta is None or (meta.upload_url is None and meta.status != "synced"):
            _write_once(path, content)
            if recipients:
                plain.unlink(missing_ok=True)           # written before encryption was switched on
            sha = hashlib.sha256(content).hexdigest()
            if meta is None:
                meta = SyncState.create(interview=interview, kind="metadata", path=str(path), size=len(content),
                                        sha256=sha, status="pending")
            else:
                SyncState.update(size=len(content), sha256=sha, path=str(path), updated_at=utcnow()).where(
                    SyncState.id == meta.id).execute()
                meta = SyncState.get_by_id(meta.id)
        rows.append(meta)
    log.info("queued interview %s for sync: %d file(s)", interview.uuid, len(rows),
             extra={"interview": interview.uuid})
    return rows


def queue_ended_interviews(data: DataDir, config: Config) -> int:
    """Queue every ended interview with a finished recording or a session JSON not queued yet; returns how many.

    Catches what the session layer did not queue: sessions recorded before sync was switched on, interviews recovered
    after a crash, a second recording added to an interview after it was queued.
    """
    ended = Interview.status.in_(FINISHED_STATUSES)
    unqueued_recording = (Recording.select(Recording.interview)
                          .join(SyncState, pw.JOIN.LEFT_OUTER, on=(SyncState.recording == Recording.id))
                          .where(Recording.state.in_(KEPT_STATES), Recording.deleted_at.is_null(),
                                 SyncState.id.is_null()))
    with_metadata = SyncState.select(SyncState.interview).where(SyncState.kind == "metadata",
                                                                SyncState.interview.is_null(False))
    todo = list(Interview.select().where(ended & (Interview.id.in_(unqueued_recording)
                                                  | Interview.id.not_in(with_metadata))).order_by(Interview.id))
    for interview in todo:
        enqueue_interview(interview, data, config)
    return len(todo)


@dataclass
class ItemReport:
    """The outcome of one attempt at one row, as the CLI prints it."""

    id: int
    kind: str
    interview: str | None
    file: str
    status: str
    size: int | None
    offset: int
    sent: int = 0
    resumed_from: int | None = None
    verified_by: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    url: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


class _RowRecord:
    """An UploadRecord on a SyncState row: saves only the upload URL and offset (one small UPDATE per chunk)."""

    def __init__(self, row: SyncState, on_save: Callable[[int], None]) -> None:
        self.row = row
        self.upload_url = row.upload_url
        self.offset = row.offset
        self._on_save = on_save

    def save(self) -> None:
        SyncState.update(upload_url=self.upload_url, offset=self.offset, updated_at=utcnow()).where(
            SyncState.id == self.row.id).execute()
        self.row.upload_url, self.row.offset = self.upload_url, self.offset
        self._on_save(self.offset)


_running: "SyncWorker | None" = None
_start_problem = ""


def running() -> "SyncWorker | None":
    """The background uploader this process started, if any (the admin console's queue view and 'sync now')."""
    return _running


def start_problem() -> str:
    """Why the last start_if_enabled() with sync switched on did not start the uploader ("" when it did)."""
    return _start_problem


def sync_queue(recent_synced: int = 0) -> list[dict]:
    """Every row not yet synced, oldest first, then the `recent_synced` last synced ones (newest first): id, kind,
    interview (uuid), file, status, size, offset, attempts, last_error, next_attempt_at, synced_at."""
    def as_dict(row: SyncState, interview_uuid: str | None) -> dict:
        return {"id": row.id, "kind": row.kind, "interview": interview_uuid, "file": Path(row.path).name,
                "status": row.status, "size": row.size, "offset": row.offset, "attempts": row.attempts,
                "last_error": row.last_error, "next_attempt_at": row.next_attempt_at, "synced_at": row.synced_at}

    def rows(query) -> list[dict]:
        found = list(query)
        ids = {row.interview_id for row in found if row.interview_id is not None}
        uuids = dict(Interview.select(Interview.id, Interview.uuid).where(Interview.id.in_(list(ids))).tuples()) \
            if ids else {}
        return [as_dict(row, uuids.get(row.interview_id)) for row in found]

    waiting = rows(SyncState.select().where(SyncState.status != "synced")
                   .order_by(SyncState.created_at, SyncState.id))
    done = rows(SyncState.select().where(SyncState.status == "synced")
                .order_by(SyncState.synced_at.desc(), SyncState.id.desc()).limit(recent_synced)) \
        if recent_synced > 0 else []
    return waiting + done


def start_if_enabled(config: Config, data: DataDir, *, busy: Callable[[], bool] | threading.Event | None = None,
                     bus: EventBus | None = None) -> "SyncWorker | None":
    """For the app: start the background uploader when sync.enabled. A bad setting is logged (the kiosk still
    records) and None returned; the admin console shows it through `kiosk doctor` / the sync page."""
    global _start_problem
    if not config["sync.enabled"]:
        return None
    try:
        worker = SyncWorker(config, data, busy=busy, bus=bus).start()
    except tus.TusConfigError as exc:
        _start_problem = str(exc)
        log.error("sync is switched on but cannot start: %s", exc)
        return None
    _start_problem = ""
    return worker


def backoff_delay(attempts: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: half the step fixed, half random ("equal jitter")."""
    step = min(max_s, base_s * (2 ** max(0, attempts - 1)))
    return step / 2 + (rng or random).uniform(0, step / 2)


class SyncWorker:
    """Drains the SyncState queue to one tus server. `start()` runs it in a thread; `run_once()` in the caller's."""

    def __init__(self, config: Config, data: DataDir, *, server_url: str | None = None,
                 busy: Callable[[], bool] | threading.Event | None = None, bus: EventBus | None = None,
                 backoff_base_s: float = 10.0, backoff_max_s: float = 3600.0, poll_s: float = 5.0,
                 quick_retries: int = 2, quick_retry_delay_s: float = 1.0, timeout: tuple[float, float] = (10, 60),
                 auto_queue: bool = True) -> None:
        self.config = config
        self.data = data
        self.server_url = server_url or config["sync.server_url"]
        if not self.server_url:
            raise tus.TusConfigError("no sync server is configured. Fix: set sync.server_url in kiosk.toml "
                                     "(or pass --server URL to 'kiosk sync').")
        if isinstance(busy, threading.Event):
            event = busy
            self._busy: Callable[[], bool] = event.is_set
        else:
            self._busy = busy or (lambda: False)
        self.bus = bus or EventBus()
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.poll_s = poll_s
        self.quick_retries = quick_retries
        self.quick_retry_delay_s = quick_retry_delay_s
        self.auto_queue = auto_queue
        self.kiosk_id = kiosk_id(config)
        self.throttle = tus.Throttle(config["sync.bandwidth_kbps"] * 1000 / 8)
        # The token belongs to sync.server_url's origin: another server (`kiosk sync --server URL`) never gets it.
        token = config["sync.token"]
        self.token_withheld = bool(token) and not tus.same_origin(self.server_url, config["sync.server_url"])
        if self.token_withheld:
            token = ""
            log.info("sync.token is for %s; it is not sent to %s", tus.safe_url(config["sync.server_url"]) or
                     "no configured server", tus.safe_url(self.server_url))
        # Validates the URL, token policy and CA bundle now, so a bad setting is reported at start.
        self._client = tus.TusClient(self.server_url, token=token, ca_bundle=config["sync.ca_bundle"],
                                     chunk_size=int(config["sync.chunk_mb"] * 1024 * 1024), throttle=self.throttle,
                                     verify=config["sync.verify"], timeout=timeout,
                                     allowed_hosts=host_list(config["sync.allowed_hosts"]))
        self.status = StatusReporter(config, data, self.kiosk_id, self.bus, sync_dir(data) / "status.json")
        self._lock_file = DataDirLock(sync_dir(data) / "uploader.lock")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.current: dict | None = None       # {"id", "file", "offset", "size"} while uploading
        self.last_error = ""
        self._recovered = False

    # --- control ---------------------------------------------------------------------------------------------------
    def start(self) -> "SyncWorker":
        global _running
        _running = self
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current chunk (its progress is saved; the next start resumes there)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()
        self._lock_file.release()
        global _running
        if _running is self:
            _running = None

    def sync_now(self, retry_stopped: bool = False) -> None:
        """The console's button: everything waiting for its backoff is due now (and blocked/failed rows too)."""
        with transaction():
            if retry_stopped:
                self.retry_stopped()
            SyncState.update(next_attempt_at=None).where(SyncState.status == "pending").execute()
        self._wake.set()

    @staticmethod
    def retry_stopped() -> int:
        """Put blocked and failed rows back in the queue (after the admin fixed the token, the file...)."""
        return SyncState.update(status="pending", next_attempt_at=None, updated_at=utcnow()).where(
            SyncState.status.in_(("blocked", "failed"))).execute()

    @property
    def busy(self) -> bool:
        return bool(self._busy())

    # --- what the console shows ------------------------------------------------------------------------------------
    def queue(self) -> list[dict]:
        """Every row not yet synced, oldest first, with progress (see sync_queue)."""
        return sync_queue()

    # --- the loop --------------------------------------------------------------------------------------------------
    def _run(self) -> None:
        db.connect(reuse_if_open=True)
        try:
            waiting_logged = False
            while not self._lock_file.acquire():
                if not waiting_logged:
                    log.info("another uploader (pid %s) works on this data dir; waiting for it to finish",
                             self._lock_file.holder())
                    waiting_logged = True
                if self._stop.wait(self.poll_s):
                    return
            failures = 0
            while not self._stop.is_set():
                # Supervised: whatever goes wrong in one step is logged and the loop carries on after a pause
                # (a row's own failure is handled in process(); this catches the queue and the database).
                try:
                    self._step()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    delay = backoff_delay(failures, self.poll_s, self.backoff_max_s)
                    log.error("sync worker step failed on an unexpected error (%s: %s); carrying on in %.0f s",
                              type(exc).__name__, str(exc)[:200], delay)
                    log.info("traceback of the unexpected sync worker error", exc_info=exc)
                    self._stop.wait(delay)
        finally:
            db.close()

    def _step(self) -> None:
        """One turn of the loop: wait while a take records, send the booth status when due, upload one row."""
        if not self._recovered:
            self._recover_interrupted()
            self._recovered = True
        if self.busy:
            self._stop.wait(0.2)
            return
        if self.status.due():
            self._send_status()
        row = self._next_due()
        if row is None and self.auto_queue and queue_ended_interviews(self.data, self.config):
            row = self._next_due()
        if row is None:
            self._wake.wait(self._sleep_until_next_due())
            self._wake.clear()
            return
        self.process(row)

    def _should_pause(self) -> bool:
        return self._stop.is_set() or self.busy

    def _recover_interrupted(self) -> None:
        """A row left 'uploading' by a crash or power cut resumes like any pending one (safe: we hold the lock)."""
        n = SyncState.update(status="pending").where(SyncState.status == "uploading").execute()
        if n:
            log.info("%d upload(s) interrupted last time will resume", n)

    def _due_query(self, ignore_schedule: bool = False):
        query = SyncState.select().where(SyncState.status == "pending")
        if not ignore_schedule:
            query = query.where(SyncState.next_attempt_at.is_null() | (SyncState.next_attempt_at <= utcnow()))
        # Session JSON first within one interview is not needed; oldest first keeps the order the kiosk recorded.
        return query.order_by(SyncState.created_at, SyncState.id)

    def _next_due(self) -> SyncState | None:
        return self._due_query().first()

    def _sleep_until_next_due(self) -> float:
        nxt = (SyncState.select(SyncState.next_attempt_at).where(
            (SyncState.status == "pending") & SyncState.next_attempt_at.is_null(False))
            .order_by(SyncState.next_attempt_at).first())
        if nxt is None:
            return self.poll_s
        wait = (nxt.next_attempt_at - utcnow()).total_seconds()
        wait = max(0.05, min(self.poll_s, wait))
        return min(wait, max(0.05, self.status.seconds_to_due())) if self.status.interval_s > 0 else wait

    def run_once(self, ignore_schedule: bool = True) -> list[ItemReport]:
        """Try every pending row once, now, in this thread (for `kiosk sync --once`); returns one report each.

        Raises SyncBusy when another process is uploading from this data dir.
        """
        if not self._lock_file.acquire():
            raise SyncBusy(f"another uploader (pid {self._lock_file.holder()}) is already syncing this kiosk's "
                           f"data. Fix: wait for it to finish, or use the admin console's 'sync now'.")
        self._recover_interrupted()
        self._recovered = True
        if self.auto_queue:
            queue_ended_interviews(self.data, self.config)
        reports = []
        seen: set[int] = set()
        while not self._stop.is_set():
            while self.busy and not self._stop.is_set():
                time.sleep(0.2)
            query = self._due_query(ignore_schedule)
            if seen:
                query = query.where(SyncState.id.not_in(list(seen)))
            row = query.first()
            if row is None:
                break
            seen.add(row.id)
            reports.append(self.process(row))
        if self.status.interval_s > 0 and not self._stop.is_set():
            self._send_status()
        return reports

    def _send_status(self) -> None:
        """The booth status document; whatever goes wrong is logged and the uploads carry on."""
        try:
            self.status.upload(self._client, should_pause=self._should_pause)
        except Exception as exc:
            log.error("the booth status document could not be built or sent (%s: %s); the next one is due in %d s",
                      type(exc).__name__, str(exc)[:200], self.status.interval_s)
            log.info("traceback of the booth status error", exc_info=exc)

    # --- one row ---------------------------------------------------------------------------------------------------
    def _metadata(self, row: SyncState, path: Path) -> dict[str, object]:
        interview = row.interview
        rec = row.recording
        recorded_at = (rec.started_at if rec is not None else None) or (interview.started_at if interview else None)
        duration = rec.duration if rec is not None else (interview.recording_duration if interview else None)
        return {
            "filename": path.name,
            "filetype": _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream",
            "kind": row.kind,
            "interview_uuid": interview.uuid if interview is not None else None,
            "kiosk_id": self.kiosk_id,
            "recorded_at": recorded_at.astimezone(dt.timezone.utc).isoformat() if recorded_at else None,
            "duration": f"{duration:.3f}" if duration is not None else None,
            # The take's signed manifest (kiosk.privacy.manifest): the centre checks it with ssh-keygen -Y verify.
            **(signed_manifest(rec) if rec is not None else {}),
        }

    def _set(self, row: SyncState, **fields) -> None:
        fields["updated_at"] = utcnow()
        SyncState.update(**fields).where(SyncState.id == row.id).execute()
        for key, value in fields.items():
            setattr(row, key, value)

    def process(self, row: SyncState) -> ItemReport:
        """One attempt at one row (with a couple of quick resumes after a dropped connection)."""
        uuid = row.interview.uuid if row.interview_id else None
        # This thread's lines (here and in the tus client) are about the row's interview until it is done.
        with logs.interview_context(uuid):
            try:
                return self._process(row)
            except Exception as exc:
                return self._unexpected_failure(row, uuid, exc)

    def _unexpected_failure(self, row: SyncState, uuid: str | None, exc: Exception) -> ItemReport:
        """A bug or an outside failure no branch foresaw: log it with the session, put the row back in the queue
        with back-off (never left 'uploading', never lost), and let the worker carry on."""
        self.current = None
        attempts = row.attempts + (1 if row.status != "uploading" else 0)
        delay = backoff_delay(attempts, self.backoff_base_s, self.backoff_max_s)
        error = (f"unexpected error while syncing {Path(row.path).name}: {type(exc).__name__}: {str(exc)[:200]}; "
                 f"it goes back to the queue and is tried again in {delay:.0f} s (details in the kiosk log)")
        # The error line for the console, the traceback only in the log file (a terminal never shows one).
        log.error("sync of %s (session %s) failed on an unexpected error (%s: %s); back in the queue, next try in "
                  "%.0f s", Path(row.path).name, uuid, type(exc).__name__, str(exc)[:200], delay)
        log.info("traceback of the unexpected sync error (session %s)", uuid, exc_info=exc)
        SyncState.update(status="pending", attempts=attempts, last_error=error, updated_at=utcnow(),
                         next_attempt_at=utcnow() + dt.timedelta(seconds=delay)).where(
            SyncState.id == row.id).execute()
        self.last_error = error
        self.bus.publish("sync.item", id=row.id, file=Path(row.path).name, status="pending", error=error,
                         retry_in_s=delay)
        return ItemReport(id=row.id, kind=row.kind, interview=uuid, file=Path(row.path).name, status="pending",
                          size=row.size, offset=row.offset, error=error)

    def _process(self, row: SyncState) -> ItemReport:
        path = Path(row.path)
        report = ItemReport(id=row.id, kind=row.kind, interview=row.interview.uuid if row.interview_id else None,
                            file=path.name, status=row.status, size=row.size, offset=row.offset)
        # The file must be the one that was recorded: check it before the first byte leaves.
        try:
            size = path.stat().st_size
        except OSError as exc:
            return self._stopped(row, report, "failed",
                                 f"{path} cannot be read ({exc.strerror}). Fix: restore the file, then retry sync.")
        if row.upload_url is None or row.sha256 is None:
            try:
                sha = tus.file_sha256(path, self._should_pause)
            except tus.Paused:
                report.status, report.error = "pending", "paused"
                return report
            except OSError as exc:
                return self._stopped(row, report, "failed", f"{path} cannot be read ({exc.strerror}). "
                                     f"Fix: restore the file, then retry sync.")
            if row.sha256 is not None and sha != row.sha256:
                return self._stopped(row, report, "failed",
                                     f"{path.name} changed since it was recorded (sha256 {sha[:12]}..., expected "
                                     f"{row.sha256[:12]}...). It was not uploaded. Fix: restore the original file.")
            if row.size is not None and size != row.size:
                return self._stopped(row, report, "failed",
                                     f"{path.name} is {size} bytes, {row.size} were recorded. It was not uploaded. "
                                     f"Fix: restore the original file.")
            self._set(row, sha256=sha, size=size)
        report.size = size
        self._set(row, status="uploading", attempts=row.attempts + 1)
        self.bus.publish("sync.item", id=row.id, file=path.name, status="uploading", offset=row.offset, size=size)

        def saved(offset: int) -> None:
            self.current = {"id": row.id, "file": path.name, "offset": offset, "size": size}
            self.bus.publish("sync.progress", id=row.id, file=path.name, offset=offset, size=size)

        record = _RowRecord(row, saved)
        for quick in range(self.quick_retries + 1):
            try:
                result = self._client.upload(path, record, metadata=self._metadata(row, path), sha256=row.sha256,
                                             on_progress=None,
                                             should_pause=self._should_pause)
            except tus.Paused:
                self._set(row, status="pending", attempts=row.attempts - 1)     # a pause is not a failure
                report.status, report.offset = "pending", record.offset
                report.error = "paused"
                self.current = None
                log.info("sync of %s paused at %d of %d bytes", path.name, record.offset, size)
                return report
            except tus.TusError as exc:
                if exc.retryable and quick < self.quick_retries and not self._stop.is_set() and not self.busy:
                    log.info("sync of %s: %s; resuming", path.name, exc)
                    self._stop.wait(self.quick_retry_delay_s)
                    continue
                self.current = None
                if not exc.retryable:
                    return self._stopped(row, report, "blocked", str(exc))
                delay = backoff_delay(row.attempts, self.backoff_base_s, self.backoff_max_s)
                self._set(row, status="pending", last_error=str(exc),
                          next_attempt_at=utcnow() + dt.timedelta(seconds=delay))
                self.last_error = str(exc)
                report.status, report.offset, report.error = "pending", record.offset, str(exc)
                log.info("sync of %s failed (attempt %d): %s; next try in %.0f s", path.name, row.attempts, exc,
                         delay)
                self.bus.publish("sync.item", id=row.id, file=path.name, status="pending", error=str(exc),
                                 retry_in_s=delay)
                return report
            except OSError as exc:
                self.current = None
                return self._stopped(row, report, "failed", f"{path} cannot be read ({exc}). "
                                     f"Fix: restore the file, then retry sync.")
            else:
                break
        # The client returns only when the final offset equals the size (and the checksum/read-back matched).
        self._set(row, status="synced", offset=result.size, upload_url=result.url, last_error="",
                  synced_at=utcnow(), next_attempt_at=None)
        self.current = None
        report.status, report.offset, report.url = "synced", result.size, result.url
        report.sent, report.resumed_from = result.bytes_sent, result.resumed_from
        report.verified_by, report.seconds = list(result.verified_by), round(result.seconds, 3)
        self.bus.publish("sync.item", id=row.id, file=path.name, status="synced", size=result.size,
                         verified_by=list(result.verified_by))
        return report

    def _stopped(self, row: SyncState, report: ItemReport, status: str, error: str) -> ItemReport:
        self._set(row, status=status, last_error=error, next_attempt_at=None)
        self.last_error = error
        report.status, report.error = status, error
        log.error("sync of %s stopped (%s): %s", Path(row.path).name, status, error)
        self.bus.publish("sync.item", id=row.id, file=Path(row.path).name, status=status, error=error)
        return report
