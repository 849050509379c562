"""What is transcribed: the chapters of a recording (one per answer or retake), read from the file itself, and the
transcribed result of one chapter (a Passage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av

from kiosk.media import finalize
from kiosk.privacy.crypto import is_sealed
from kiosk.transcripts.engine import RecordingUnreadable, Word


@dataclass(frozen=True)
class Chapter:
    index: int          # 0-based position in the file's chapter list
    label: str          # the recorder's label, e.g. "Q2" or "Q2 retake 2"
    start: float        # seconds, file time
    end: float


def chapters_of(path: Path) -> list[Chapter]:
    """The file's chapters; a file without any is one chapter, "Part 1", over its whole length."""
    path = Path(path)
    if is_sealed(path):
        # The kiosk holds the centre's public keys only: it cannot read a sealed take back (kiosk/privacy/crypto.py).
        raise RecordingUnreadable(
            f"{path.name} is encrypted to the centre's keys (privacy.recipients), so this kiosk cannot read it to "
            f"transcribe it. Fix: transcribe at the centre: age -d -i centre.key {path.name} > take.webm, then "
            f"kiosk transcribe take.webm.")
    try:
        info = finalize.probe(path, count_packets=False)
    except (av.error.FFmpegError, OSError) as exc:
        raise RecordingUnreadable(f"{path.name} cannot be read ({exc}). Fix: run 'kiosk recover' on it, "
                                  f"then transcribe it again.") from None
    found = [Chapter(i, c["label"], round(c["start"], 3), round(c["end"], 3))
             for i, c in enumerate(info["chapters"]) if c["end"] > c["start"]]
    if found:
        return found
    return [Chapter(0, "Part 1", 0.0, round(float(info["duration"] or 0.0), 3))]


@dataclass
class Passage:
    """The words of one chapter, in file time, and where it belongs in the interview."""

    chapter: Chapter
    words: list[Word] = field(default_factory=list)
    language: str = ""
    heading: str = ""                   # the question's text, else the chapter's label
    question_index: int | None = None   # None for takes outside an interview template (`kiosk record`)
    superseded: bool = False            # a retake replaced this answer

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def to_json(self) -> dict:
        return {"label": self.chapter.label, "chapter_index": self.chapter.index, "start": self.chapter.start,
                "end": self.chapter.end, "heading": self.heading, "question_index": self.question_index,
                "superseded": self.superseded, "language": self.language, "text": self.text,
                "words": [w.to_json() for w in self.words]}


def passage_from_json(data: dict) -> Passage:
    """The inverse of Passage.to_json (the interview document's transcript_passages)."""
    return Passage(Chapter(int(data["chapter_index"]), data["label"], float(data["start"]), float(data["end"])),
                   [Word.from_json(w) for w in data["words"]], data.get("language", ""), data.get("heading", ""),
                   data.get("question_index"), bool(data.get("superseded")))
