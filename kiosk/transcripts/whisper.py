"""Whisper through faster-whisper (CTranslate2): int8 on the CPU, one thread, from a model folder on disk.

The model folder is a CTranslate2 conversion of Whisper (model.bin, config.json, tokenizer.json, vocabulary):
e.g. the faster-whisper-small folder. Hugging Face is never asked (HF_HUB_OFFLINE, local_files_only).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from kiosk.transcripts.engine import (DOCS, EngineUnavailable, LanguageUnsupported, ModelProblem, Word,
                                      check_model_folder)

log = logging.getLogger(__name__)

MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
INSTALL_HINT = "pip install 'kiosk-interview-recorder[transcripts]'"


class WhisperTranscriber:
    name = "whisper"

    def __init__(self, model, folder: Path) -> None:
        self._model = model
        self.folder = folder
        self.multilingual = bool(model.model.is_multilingual)
        self.languages = tuple(model.supported_languages) if self.multilingual else ("en",)

    def describe(self) -> str:
        kind = "multilingual" if self.multilingual else "English only"
        return f"whisper ({kind}) from {self.folder}, int8 on 1 CPU thread"

    def check_language(self, language: str) -> None:
        if not language or language in self.languages:
            return
        if not self.multilingual:
            raise LanguageUnsupported(
                f"the interview is in {language!r} but the model at transcript.model_path ({self.folder}) is "
                f"English only. Fix: copy a multilingual Whisper model (e.g. faster-whisper-small, not "
                f"small.en) and point transcript.model_path at it (see {DOCS}).")
        raise LanguageUnsupported(f"Whisper has no language {language!r}. Fix: set the template's language (or "
                                  f"ui.language) to a two-letter code Whisper knows, e.g. 'de'.")

    def transcribe(self, audio: np.ndarray, language: str) -> list[Word]:
        self.check_language(language)
        if audio.size == 0:
            return []
        # An English-only model is told "en" (it says so itself otherwise); VAD keeps silence from becoming words.
        segments, _info = self._model.transcribe(
            audio, language=language or ("en" if not self.multilingual else None), word_timestamps=True,
            beam_size=5, vad_filter=True, condition_on_previous_text=False)
        words = []
        for segment in segments:
            for word in segment.words or ():
                text = word.word.strip()
                if text:
                    words.append(Word(float(word.start), float(word.end), text, float(word.probability)))
        return words


def load(model_path: str) -> WhisperTranscriber:
    folder = check_model_folder(model_path, MODEL_FILES)
    os.environ["HF_HUB_OFFLINE"] = "1"        # before faster_whisper imports huggingface_hub: never the network
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise EngineUnavailable(f"transcript.engine = 'whisper' needs faster-whisper, which is not installed. "
                                f"Fix: {INSTALL_HINT}.") from None
    try:
        model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1, num_workers=1,
                             local_files_only=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelProblem(f"transcript.model_path = {model_path!r} is not a Whisper model in CTranslate2 format "
                           f"({exc}). Fix: copy a faster-whisper model folder there (see {DOCS}).") from None
    log.info("whisper model loaded from %s (%s)", folder, "multilingual" if model.model.is_multilingual
             else "English only")
    return WhisperTranscriber(model, folder)
