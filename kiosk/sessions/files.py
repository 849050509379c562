"""The files that belong to one take on disk: the media file, its journal (while live), its metadata sidecar, the
original kept during a finalize remux and its WebVTT captions and chapters. The names come from the engines that
write them."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.media.finalize import sidecar as sidecar_of
from kiosk.media.journal import is_locked as journal_locked, journal_path as journal_of
from kiosk.transcripts.vtt import caption_paths

MEDIA_SUFFIXES = (".webm", ".mkv", ".mp4", ".m4a")


def orig_of(media: Path) -> Path:
    """The original a finalize remux keeps until its verified copy has replaced it."""
    return media.with_name(f"{media.stem}.orig{media.suffix}")


def caption_files(media: Path) -> list[Path]:
    """The take's WebVTT captions and chapters (written by the transcripts), those that exist."""
    return [p for p in caption_paths(media) if p.exists()]


def take_files(media: Path) -> list[Path]:
    """Every file of a take that exists: media, sidecar, journal, remux original, captions and chapters."""
    return [p for p in (media, sidecar_of(media), journal_of(media), orig_of(media)) if p.exists()] + \
        caption_files(media)


def read_sidecar(media: Path) -> dict | None:
    try:
        value = json.loads(sidecar_of(media).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def file_exists(path: str | None) -> bool:
    return bool(path) and Path(path).exists()


__all__ = ["MEDIA_SUFFIXES", "caption_files", "file_exists", "journal_locked", "journal_of", "orig_of", "read_sidecar", "sidecar_of",
           "take_files"]
