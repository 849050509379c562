"""A transcribed interview travels whole: the interview document (session JSON for sync and export) holds the
transcript, its passages with word times and the figures per question; the bag holds the WebVTT files; deleting the
interview removes the captions and the search index entries with it."""

from __future__ import annotations

import json
from pathlib import Path

import bagit

from kiosk.cli import main
from kiosk.export import export_sessions
from kiosk.sessions.document import session_document
from kiosk.transcripts import search, vtt


def transcribe(s, capsys, monkeypatch) -> dict:
    monkeypatch.setenv("KIOSK_TRANSCRIPT_MODEL_PATH", s.config["transcript.model_path"])
    assert main(["--data-dir", str(s.data.root), "transcribe", s.interview.uuid, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_document_and_the_bag_carry_the_transcript(stored_interview, capsys, monkeypatch, tmp_path):
    s = stored_interview
    result = transcribe(s, capsys, monkeypatch)
    document = session_document(s.reload())
    assert document["transcript"] == result["text"] and document["summary"].count("\n") == 1
    passages = document["transcript_passages"]
    media = Path(s.reload().recording_path)
    assert [(p["label"], p["question_index"], p["recording"]) for p in passages] == [
        ("Q1", 0, media.name), ("Q2", 1, media.name)]
    assert [w for p in passages for w in p["words"]] == result["words"]
    figures = document["transcript_figures"]
    assert [f["label"] for f in figures] == ["Q1", "Q2"]
    for figure, passage in zip(figures, passages):
        assert figure["words"] == len(passage["words"]) > 10
        assert 0 < figure["speaking_s"] <= figure["answer_s"] and figure["longest_silence_s"] < figure["answer_s"]
        assert 60 < figure["words_per_minute"] < 300          # espeak-ng reads at about 175 words a minute
    captions, chapters = vtt.caption_paths(media)
    assert document["recordings"][0]["caption_files"] == [captions.name, chapters.name]

    stick = tmp_path / "stick"
    stick.mkdir()
    bag_path = export_sessions(s.store, stick, uuids=[s.interview.uuid]).path
    bag = bagit.Bag(str(bag_path))
    bag.validate()
    names = {Path(p).name for p in bag.payload_files()}
    assert {media.name, captions.name, chapters.name} <= names
    (session_json,) = [p for p in bag.payload_files() if p.endswith("session.json")]
    exported = json.loads((bag_path / session_json).read_text(encoding="utf-8"))
    assert exported["transcript_passages"] == passages


def test_deleting_the_interview_removes_its_captions_and_its_search_entries(stored_interview, capsys, monkeypatch):
    s = stored_interview
    transcribe(s, capsys, monkeypatch)
    media = Path(s.reload().recording_path)
    assert search.search("hospital") and all(p.exists() for p in vtt.caption_paths(media))
    summary = s.store.delete_interview(s.interview.uuid, reason="test")
    erased = {f["name"]: f for f in summary["files"]}          # the audit keeps each file's name, size, sha256
    assert all(p.name in erased and len(erased[p.name]["sha256"]) == 64 for p in vtt.caption_paths(media))
    assert not any(p.exists() for p in vtt.caption_paths(media)) and not media.exists()
    assert search.search("hospital") == []


def test_retention_deletes_the_captions_with_the_recording(stored_interview, capsys, monkeypatch):
    import datetime as dt

    from kiosk.sessions import retention

    s = stored_interview
    transcribe(s, capsys, monkeypatch)
    media = Path(s.reload().recording_path)
    captions = vtt.caption_paths(media)
    assert all(p.exists() for p in captions)
    s.config.set("storage.retention_days", 1)
    s.config.set("storage.retention_requires_sync", False)
    report = retention.apply(s.config, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2))
    assert [d.uuid for d in report.deleted] == [s.interview.uuid] and not report.errors
    assert not media.exists() and not any(p.exists() for p in captions)
