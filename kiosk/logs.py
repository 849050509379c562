"""Logging: rotating files in the data dir, one line per event, with the interview uuid where there is one.

No personal data reaches a log at any level: peewee's SQL lines lose their parameters (names, codes, the PIN hash)
before any handler sees them; the code logs uuids, never names, codes or references.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.handlers
import os
from pathlib import Path
from typing import Iterator

from kiosk.privacy.files import PRIVATE_FILE, make_private_dir

# The interview the current code works for; set by the session layer, read by every log line.
current_interview: contextvars.ContextVar[str] = contextvars.ContextVar("current_interview", default="-")


@contextlib.contextmanager
def interview_context(uuid: str | None) -> Iterator[None]:
    """Log lines of this block carry `uuid`. Contextvars do not cross threads: a worker thread that works for one
    interview at a time (finalizer, sync) sets it here; a thread shared by all (a source, the monitor) passes
    ``extra={"interview": uuid}`` on its lines instead."""
    token = current_interview.set(uuid or "-")
    try:
        yield
    finally:
        current_interview.reset(token)


FORMAT = "%(asctime)s %(levelname)s %(name)s [%(interview)s] %(message)s"


class _InterviewFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "interview"):
            record.interview = current_interview.get()
        return True


class _SqlWithoutParameters(logging.Filter):
    """peewee logs each statement as ``(sql, params)`` at DEBUG: keep the SQL (values are placeholders in it), drop
    the parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, tuple) and len(record.msg) == 2 and isinstance(record.msg[0], str):
            record.msg = f"{record.msg[0]} -- {len(record.msg[1] or ())} parameter(s) not logged"
            record.args = ()
        return True


SQL_LOGGER = "peewee"


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files are 0600 whatever the umask (a log names uuids and paths another local user need not see)."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def _guard_sql_logging() -> None:
    logger = logging.getLogger(SQL_LOGGER)
    if not any(isinstance(f, _SqlWithoutParameters) for f in logger.filters):
        logger.addFilter(_SqlWithoutParameters())


_guard_sql_logging()


def setup(log_dir: Path | None, level: str = "INFO", max_mb: int = 5, backups: int = 5,
          verbose: bool = False, console: bool = True) -> None:
    """Install the handlers once per process. Console shows warnings (all with --verbose); the file shows `level`."""
    _guard_sql_logging()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kiosk", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else getattr(logging, level))
    formatter = logging.Formatter(FORMAT)
    if log_dir is not None:
        make_private_dir(log_dir)
        file_handler = _PrivateRotatingFileHandler(
            log_dir / "kiosk.log", maxBytes=max_mb * 1024 * 1024, backupCount=backups, encoding="utf-8")
        file_handler.setLevel(logging.DEBUG if verbose else getattr(logging, level))
        file_handler.setFormatter(formatter)
        file_handler.addFilter(_InterviewFilter())
        file_handler._kiosk = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        stream.setFormatter(formatter)
        stream.addFilter(_InterviewFilter())
        stream._kiosk = True  # type: ignore[attr-defined]
        root.addHandler(stream)
