"""A fresh migrated database in a temp dir, closed after the test (import the fixture where it is needed)."""

from __future__ import annotations

import pytest

from kiosk.db.database import close_database, open_database
from kiosk.paths import DataDir


@pytest.fixture
def data(tmp_path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def database(data):
    db = open_database(data.database)
    yield db
    close_database()


def record_real_take(path, seconds: float = 1.0, labels=("Question 1",), uuid: str | None = None,
                     size=(160, 120)):
    """A real take from the demo camera and microphone through the real recorder (small and short: light on CPU).
    Returns the TakeResult."""
    import time as _time

    from kiosk.capture.demo import DemoCamera, DemoMicrophone
    from kiosk.recorder import Recorder, RecorderSettings

    recorder = Recorder(DemoCamera(size, 15), DemoMicrophone(),
                        RecorderSettings(profile="webm-vp8-opus", size=size, fps=15, video_bitrate_kbps=200,
                                         audio_bitrate_kbps=48, min_free_mb=50))
    try:
        recorder.start_take(path, interview_uuid=uuid, label=labels[0])
        per_label = seconds / len(labels)
        _time.sleep(per_label)
        for label in labels[1:]:
            recorder.mark(label)
            _time.sleep(per_label)
        return recorder.stop_take().result(timeout=120)
    finally:
        recorder.close()


def decode(path):
    """Decode every frame of a media file; returns (video frames, audio seconds, duration)."""
    import av

    video = 0
    audio = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                video += 1
            else:
                audio += frame.samples / frame.sample_rate
        duration = container.duration / 1e6 if container.duration else 0.0
    return video, audio, duration
