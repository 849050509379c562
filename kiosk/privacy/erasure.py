"""Erasure that erases: files removed with their hashes kept for the audit, and no byte of a deleted row left in the
database file, its WAL or the copies kept before migrations.

SQLite keeps deleted text in free pages and in the WAL unless told otherwise: the connection runs with
``secure_delete`` (freed cells are zeroed), and after an erasure the database is vacuumed (pages an older kiosk freed
without zeroing are rewritten) and the WAL is checkpointed and truncated.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from kiosk.privacy.files import fsync_dir

log = logging.getLogger(__name__)

# Columns of the interview row that hold personal data (what retention blanks when it purges an interview).
PERSONAL_COLUMNS = ("code", "candidate_name", "candidate_ref", "transcript", "summary")


@dataclass(frozen=True)
class ErasedFile:
    """What the audit keeps of a removed file: its name, size and sha256 (never its content)."""

    name: str
    bytes: int
    sha256: str


def describe(paths: Iterable[Path]) -> list[ErasedFile]:
    """Name, size and sha256 of each existing file (for the audit entry written before anything goes)."""
    found = []
    for path in dict.fromkeys(paths):
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            found.append(ErasedFile(path.name, path.stat().st_size, digest))
        except FileNotFoundError:
            continue
    return found


def remove(paths: Iterable[Path]) -> int:
    """Remove each existing file and fsync its folder; returns how many were removed."""
    folders, removed = set(), 0
    for path in dict.fromkeys(paths):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        folders.add(path.parent)
    for folder in folders:
        fsync_dir(folder)
    return removed


def audit_files(erased: Iterable[ErasedFile]) -> list[dict]:
    return [asdict(entry) for entry in erased]


def compact(database) -> bool:
    """After rows were deleted: full-text indexes merged (FTS5 keeps deleted words in its segments until then), the
    file rewritten without free pages, the WAL emptied. Returns False when another connection's read kept the WAL
    from being emptied (the next erasure finishes it)."""
    fts = database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE "
                               "'CREATE VIRTUAL TABLE%USING fts5%'").fetchall()
    for (name,) in fts:
        database.execute_sql(f'INSERT INTO "{name}" ("{name}") VALUES (\'optimize\')')
    database.execute_sql("VACUUM")
    busy, _, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.info("erasure: another process is reading the database; its WAL is emptied at the next erasure")
    return not busy


def backups_of(database_path: Path) -> list[Path]:
    """The copies the kiosk kept before migrating (kiosk.sqlite3.v1-….bak)."""
    return sorted(database_path.parent.glob(database_path.name + ".v*.bak"))


def scrub_backups(database_path: Path, interview_uuid: str) -> list[str]:
    """Remove the interview from every pre-migration copy too (rows, and its personal data in audit entries), with
    secure_delete and VACUUM. Returns the names of the copies changed."""
    changed = []
    for backup in backups_of(database_path):
        conn = sqlite3.connect(backup)
        try:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA foreign_keys = ON")
            with conn:
                found = conn.execute("SELECT id FROM interview WHERE uuid = ?", (interview_uuid,)).fetchall()
                for (row_id,) in found:
                    conn.execute("DELETE FROM interview WHERE id = ?", (row_id,))
                audit = conn.execute("SELECT id FROM audit_log WHERE target = ? AND detail IS NOT NULL",
                                     (interview_uuid,)).fetchall()
                if audit:
                    # The copy is frozen history, except for what erasure must take out of it.
                    conn.execute('DROP TRIGGER IF EXISTS "audit_log_no_update"')
                    conn.execute("UPDATE audit_log SET detail = NULL WHERE target = ?", (interview_uuid,))
                    conn.execute('CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "audit_log" '
                                 "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
            if found or audit:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                changed.append(backup.name)
        finally:
            conn.close()
    return changed
