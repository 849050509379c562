"""The one owner of the SQLite database: opening, checking, migrating, closing.

Opening is careful, because the database describes recordings that cannot be re-done:
- the file is first inspected read-only (header, ``PRAGMA quick_check``, ``PRAGMA user_version``), so a database from a
  newer kiosk or a damaged one is refused with a message and left exactly as it was (not even switched to WAL);
- before migrating an older database, a copy is written next to it under a new name (an existing copy is never
  overwritten);
- then WAL mode, foreign keys, a busy timeout for the second process (``kiosk record`` beside the app) and
  ``synchronous=FULL`` (few small writes; each one should survive a power cut).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path
from typing import Iterator

import peewee as pw

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", 10_000),
    ("synchronous", "full"),
)

# Bound to a file by open_database(); the models use it.
db = pw.SqliteDatabase(None, pragmas=PRAGMAS)


class DatabaseError(Exception):
    """The database cannot be used; the message names the file and the fix."""


class DatabaseTooNew(DatabaseError):
    pass


class DatabaseCorrupt(DatabaseError):
    pass


def _inspect(path: Path) -> int:
    """Read the schema version of an existing file without changing it; raise when it is not a sound database."""
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise DatabaseCorrupt(
            f"{path} is not an SQLite database (damaged or replaced). It was left in place, unchanged. "
            f"Fix: move it aside (e.g. mv '{path}' '{path}.damaged') and start again: a new database is created and "
            f"the recordings in the media folder are adopted; keep the moved file for repair.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseCorrupt(f"{path} cannot be opened ({exc}). It was left in place. "
                              f"Fix: check its permissions, or move it aside and start again.") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        raise DatabaseCorrupt(
            f"{path} is damaged ({exc}). It was left in place, unchanged. "
            f"Fix: move it aside (e.g. mv '{path}' '{path}.damaged') and start again: a new database is created and "
            f"the recordings in the media folder are adopted; keep the moved file for repair "
            f"(sqlite3 '{path}.damaged' .recover).") from None
    finally:
        conn.close()
    if problems != ["ok"]:
        raise DatabaseCorrupt(
            f"{path} is damaged (quick_check: {'; '.join(problems[:3])}). It was left in place, unchanged. "
            f"Fix: move it aside (e.g. mv '{path}' '{path}.damaged') and start again: a new database is created and "
            f"the recordings in the media folder are adopted; keep the moved file for repair "
            f"(sqlite3 '{path}.damaged' .recover).")
    if version == 0 and tables:
        raise DatabaseError(f"{path} is an SQLite database but not one of this kiosk's (no schema version, tables: "
                            f"{', '.join(sorted(tables)[:5])}). It was left unchanged. "
                            f"Fix: point --data-dir at the kiosk's data folder or move this file away.")
    return version


def backup_copy(path: Path, version: int) -> Path:
    """Copy the database (consistently, with SQLite's backup API) to a name that does not exist yet."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        suffix = f".v{version}-{stamp}" + (f"-{n}" if n else "") + ".bak"
        target = path.with_name(path.name + suffix)
        try:
            # Claim the name atomically: an existing copy is never overwritten.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        return target
    raise DatabaseError(f"cannot find a free name for a backup of {path}. Fix: remove old .bak files next to it.")


def open_database(path: Path | str) -> pw.SqliteDatabase:
    """Check, migrate and open the database at `path` (created when missing); returns the bound `db`."""
    from kiosk.db import migrations

    path = Path(path)
    if not db.is_closed():
        db.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    version = 0
    if path.exists() and path.stat().st_size > 0:
        version = _inspect(path)
    if version > migrations.LATEST:
        raise DatabaseTooNew(
            f"{path} was written by a newer kiosk (schema version {version}; this one knows up to "
            f"{migrations.LATEST}). It was not changed. Fix: run the newer kiosk version, or point --data-dir "
            f"elsewhere.")
    if 0 < version < migrations.LATEST:
        copy = backup_copy(path, version)
        log.info("database %s is at schema %d of %d; copy kept as %s before migrating",
                 path, version, migrations.LATEST, copy)
    db.init(str(path), pragmas=PRAGMAS)
    db.connect()
    try:
        migrations.migrate_to_latest(db)
    except Exception:
        db.close()
        raise
    return db


def close_database() -> None:
    if not db.is_closed():
        db.close()


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Every multi-row change goes through here (one SQLite transaction; nested calls become savepoints)."""
    with db.atomic():
        yield


def schema_version(database: pw.SqliteDatabase = db) -> int:
    return database.execute_sql("PRAGMA user_version").fetchone()[0]
