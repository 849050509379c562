"""The log files: no personal data at INFO, the interview's uuid on every line about it, --verbose shows DEBUG.

Real parts throughout: kiosk.logs writing to a temp data dir, the SQLite database, the Recorder on the demo camera and
microphone, the `kiosk` CLI as a separate process, the official tus server (which demands the token).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from kiosk import config as configmod, logs
from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.db.database import close_database, open_database
from kiosk.db.models import Interview
from kiosk.events import EventBus
from kiosk.paths import DataDir
from kiosk.recorder import Recorder, RecorderSettings
from kiosk.sessions import SessionStore

ROOT = Path(__file__).resolve().parents[2]

NAME = "Zoë Ünïcode-Privatperson"
REF = "REF-PRIVATE-4711"
CODE = "PRIV-CODE-8832"
TYPED_CODE = " priv-code-8832 "          # as a candidate types it: case and spaces differ
TOKEN = "tok-SECRET-5e1f0c9a77d3b2"
CONSENT = "I-AGREE-CONSENT-PHRASE-0815"
TRANSCRIPT = "TRANSCRIPT-SECRET-my salary was 1234"
SUMMARY = "SUMMARY-SECRET-strong candidate"
# Each secret (compared case-insensitively), and the parts of the name a log line might carry alone.
SECRETS = [NAME, "Privatperson", "Ünïcode", REF, CODE, TOKEN, CONSENT, TRANSCRIPT, SUMMARY]

TEMPLATE = f"""
[template]
name = "privacy"
title = "Privacy"
consent_text = "{CONSENT}: my answers are recorded."
[[questions]]
text = "Tell us about yourself."
think_s = 1
answer_s = 30
retakes = 0
"""

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<name>\S+) \[(?P<interview>[^\]]*)\] "
                  r"(?P<message>.*)$")


@pytest.fixture
def data(tmp_path):
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def log_to_data_dir(data):
    """kiosk.logs as the CLI sets it up (rotating file in the data dir, INFO), undone afterwards."""
    root = logging.getLogger()
    level = root.level
    logs.setup(data.logs, level="INFO", console=False)
    yield data.logs
    for handler in list(root.handlers):
        if getattr(handler, "_kiosk", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logs.current_interview.set("-")


def store_with_template(data, tmp_path) -> SessionStore:
    config = configmod.Config()
    config.set("recording.profile", "webm-vp8-opus")
    config.set("storage.min_free_mb", 50)
    open_database(data.database)
    store = SessionStore(data, config)
    (tmp_path / "privacy.toml").write_text(TEMPLATE, encoding="utf-8")
    store.import_template(tmp_path / "privacy.toml")
    return store


def demo_recorder() -> Recorder:
    settings = RecorderSettings(profile="webm-vp8-opus", size=(320, 240), fps=15, video_bitrate_kbps=300,
                                min_free_mb=50)
    return Recorder(DemoCamera((320, 240), 15), DemoMicrophone(), settings, EventBus())


def run_kiosk(data, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "kiosk", "--data-dir", str(data.root), *args], capture_output=True,
                          text=True, timeout=180, cwd=ROOT, env=full_env)


def log_lines(log_dir: Path) -> list[re.Match]:
    """Every event in every log file (rotated ones too), parsed. At INFO and WARNING an event is one line."""
    parsed = []
    for path in sorted(log_dir.glob("kiosk.log*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = LINE.match(line)
            if match is None:
                # Continuation lines: a traceback under an ERROR line, a multi-line SQL statement at DEBUG.
                assert parsed and parsed[-1]["level"] in ("DEBUG", "ERROR", "CRITICAL"), f"not one line: {line!r}"
                continue
            parsed.append(match)
    return parsed


def assert_no_secrets(log_dir: Path, secrets=SECRETS) -> str:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(log_dir.glob("kiosk.log*")))
    lowered = text.casefold()
    for secret in secrets:
        assert secret.casefold() not in lowered, f"{secret!r} is in the log:\n{text}"
    return text


def assert_lines_about_carry_uuid(lines: list[re.Match], uuid: str) -> list[re.Match]:
    """Every line whose message names the interview (its uuid, or a file named after it) has it in the brackets."""
    about = [m for m in lines if uuid in m["message"]]
    wrong = [m.group(0) for m in about if m["interview"] != uuid]
    assert not wrong, "lines about the interview without its uuid in [..]:\n" + "\n".join(wrong)
    return [m for m in lines if m["interview"] == uuid]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_real_session_recorded_listed_and_synced_logs_no_personal_data(data, tmp_path, log_to_data_dir,
                                                                          tus_server_factory, level):
    """At DEBUG too (the canary): every SQL statement is logged, none with its parameters."""
    logs.setup(data.logs, level=level, console=False)
    verbose = ["--verbose"] if level == "DEBUG" else []
    server = tus_server_factory(token=TOKEN)
    store = store_with_template(data, tmp_path)
    scheduled = store.schedule("privacy", code=CODE, candidate_name=NAME, candidate_ref=REF, actor="cli")
    uuid = scheduled.uuid
    plan = store.find_plan(TYPED_CODE)
    assert plan is not None and plan.ref == scheduled.id
    interview, path = store.begin(plan, "webm-vp8-opus")
    store.record_consent(interview, "1")
    recorder = demo_recorder()
    try:
        recorder.open()
        recorder.start_take(path, interview_uuid=uuid, label="Q1")
        time.sleep(2.0)
        result = recorder.stop_take().result(timeout=120)
    finally:
        recorder.close()
    assert result.ok, result.message
    store.finish(interview, "completed", result.metadata, None)
    Interview.update(transcript=TRANSCRIPT, summary=SUMMARY).where(Interview.uuid == uuid).execute()
    with av.open(str(result.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 15 < frames < 4 * 15                       # about 2 s at 15 fps, decoded
    close_database()

    # The admin's commands, each a separate process writing to the same log file.
    listing = run_kiosk(data, *verbose, "sessions", "list")
    assert listing.returncode == 0 and uuid[:8] in listing.stdout, listing.stderr
    shown = run_kiosk(data, *verbose, "sessions", "show", uuid, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["transcript"] == TRANSCRIPT, shown.stderr
    stats = run_kiosk(data, *verbose, "stats")
    assert stats.returncode == 0, stats.stderr
    # The token goes only to sync.server_url's origin, so the server is configured, not only passed with --server.
    synced = run_kiosk(data, *verbose, "sync", "--once", "--queue-all", "--server", server.url, "--json",
                       env={"KIOSK_SYNC_TOKEN": TOKEN, "KIOSK_SYNC_SERVER_URL": server.url})
    assert synced.returncode == 0, synced.stdout + synced.stderr
    report = json.loads(synced.stdout)
    assert report["synced"] == 2 and all(f["interview"] == uuid for f in report["files"])
    # The server took the token; the booth status document went out at the end of the run, with no personal data.
    assert {u.metadata["kind"] for u in server.uploads()} == {"recording", "metadata", "status"}
    (status,) = [u for u in server.uploads() if u.metadata["kind"] == "status"]
    status_text = status.path.read_text(encoding="utf-8")
    assert uuid in status_text and not [s for s in SECRETS if s.casefold() in status_text.casefold()]
    # The take's signed manifest travels in its upload's metadata.
    (take,) = [u for u in server.uploads() if u.metadata["kind"] == "recording"]
    assert json.loads(take.metadata["manifest"])["interview"] == uuid
    assert take.metadata["manifest_signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    for proc in (listing, shown, stats, synced):
        assert TOKEN not in proc.stdout + proc.stderr
        # With --verbose the console shows every log line: no personal data there either.
        assert not [secret for secret in SECRETS if secret.casefold() in proc.stderr.casefold()], proc.stderr

    text = assert_no_secrets(log_to_data_dir)
    lines = log_lines(log_to_data_dir)
    if level == "INFO":
        assert lines and all(m["level"] != "DEBUG" for m in lines), text
    else:
        sql = [m["message"] for m in lines if m["name"] == "peewee"]
        assert any('"candidate_name"' in line for line in sql), "the SQL is logged at DEBUG"
        # Each SQL record (some span lines: DDL) ends with the note that stands in for its parameters.
        assert len(sql) > 20 and text.count("parameter(s) not logged") == len(sql)
    mine = assert_lines_about_carry_uuid(lines, uuid)
    messages = [m["message"] for m in mine]
    media = Path(result.path).name
    for expected in (f"interview {uuid} scheduled", f"interview {uuid} started", f"take started: {result.path}",
                     f"take finalized: {result.path}", f"interview {uuid} ended: completed",
                     f"queued interview {uuid} for sync", f"uploaded {media}", f"uploaded {uuid}.session.json"):
        assert any(message.startswith(expected) for message in messages), f"no line {expected!r} in:\n{text}"
    # Lines that are not about this interview (start-up, the sync server's capabilities) carry no uuid.
    assert any(m["interview"] == "-" for m in lines)


def test_the_kiosk_flow_tags_its_lines_with_the_uuid_and_never_logs_the_typed_code(data, tmp_path,
                                                                                     log_to_data_dir):
    from kiosk.flow import Event, Flow, FlowRunner, State, Timing
    from kiosk.sessions.flow_port import StoreSessions

    store = store_with_template(data, tmp_path)
    uuid = store.schedule("privacy", code=CODE, candidate_name=NAME, candidate_ref=REF).uuid
    recorder = demo_recorder()
    recorder.open()
    runner = FlowRunner(Flow(Timing(idle_timeout_s=60)), recorder, StoreSessions(store, "webm-vp8-opus"),
                        time.monotonic)
    try:
        runner.send(Event.START)
        runner.enter_code(TYPED_CODE)
        assert runner.flow.state is State.CONSENT
        runner.send(Event.ACCEPT)
        runner.send(Event.DEVICES_OK)
        deadline = time.monotonic() + 30
        while runner.flow.state is not State.ANSWER:
            assert time.monotonic() < deadline, runner.flow.state
            runner.tick()
            time.sleep(0.02)
        time.sleep(1.5)
        runner.send(Event.DONE)
        while runner.flow.state is not State.THANKS:
            assert time.monotonic() < deadline + 60, runner.flow.state
            runner.tick()
            time.sleep(0.02)
        runner.send(Event.BACK_HOME)
        assert runner.flow.state is State.ATTRACT
        logging.getLogger("kiosk.test").info("next candidate")
        assert Interview.get(Interview.uuid == uuid).status == "completed"
    finally:
        runner.close()
        recorder.close()
        close_database()

    assert_no_secrets(log_to_data_dir)
    lines = log_lines(log_to_data_dir)
    mine = assert_lines_about_carry_uuid(lines, uuid)
    flow = [m["message"] for m in mine if m["name"] == "kiosk.flow"]
    # From the session's start (consent given) to the way back to the attract screen, on the UI thread ...
    assert any(f.startswith("flow device_check -> think") for f in flow), flow
    assert any(f.startswith("flow thanks -> attract") for f in flow), flow
    # ... and on the finalizer thread, which does not share the UI thread's context.
    assert any(m["message"].startswith("take finalized") for m in mine)
    assert any(m["message"].startswith(f"interview {uuid} ended: completed") for m in mine)
    # Before the session (the code screen) and after it (the next candidate): no uuid.
    by_message = {m["message"]: m["interview"] for m in lines}
    assert by_message["flow attract -> code (candidate touched start)"] == "-"
    assert by_message["next candidate"] == "-"


def test_a_failing_effect_is_logged_by_its_type_not_with_the_plan(data, tmp_path, log_to_data_dir, expect_log):
    """BeginSession carries the plan (code, consent text): when it fails, only its type reaches the log."""
    from kiosk.flow import Event, Flow, FlowRunner, State, Timing
    from kiosk.sessions.flow_port import StoreSessions

    expect_log("kiosk.flow", r"effect BeginSession failed|failsafe")
    store = store_with_template(data, tmp_path)
    uuid = store.schedule("privacy", code=CODE, candidate_name=NAME, candidate_ref=REF).uuid
    recorder = demo_recorder()
    runner = FlowRunner(Flow(Timing(idle_timeout_s=60)), recorder, StoreSessions(store, "webm-vp8-opus"),
                        time.monotonic)
    try:
        runner.send(Event.START)
        runner.enter_code(TYPED_CODE)
        assert runner.flow.state is State.CONSENT
        store.delete_interview(uuid, actor="admin", reason="withdrawn")     # gone before the candidate agrees
        runner.send(Event.ACCEPT)
        assert runner.flow.state is State.FAILSAFE
    finally:
        runner.close()
        recorder.close()
        close_database()
    text = assert_no_secrets(log_to_data_dir)
    assert "effect BeginSession failed" in text


def test_verbose_logs_debug_lines_to_the_console_and_the_file(data):
    quiet = run_kiosk(data, "sessions", "list")
    assert quiet.returncode == 0, quiet.stderr
    quiet_file = (data.logs / "kiosk.log").read_text(encoding="utf-8") if (data.logs / "kiosk.log").exists() else ""
    assert " DEBUG " not in quiet.stderr and " DEBUG " not in quiet_file
    assert " INFO " not in quiet.stderr                 # without --verbose the console shows warnings only

    verbose = run_kiosk(data, "--verbose", "sessions", "list")
    assert verbose.returncode == 0, verbose.stderr
    console = [LINE.match(line) for line in verbose.stderr.splitlines()]
    debug_console = [m for m in console if m is not None and m["level"] == "DEBUG"]
    assert debug_console, verbose.stderr
    file_lines = log_lines(data.logs)
    debug_file = [m for m in file_lines if m["level"] == "DEBUG"]
    assert debug_file
    # The same events reach both: each DEBUG line on the console is in the file.
    assert {m.group(0) for m in debug_console} <= {m.group(0) for m in debug_file}
