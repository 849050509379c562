"""Is the booth ready to record? One answer for the welcome screen, the admin console's Devices page and `kiosk doctor`.

A demo source is used only when asked for (``--demo``, ``camera.spec = "demo"``, ``mic.spec = "demo"``); a device
that is not there makes the booth "not ready", said in plain words to whoever stands at the screen. An audio-only
profile needs no camera.

Between candidates the camera is closed (its light off), so its presence is checked without opening it: the device
node exists (/dev/videoN), the network camera answers a TCP connection, the video file exists. The microphone stays
open with the recorder; its live health is the answer (it reopens by itself when a device comes back).

    watch = DeviceWatch(config, recorder, bus, demo=args.demo)
    watch.start()                     # publishes "booth.devices" (BoothState.to_json()) whenever the answer changes
    watch.state().ready               # False: the welcome screen shows watch.state().notice
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import urlsplit

from kiosk.media import profiles

log = logging.getLogger(__name__)

READY, MISSING, DEMO, NOT_USED = "ready", "not connected", "demo", "not used"
CHECK_INTERVAL_S = 1.0
CONNECT_TIMEOUT_S = 1.0
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}
NOTICE = "This booth is not ready: {problems}. Please ask a member of staff."


@dataclass(frozen=True)
class DeviceState:
    device: str            # "camera" | "microphone"
    status: str            # READY | MISSING | DEMO | NOT_USED
    name: str              # what it is: "camera 0", "network camera http://...", "demo camera"
    detail: str = ""       # for staff: why, and the fix

    @property
    def problem(self) -> str | None:
        return f"the {self.device} is not connected" if self.status == MISSING else None

    @property
    def summary(self) -> str:
        """One line for staff (the admin console's Devices page)."""
        name = f" ({self.name})" if self.name else ""
        return f"{self.device.capitalize()}{name}: {self.status}" + (f". {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class BoothState:
    camera: DeviceState
    microphone: DeviceState

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.camera.problem, self.microphone.problem) if p]

    @property
    def ready(self) -> bool:
        return not self.problems

    @property
    def notice(self) -> str:
        """What the welcome screen says while the booth is not ready ("" when it is)."""
        return NOTICE.format(problems=" and ".join(self.problems)) if self.problems else ""

    @property
    def demo_badge(self) -> str:
        demo = [d.device for d in (self.camera, self.microphone) if d.status == DEMO]
        return f"DEMO {' and '.join(demo)}" if demo else ""

    def to_json(self) -> dict:
        return {"ready": self.ready, "notice": self.notice, "demo_badge": self.demo_badge,
                "camera": asdict(self.camera), "microphone": asdict(self.microphone)}


def camera_needed(config) -> bool:
    return profiles.get(config["recording.profile"]).has_video


def camera_state(config, demo: bool = False) -> DeviceState:
    """The camera's state without opening it (its light stays off)."""
    spec = str(config["camera.spec"]).strip()
    if not camera_needed(config):
        return DeviceState("camera", NOT_USED, "", f"recording.profile = {config['recording.profile']!r} records "
                                                   f"sound only")
    if demo or spec.lower() == "demo":
        return DeviceState("camera", DEMO, "demo camera", "A test pattern (--demo or camera.spec = 'demo'), not a "
                                                          "candidate's picture")
    present, name, fix = _camera_present(spec)
    if present:
        return DeviceState("camera", READY, name)
    return DeviceState("camera", MISSING, name, fix)


