"""The recorder: sources in, one crash-safe file per take out, live status on an EventBus. No Qt here.

Threads (all in this process, see docs/engine.md for why and the measurements):
- the sources' own threads call `_on_frame` / `_on_block`: they update the preview and the level meter and hand
  frames/blocks, mapped onto the file's timeline, to the writer's queue (never blocking);
- the media writer thread encodes and muxes (kiosk/media/writer.py);
- a monitor thread ticks at the frame rate: slate frames while the camera is off or lost, silence while the mic is
  lost, "no frames for N ms" detection, status events every 250 ms, the free-space guard;
- stop_take() finalizes on a worker thread (kiosk/media/finish.py) and returns a Future; the take's sha256 follows
  on a niced hashing thread.

The take's state and its file timeline are in kiosk/media/take.py.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import shutil
import threading
import time
import uuid as uuidmod
from pathlib import Path

from kiosk import logs
from kiosk.capture.frames import AudioBlock, AudioSource, SourceHealth, VideoFrame, VideoSource, clock
from kiosk.events import EventBus
from kiosk.media import journal as journalmod, profiles
from kiosk.media.finish import FinishContext, add_digest, finish
from kiosk.media.levels import LevelMeter
from kiosk.media.settings import RecorderSettings
from kiosk.media.take import Segment, Take, TakeResult, slate
from kiosk.media.writer import MediaError, MediaWriter, lower_priority

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 0.25
SELF_RESTART_AFTER_S = 10.0


class RecorderError(RuntimeError):
    """Something the user can hit; the message says what is wrong and the fix."""


class Recorder:
    def __init__(self, video: VideoSource | None, audio: AudioSource | None, settings: RecorderSettings,
                 bus: EventBus | None = None) -> None:
        self.video = video
        self.audio = audio
        self.settings = settings
        self.bus = bus or EventBus()
        self.state = "idle"
        self.camera_enabled = True
        self.profile = profiles.get(settings.profile)
        self._lock = threading.RLock()
        self._take: Take | None = None
        self._latest: VideoFrame | None = None
        self._frames_captured = 0
        self._last_frame_at = 0.0
        self._last_block_at = 0.0
        self._camera = "none" if video is None else "ok"
        self._mic = "none" if audio is None else "ok"
        self._camera_reported_lost = False
        self._mic_reported_lost = False
        self._levels = LevelMeter()
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        # Niced like the encoders: finalizing and hashing never take the CPU from the UI thread.
        self._finalizer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="finalize", initializer=lower_priority, initargs=(settings.encoder_nice,))
        self._slates = {kind: slate(settings.size, text) for kind, text in
                        (("off", "CAMERA OFF"), ("lost", "CAMERA LOST - RECONNECTING"), ("none", "NO CAMERA"))}
        self._restart_at = {"camera": 0.0, "mic": 0.0}
        self._failed_start: Take | None = None
        self._camera_ops = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="camera-ops")
        self._opening_since = 0.0
        self.camera_open_s: float | None = None    # how long the last reopen_camera() took to the first frame

    # ------------------------------------------------------------------ lifecycle
    def open(self, with_camera: bool = True) -> None:
        """Start the sources (preview, level meter); with_camera=False keeps the camera closed until reopen_camera()."""
        with self._lock:
            if self.state != "idle":
                return
            self.state = "previewing"
            now = clock()
            self._last_frame_at = self._last_block_at = now
            if self.video is not None and not with_camera:
                self._camera = "released"
                self._camera_ops.submit(self.video.stop)    # open_camera() may have opened it to learn its size
            elif self.video is not None:
                self.video.start(self._on_frame, self._on_camera_health)
            if self.audio is not None:
                self.audio.start(self._on_block, self._on_mic_health)
            self._stop.clear()
            self._monitor = threading.Thread(target=self._run_monitor, name="recorder-monitor", daemon=True)
            self._monitor.start()

    def close(self) -> None:
        """Stop any take (finalizing it), then the sources."""
        future = None
        if self.state == "closed":
            return
        self._ready_take()                     # a take still opening its encoders: let it finish opening first
        take = self._take
        if take is not None:
            future = take.future if take.future is not None else self.stop_take()
        if future is not None:
            try:
                future.result(timeout=600)
            except Exception:
                log.exception("finalizing the take at close failed")
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self._camera_ops.shutdown(wait=True)      # a pending reopen runs before the camera is stopped for good
        for source in (self.video, self.audio):
            if source is not None:
                try:
                    source.stop()
                except Exception:
                    log.exception("stopping %s failed", getattr(source, "description", source))
        self._finalizer.shutdown(wait=True)
        self.state = "closed"

    # ------------------------------------------------------------------ preview
    def latest_frame(self) -> VideoFrame | None:
        """The newest frame for the preview: a slate while the camera is off, lost or absent."""
        if self.video is None:
            return VideoFrame(self._slates["none"], clock())
        if not self.camera_enabled:
            return VideoFrame(self._slates["off"], clock())
        if self._camera == "lost":
            return VideoFrame(self._slates["lost"], clock())
        return self._latest

    def audio_level(self) -> tuple[float, float]:
        """(peak dBFS, RMS dBFS) over the last ~100 ms."""
        return self._levels.level()

    # ------------------------------------------------------------------ takes
    def start_take(self, path: Path, *, interview_uuid: str | None = None, label: str | None = None,
                   wait: bool = True) -> None:
        """Start a take. The encoders open on a worker thread (VP9 at 1080p takes 60-75 ms) and the take's timeline
        starts when they are open. wait=True (default) returns once they are open and raises RecorderError when none
        can be; wait=False returns at once (for a UI thread), a failure then arrives as "recording.failed" and calls
        made meanwhile (pause, mark, stop ...) wait for the opening to end. Either way "recording.failed" is
        published on failure, with stage="start" (a take that never started; "writing" and "finalize" are later)."""
        path = Path(path)
        with self._lock:
            if self.state == "idle":
                self.open()
            if self.state != "previewing":
                raise RecorderError(f"cannot start a take while {self.state}. Fix: stop the current take first.")
            if path.exists():
                raise RecorderError(f"{path} already exists and a recording is never overwritten. "
                                    "Fix: choose a new file name (kiosk.media.naming.recording_path gives one).")
            path.parent.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(path.parent).free / 1e6
            if free_mb < self.settings.min_free_mb:
                raise RecorderError(f"only {free_mb:.0f} MB free on the disk of {path.parent} (at least "
                                    f"{self.settings.min_free_mb} MB needed). Fix: free space or export and delete "
                                    f"old recordings.")
            writer = MediaWriter(self.settings.for_writer(path, with_audio=self.audio is not None),
                                 on_event=self._on_writer_event)
            take = Take(path=path, writer=writer, journal=None, interview_uuid=interview_uuid or str(uuidmod.uuid4()),
                         recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self._take = take
            self._failed_start = None
            self.state = "recording"
        threading.Thread(target=self._open_take, args=(take, label), name="take-open", daemon=True).start()
        if wait:
            take.ready.wait()
            if take.error:
                raise RecorderError(take.error)

    def _open_take(self, take: Take, label: str | None) -> None:
        writer = take.writer
        try:
            writer.open()
        except MediaError as exc:
            take.error = str(exc)
            with self._lock:
                if self._take is take:
                    self._take = None
                    self.state = "previewing"
                self._failed_start = take         # a stop_take() that comes after this still gets its result
            take.ready.set()
            log.error("take could not start: %s", exc)
            self.bus.publish("recording.failed", error=str(exc), stage="start")
            return
        s = self.settings
        header = {"recorded_at": take.recorded_at, "interview_uuid": take.interview_uuid, "profile": s.profile,
                  "video_codec": writer.video_codec, "audio_codec": writer.audio_codec, "fps": s.fps,
                  "size": list(writer.size), "encoder_fallbacks": writer.fallbacks}
        journal = journalmod.Journal(writer.path, header)
        with self._lock:
            take.path = writer.path
            take.journal = journal
            for entry in take.events:           # anything logged while the encoders opened
                journal.append(entry)
            take.segments.append(Segment(capture_start=clock(), file_start=0.0))
            self._chapter(take, 0.0, label)
            if self._camera == "lost":
                self._event(take, "camera.lost", detail="not delivering when the take started")
            if self._mic == "lost":
                self._event(take, "mic.lost", detail="not delivering when the take started")
            if writer.fallbacks:
                self._event(take, "encoder.fallback", used=writer.video_codec, failed=writer.fallbacks)
            take.ready.set()
        log.info("take started: %s (%s, %s)", take.path, writer.video_codec, writer.audio_codec,
                 extra={"interview": take.interview_uuid})

    def _ready_take(self) -> Take | None:
        """The current take once its encoders are open (waits for them, never while holding the lock)."""
        take = self._take
        if take is not None and not take.ready.is_set():
            take.ready.wait(30)
        return take if take is not None and take.error is None and take.ready.is_set() else None

    def pause_take(self) -> None:
        self._ready_take()
        with self._lock:
            take = self._take
            if take is None or self.state != "recording":
                return
            now = clock()
            take.segments[-1].capture_end = now
            take.paused = True
            self.state = "paused"
            self._event(take, "paused")
        self.bus.publish("recording.paused", label=None)

    def resume_take(self, label: str | None = None) -> None:
        self._ready_take()
        with self._lock:
            take = self._take
            if take is None or self.state != "paused":
                return
            file_pos = take.file_now(clock())
            take.segments.append(Segment(capture_start=clock(), file_start=file_pos))
            take.paused = False
            self.state = "recording"
            take.writer.force_keyframe()
            self._event(take, "resumed", label=label)
            self._chapter(take, file_pos, label)
        self.bus.publish("recording.resumed", label=label)

    def mark(self, label: str) -> None:
        self._ready_take()
        with self._lock:
            take = self._take
            if take is None or self.state not in ("recording", "paused"):
                return
            take.writer.force_keyframe()
            self._chapter(take, take.file_now(clock()), label)

    def set_camera_enabled(self, enabled: bool) -> None:
        with self._lock:
            if self.camera_enabled == enabled:
                return
            self.camera_enabled = enabled
            if self._take is not None:
                self._event(self._take, "camera.toggled", enabled=enabled)
        self.bus.publish("camera.toggled", enabled=enabled)

    # ------------------------------------------------------------------ the camera between candidates
    def release_camera(self) -> concurrent.futures.Future:
        """Close the camera device (light off) until reopen_camera(), on a worker thread; refused during a take."""
        with self._lock:
            if self._take is not None:
                raise RecorderError("the camera cannot be released during a take")
            if self.video is None or self._camera == "released":
                return self._camera_ops.submit(lambda: None)
            self._camera = "released"
            self._latest = None
        log.info("camera released")
        return self._camera_ops.submit(self.video.stop)

    def reopen_camera(self) -> concurrent.futures.Future:
        """Open it again at once (a candidate consented); the time to the first frame goes to camera_open_s."""
        with self._lock:
            if self.video is None or self._camera != "released":
                return self._camera_ops.submit(lambda: None)
            self._camera = "opening"
            self._opening_since = clock()
        return self._camera_ops.submit(self.video.start, self._on_frame, self._on_camera_health)

    def stop_take(self) -> concurrent.futures.Future:
        """Finalize in the background; the Future gives a TakeResult (its .sha256 is a Future of its own)."""
        pending = self._take
        if pending is None:
            pending, self._failed_start = self._failed_start, None
        if pending is not None and self._ready_take() is None and pending.error:
            failed: concurrent.futures.Future = concurrent.futures.Future()
            failed.set_result(TakeResult({"recording_path": str(pending.path), "state": "failed",
                                          "error": pending.error}, pending.path, "failed", pending.error))
            return failed
        with self._lock:
            take = self._take
            if take is None:
                raise RecorderError("no take is being recorded. Fix: call start_take() first.")
            if take.future is not None:
                return take.future
            now = clock()
            if take.segments[-1].capture_end is None:
                take.segments[-1].capture_end = now
            self.state = "finalizing"
            take.future = self._finalizer.submit(self._finalize_for_interview, take, now)
            return take.future

    # ------------------------------------------------------------------ internals: events and chapters
    def _event(self, take: Take, kind: str, **data) -> None:
        entry = {"t": round(take.file_now(clock()), 3), "kind": kind, **data}
        take.events.append(entry)
        if take.journal is not None:
            take.journal.append(entry, sync=kind in ("chapter", "paused", "resumed"))

    def _chapter(self, take: Take, file_t: float, label: str | None) -> None:
        take.chapter_count += 1
        entry = {"t": round(file_t, 3), "kind": "chapter", "label": label or f"Part {take.chapter_count}"}
        take.events.append(entry)
        if take.journal is not None:
            take.journal.append(entry, sync=True)

    def _log_extra(self) -> dict:
        """For lines from threads shared by all takes (sources, monitor): the running take's interview, if any."""
        take = self._take
        return {"interview": take.interview_uuid} if take is not None else {}

    def _on_writer_event(self, kind: str, data: dict) -> None:
        take = self._take
        if take is None:
            return
        if kind == "started" and not take.started:
            take.started = True
            # clock_start: the engine clock (CLOCK_MONOTONIC, the same in every process) at file time 0.
            self.bus.publish("recording.started", path=str(take.path), profile=self.settings.profile,
                             video_codec=take.writer.video_codec, audio_codec=take.writer.audio_codec,
                             clock_start=take.segments[0].capture_start)
        elif kind == "failed":
            self.bus.publish("recording.failed", error=f"writing {take.path.name} failed: {data.get('error')}. "
                             "Fix: check the disk; what was written so far is kept and will be repaired.",
                             stage="writing")
            threading.Thread(target=self._stop_after_failure, daemon=True).start()

    def _stop_after_failure(self) -> None:
        try:
            self.stop_take()
        except RecorderError:
            pass

    # ------------------------------------------------------------------ internals: sources (their threads)
    def _on_frame(self, frame: VideoFrame) -> None:
        if self._camera == "released":          # the last frames of a camera being closed
            return
        self._latest = frame
        self._frames_captured += 1
        self._last_frame_at = clock()
        if self._camera == "opening":
            with self._lock:
                self._camera, self.camera_open_s = "ok", self._last_frame_at - self._opening_since
            log.info("camera open: first frame after %.0f ms", self.camera_open_s * 1000)
        elif self._camera == "lost" and not self._camera_reported_lost:
            self._set_camera("ok", "frames arrive again")
        take = self._take
        if take is None or not take.accepting or not self.camera_enabled or self._camera != "ok":
            return
        file_t = take.to_file_time(frame.t)
        if file_t is not None:
            take.writer.write_video(frame.image, file_t)

    def _on_block(self, block: AudioBlock) -> None:
        samples = block.samples
        self._last_block_at = clock()
        self._levels.add(block)
        if self._mic == "lost" and not self._mic_reported_lost:
            self._set_mic("ok", "audio arrives again")
        take = self._take
        if take is None or not take.accepting:
            return
        start, end = block.t, block.t + len(samples) / block.rate
        for segment in take.segments:
            seg_end = segment.capture_end if segment.capture_end is not None else math.inf
            lo, hi = max(start, segment.capture_start), min(end, seg_end)
            if hi <= lo:
                continue
            first = int(round((lo - start) * block.rate))
            last = int(round((hi - start) * block.rate))
            if last > first:
                take.writer.write_audio(samples[first:last],
                                        segment.file_start + (start + first / block.rate - segment.capture_start))

    def _on_camera_health(self, health: SourceHealth, detail: str) -> None:
        if self._camera == "released":          # closing on purpose: nothing is lost
            return
        if health == SourceHealth.LOST:
            self._camera_reported_lost = True
            self._set_camera("lost", detail)
        elif health == SourceHealth.OK:
            self._camera_reported_lost = False
            self._last_frame_at = clock()
            if self._camera == "lost":
                self._set_camera("ok", detail)
        elif health == SourceHealth.FAILED:
            self._camera_reported_lost = True
            self._set_camera("lost", detail)

    def _on_mic_health(self, health: SourceHealth, detail: str) -> None:
        if health in (SourceHealth.LOST, SourceHealth.FAILED):
            self._mic_reported_lost = True
            self._set_mic("lost", detail)
        elif health == SourceHealth.OK:
            self._mic_reported_lost = False
            self._last_block_at = clock()
            if self._mic == "lost":
                self._set_mic("ok", detail)

    def _set_camera(self, state: str, detail: str) -> None:
        with self._lock:
            if self._camera == state or self.video is None:
                return
            self._camera = state
            if self._take is not None:
                self._event(self._take, "camera.lost" if state == "lost" else "camera.back", detail=detail)
        if state == "lost":
            log.warning("camera lost: %s", detail, extra=self._log_extra())
            self.bus.publish("camera.lost", detail=detail)
        else:
            log.info("camera back: %s", detail, extra=self._log_extra())
            self.bus.publish("camera.back", detail=detail)

    def _set_mic(self, state: str, detail: str) -> None:
        with self._lock:
            if self._mic == state or self.audio is None:
                return
            self._mic = state
            if self._take is not None:
                self._event(self._take, "mic.lost" if state == "lost" else "mic.back", detail=detail)
        if state == "lost":
            log.warning("microphone lost: %s", detail, extra=self._log_extra())
            self.bus.publish("mic.lost", detail=detail)
        else:
            log.info("microphone back: %s", detail, extra=self._log_extra())
            self.bus.publish("mic.back", detail=detail)

    # ------------------------------------------------------------------ internals: monitor thread
    def _run_monitor(self) -> None:
        period = 1.0 / self.settings.fps
        n = math.ceil(clock() / period)
        next_status = clock()
        next_disk = clock() + 1.0
        while not self._stop.is_set():
            deadline = n * period
            remaining = deadline - clock()
            if remaining > 0 and self._stop.wait(remaining):
                break
            now = clock()
            try:
                self._tick(deadline, now)
                if now >= next_status:
                    next_status = now + STATUS_INTERVAL_S
                    self.bus.publish("recorder.status", **self.status())
                if now >= next_disk:
                    next_disk = now + 1.0
                    self._check_disk()
            except Exception:  # the monitor must survive anything; the take goes on
                log.exception("recorder monitor tick failed")
            n = max(n + 1, math.floor(clock() / period))

    def _tick(self, slot: float, now: float) -> None:
        if self.video is not None and self._camera == "ok" and now - self._last_frame_at > self.settings.camera_stall_s:
            self._set_camera("lost", f"no frames for {int((now - self._last_frame_at) * 1000)} ms")
            self._restart_at["camera"] = now + SELF_RESTART_AFTER_S
        if self.audio is not None and self._mic == "ok" and now - self._last_block_at > self.settings.mic_stall_s:
            self._set_mic("lost", f"no audio for {int((now - self._last_block_at) * 1000)} ms")
            self._restart_at["mic"] = now + SELF_RESTART_AFTER_S
        self._restart_stalled(now)
        take = self._take
        if take is None or not take.accepting:
            return
        if self.profile.has_video and (self.video is None or not self.camera_enabled or self._camera != "ok"):
            kind = "none" if self.video is None else ("off" if not self.camera_enabled else "lost")
            file_t = take.to_file_time(slot)
            if file_t is not None:
                take.writer.write_video(self._slates[kind], file_t)
        if self.audio is not None and self._mic == "lost":
            file_t = take.to_file_time(now - 0.2)
            if file_t is not None:
                take.writer.fill_audio_until(file_t)

    def _restart_stalled(self, now: float) -> None:
        """A source that went silent and never said so itself (the real sources report LOST and reopen on their
        own) is restarted from here, SELF_RESTART_AFTER_S after the stall and then every 5 s."""
        for name, source, state, reported, restart in (
                ("camera", self.video, self._camera, self._camera_reported_lost, self._on_frame),
                ("mic", self.audio, self._mic, self._mic_reported_lost, self._on_block)):
            if source is None or state != "lost" or reported or now < self._restart_at[name]:
                continue
            self._restart_at[name] = now + 5.0
            threading.Thread(target=self._restart_source, args=(name, source), daemon=True,
                             name=f"restart-{name}").start()

    def _restart_source(self, name: str, source) -> None:
        try:
            source.stop()
            if name == "camera":
                source.start(self._on_frame, self._on_camera_health)
            else:
                source.start(self._on_block, self._on_mic_health)
            log.info("%s restarted after a stall", name)
        except Exception as exc:
            log.info("%s restart failed (%s); trying again", name, exc)

    def _check_disk(self) -> None:
        take = self._take
        if take is None or take.future is not None:
            return
        free_mb = shutil.disk_usage(take.path.parent).free / 1e6
        if free_mb < self.settings.min_free_mb:
            log.warning("disk low: %.0f MB free; finalizing the take", free_mb,
                        extra={"interview": take.interview_uuid})
            self.bus.publish("disk.low", free_mb=round(free_mb, 1))
            with self._lock:
                self._event(take, "disk.low", free_mb=round(free_mb, 1))
            self.stop_take()

    def status(self) -> dict:
        take = self._take
        peak, rms = self.audio_level()
        stats = take.writer.stats if take is not None else None
        return {
            "state": self.state,
            "elapsed_s": round(take.file_now(clock()), 3) if take is not None else 0.0,
            "frames_captured": self._frames_captured,
            "frames_encoded": stats.frames_encoded if stats else 0,
            "frames_dropped": stats.frames_dropped if stats else 0,
            "audio_peak_dbfs": round(peak, 1),
            "audio_rms_dbfs": round(rms, 1),
            "bytes_written": stats.bytes_written if stats else 0,
            "camera": "off" if (self.video is not None and not self.camera_enabled) else self._camera,
            "mic": self._mic,
        }

    # ------------------------------------------------------------------ internals: finalize (worker thread)
    def _finalize_for_interview(self, take: Take, stopped_at: float) -> TakeResult:
        with logs.interview_context(take.interview_uuid):     # this thread's lines (finalize, remux) are the take's
            return self._finalize(take, stopped_at)

    def _finalize(self, take: Take, stopped_at: float) -> TakeResult:
        # Frames and blocks captured before the stop may still be on their way (source latency).
        remaining = stopped_at + self.settings.stop_grace_s - clock()
        if remaining > 0:
            time.sleep(remaining)
        if self.audio is not None and self._mic == "lost":
            take.writer.fill_audio_until(take.file_now(stopped_at))
        take.accepting = False
        self.bus.publish("recording.finalizing", progress=0.0)
        context = FinishContext(profile=self.settings.profile, fps=self.settings.fps,
                                audio_rate=self.settings.audio_rate, frames_captured=self._frames_captured,
                                publish=self.bus.publish)

        def stopped() -> None:
            with self._lock:
                self._event(take, "stopped")
        try:
            result = finish(take, take.file_now(stopped_at), context, stopped)
        finally:
            with self._lock:
                if self._take is take:
                    self._take = None
                if self.state == "finalizing":
                    self.state = "previewing" if not self._stop.is_set() else self.state
        # The file is final: the next take may start while this one's sha256 is computed.
        return add_digest(result, self.bus.publish) if result.ok else result
