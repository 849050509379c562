"""The camera: OpenCV VideoCapture from a device index, a video file or a URL, read in its own thread.

Health, reported through ``on_health(SourceHealth, detail)`` and only on change:
- OK when frames flow; LOST when a read fails or nothing arrives for ``read_timeout_s``; then the camera is reopened in
  the background (0.5 s, 1 s, 2 s, 2 s ... apart) and reports OK again once frames flow. FAILED when the first open
  fails (it keeps trying in the background all the same: a camera plugged in late still comes up). CLOSED at stop.
- A video file plays once at its own frame rate; its end is reported as LOST ("end of file") and it is not reopened
  (looping would put old pictures into a new take).
Nothing raises into the caller: every OpenCV failure becomes a health report.

Stamps: the engine clock right after ``grab()`` returns (the frame has arrived, decoding comes after); for a file,
its paced presentation time. Stamps are strictly increasing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from typing import Callable

# We report every camera problem through our own log. Without these, OpenCV warns on stderr for each index probed
# and FFmpeg prints "Connection refused" on every reopen attempt of a lost network camera. Set either variable to
# see them again when debugging.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")    # AV_LOG_QUIET; read when FFmpeg is first used
import cv2  # noqa: E402

if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

from kiosk.capture.frames import HealthCallback, SourceHealth, VideoFrame, clock  # noqa: E402

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0)


def _sane_fps(value: float) -> float | None:
    return value if 1.0 <= value <= 240.0 else None


class Camera:
    """One camera. ``source``: a device index (int), a file path or a URL (str)."""

    def __init__(self, source: int | str, size: tuple[int, int] = (1280, 720), fps: float = 30.0,
                 open_timeout_s: float = 3.0, read_timeout_s: float = 2.0, is_file: bool | None = None) -> None:
        self.source = source
        self.requested_size = tuple(size)
        self.requested_fps = float(fps)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.is_file = (isinstance(source, str) and os.path.isfile(source)) if is_file is None else is_file
        self.size: tuple[int, int] = self.requested_size    # replaced by what the camera delivers once open
        self.fps: float = self.requested_fps
        self.backend = ""
        self.frames_delivered = 0
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()
        self._health: SourceHealth = SourceHealth.OPENING
        self._on_health: HealthCallback | None = None
        self._stop = threading.Event()
        self._generation = 0          # bumps when a hung reader is abandoned; an old reader then just exits
        self._reader: threading.Thread | None = None
        self._monitor: threading.Thread | None = None
        self._last_frame_at = 0.0
        self._reading_since: float | None = None
        self._last_stamp = float("-inf")
        self._arrivals: deque[float] = deque(maxlen=61)

    # ---- description
    @property
    def name(self) -> str:
        if isinstance(self.source, int):
            return f"camera {self.source}"
        if self.is_file:
            return f"video file {os.path.basename(self.source)}"
        return f"network camera {_redact(self.source)}"

    @property
    def description(self) -> str:
        return f"{self.name} ({self.size[0]}x{self.size[1]} @ {self.fps:g})"

    @property
    def health(self) -> SourceHealth:
        return self._health

    def measured_fps(self) -> float:
        """Frames per second actually delivered over the last ~2 s (0 before two frames)."""
        arrivals = list(self._arrivals)
        if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:
            return 0.0
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

    # ---- opening
    def _params(self) -> list[int]:
        return [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)]

    def _open_capture(self) -> tuple[cv2.VideoCapture | None, str]:
        """One attempt; returns (capture, "") or (None, why). Never raises."""
        try:
            cap = cv2.VideoCapture(self.source, cv2.CAP_ANY, self._params())
            if not cap.isOpened() and isinstance(self.source, int):
                # Some device backends refuse the timeout parameters outright; a local device answers at once anyway.
                cap = cv2.VideoCapture(self.source, cv2.CAP_ANY)
            if not cap.isOpened():
                return None, "does not open"
            if isinstance(self.source, int):
                # USB webcams deliver 720p/1080p at 30 fps only as MJPEG (raw YUYV manages 5-10 fps over USB 2).
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            if not self.is_file:
                width, height = self.requested_size
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                cap.set(cv2.CAP_PROP_FPS, self.requested_fps)
            reported_fps = _sane_fps(cap.get(cv2.CAP_PROP_FPS))
            if self.is_file or isinstance(self.source, int):
                self.fps = reported_fps or self.requested_fps
            # A URL's reported rate is the demuxer's guess (FFmpeg says 25 for any MJPEG stream): keep the request
            # and let measured_fps() tell the truth.
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if width > 0 and height > 0:
                self.size = (width, height)
            try:
                self.backend = cap.getBackendName()
            except cv2.error:
                self.backend = "?"
            return cap, ""
        except (cv2.error, OSError, SystemError) as exc:
            return None, f"error: {exc}"

    def open(self) -> bool:
        """Open now, in the caller's thread (at most ~open_timeout_s), so size and fps are known before start()."""
        if self._cap is not None:
            return True
        cap, why = self._open_capture()
        if cap is None:
            log.info("%s %s", self.name, why)
            return False
        self._cap = cap
        log.info("opened %s via %s (requested %dx%d @ %g)", self.description, self.backend, *self.requested_size,
                 self.requested_fps)
        return True

    # ---- health
    def _set_health(self, health: SourceHealth, detail: str) -> None:
        with self._lock:
            if health == self._health:
                return
            self._health = health
            callback = self._on_health
        if health in (SourceHealth.LOST, SourceHealth.FAILED):
            log.warning("%s %s: %s", self.name, health.value, detail)
        else:
            log.info("%s %s: %s", self.name, health.value, detail)
        if callback is not None:
            try:
                callback(health, detail)
            except Exception:      # an observer's bug must not stop the camera
                log.exception("camera health callback failed")

    # ---- running
    def start(self, on_frame: Callable[[VideoFrame], None], on_health: HealthCallback) -> None:
        self._on_health = on_health
        self._stop.clear()
        self._health = SourceHealth.OPENING
        self._start_reader(on_frame)
        self._monitor = threading.Thread(target=self._watch, args=(on_frame,), name="camera-monitor", daemon=True)
        self._monitor.start()

    def _start_reader(self, on_frame) -> None:
        self._generation += 1
        self._reader = threading.Thread(target=self._run, args=(on_frame, self._generation), name="camera",
                                        daemon=True)
        self._reader.start()

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._stop.is_set()

    def _run(self, on_frame, generation: int) -> None:
        attempt = 0
        ever_opened = self._cap is not None
        while self._current(generation):
            cap, self._cap = self._cap, None
            if cap is None:
                cap, why = self._open_capture()
                if cap is None:
                    if not ever_opened:
                        self._set_health(SourceHealth.FAILED, f"{self.name} {why}; retrying in the background")
                    if self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]):
                        break
                    attempt += 1
                    continue
            ever_opened = True
            ended = self._read_until_failure(cap, on_frame, generation)
            try:
                cap.release()
            except cv2.error:
                pass
            if not self._current(generation):
                break
            if ended == "end of file":
                self._set_health(SourceHealth.LOST, "end of file")
                return
            self._set_health(SourceHealth.LOST, f"{ended}; reopening")
            attempt = 0
            if self._stop.wait(BACKOFF_S[0]):
                break
        if generation == self._generation:
            self._set_health(SourceHealth.CLOSED, self.name)

    def _read_until_failure(self, cap: cv2.VideoCapture, on_frame, generation: int) -> str:
        """Deliver frames until a read fails; returns why it stopped."""
        period = 1.0 / self.fps if self.is_file else 0.0
        next_due = clock()
        while self._current(generation):
            if self.is_file:
                if self._stop.wait(max(0.0, next_due - clock())):
                    return "stopped"
            self._reading_since = clock()
            try:
                ok = cap.grab()
                arrived = clock()
                image = cap.retrieve()[1] if ok else None
            except cv2.error as exc:
                return f"read error: {exc}"
            finally:
                if generation == self._generation:
                    self._reading_since = None
            if not self._current(generation):
                return "stopped"
            if not ok or image is None:
                return "end of file" if self.is_file else "read failed"
            t = next_due if self.is_file and arrived - next_due < period else arrived
            if t <= self._last_stamp:
                t = self._last_stamp + 1e-6
            self._last_stamp = t
            self._last_frame_at = arrived
            self._arrivals.append(arrived)
            if self.is_file:
                next_due = max(next_due + period, arrived - period)
            if image.shape[1] != self.size[0] or image.shape[0] != self.size[1]:
                self.size = (image.shape[1], image.shape[0])
            if self._health != SourceHealth.OK:
                self._set_health(SourceHealth.OK, self.description)
            self.frames_delivered += 1
            try:
                on_frame(VideoFrame(image, t))
            except Exception:
                log.exception("camera frame consumer failed")
        return "stopped"

    def _watch(self, on_frame) -> None:
        """Report a stall that OpenCV's read timeout did not catch; abandon a reader that hangs for good."""
        while not self._stop.wait(0.1):
            now = clock()
            if self._health == SourceHealth.OK and now - self._last_frame_at > self.read_timeout_s + 0.25:
                self._set_health(SourceHealth.LOST, f"no frame for {now - self._last_frame_at:.1f} s; reopening")
            reading_since = self._reading_since
            if reading_since is not None and now - reading_since > 3 * self.read_timeout_s + 1.0:
                log.warning("%s: a read hangs past its timeout; opening a fresh capture", self.name)
                self._reading_since = None
                self._start_reader(on_frame)

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._reader, self._monitor):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=self.read_timeout_s + 1.0)
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._set_health(SourceHealth.CLOSED, self.name)


def _redact(url: str) -> str:
    """Hide a password in rtsp://user:secret@host/ from logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.split("@", 1) if "@" in rest.split("/", 1)[0] else ("", rest)
        if credentials:
            return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url