def _camera_present(spec: str) -> tuple[bool, str, str]:
    from kiosk.capture.sources import PROBE_INDICES, _is_url
    if spec.lower() == "auto":
        nodes = [f"/dev/video{i}" for i in PROBE_INDICES]
        found = next((n for n in nodes if os.path.exists(n)), None) if sys.platform.startswith("linux") else \
            ("(probed)" if _any_camera_opens() else None)
        return (found is not None, f"camera {found}" if found else "camera (auto)",
                "Plug in a USB camera, or set camera.spec to the camera's URL or index (see `kiosk devices`)")
    if spec.isdigit():
        node = f"/dev/video{spec}"
        present = os.path.exists(node) if sys.platform.startswith("linux") else _any_camera_opens(int(spec))
        return present, f"camera {spec}", f"Plug in the camera ({node} is missing) or correct camera.spec (see `kiosk devices`)"
    if _is_url(spec):
        from kiosk.capture.camera import _redact
        parts = urlsplit(spec)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        answered = bool(parts.hostname and port) and _answers(parts.hostname, port)
        return (answered, f"network camera {_redact(spec)}",
                "Check that the network camera is switched on and reachable, and its URL in camera.spec")
    return os.path.exists(spec), f"camera {os.path.basename(spec)}", f"{spec} is missing: correct camera.spec (see `kiosk devices`)"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _any_camera_opens(index: int | None = None) -> bool:
    """Off Linux there are no device nodes to look at: open and release (the light flickers once)."""
    from kiosk.capture.sources import PROBE_INDICES, _probe_index
    for i in (PROBE_INDICES if index is None else [index]):
        camera = _probe_index(i)
        if camera is not None:
            camera.stop()
            return True
    return False


def microphone_state(config, live: str | None, demo: bool = False) -> DeviceState:
    """The microphone's state. `live` is the recorder's view of its open microphone ("ok", "lost", "none"), or None
    where nothing holds one open (`kiosk doctor`): then PortAudio's device list answers."""
    spec = str(config["mic.spec"]).strip()
    if spec.lower() == "none":
        return DeviceState("microphone", NOT_USED, "", "mic.spec = 'none': interviews are recorded without sound")
    if demo or spec.lower() == "demo":
        return DeviceState("microphone", DEMO, "demo microphone", "A 440 Hz tone (--demo or mic.spec = 'demo'), "
                                                                  "not a candidate's voice")
    name = "default input" if spec.lower() == "default" else f"microphone {spec}"
    fix = "Plug in the microphone, check that the sound server (PulseAudio/PipeWire) runs, or correct mic.spec"
    present = live == "ok" if live is not None else _input_present(spec)
    return DeviceState("microphone", READY if present else MISSING, name, "" if present else fix)


def _input_present(spec: str) -> bool:
    try:
        from kiosk.capture.microphone import find_input_device
        find_input_device(None if spec.lower() == "default" else int(spec) if spec.isdigit() else spec)
        return True
    except (ValueError, OSError):
        return False


def booth_state(config, live_mic: str | None = None, demo: bool = False) -> BoothState:
    return BoothState(camera_state(config, demo), microphone_state(config, live_mic, demo))


class DeviceWatch:
    """Checks the devices every CHECK_INTERVAL_S on its own thread; publishes "booth.devices" on the bus when the
    answer changes. While a candidate has the camera open (the recorder's camera is not "released"), the camera's
    last answer stands: the recorder reports its own losses."""

    def __init__(self, config, recorder, bus, demo: bool = False,
                 camera_open: Callable[[], bool] | None = None) -> None:
        self.config = config
        self.recorder = recorder
        self.bus = bus
        self.demo = demo
        self._camera_open = camera_open or (lambda: False)
        self._state = BoothState(camera_state(config, demo), microphone_state(config, self._live_mic(), demo))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _live_mic(self) -> str | None:
        return self.recorder.status()["mic"] if self.recorder is not None else None

    def state(self) -> BoothState:
        with self._lock:
            return self._state

    def check_now(self) -> BoothState:
        camera = self.state().camera if self._camera_open() else camera_state(self.config, self.demo)
        state = BoothState(camera, microphone_state(self.config, self._live_mic(), self.demo))
        with self._lock:
            changed, self._state = state != self._state, state
        if changed:
            log.info("booth devices: camera %s, microphone %s", state.camera.status, state.microphone.status)
            self.bus.publish("booth.devices", **state.to_json())
        return state

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="device-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CHECK_INTERVAL_S):
            try:
                self.check_now()
            except Exception:           # the watch must outlive any one failed look
                log.exception("checking the devices failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CHECK_INTERVAL_S + CONNECT_TIMEOUT_S + 1.0)
