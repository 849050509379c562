"""WebVTT beside the recording: captions (the words, a few seconds per cue) and chapters (one cue per answer), so a
browser plays the WebM with `<track kind="captions">` and `<track kind="chapters">`.

`write_files(recording, passages)` is the one place these files are written (the privacy side wraps it when
encryption is on: transcripts are personal data). Files are private to the kiosk's user (0600) and replaced
atomically; they are derived from the recording, which is never touched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kiosk.transcripts.chapters import Passage
from kiosk.transcripts.engine import Word

MAX_CUE_CHARS = 84          # two lines of ~42 characters, the usual caption limit
MAX_CUE_S = 6.0
PAUSE_BREAK_S = 0.8         # a pause this long starts a new cue
MIN_CUE_S = 0.3


def caption_paths(recording: Path) -> tuple[Path, Path]:
    """(captions, chapters) beside `recording`: interview_X.webm -> interview_X.vtt, interview_X.chapters.vtt."""
    recording = Path(recording)
    return recording.with_suffix(".vtt"), recording.with_suffix(".chapters.vtt")


def timestamp(seconds: float) -> str:
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def escape(text: str) -> str:
    """Cue text: &, < and > are markup in WebVTT; a line break would end the cue early."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _groups(words: list[Word]) -> list[list[Word]]:
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if current:
            chars = sum(len(w.text) + 1 for w in current) + len(word.text)
            if (chars > MAX_CUE_CHARS or word.end - current[0].start > MAX_CUE_S
                    or word.start - current[-1].end >= PAUSE_BREAK_S or current[-1].text[-1:] in ".?!"):
                current = None
        if current is None:
            groups.append([word])
        else:
            current.append(word)
    return groups


def caption_cues(passage: Passage) -> list[tuple[float, float, str]]:
    """(start, end, text) cues of one chapter, in order, not overlapping, inside the chapter."""
    cues: list[tuple[float, float, str]] = []
    limit = passage.chapter.end
    groups = _groups(passage.words)
    for i, group in enumerate(groups):
        start = max(group[0].start, cues[-1][1] if cues else passage.chapter.start)
        following = groups[i + 1][0].start if i + 1 < len(groups) else limit
        end = min(max(group[-1].end, start + MIN_CUE_S), max(following, start + 0.001), limit)
        if end > start:
            cues.append((round(start, 3), round(end, 3), " ".join(w.text for w in group)))
    return cues


def _render(cues: list[tuple[float, float, str]]) -> str:
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(cues, 1):
        lines += [str(n), f"{timestamp(start)} --> {timestamp(end)}", escape(text), ""]
    return "\n".join(lines)


def captions_vtt(passages: list[Passage]) -> str:
    cues = [cue for p in sorted(passages, key=lambda p: p.chapter.start) for cue in caption_cues(p)]
    return _render(cues)


def chapters_vtt(passages: list[Passage]) -> str:
    cues = [(p.chapter.start, p.chapter.end, p.heading or p.chapter.label)
            for p in sorted(passages, key=lambda p: p.chapter.start)]
    return _render(cues)


def _write_private(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:    # mkstemp makes it 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(recording: Path, passages: list[Passage]) -> tuple[Path, Path]:
    """Write the captions and chapters files of `recording`; returns their paths."""
    captions, chapters = caption_paths(recording)
    _write_private(captions, captions_vtt(passages))
    _write_private(chapters, chapters_vtt(passages))
    return captions, chapters
