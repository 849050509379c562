"""Speech read into the PulseAudio virtual microphone while the real recorder records it: what the transcript tests
and bench/transcribe_bench.py hear.

    wav = render(ANSWERS[0], tmp / "a.wav", "flite:slt")        # or "espeak-ng", "flite:rms", "flite:awb"
    take = record_answers(pulse, [wav1, wav2], tmp / "take.webm", labels=["Q1", "Q2"])
    take.metadata, take.answers     # the recorder's metadata; per answer its file-time window [start, end]

Answers hold no figures (a recogniser may write "7" for "seven") and only plain words, so the word error rate
measures recognition, not spelling conventions.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import soundfile

ANSWERS = (
    "I have worked as a nurse in a large hospital for many years. Most of my shifts were at night, and I learned "
    "to stay calm when things go wrong.",
    "My greatest strength is that I listen carefully. When a patient is worried, I explain what will happen next "
    "and I make sure they feel safe.",
    "In my last job I trained new colleagues. I showed them how the ward works and I answered their questions "
    "every day until they were confident.",
    "I would like to join your team because you care about people. I want to keep learning and I enjoy working "
    "with others.",
)

VOICES = ("espeak-ng", "flite:rms", "flite:awb", "flite:slt")

# Measured in bench/transcribe_bench.py (bench/README.md): Whisper tiny.en misses 1-6 % of these words on average, at
# most 13 % of one answer; the tests allow 25 %.
MAX_WER = 0.25


def render(text: str, path: Path, voice: str = "espeak-ng", rate: int = 48000) -> Path:
    """`text` spoken by `voice` as a mono WAV at `rate` (the kiosk's microphone rate)."""
    raw = path.with_suffix(".raw.wav")
    if voice == "espeak-ng":
        subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    elif voice.startswith("flite:"):
        subprocess.run(["flite", "-voice", voice.split(":", 1)[1], "-t", text, "-o", str(raw)], check=True,
                       capture_output=True)
    else:
        raise ValueError(f"unknown voice {voice!r}; use one of {VOICES}")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ar", str(rate), "-ac", "1", str(path)],
                   check=True)
    raw.unlink()
    return path


def seconds_of(wav: Path) -> float:
    info = soundfile.info(str(wav))
    return info.frames / info.samplerate


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<nothing>"))


@dataclass
class RecordedTake:
    path: Path
    metadata: dict
    answers: list[tuple[float, float]]      # file time each answer's speech was played, start and end
    frames_dropped: int


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def record_answers(pulse, wavs: list[Path], path: Path, labels: list[str] | None = None,
                   size: tuple[int, int] = (320, 240), fps: float = 30, gap_s: float = 0.8,
                   interview_uuid: str | None = None, on_recording=None,
                   profile: str = "webm-vp9-opus") -> RecordedTake:
    """One take, one chapter per answer: play each WAV into the virtual microphone, pause between answers (as the
    kiosk does during think time). `on_recording()` is called once the take records (to start something beside it)."""
    from kiosk.capture import sources
    from kiosk.capture.frames import clock
    from kiosk.recorder import Recorder, RecorderSettings

    labels = labels or [f"Q{n + 1}" for n in range(len(wavs))]
    settings = RecorderSettings(profile=profile, size=size, fps=fps, min_free_mb=50)
    video = sources.open_camera("demo", size, fps, 3.0, 1.0)
    audio = sources.open_microphone("default", 48000, 1)
    recorder = Recorder(video, audio, settings)
    answers: list[tuple[float, float]] = []
    recorder.open()
    try:
        if not _wait_for(lambda: recorder.status()["frames_captured"] > 5 and
                         clock() - recorder._last_block_at < 0.1, 15):
            raise RuntimeError("the recorder's sources did not start")
        for n, (wav, label) in enumerate(zip(wavs, labels)):
            if n == 0:
                recorder.start_take(path, interview_uuid=interview_uuid, label=label, wait=True)
                if on_recording is not None:
                    on_recording()
            else:
                recorder.resume_take(label)
            time.sleep(gap_s)
            begin = recorder.status()["elapsed_s"]
            pulse.play(wav, wait=True)
            answers.append((begin, begin + seconds_of(wav)))
            time.sleep(gap_s)
            if n + 1 < len(wavs):
                recorder.pause_take()
                time.sleep(0.5)                       # think time: not in the file
        result = recorder.stop_take().result(timeout=120)
    finally:
        recorder.close()
    if not result.ok:
        raise RuntimeError(f"the take failed: {result.metadata}")
    return RecordedTake(result.path, result.metadata, answers, int(result.metadata.get("frames_dropped") or 0))
