import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kiosk import config as configmod
from kiosk.db.models import AuditLog, Event, Interview, Recording
from kiosk.config import Config
from kiosk.sessions import SessionError, SessionNotFound, SessionStore, WalkIn, queries
from kiosk.sessions.templates import sample_paths
from tests.helpers.db import decode, record_real_take


@pytest.fixture
def store(data, database):
    config = configmod.Config()
    config.set("recording.profile", "webm-vp8-opus")
    return SessionStore(data, config)


def _sample(suffix):
    return next(p for p in sample_paths() if p.suffix == suffix)


def test_templates_import_list_default_and_audit(store):
    template, outcome = store.import_template(_sample(".toml"))
    assert outcome == "created"
    assert store.import_template(_sample(".toml"))[1] == "unchanged"
    other, _ = store.import_template(_sample(".json"))
    assert [t.name for t in store.list_templates()] == sorted([template.name, other.name])
    assert store.default_template().name == template.name          # the first imported is the default
    store.set_default_template(other.name)
    assert store.walk_in_plan().ref == WalkIn(other.name)
    with pytest.raises(SessionError, match="no template named"):
        store.set_default_template("nope")
    assert store.get_template(template.name) == template
    actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
    assert actions == ["template.import", "template.import", "template.default"]


def test_without_templates_walk_ins_use_the_bundled_sample(store):
    plan = store.walk_in_plan()
    assert plan.questions and plan.ref == WalkIn("general")
    bundled = store.get_template("general")
    assert bundled is not None and bundled.consent_version == "2026-01"
    interview, _ = store.begin(plan)
    assert (interview.template, interview.template_sha256) == ("general", bundled.sha256)


def test_scheduled_interview_by_code_runs_a_real_take(store, data):
    store.import_template(_sample(".toml"))
    scheduled = store.schedule("general", code="AB 12", candidate_name="Zoë Ünal", candidate_ref="R-7")
    with pytest.raises(SessionError, match="already given"):
        store.schedule("general", code="AB 12")
    assert store.find_plan("nope") is None
    plan = store.find_plan(" ab12 ")
    assert plan is not None and plan.ref == scheduled.id and plan.code == "AB 12"
    interview, path = store.begin(plan)
    assert interview.uuid == scheduled.uuid and interview.status == "in_progress"
    assert path.parent == data.recordings and interview.uuid in path.name and path.suffix == ".webm"
    store.record_consent(interview, "2026-01")
    store.log_event(interview, "question.shown", question_index=0, text="Please introduce yourself")
    with pytest.raises(SessionError, match="in_progress"):
        store.begin(plan)                                           # a code starts one interview only

    result = record_real_take(path, 1.2, labels=("Question 1", "Question 2"), uuid=interview.uuid)
    assert result.ok
    finished = store.finish(interview, "completed", result.metadata, None)

    assert (finished.status, finished.end_reason, finished.is_recorded) == ("completed", "completed", True)
    assert finished.owner_pid is None and finished.consent_version == "2026-01"
    (recording,) = finished.recordings
    assert recording.state == "finalized" and Path(recording.path).exists()
    assert (recording.container, recording.video_codec, recording.audio_codec) == ("webm", "vp8", "opus")
    assert recording.sha256 == result.metadata["sha256"] and recording.size == Path(recording.path).stat().st_size
    frames, audio_s, duration = decode(recording.path)
    assert frames > 5 and audio_s > 0.8
    assert recording.duration == pytest.approx(duration, abs=0.15)
    assert finished.recording_duration == recording.duration and finished.recording_path == recording.path
    assert finished.recording_data["chapters"] == result.metadata["chapters"]
    kinds = [e.kind for e in finished.events.order_by(Event.id)]
    assert kinds[:3] == ["session.started", "consent.given", "question.shown"]
    assert "chapter" in kinds and kinds[-1] == "session.ended"
    shown = finished.events.where(Event.kind == "question.shown").get()
    assert (shown.question_index, shown.detail) == (0, {"text": "Please introduce yourself"})

    described = queries.describe(finished)
    json.dumps(described)                                          # plain JSON all the way down
    assert described["recordings"][0]["exists"] and described["candidate_name"] == "Zoë Ünal"


def test_abandoned_before_the_take_leaves_no_recording_row(store):
    interview, path = store.begin(store.walk_in_plan())
    assert Recording.select().count() == 1 and not path.exists()
    done = store.finish(interview, "abandoned", None, None)
    assert (done.status, done.end_reason) == ("interrupted", "abandoned")
    assert Recording.select().count() == 0
    # a scheduled candidate who walks away before recording can come back with the same code
    store.import_template(_sample(".toml"))
    scheduled = store.schedule("general", code="BACK1")
    again, _ = store.begin(store.find_plan("BACK1"))
    assert store.finish(again, "abandoned", None, None).status == "scheduled"
    assert store.find_plan("back1").ref == scheduled.id
    assert store.begin(store.find_plan("BACK1"))[0].status == "in_progress"
    failed, _ = store.begin(store.walk_in_plan())
    done = store.finish(failed, "failed", None, "RuntimeError('camera exploded')")
    assert done.status == "failed" and "camera exploded" in done.end_reason


