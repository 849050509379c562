"""From a setting's SPEC to a running source, and the list of what this machine can open.

Camera SPEC: "auto" (the first device index 0..9 that opens, looked for again until one does), "demo", a device index
("0"), a video file, a device path (/dev/video2) or a URL (http://, https://, rtsp://, ...). The demo camera is used
only when asked for: with no camera, "auto" reports FAILED ("no camera is connected") and keeps looking.
Microphone SPEC: "default", "demo", "none" (no audio), a device index or part of a device name.
A SPEC that cannot mean anything raises ValueError with the fix in its message; a device that exists but is not
delivering right now is returned all the same and reports its health (FAILED, then OK when it comes up).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from typing import Callable

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.capture.frames import AudioSource, HealthCallback, SourceHealth, VideoFrame, VideoSource

log = logging.getLogger(__name__)

PROBE_INDICES = range(10)
AUTO_RETRY_S = 1.0
NO_CAMERA = "no camera is connected"
CAMERA_SPEC_HELP = "use an index like 0, a file path, a URL, 'auto' or 'demo'"
MIC_SPEC_HELP = "use 'default', an index like 0, part of a device name, 'demo' or 'none'"


def _is_url(spec: str) -> bool:
    scheme, sep, rest = spec.partition("://")
    return bool(sep) and scheme.isalpha() and bool(rest)


def _is_device_path(spec: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(spec).st_mode)
    except OSError:
        return False


def _probe_index(index: int, timeout_s: float = 1.0):
    """A Camera on device `index` that opened, or None. Fast when there is no device (~ms)."""
    from kiosk.capture.camera import Camera
    camera = Camera(index, open_timeout_s=timeout_s)
    return camera if camera.open() else None


def open_camera(spec: str, size: tuple[int, int] = (1280, 720), fps: float = 30.0, open_timeout_s: float = 3.0,
                read_timeout_s: float = 2.0) -> VideoSource:
    """The video source for `spec`. Opens real cameras now (bounded by open_timeout_s) so size and fps are known."""
    from kiosk.capture.camera import Camera
    text = str(spec).strip()
    kind = text.lower()
    if not text:
        raise ValueError(f"camera '': empty; {CAMERA_SPEC_HELP}")
    if kind == "demo":
        return DemoCamera(tuple(size), fps)
    if kind == "auto":
        camera = AutoCamera(tuple(size), fps, open_timeout_s, read_timeout_s)
        if not camera.find():
            log.info("camera auto: no camera opens at indices %d..%d yet; looking again while it runs (set "
                     "camera.spec to a URL for a network camera)", PROBE_INDICES[0], PROBE_INDICES[-1])
        return camera
    if text.isdigit():
        camera = Camera(int(text), size, fps, open_timeout_s, read_timeout_s, is_file=False)
    elif _is_url(text):
        camera = Camera(text, size, fps, open_timeout_s, read_timeout_s, is_file=False)
    elif _is_device_path(text):
        camera = Camera(text, size, fps, open_timeout_s, read_timeout_s, is_file=False)
    elif os.path.isfile(text):
        camera = Camera(text, size, fps, open_timeout_s, read_timeout_s, is_file=True)
        if not camera.open():
            raise ValueError(f"camera {text!r}: the file cannot be read as a video; "
                             f"give a video file OpenCV can play (e.g. .mp4, .webm, .mkv, .avi) or {CAMERA_SPEC_HELP}")
        return camera
    elif os.path.exists(text):
        raise ValueError(f"camera {text!r}: not a video file or device; {CAMERA_SPEC_HELP}")
    else:
        raise ValueError(f"camera {text!r}: no such file or device; {CAMERA_SPEC_HELP}")
    if not camera.open():
        log.info("%s does not open yet; it will report FAILED and keep trying", camera.name)
    return camera


class AutoCamera:
    """camera.spec = "auto": the first device index that opens. While there is none, start() reports FAILED and
    looks again every AUTO_RETRY_S in the background, so a camera plugged in later comes up on its own."""

    def __init__(self, size: tuple[int, int], fps: float, open_timeout_s: float, read_timeout_s: float) -> None:
        self.requested_size = tuple(size)
        self.requested_fps = float(fps)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.camera = None                     # the Camera found, once one opens
        self._stop = threading.Event()
        self._finder: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.camera.name if self.camera is not None else "camera (auto)"

    @property
    def description(self) -> str:
        return self.camera.description if self.camera is not None else f"{self.name}: {NO_CAMERA}"

    @property
    def size(self) -> tuple[int, int]:
        return self.camera.size if self.camera is not None else self.requested_size

    @property
    def fps(self) -> float:
        return self.camera.fps if self.camera is not None else self.requested_fps

    @property
    def health(self) -> SourceHealth:
        return self.camera.health if self.camera is not None else SourceHealth.FAILED

    def find(self) -> bool:
        """Probe the indices once, in the caller's thread; True when a camera opened (it is kept)."""
        from kiosk.capture.camera import Camera
        if self.camera is not None:
            return True
        for index in PROBE_INDICES:
            camera = Camera(index, self.requested_size, self.requested_fps, self.open_timeout_s,
                            self.read_timeout_s, is_file=False)
            if camera.open():
                log.info("camera auto: using %s", camera.description)
                self.camera = camera
                return True
        return False

    def start(self, on_frame: Callable[[VideoFrame], None], on_health: HealthCallback) -> None:
        self._stop.clear()
        if self.camera is not None:
            self.camera.start(on_frame, on_health)
            return
        on_health(SourceHealth.FAILED, f"{NO_CAMERA} (camera.spec = 'auto'); looking for one")
        self._finder = threading.Thread(target=self._keep_looking, args=(on_frame, on_health), daemon=True,
                                        name="camera-auto")
        self._finder.start()

    def _keep_looking(self, on_frame, on_health) -> None:
        while not self._stop.wait(AUTO_RETRY_S):
            with self._lock:
                if self._stop.is_set():
                    return
                if self.find():
                    self.camera.start(on_frame, on_health)
                    return

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
        if self._finder is not None and self._finder is not threading.current_thread():
            self._finder.join(timeout=self.open_timeout_s + 1.0)
        if self.camera is not None:
            self.camera.stop()


