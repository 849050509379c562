"""The take journal, ``<file>.recording``: written when a take starts, locked while it records, removed once the take
is finalized. A journal that exists but is unlocked marks a cut-off take for `kiosk recover`.

JSON lines: the first is the take's header (uuid, profile, codecs, recorded_at ...), then one line per event
(chapter starts, pauses, camera toggles, losses) in file time, so a recovered take keeps its chapters.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

SUFFIX = ".recording"


def journal_path(media: Path) -> Path:
    return Path(media).with_name(Path(media).name + SUFFIX)


class Journal:
    def __init__(self, media: Path, header: dict) -> None:
        self.path = journal_path(media)
        self._file = open(self.path, "a", encoding="utf-8")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.append({"kind": "take", **header}, sync=True)

    def append(self, entry: dict, sync: bool = False) -> None:
        if self._file.closed:
            return
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())

    def close(self, remove: bool) -> None:
        if not self._file.closed:
            if remove:
                self.path.unlink(missing_ok=True)
            self._file.close()   # releases the lock


def is_locked(media: Path) -> bool:
    """True while a recording process holds the journal (the take is live, not cut off)."""
    path = journal_path(media)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read(media: Path) -> tuple[dict, list[dict]]:
    """(header, events) from a journal; missing or half-written lines are skipped."""
    path = journal_path(media)
    header: dict = {}
    events: list[dict] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return header, events
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("kind") == "take" and not header:
            header = {k: v for k, v in entry.items() if k != "kind"}
        else:
            events.append(entry)
    return header, events


def remove(media: Path) -> None:
    journal_path(media).unlink(missing_ok=True)