def test_disk_low_stop_is_recorded_as_its_cause(store, data):
    interview, path = store.begin(store.walk_in_plan())
    result = record_real_take(path, 0.6, uuid=interview.uuid)
    metadata = dict(result.metadata)
    metadata["events"] = metadata["events"] + [{"t": 0.5, "kind": "disk.low", "free_mb": 12.0}]
    done = store.finish(interview, "completed", metadata, None)
    assert (done.status, done.end_reason) == ("interrupted", "disk_full")
    assert queries.statistics(store.data, Config()).to_json()["failures_by_cause"] == {"disk_full": 1}


def test_cli_takes_are_sessions_with_template_cli(store, data):
    path = data.recordings / "cli-take.webm"
    result = record_real_take(path, 0.6)
    interview = store.register_cli_take(result.metadata)
    assert (interview.template, interview.status) == ("cli", "completed")
    assert interview.uuid == result.metadata["interview_uuid"]     # the uuid the recorder wrote into the file
    assert interview.recordings.get().path == str(path)
    assert store.get(interview.uuid[:8]).id == interview.id
    with pytest.raises(SessionNotFound):
        store.get("00000000")


def test_delete_removes_files_and_rows_and_audits(store, data):
    interview, path = store.begin(store.walk_in_plan())
    result = record_real_take(path, 0.5, uuid=interview.uuid)
    store.finish(interview, "completed", result.metadata, None)
    sidecar = path.with_name(path.name + ".json")
    assert sidecar.exists()
    summary = store.delete_interview(interview.uuid, actor="cli", reason="candidate asked")
    assert not path.exists() and not sidecar.exists()
    assert Interview.select().count() == 0 and Recording.select().count() == 0 and Event.select().count() == 0
    (entry,) = AuditLog.select().where(AuditLog.action == "delete")
    assert entry.target == interview.uuid and entry.actor == "cli"
    assert entry.detail["reason"] == "candidate asked" and entry.detail["bytes"] == summary["bytes"] > 0
    assert entry.detail["sha256"] == [result.metadata["sha256"]]


def test_stats(store, data):
    assert queries.statistics(store.data, Config()).to_json()["count"] == 0 and queries.statistics(store.data, Config()).to_json()["success_rate"] is None
    good, path = store.begin(store.walk_in_plan())
    result = record_real_take(path, 0.6, uuid=good.uuid)
    store.finish(good, "completed", result.metadata, None)
    bad, _ = store.begin(store.walk_in_plan())
    store.finish(bad, "failed", None, "camera lost")
    stats = queries.statistics(store.data, Config()).to_json()
    assert stats["count"] == 2 and stats["success_rate"] == 0.5
    assert stats["total_duration_s"] == pytest.approx(result.metadata["duration"], abs=0.01)
    assert stats["mean_duration_s"] == stats["total_duration_s"]
    on_disk = sum(p.stat().st_size for p in data.recordings.rglob("*") if p.is_file())
    assert stats["bytes_on_disk"] == on_disk > 0
    assert stats["failures_by_cause"] == {"camera lost": 1}


# ---- arbitrary metadata strings: unicode, NUL, lone surrogates, huge -------------------------------------------

wild_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=200) | \
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "🎙️ Zoë", "'; DROP TABLE interview; --"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=wild_text, ref=wild_text, label=wild_text, extra=wild_text)
def test_arbitrary_metadata_strings_are_stored_and_read_back(store, name, ref, label, extra):
    interview = Interview.create(template="cli", candidate_name=name.encode("utf-8", "replace").decode("utf-8"))
    metadata = {"recording_path": f"/nowhere/{Recording.select().count()}-{extra!r}.webm", "duration": 1.0,
                "state": "finalized", "profile": label, "video_codec": extra, "chapters": [{"label": label,
                                                                                           "start": 0, "end": 1}],
                "events": [{"t": 0.5, "kind": label, "note": extra}], "note": name, "ref": ref}
    recording = store.store_take(interview, metadata)
    again = Interview.get_by_id(interview.id)
    assert again.recording_data["note"] == name and again.recording_data["ref"] == ref   # JSON keeps it exactly
    assert again.recording_data["chapters"][0]["label"] == label
    safe = label.encode("utf-8", "replace").decode("utf-8")
    assert Recording.get_by_id(recording.id).profile == safe[:100]
    assert Event.select().where(Event.recording == recording).get().detail["note"] == extra
    json.dumps(queries.describe(again))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1_000_000, 8_000_000), st.sampled_from(["x", "\x00", "é", "🎙"]))
def test_huge_metadata_strings(store, size, char):
    interview = Interview.create(template="cli", transcript=char * size)
    store.store_take(interview, {"recording_path": f"/nowhere/huge-{size}-{ord(char)}.webm", "duration": 2.0,
                                 "summary": char * size, "state": "finalized"})
    again = Interview.get_by_id(interview.id)
    assert len(again.transcript) == size and len(again.recording_data["summary"]) == size
