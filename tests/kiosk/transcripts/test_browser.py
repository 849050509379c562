"""What a reviewer opens anywhere: the finished WebM with its WebVTT captions and chapters in headless Chromium —
a finite duration, every chapter start reachable by seeking, and the caption cue shown at each time."""

from __future__ import annotations

import json
from pathlib import Path

import webvtt

from kiosk.cli import main
from kiosk.transcripts import vtt
from tests.harness.chromium import PageServer

PAGE = """<!doctype html><meta charset="utf-8">
<video src="%(video)s" preload="auto" muted>
  <track kind="captions" src="%(captions)s" srclang="en" label="Transcript" default>
  <track kind="chapters" src="%(chapters)s" srclang="en" label="Questions">
</video>
<script>
const v = document.querySelector("video");
const report = (obj) => fetch("/report", {method: "POST", body: JSON.stringify(obj)});
v.addEventListener("error", () => report({error: "video", code: v.error && v.error.code}));
const [captions, chapters] = [v.textTracks[0], v.textTracks[1]];
captions.mode = "hidden"; chapters.mode = "hidden";
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
function seek(t) {
  return new Promise(r => { v.addEventListener("seeked", () => setTimeout(r, 250), {once: true}); v.currentTime = t; });
}
const texts = (track) => Array.from(track.activeCues || []).map(c => c.text);
async function run() {
  if (v.readyState < 1) await new Promise(r => v.addEventListener("loadedmetadata", r, {once: true}));
  for (let i = 0; i < 100 && !(captions.cues && captions.cues.length && chapters.cues && chapters.cues.length); i++)
    await sleep(100);
  const out = {duration: v.duration, width: v.videoWidth, chapters: [], captions: []};
  for (const c of Array.from(chapters.cues)) {
    await seek(c.startTime + 0.05);
    out.chapters.push({start: c.startTime, text: c.text, at: v.currentTime, shown: texts(chapters)});
  }
  for (const c of Array.from(captions.cues)) {
    await seek((c.startTime + c.endTime) / 2);
    out.captions.push({start: c.startTime, end: c.endTime, at: v.currentTime, shown: texts(captions)});
  }
  report(out);
}
run().catch(e => report({error: String(e)}));
</script>
"""


def test_the_webm_plays_in_chromium_seeks_to_each_chapter_and_shows_the_captions(stored_interview, capsys,
                                                                                monkeypatch):
    s = stored_interview
    monkeypatch.setenv("KIOSK_TRANSCRIPT_MODEL_PATH", s.config["transcript.model_path"])
    assert main(["--data-dir", str(s.data.root), "transcribe", s.interview.uuid, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    video = Path(s.reload().recording_path)
    captions, chapters = vtt.caption_paths(video)
    assert result["vtt"] == str(captions)
    with PageServer(video.parent) as server:
        found = server.run_page(PAGE % {"video": video.name, "captions": captions.name, "chapters": chapters.name})
    assert "error" not in found, found
    assert abs(found["duration"] - s.take.metadata["duration"]) < 0.2 and found["width"] == 320
    # every chapter start: the seek lands there and the chapter shown is the question asked
    expected = [(round(c.start_in_seconds), c.text) for c in webvtt.read(str(chapters))]
    assert [(round(c["start"]), c["text"]) for c in found["chapters"]] == expected
    assert [c["text"].split(". ", 1)[0] for c in found["chapters"]] == ["Q1", "Q2"]
    for chapter in found["chapters"]:
        assert abs(chapter["at"] - chapter["start"] - 0.05) < 0.1 and chapter["shown"] == [chapter["text"]]
    # every caption cue: shown at its time, with the words recognised at that time
    written = [c.text for c in webvtt.read(str(captions))]
    assert len(found["captions"]) == len(written) >= 2
    words = result["words"]
    for cue, text in zip(found["captions"], written):
        assert cue["shown"] == [text], cue
        said = [w["text"] for w in words if cue["start"] <= (w["start"] + w["end"]) / 2 <= cue["end"]]
        assert " ".join(said) == text


def test_an_mp4_take_is_faststart_and_plays_with_its_captions_in_chromium(pulse, tiny_model, tmp_path, capsys,
                                                                         monkeypatch):
    """The MP4 profile (H.264 + AAC): the index (moov) comes before the media (mdat), so a browser plays it from
    the first bytes; its captions, made by `kiosk transcribe FILE`, show at their times."""
    from tests.harness.speech import ANSWERS, record_answers, render

    wav = render(ANSWERS[1], tmp_path / "a.wav", "flite:slt")
    take = record_answers(pulse, [wav], tmp_path / "take.mp4", labels=["Q1"], profile="mp4-h264-aac")
    video = take.path
    assert video.suffix == ".mp4"
    head = video.read_bytes()
    assert 0 < head.find(b"moov") < head.find(b"mdat")
    monkeypatch.setenv("KIOSK_TRANSCRIPT_MODEL_PATH", tiny_model)
    assert main(["--data-dir", str(tmp_path / "data"), "transcribe", str(video), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    captions, chapters = vtt.caption_paths(video)
    with PageServer(video.parent) as server:
        found = server.run_page(PAGE % {"video": video.name, "captions": captions.name, "chapters": chapters.name})
    assert "error" not in found, found
    assert abs(found["duration"] - take.metadata["duration"]) < 0.2
    assert [c["text"] for c in found["chapters"]] == ["Q1"]
    written = [c.text for c in webvtt.read(str(captions))]
    assert [c["shown"] for c in found["captions"]] == [[text] for text in written] and written
    assert " ".join(written) == " ".join(w["text"] for w in result["words"])
