"""Figures a reviewer can trust, per question, from the words and their times (no invented précis), and the
interview's transcript text headed by the questions.

Speaking time: the words' spans, with pauses shorter than MERGE_GAP_S counted as speaking (a breath inside a
sentence). Words per minute: words / speaking time. Longest silence: the longest stretch without a word inside the
answer, its start and end included. A question answered again (a retake) is summed up by its last answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kiosk.transcripts.chapters import Passage
from kiosk.transcripts.engine import Word

MERGE_GAP_S = 0.5


@dataclass(frozen=True)
class AnswerFigures:
    heading: str
    label: str
    answer_s: float             # the chapter's length
    speaking_s: float
    words: int
    words_per_minute: float
    longest_silence_s: float
    attempts: int = 1           # answers given to this question (retakes included)

    def to_json(self) -> dict:
        return asdict(self)


def speaking_time(words: list[Word]) -> float:
    total, span_start, span_end = 0.0, None, None
    for word in sorted(words, key=lambda w: w.start):
        if span_end is not None and word.start - span_end < MERGE_GAP_S:
            span_end = max(span_end, word.end)
            continue
        if span_end is not None:
            total += span_end - span_start
        span_start, span_end = word.start, word.end
    if span_end is not None:
        total += span_end - span_start
    return total


def longest_silence(words: list[Word], start: float, end: float) -> float:
    edge, longest = start, 0.0
    for word in sorted(words, key=lambda w: w.start):
        longest = max(longest, word.start - edge)
        edge = max(edge, word.end)
    return max(longest, end - edge)


def figures(passage: Passage, attempts: int = 1) -> AnswerFigures:
    chapter = passage.chapter
    speaking = speaking_time(passage.words)
    count = len(passage.words)
    return AnswerFigures(
        heading=passage.heading or chapter.label, label=chapter.label, answer_s=round(chapter.end - chapter.start, 1),
        speaking_s=round(speaking, 1), words=count,
        words_per_minute=round(count / speaking * 60, 0) if speaking > 0 else 0.0,
        longest_silence_s=round(longest_silence(passage.words, chapter.start, chapter.end), 1), attempts=attempts)


def _by_question(passages: list[Passage]) -> list[list[Passage]]:
    """Passages (given in recording order) grouped by question; each chapter outside a template is its own group."""
    groups: dict[object, list[Passage]] = {}
    for passage in passages:
        key = passage.question_index if passage.question_index is not None else ("chapter", id(passage))
        groups.setdefault(key, []).append(passage)
    return list(groups.values())


def per_question(passages: list[Passage]) -> list[AnswerFigures]:
    """One entry per question: the figures of its last answer (the one that counts), with the number of answers."""
    result = []
    for group in _by_question(passages):
        kept = [p for p in group if not p.superseded] or group
        result.append(figures(kept[-1], attempts=len(group)))
    return result


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def summary_text(passages: list[Passage]) -> str:
    """The interview's `summary` column: one line of figures per question."""
    lines = []
    for item in per_question(passages):
        retakes = f", answered {item.attempts} times (the last counts)" if item.attempts > 1 else ""
        lines.append(f"{item.heading}: {_duration(item.speaking_s)} speaking of {_duration(item.answer_s)}, "
                     f"{item.words} words, {item.words_per_minute:.0f} words/min, longest silence "
                     f"{item.longest_silence_s:.1f} s{retakes}")
    return "\n".join(lines)


def transcript_text(passages: list[Passage]) -> str:
    """The interview's `transcript` column: per question, its text as the heading, then what was said."""
    blocks = []
    for group in _by_question(passages):
        heading = group[0].heading or group[0].chapter.label
        parts = [heading]
        for passage in group:
            said = passage.text or "(nothing recognised)"
            parts.append(f"[{passage.chapter.label}, superseded by a retake] {said}" if passage.superseded
                         and len(group) > 1 else said)
        blocks.append("\n".join(parts))
    return "\n\n".join(blocks)
