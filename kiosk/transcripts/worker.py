"""The engine in a child process at idle priority, so a transcript never slows a take.

The child (`python -m kiosk.transcripts.worker ENGINE MODEL_PATH`) lowers itself to nice 19 and SCHED_IDLE before it
loads the model (CTranslate2's threads inherit that), then answers one JSON line per request on stdin:

    -> {"path": "...", "start": 12.0, "end": 45.5, "language": "en"}
    <- {"words": [{"start": ..., "end": ..., "text": ..., "probability": ...}, ...], "seconds": 3.1}
    <- {"error": "...", "kind": "LanguageUnsupported"}

Its own process has its own interpreter lock: the recorder's threads never wait on it. The parent pauses it with
SIGSTOP the moment a candidate starts or a take records, and lets it go on with SIGCONT.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av

from kiosk.transcripts import engine
from kiosk.transcripts.engine import TranscriptError, Word

log = logging.getLogger(__name__)

ERRORS = {cls.__name__: cls for cls in (engine.TranscriptsOff, engine.ModelProblem, engine.EngineUnavailable,
                                        engine.LanguageUnsupported, engine.RecordingUnreadable, TranscriptError)}


def lower_priority() -> None:
    """nice 19 and, on Linux, SCHED_IDLE: the CPU goes to anything else first."""
    os.nice(max(0, 19 - os.nice(0)))
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def serve(engine_name: str, model_path: str, stdin=sys.stdin, stdout=sys.stdout) -> int:
    lower_priority()

    def answer(obj: dict) -> None:
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    try:
        transcriber = engine.open_transcriber(engine_name, model_path)
    except TranscriptError as exc:
        answer({"error": str(exc), "kind": type(exc).__name__})
        return 1
    answer({"ready": True, "describe": transcriber.describe()})
    for line in stdin:
        request = json.loads(line)
        started = time.monotonic()
        try:
            transcriber.check_language(request["language"])
            try:
                audio = engine.decode_audio(request["path"], request["start"], request["end"])
            except (av.error.FFmpegError, OSError) as exc:
                raise engine.RecordingUnreadable(f"{Path(request['path']).name} cannot be read ({exc}). "
                                                 f"Fix: run 'kiosk recover' on it, then transcribe it again.") from None
            words = transcriber.transcribe(audio, request["language"])
        except TranscriptError as exc:
            answer({"error": str(exc), "kind": type(exc).__name__})
            continue
        answer({"words": [w.to_json() for w in words], "seconds": round(time.monotonic() - started, 3),
                "audio_s": round(audio.size / engine.SAMPLE_RATE, 3)})
    return 0


class WorkerGone(TranscriptError):
    """The child process ended (killed, out of memory); the chapter is tried again later."""


class WorkerProcess:
    """The parent's handle on one child: start, submit a chapter, wait for it (interruptibly), pause, stop."""

    def __init__(self, engine_name: str, model_path: str, start_timeout: float = 120.0) -> None:
        self.engine_name, self.model_path = engine_name, model_path
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.paused = False
        self.description = ""
        self._stderr: collections.deque[str] = collections.deque(maxlen=5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> "WorkerProcess":
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "kiosk.transcripts.worker", self.engine_name,
                                       self.model_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        threading.Thread(target=self._read, name="transcript-worker-reader", daemon=True).start()
        threading.Thread(target=self._read_errors, name="transcript-worker-errors", daemon=True).start()
        first = self._next(self.start_timeout)
        if "error" in first:
            self.stop()
            raise ERRORS.get(first.get("kind"), TranscriptError)(first["error"])
        self.description = first.get("describe", "")
        log.info("transcript worker %d started at idle priority: %s", self._proc.pid, self.description)
        return self

    def _read_errors(self) -> None:
        """Keep the child's last lines of stderr (a traceback) to say why it ended."""
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip())

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout: float | None, waiting=None) -> dict:
        """The next answer; `waiting()` is called about every 0.1 s meanwhile (it may pause or resume us)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if waiting is not None:
                    waiting()
                if deadline is not None and time.monotonic() > deadline and not self.paused:
                    raise WorkerGone("the transcript worker did not answer in time")
                continue
            if line is None:
                code = self._proc.wait() if self._proc is not None else None
                last = f": {self._stderr[-1]}" if self._stderr else ""
                raise WorkerGone(f"the transcript worker ended (exit status {code}){last}")
            return json.loads(line)

    def transcribe(self, path: Path, start: float, end: float, language: str, waiting=None) -> list[Word]:
        if self._proc is None or self._proc.stdin is None:
            raise WorkerGone("the transcript worker is not running")
        request = {"path": str(path), "start": start, "end": end, "language": language}
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerGone("the transcript worker is gone") from None
        answer = self._next(None, waiting)
        if "error" in answer:
            raise ERRORS.get(answer.get("kind"), TranscriptError)(answer["error"])
        return [Word.from_json(w) for w in answer["words"]]

    def pause(self) -> None:
        if self._proc is not None and not self.paused and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self._proc is not None and self.paused:
            if self._proc.poll() is None:
                os.kill(self._proc.pid, signal.SIGCONT)
            self.paused = False

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)       # a stopped process cannot act on the end of its input
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.paused = False


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    raise SystemExit(serve(sys.argv[1], sys.argv[2]))
