"""The one owner of the SQLite database: opening, checking, migrating, closing.

Opening is careful, because the database describes recordings that cannot be re-done:
- the file is first inspected read-only (header, ``PRAGMA quick_check``, ``PRAGMA user_version``), so a database from a
  newer kiosk or a damaged one is refused with a message and left exactly as it was (not even switched to WAL);
- before migrating an older database, a copy is written next to it under a new name (an existing copy is never
  overwritten);
- then WAL mode, foreign keys, a busy timeout for the second process (``kiosk record`` beside the app) and
  ``synchronous=FULL`` (few small writes; each one should survive a power cut).

Several writers share the file (the app's threads, ``kiosk record`` processes, an admin's CLI), so every transaction
begins IMMEDIATE: it takes the write lock up front and waits its turn (busy_timeout). A deferred transaction that
reads and then writes would instead fail at once with "database is locked" when another writer committed in between
(SQLite cannot wait there without risking a deadlock). Single statements outside a transaction need nothing: SQLite
takes the lock they need when they start. One rule for callers: read a query into a list before writing in a loop
over it (a half-read SELECT keeps its snapshot open, and a write cannot begin on a stale snapshot).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import peewee as pw

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

BUSY_TIMEOUT_S = 10.0

# Set on every connection (each thread has its own). WAL is not among them: it is kept in the file, set once by
# open_database (_use_wal).
PRAGMAS = (
    ("busy_timeout", int(BUSY_TIMEOUT_S * 1000)),
    ("foreign_keys", 1),
    ("synchronous", "full"),
    # A deleted row's text is overwritten with zeros, not left in a free page (erasure must erase).
    ("secure_delete", 1),
)



class _WriteFirstDatabase(pw.SqliteDatabase):
    """Every transaction (``db.atomic()``, peewee's own ``get_or_create``, ...) starts with BEGIN IMMEDIATE."""

    def begin(self, lock_type: str | None = None) -> None:
        super().begin(lock_type or "IMMEDIATE")


# Bound to a file by open_database(); the models use it.
db = _WriteFirstDatabase(None, pragmas=PRAGMAS)


class DatabaseError(Exception):
    """The database cannot be used; the message names the file and the fix."""


class DatabaseTooNew(DatabaseError):
    pass


class DatabaseCorrupt(DatabaseError):
    pass


CORRUPTION = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _damaged(path: Path, what: str) -> DatabaseCorrupt:
    return DatabaseCorrupt(
        f"{path} is damaged ({what}). It was left in place, unchanged. "
        f"Fix: move it aside (e.g. mv '{path}' '{path}.damaged') and start again: a new database is created and "
        f"the recordings in the media folder are adopted; keep the moved file for repair "
        f"(sqlite3 '{path}.damaged' .recover).")


def _read_only_look(path: Path, immutable: bool) -> tuple[int, list[str] | None, list[str]]:
    """(user_version, quick_check lines, table names); quick_check None when the file could not be opened here.
    Raises DatabaseCorrupt only for SQLite's own corruption codes, never for "cannot open" (permissions, mounts)."""
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            # One read transaction, one snapshot: another process creating the schema at this moment must not show
            # its tables next to the version read before it committed.
            conn.execute("BEGIN")
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in CORRUPTION or "malformed" in str(exc) or "not a database" in \
                str(exc):
            raise _damaged(path, str(exc)) from None
        if immutable:
            raise DatabaseError(f"{path} cannot be read ({exc}). It was left as it was. Fix: check its "
                                f"permissions and that the data dir's disk is mounted and readable.") from None
        return 0, None, []
    return version, problems, tables


def _inspect(path: Path) -> int:
    """Read the schema version of an existing file without changing it; raise when it is not a sound database."""
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise DatabaseCorrupt(
            f"{path} is not an SQLite database (damaged or replaced). It was left in place, unchanged. "
            f"Fix: move it aside (e.g. mv '{path}' '{path}.damaged') and start again: a new database is created and "
            f"the recordings in the media folder are adopted; keep the moved file for repair.")
    version, problems, tables = _read_only_look(path, immutable=False)
    if problems is None:
        # A WAL database cannot be opened read-only where its -shm file cannot be made (a read-only mount): look
        # at it as an immutable file instead; opening it for writing then fails with the right message.
        version, problems, tables = _read_only_look(path, immutable=True)
    if problems != ["ok"]:
        raise _damaged(path, f"quick_check: {'; '.join(problems[:3])}")
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
        except sqlite3.Error as exc:
            dest.close()
            target.unlink(missing_ok=True)     # our own half-written copy from this call, nothing else
            raise DatabaseError(f"{path} needs a migration, and the copy kept before migrating could not be written "
                                f"({exc}). Nothing was changed. Fix: free space on the data dir's disk, then start "
                                f"again.") from None
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
    try:
        db.connect()
        _use_wal(db)
        migrations.migrate_to_latest(db)
    except (pw.OperationalError, pw.DatabaseError, sqlite3.Error) as exc:
        close_database()
        problem = _first_cause(exc)
        hint = ("the disk is full: free space" if "full" in problem else
                "check that the data dir is writable (not a read-only mount) and has free space")
        raise DatabaseError(f"{path} cannot be opened for writing ({problem}). Any migration step was rolled back, "
                            f"so it is as it was. Fix: {hint}, then start again.") from None
    except Exception:
        close_database()
        raise
    return db


def _use_wal(database: pw.SqliteDatabase) -> None:
    """Switch the file to WAL (a no-op when it is already). When several processes open a new database at once,
    SQLite answers "database is locked" at once to all but one, without the busy wait: retry for as long as
    busy_timeout would have waited."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            database.execute_sql("PRAGMA journal_mode = wal")
            return
        except pw.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _first_cause(exc: BaseException) -> str:
    """The message of the error that started it: when SQLite rolls a transaction back by itself (disk full), the
    driver's own rollback then fails with "cannot rollback", which would hide the real reason."""
    chain = []
    while exc is not None and len(chain) < 10:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    real = [m for m in chain if not m.startswith("cannot rollback")]
    return real[-1] if real else chain[0]


def close_database() -> None:
    if not db.is_closed():
        db.close()


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Every multi-row change goes through here: one SQLite transaction that holds the write lock from its start
    (BEGIN IMMEDIATE, waiting up to busy_timeout for another writer); nested calls become savepoints."""
    with db.atomic():
        yield


def schema_version(database: pw.SqliteDatabase = db) -> int:
    return database.execute_sql("PRAGMA user_version").fetchone()[0]
