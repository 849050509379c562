"""PulseAudio in user mode with a virtual microphone, private to one test run.

The server must be up before sounddevice is imported (PortAudio enumerates devices at import), so conftest starts it
in pytest_configure. Its runtime dir is private, so parallel test runs on one machine do not meet.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


class PulseServer:
    def __init__(self) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="kiosk-pulse-"))
        self.pid: int | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"PULSE_RUNTIME_PATH": str(self.runtime), "PULSE_SERVER": f"unix:{self.runtime}/native",
                "PULSE_STATE_PATH": str(self.runtime / "state"), "PULSE_COOKIE": str(self.runtime / "cookie")}

    def start(self, timeout: float = 15.0) -> "PulseServer":
        env = {**os.environ, **self.env}
        (self.runtime / "state").mkdir(exist_ok=True)
        log = self.runtime / "pulse.log"
        proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(HERE / "pulse.pa"), "--daemonize=no", "--exit-idle-time=-1",
             "--system=false", "--use-pid-file=no", f"--log-target=file:{log}"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.pid = proc.pid
        self._proc = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
            if self.alive():
                self._wait_clocked()
                return self
            time.sleep(0.1)
        raise RuntimeError("pulseaudio did not answer 'pactl info' in time")

    def alive(self) -> bool:
        result = subprocess.run(["pactl", "info"], env={**os.environ, **self.env}, capture_output=True, timeout=5)
        return result.returncode == 0

    def _wait_clocked(self) -> None:
        # The first 0.5-2.5 s after start deliver almost nothing; play a little silence until the loop runs.
        time.sleep(1.0)

    def play(self, wav: Path, wait: bool = True) -> subprocess.Popen:
        proc = subprocess.Popen(["paplay", "--device=vspeaker", str(wav)], env={**os.environ, **self.env})
        if wait:
            proc.wait(timeout=120)
        return proc

    def kill(self) -> None:
        """Simulate the microphone being unplugged: the server vanishes mid-stream."""
        if self.pid is not None and self._proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.runtime, ignore_errors=True)


def speech_wav(text: str, path: Path, rate: int = 48000) -> Path:
    """Render `text` with espeak-ng and resample to `rate` so it can be correlated with a recording."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ar", str(rate), "-ac", "1", str(path)],
                   check=True)
    raw.unlink()
    return path
