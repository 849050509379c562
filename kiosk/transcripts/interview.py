"""Transcribing one interview: its recordings' chapters, one at a time, each stored as a passage as soon as it is
done (so a restart resumes at the next chapter), then the interview's transcript, summary and WebVTT files.

Used by the background runner (jobs.py, the engine in an idle child process) and by `kiosk transcribe` (in-process).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from kiosk.db.database import transaction
from kiosk.db.models import KEPT_STATES, Event, Interview, Recording, TranscriptPassage
from kiosk.transcripts import summary, vtt
from kiosk.transcripts.chapters import Chapter, Passage, chapters_of
from kiosk.transcripts.engine import Word

log = logging.getLogger(__name__)

# (file, chapter, language) -> words relative to the chapter's start
TranscribeChapter = Callable[[Path, Chapter, str], list[Word]]


def recordings_of(interview: Interview) -> list[Recording]:
    """The interview's kept recordings whose file is still there, oldest first."""
    rows = (Recording.select().where((Recording.interview == interview) & Recording.state.in_(KEPT_STATES)
                                     & Recording.deleted_at.is_null()).order_by(Recording.started_at, Recording.id))
    return [r for r in rows if Path(r.path).is_file()]


def _question_texts(interview: Interview, template) -> list[str]:
    if template is None or template.sha256 != interview.template_sha256:
        return []                                      # edited since: its texts may not be what was asked
    return [q.text for q in template.questions]


def placement(interview: Interview, template) -> Callable[[Chapter], tuple[str, int | None, bool]]:
    """chapter -> (heading, question index, superseded), from the flow's answer events and the template."""
    asked: dict[str, int | None] = {}
    superseded: set[str] = set()
    for event in Event.select().where((Event.interview == interview)
                                      & Event.kind.in_(("answer.started", "answer.superseded"))):
        label = (event.detail or {}).get("label")
        if not label:
            continue
        if event.kind == "answer.started":
            asked[label] = event.question_index
        else:
            superseded.add(label)
    texts = _question_texts(interview, template)

    def place(chapter: Chapter) -> tuple[str, int | None, bool]:
        index = asked.get(chapter.label)
        if index is None:
            return chapter.label, None, False
        heading = f"Q{index + 1}. {texts[index]}" if index < len(texts) else f"Question {index + 1}"
        return heading, index, chapter.label in superseded
    return place


def passage_of(row: TranscriptPassage) -> Passage:
    return Passage(Chapter(row.chapter_index, row.label, row.start, row.end),
                   [Word.from_json(w) for w in row.words], row.language, row.heading, row.question_index,
                   row.superseded)


def stored_passages_by_recording(interview: Interview) -> list[tuple[int, Passage]]:
    """(recording id, passage) of every stored chapter, in recording then time order."""
    query = TranscriptPassage.select().where(TranscriptPassage.interview == interview)
    return [(r.recording_id, passage_of(r)) for r in query.order_by(TranscriptPassage.recording,
                                                                    TranscriptPassage.start)]


def stored_passages(interview: Interview, recording: Recording | None = None) -> list[Passage]:
    return [p for rid, p in stored_passages_by_recording(interview) if recording is None or rid == recording.id]


def pending_chapters(interview: Interview) -> list[tuple[Recording, Chapter]]:
    """Chapters of the interview's recordings that have no passage yet."""
    done = {(p.recording_id, p.chapter_index) for p in
            TranscriptPassage.select(TranscriptPassage.recording, TranscriptPassage.chapter_index)
            .where(TranscriptPassage.interview == interview)}
    return [(recording, chapter) for recording in recordings_of(interview)
            for chapter in chapters_of(Path(recording.path)) if (recording.id, chapter.index) not in done]


def forget(interview: Interview) -> None:
    """Drop the interview's passages (a fresh transcription follows)."""
    with transaction():
        TranscriptPassage.delete().where(TranscriptPassage.interview == interview).execute()


def transcribe_chapter(interview: Interview, recording: Recording, chapter: Chapter, transcribe: TranscribeChapter,
                       language: str, engine: str, place) -> Passage:
    """One chapter, stored at once (its own transaction)."""
    started = time.monotonic()
    words = [w.shifted(chapter.start, chapter.end) for w in transcribe(Path(recording.path), chapter, language)]
    heading, question_index, superseded = place(chapter)
    passage = Passage(chapter, words, language, heading, question_index, superseded)
    with transaction():
        TranscriptPassage.delete().where((TranscriptPassage.recording == recording)
                                         & (TranscriptPassage.chapter_index == chapter.index)).execute()
        TranscriptPassage.create(interview=interview, recording=recording, chapter_index=chapter.index,
                                 label=chapter.label, start=chapter.start, end=chapter.end, heading=heading,
                                 question_index=question_index, superseded=superseded, text=passage.text,
                                 words=[w.to_json() for w in words], language=language, engine=engine)
    log.info("interview %s: chapter %d (%.1f s) transcribed in %.1f s, %d words", interview.uuid, chapter.index,
             chapter.end - chapter.start, time.monotonic() - started, len(words))
    return passage


def finish(interview: Interview) -> dict[str, tuple[Path, Path]]:
    """The interview's transcript and summary columns and each recording's WebVTT files, from the stored passages.
    Returns {recording path: (captions path, chapters path)}."""
    written = {}
    for recording in recordings_of(interview):
        passages = stored_passages(interview, recording)
        if passages:
            written[recording.path] = vtt.write_files(Path(recording.path), passages)
    everything = stored_passages(interview)
    with transaction():
        Interview.update(transcript=summary.transcript_text(everything),
                         summary=summary.summary_text(everything)).where(Interview.id == interview.id).execute()
    return written
