"""What can go wrong talking to the sync server, as exceptions whose `retryable` says whether backing off and trying
again can help. Raised by kiosk.sync.tus (the server side) and kiosk.sync.stream (the file side)."""

from __future__ import annotations


class TusConfigError(ValueError):
    """The client cannot be set up as configured (e.g. a token over plain HTTP); the message names the fix."""


class TusError(Exception):
    """A failed exchange with the server. `retryable`: whether backing off and trying again can help."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TusUnavailable(TusError):
    """Network error, timeout or server error (5xx, 423, 429...): back off and retry; the upload resumes."""


class TusProtocolError(TusUnavailable):
    """The server answered something tus 1.0 does not allow (a malformed header, a Location elsewhere, an offset that
    never advances). Retried with back-off: a proxy or server being fixed may answer properly later."""


class TusRejected(TusError):
    """The server refuses for a reason that retrying cannot fix (401, 403, 413...)."""

    retryable = False


class UploadGone(TusError):
    """The server no longer has the upload (404/410); the record was cleared and the next attempt starts afresh."""


class VerifyFailed(TusError):
    """The finished upload does not match the file (read-back hash differs); the record was cleared to re-upload."""


class Paused(TusError):
    """Stopped between chunks because the caller asked (a take started); the record holds where to resume."""
