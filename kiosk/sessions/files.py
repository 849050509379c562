"""The files that belong to one take on disk: the media file, its journal (while live), its metadata sidecar and
the original kept during a finalize remux. The names come from the media engine that writes them."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.media.finalize import sidecar as sidecar_of
from kiosk.media.journal import is_locked as journal_locked, journal_path as journal_of

MEDIA_SUFFIXES = (".webm", ".mkv", ".mp4", ".m4a")


def orig_of(media: Path) -> Path:
    """The original a finalize remux keeps until its verified copy has replaced it."""
    return media.with_name(f"{media.stem}.orig{media.suffix}")


def take_files(media: Path) -> list[Path]:
    """Every file of a take that exists: media, sidecar, journal, remux original."""
    return [p for p in (media, sidecar_of(media), journal_of(media), orig_of(media)) if p.exists()]


def read_sidecar(media: Path) -> dict | None:
    try:
        value = json.loads(sidecar_of(media).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def file_exists(path: str | None) -> bool:
    return bool(path) and Path(path).exists()


__all__ = ["MEDIA_SUFFIXES", "file_exists", "journal_locked", "journal_of", "orig_of", "read_sidecar", "sidecar_of",
           "take_files"]
