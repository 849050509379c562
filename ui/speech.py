"""Read questions aloud: QtTextToSpeech when it has a real engine, else espeak-ng, else silently nothing."""

from __future__ import annotations

import ctypes.util
import logging
import shutil
import sys

from PySide6.QtCore import QObject, QProcess

log = logging.getLogger("ui.speech")


class Speaker(QObject):
    def __init__(self, language: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend = "none"
        self._tts = None
        self._process: QProcess | None = None
        self.language = language
        self.spoken: list[str] = []          # what was said (for the log and tests); cleared with the candidate
        # Qt lists its speechd plug-in even when libspeechd is missing, then fails loudly when it is used: look
        # for the library first. Other engines (flite, sapi, darwin) load on their own platforms.
        if ctypes.util.find_library("speechd") or not sys.platform.startswith("linux"):
            try:
                from PySide6.QtTextToSpeech import QTextToSpeech
                engines = [e for e in QTextToSpeech.availableEngines() if e != "mock"]
                if engines:
                    tts = QTextToSpeech(engines[0], self)
                    if tts.state() != QTextToSpeech.State.Error:
                        self._tts = tts
                        self.backend = f"qt:{engines[0]}"
            except Exception as exc:  # a missing plugin is not an error: fall back
                log.info("QtTextToSpeech unavailable (%s)", exc)
        if self._tts is None and shutil.which("espeak-ng"):
            self.backend = "espeak-ng"
        if self.backend == "none":
            log.info("no text-to-speech engine: questions are shown, not read aloud. "
                     "Fix: install espeak-ng or speech-dispatcher")

    def say(self, text: str) -> None:
        self.stop()
        self.spoken.append(text)
        if self._tts is not None:
            self._tts.say(text)
        elif self.backend == "espeak-ng":
            self._process = QProcess(self)
            args = ["-v", self.language] if self.language else []
            self._process.start("espeak-ng", args + [text])

    def stop(self) -> None:
        if self._tts is not None:
            self._tts.stop()
        if self._process is not None:
            if self._process.state() != QProcess.ProcessState.NotRunning:
                self._process.kill()
                self._process.waitForFinished(1000)
            self._process.deleteLater()
            self._process = None

    def forget(self) -> None:
        self.stop()
        self.spoken.clear()
