"""Search across sessions by words (SQLite FTS5 over the transcript passages; see migration 4).

    search("night shift")     # every word must occur; each word also matches as a prefix ("hosp" finds hospital)
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.db.database import db

SNIPPET_WORDS = 10


@dataclass(frozen=True)
class Hit:
    uuid: str               # the interview
    label: str              # the chapter, e.g. "Q2"
    heading: str
    start: float            # the chapter's start in its recording (seconds): where playback seeks
    snippet: str            # the matching words in context, matches in [brackets]


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query of quoted prefix terms: no FTS syntax from the box can break it."""
    terms = ['"' + word.replace('"', '""') + '"*' for word in text.split()]
    return " ".join(terms)


def search(text: str, limit: int = 50) -> list[Hit]:
    query = fts_query(text)
    if not query:
        return []
    rows = db.execute_sql(
        'SELECT i.uuid, p.label, p.heading, p.start, '
        "snippet(transcript_search, 0, '[', ']', '…', ?) "
        'FROM transcript_search JOIN transcript_passage AS p ON p.id = transcript_search.rowid '
        'JOIN interview AS i ON i.id = p.interview_id '
        'WHERE transcript_search MATCH ? ORDER BY rank LIMIT ?', (SNIPPET_WORDS, query, limit)).fetchall()
    return [Hit(uuid, label, heading, start, snippet) for uuid, label, heading, start, snippet in rows]
