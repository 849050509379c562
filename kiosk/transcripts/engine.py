"""The `Transcriber` interface and the registry of engines.

An engine turns 16 kHz mono float32 audio into words with times. It is loaded from a model folder on disk
(`transcript.model_path`); nothing is fetched at run time. Errors a user can hit name the setting and the fix.

    transcriber = open_transcriber("whisper", Path("/opt/models/whisper-small"))
    transcriber.check_language("de")                     # raises LanguageUnsupported for an English-only model
    words = transcriber.transcribe(decode_audio(path, 12.0, 45.5), "de")
"""

from __future__ import annotations

import importlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16000

# name -> module holding `load(model_path) -> Transcriber`. The one list of engines (transcript.engine checks it).
ENGINES: dict[str, str] = {
    "whisper": "kiosk.transcripts.whisper",
}

DOCS = "docs/transcripts.md"
NO_MODEL = (f"no speech model is configured. Fix: copy a model folder onto the kiosk and set "
            f"transcript.model_path to it (see {DOCS}).")


class TranscriptError(Exception):
    """Transcription cannot run; the message says why and names the fix."""


class TranscriptsOff(TranscriptError):
    """No model is configured."""


class ModelProblem(TranscriptError):
    """transcript.model_path is missing, unreadable or not a model of this engine."""


class EngineUnavailable(TranscriptError):
    """The engine's library is not installed."""


class LanguageUnsupported(TranscriptError):
    """The model cannot transcribe the interview's language."""


class RecordingUnreadable(TranscriptError):
    """The recording cannot be read here: sealed to the centre's keys (encryption on), or damaged."""


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds (relative to the audio given, or to the file once placed)."""

    start: float
    end: float
    text: str
    probability: float = 1.0

    def shifted(self, offset: float, limit: float) -> "Word":
        """This word in file time: moved by `offset`, kept inside [offset, limit]."""
        start = min(max(self.start + offset, offset), limit)
        end = min(max(self.end + offset, start), limit)
        return Word(round(start, 3), round(end, 3), self.text, round(self.probability, 3))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Word":
        return cls(float(data["start"]), float(data["end"]), str(data["text"]), float(data.get("probability", 1)))


class Transcriber(Protocol):
    name: str

    def describe(self) -> str:
        """One line for `kiosk doctor` and the console: engine, model, languages, how it runs."""

    def check_language(self, language: str) -> None:
        """Raise LanguageUnsupported when the model cannot transcribe `language` ("" = let the model decide)."""

    def transcribe(self, audio: np.ndarray, language: str) -> list[Word]:
        """Words of 16 kHz mono float32 `audio`, times relative to its start."""


def off_reason(config) -> str:
    """Why transcripts are off on this kiosk, with how to turn them on (console, doctor); "" when they are on."""
    if not config["transcript.enabled"]:
        return "Transcripts are off (transcript.enabled = false). Fix: set transcript.enabled = true."
    if not config["transcript.model_path"]:
        return f"Transcripts are off: {NO_MODEL}"
    if config["privacy.recipients"]:
        # A finished take is sealed to the centre's key at once: the kiosk cannot read it back to transcribe it.
        return ("Transcripts are off: recordings are encrypted to the centre's key (privacy.recipients), so this "
                "kiosk cannot read them back. Fix: transcribe at the centre after decrypting, or empty "
                "privacy.recipients.")
    return ""


def normalise_language(code: str) -> str:
    """'de_DE.UTF-8' -> 'de'; '' stays '' (the model decides)."""
    return code.split(".")[0].replace("-", "_").split("_")[0].strip().lower()


def interview_language(template_language: str, ui_language: str) -> str:
    """The template's `language`, else `ui.language`, else '' (the model decides)."""
    return normalise_language(template_language or ui_language or "")


def check_model_folder(model_path: str, needs: tuple[str, ...]) -> Path:
    """The configured model folder as a Path; ModelProblem naming the setting when it is not there or incomplete."""
    if not model_path:
        raise TranscriptsOff(NO_MODEL)
    folder = Path(model_path).expanduser()
    if not folder.is_dir():
        raise ModelProblem(f"transcript.model_path = {model_path!r} is not a folder on this kiosk. Fix: copy the "
                           f"model folder there (e.g. from the USB stick) or correct transcript.model_path "
                           f"(see {DOCS}).")
    missing = [name for name in needs if not (folder / name).is_file()]
    if missing:
        raise ModelProblem(f"transcript.model_path = {model_path!r} is not a complete model: "
                           f"{', '.join(missing)} missing. Fix: copy the whole model folder again (see {DOCS}).")
    if not os.access(folder / needs[0], os.R_OK):
        raise ModelProblem(f"transcript.model_path = {model_path!r}: {needs[0]} cannot be read by this user. "
                           f"Fix: chmod a+r the model's files.")
    return folder


def open_transcriber(engine: str, model_path: str) -> Transcriber:
    """Load `engine` with the model at `model_path`; TranscriptError (naming the setting and the fix) otherwise."""
    module_name = ENGINES.get(engine)
    if module_name is None:
        raise TranscriptError(f"transcript.engine = {engine!r} is not an engine of this kiosk. "
                              f"Fix: use one of {', '.join(sorted(ENGINES))}.")
    return importlib.import_module(module_name).load(model_path)


def decode_audio(path: Path | str, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """The audio of `path` from `start` to `end` (seconds, file time) as 16 kHz mono float32."""
    import av

    pieces: list[np.ndarray] = []
    first_time: float | None = None
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        if start > 1.0 and stream.time_base:
            container.seek(int((start - 1.0) / stream.time_base), stream=stream, backward=True)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(stream):
            if frame.time is not None and end is not None and frame.time > end:
                break
            if first_time is None:
                first_time = frame.time if frame.time is not None else 0.0
            for out in resampler.resample(frame):
                pieces.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1))
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    audio = np.concatenate(pieces).astype(np.float32, copy=False)
    skip = max(0, int(round((start - (first_time or 0.0)) * SAMPLE_RATE)))
    stop = None if end is None else max(skip, int(round((end - (first_time or 0.0)) * SAMPLE_RATE)))
    return audio[skip:stop]
