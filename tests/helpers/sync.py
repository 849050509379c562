"""Helpers of the sync and centre tests: a sync config for the test server, an ended interview with finished
recordings in the open database, waiting for a condition."""

from __future__ import annotations

import datetime as dt
import hashlib

from kiosk.config import Config
from kiosk.db.models import Event, Interview, Recording, utcnow
from kiosk.paths import DataDir
from tests.harness.tus import random_bytes
from tests.helpers.media import make_webm

KiB = 1024


def sync_config(url: str, **values) -> Config:
    config = Config()
    config.set("sync.enabled", True)
    config.set("sync.server_url", url)
    config.set("sync.kiosk_id", "kiosk-test-3")
    config.set("sync.chunk_mb", 0.0625)      # 64 KiB chunks: several PATCHes per small file
    config.set("sync.status_interval_s", 0)  # the booth status document has tests of its own (test_status.py)
    for name, value in values.items():
        config.set(name, value)
    return config


def make_interview(data: DataDir, *, takes: int = 1, media: str = "webm", size: int = 200 * KiB) -> Interview:
    started = utcnow() - dt.timedelta(minutes=5)
    interview = Interview.create(code="A17", candidate_name="Zoë Ångström", template="default", status="completed",
                                 started_at=started, ended_at=utcnow(), recording_duration=1.0, is_recorded=True)
    for t in range(takes):
        path = data.recordings / f"{interview.uuid}-{t}.{ 'webm' if media == 'webm' else 'bin'}"
        if media == "webm":
            make_webm(path, seconds=1.0, seed=t)
        else:
            path.write_bytes(random_bytes(size, t))
        rec = Recording.create(interview=interview, path=str(path), state="finalized", size=path.stat().st_size,
                               duration=1.0, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                               started_at=started, ended_at=utcnow())
        Event.create(interview=interview, recording=rec, kind="recording.started", offset_s=0.0)
        Event.create(interview=interview, recording=rec, kind="question.shown", question_index=0,
                     detail={"text": "Wie heißen Sie?"})
    return interview