def open_microphone(spec: str, rate: int = 48000, channels: int = 1,
                    wait_for_device: bool = False) -> AudioSource | None:
    """The audio source for `spec`, or None for 'none'. Raises ValueError for an index or name that matches no input,
    unless `wait_for_device` (the app): then the microphone reports FAILED and keeps looking for it (a USB
    microphone plugged in late), and the booth says it is not ready meanwhile."""
    text = str(spec).strip()
    kind = text.lower()
    if channels not in (1, 2):
        raise ValueError(f"microphone: {channels} channels; record 1 (mono) or 2 (stereo)")
    if kind == "none":
        return None
    if kind == "demo":
        return DemoMicrophone(rate, channels)
    if not text:
        raise ValueError(f"microphone '': empty; {MIC_SPEC_HELP}")
    from kiosk.capture.microphone import Microphone, find_input_device
    if kind == "default":
        return Microphone(None, rate, channels)
    device: int | str = int(text) if text.isdigit() else text
    if not wait_for_device:
        find_input_device(device)     # raises ValueError naming the inputs there are
    return Microphone(device, rate, channels)


def list_devices(refresh: bool = True) -> dict[str, list[dict]]:
    """What can be opened here: {"cameras": [...], "microphones": [...]}.

    refresh=True re-reads PortAudio's device list (it is cached at import); that closes any open audio stream of this
    process, so a running app passes refresh=False."""
    cameras = []
    for index in PROBE_INDICES:
        camera = _probe_index(index)
        if camera is None:
            continue
        cameras.append({"index": index, "spec": str(index), "name": camera.name, "backend": camera.backend,
                        "width": camera.size[0], "height": camera.size[1], "fps": camera.fps})
        camera._cap.release()
    microphones = []
    try:
        import sounddevice as sd
        if refresh:
            sd._terminate()
            sd._initialize()
        default_input = sd.default.device[0]
        hostapis = sd.query_hostapis()
        for index, device in enumerate(sd.query_devices()):
            if device["max_input_channels"] <= 0:
                continue
            microphones.append({"index": index, "spec": str(index), "name": device["name"],
                                "hostapi": hostapis[device["hostapi"]]["name"],
                                "channels": device["max_input_channels"],
                                "default_rate": device["default_samplerate"], "default": index == default_input})
    except (OSError, ImportError) as exc:      # no PortAudio library: no microphones, said plainly
        log.info("microphones cannot be listed: %s", exc)
    return {"cameras": cameras, "microphones": microphones}
