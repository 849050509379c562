"""Recording file names, as the seed: media/interview_recordings/interview_{uuid}_{YYYYmmdd_HHMMSS}.{ext}."""

from __future__ import annotations

import time
import uuid as uuidmod
from pathlib import Path

from kiosk.media import profiles


def recording_path(data, interview_uuid: str | None, profile: str) -> Path:
    """A new path under data.recordings; never one that exists (nor its journal or sidecar)."""
    ext = profiles.get(profile).ext
    folder = Path(data.recordings)
    folder.mkdir(parents=True, exist_ok=True)
    uid = interview_uuid or str(uuidmod.uuid4())
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    candidate = folder / f"interview_{uid}_{stamp}.{ext}"
    n = 2
    while any(p.exists() for p in (candidate, candidate.with_name(candidate.name + ".recording"))) or \
            any(folder.glob(f"{candidate.stem}.*")):
        candidate = folder / f"interview_{uid}_{stamp}_{n}.{ext}"
        n += 1
    return candidate
