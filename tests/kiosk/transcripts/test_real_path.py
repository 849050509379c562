"""The real path: espeak-ng speech in the PulseAudio virtual microphone, recorded by the real recorder, transcribed
by Whisper tiny.en in the idle worker process through the background queue, stored in the real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import webvtt

from kiosk.db.models import TranscriptJob, TranscriptPassage
from kiosk.transcripts import jobs, search, vtt
from tests.harness.speech import ANSWERS, MAX_WER, normalise, word_error_rate

ROOT = Path(__file__).resolve().parents[3]


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def seconds(stamp: str) -> float:
    hours, minutes, secs = stamp.split(":")
    return round(int(hours) * 3600 + int(minutes) * 60 + float(secs), 3)


def job_of(interview) -> TranscriptJob | None:
    return TranscriptJob.get_or_none(TranscriptJob.interview == interview)


def test_the_background_queue_transcribes_each_answer_into_the_database_and_webvtt(stored_interview):
    s = stored_interview
    runner = jobs.TranscriptRunner(s.config, s.data, template_of=s.store.get_template, idle_poll_s=0.2).start()
    try:
        assert wait_for(lambda: (job_of(s.interview) is not None and job_of(s.interview).status == "done"), 240), \
            job_of(s.interview) and job_of(s.interview).error
    finally:
        assert runner.stop(10)
    passages = list(TranscriptPassage.select().where(TranscriptPassage.interview == s.interview)
                    .order_by(TranscriptPassage.start))
    assert [(p.label, p.question_index, p.superseded) for p in passages] == [("Q1", 0, False), ("Q2", 1, False)]
    for passage, text, (said_from, said_to) in zip(passages, s.texts, s.take.answers):
        wer = word_error_rate(text, passage.text)
        assert wer <= MAX_WER, (wer, passage.text)
        # every word inside its answer's chapter, and inside the time the speech was played (plus the sound
        # server's latency and Whisper's word-time slack)
        assert all(passage.start <= w["start"] <= w["end"] <= passage.end for w in passage.words)
        assert said_from - 0.5 <= passage.words[0]["start"] and passage.words[-1]["end"] <= said_to + 1.5
    interview = s.reload()
    template = s.store.get_template("general")
    # the transcript is headed by the questions; the summary has figures per question
    lines = interview.transcript.split("\n")
    assert lines[0] == f"Q1. {template.questions[0].text}" and f"Q2. {template.questions[1].text}" in lines
    assert normalise(passages[0].text) in normalise(interview.transcript)
    summary_lines = interview.summary.split("\n")
    assert len(summary_lines) == 2 and summary_lines[0].startswith(f"Q1. {template.questions[0].text}: ")
    assert "words/min" in summary_lines[0] and "longest silence" in summary_lines[0]
    # WebVTT beside the recording, private to the kiosk's user, parsed by an independent reader
    captions, chapters = vtt.caption_paths(Path(interview.recording_path))
    assert captions.stat().st_mode & 0o077 == 0 and chapters.stat().st_mode & 0o077 == 0
    cues = webvtt.read(str(captions))
    assert len(cues) >= 2
    spoken = " ".join(c.text for c in cues)
    assert normalise(spoken) == normalise(" ".join(p.text for p in passages))
    starts = [seconds(c.start) for c in cues]
    assert starts == sorted(starts) and all(seconds(c.end) > seconds(c.start) for c in cues)
    chapter_cues = webvtt.read(str(chapters))
    assert [(seconds(c.start), c.text) for c in chapter_cues] == [(round(p.start, 3), p.heading) for p in passages]
    # search across sessions by words
    hits = search.search("hospital")
    assert [h.uuid for h in hits] == [interview.uuid] and "hospital" in hits[0].snippet.lower()
    assert search.search("submarine") == []


def test_kiosk_transcribe_prints_the_text_and_a_last_json_line_with_words_and_vtt(stored_interview):
    s = stored_interview
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_TRANSCRIPT_MODEL_PATH": s.config["transcript.model_path"],
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(s.data.root), "transcribe",
                           s.interview.uuid[:8], "--json"], capture_output=True, text=True, timeout=300, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [line["label"] for line in lines[:-1]] == ["Q1", "Q2"]
    result = lines[-1]
    assert result["uuid"] == s.interview.uuid and result["language"] == "en"
    assert word_error_rate(" ".join(s.texts), " ".join(w["text"] for w in result["words"])) <= MAX_WER
    assert all(w["start"] <= w["end"] for w in result["words"])
    assert Path(result["vtt"]).is_file() and webvtt.read(result["vtt"])
    assert result["text"] == s.reload().transcript
    # done by hand: the background queue does not do it again
    assert job_of(s.interview).status == "done"


def test_kiosk_transcribe_of_a_file_outside_the_database_writes_webvtt_beside_it(spoken_take, tiny_model, tmp_path):
    file = tmp_path / "copy.webm"
    file.write_bytes(spoken_take.path.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_TRANSCRIPT_MODEL_PATH": tiny_model, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path / "data"), "transcribe",
                           str(file)], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    # the text, per chapter headed by its label (no template here)
    blocks = proc.stdout.strip().split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == ["Q1", "Q2"]
    for block, text in zip(blocks, ANSWERS):
        assert word_error_rate(text, block.split("\n", 1)[1]) <= MAX_WER
    assert (tmp_path / "copy.vtt").is_file() and (tmp_path / "copy.chapters.vtt").is_file()
    assert [c.text for c in webvtt.read(str(tmp_path / "copy.chapters.vtt"))] == ["Q1", "Q2"]
