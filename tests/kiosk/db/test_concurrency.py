"""Many writers on one data dir at once: `kiosk record` processes, CLI readers and writers, the app's own threads.

Every take must become a session and nobody may see "database is locked" (issue 11, item 9): before BEGIN IMMEDIATE,
2 of 4 concurrent `kiosk record` lost their session this way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import traceback
import uuid
from pathlib import Path

import pytest

from kiosk.db.database import close_database, db
from kiosk.db.models import Interview, Setting
from kiosk.paths import DataDir
from kiosk.sessions import SessionStore

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RECORDERS = 4


def kiosk(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *args]


def record(data_dir: Path, take_uuid: str) -> subprocess.Popen:
    return subprocess.Popen(kiosk(data_dir, "record", "--duration", "1.5", "--camera", "demo", "--mic", "demo",
                                  "--size", "160x120", "--fps", "15", "--uuid", take_uuid, "--json"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(kiosk(data_dir, *args), env=ENV, input=stdin, capture_output=True, text=True, timeout=120)


class CliTraffic(threading.Thread):
    """An admin beside the recorders: lists, schedules and deletes sessions and sets the PIN, until told to stop."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(daemon=True)
        self.data_dir = data_dir
        self.stop = threading.Event()
        self.results: list[subprocess.CompletedProcess] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            self.results.append(run(self.data_dir, "sessions", "list", "--json"))
            scheduled = run(self.data_dir, "sessions", "schedule", "--template", "general", "--code", f"C{n:04d}",
                            "--json")
            self.results.append(scheduled)
            if scheduled.returncode == 0:
                self.results.append(run(self.data_dir, "sessions", "delete", json.loads(scheduled.stdout)["uuid"],
                                        "--yes", "--reason", "test"))
            self.results.append(run(self.data_dir, "admin", "set-pin", "--stdin", stdin=f"{4700 + n}\n"))


def all_output(procs) -> str:
    return "\n".join((p.stdout or "") + (p.stderr or "") for p in procs)


@pytest.mark.parametrize("existing", [False, True], ids=["new-database", "existing-database"])
def test_recorders_and_cli_at_once_register_every_take(data_dir, existing):
    if existing:
        assert run(data_dir, "sessions", "list").returncode == 0      # the database exists before they start
    uuids = [str(uuid.uuid4()) for _ in range(RECORDERS)]
    traffic = CliTraffic(data_dir)
    traffic.start()
    recorders = [record(data_dir, u) for u in uuids]
    outputs = []
    for proc in recorders:
        out, err = proc.communicate(timeout=180)
        outputs.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    traffic.stop.set()
    traffic.join(timeout=180)

    assert [p.returncode for p in outputs] == [0] * RECORDERS, all_output(outputs)
    assert len(traffic.results) >= 4 and all(r.returncode == 0 for r in traffic.results), all_output(traffic.results)
    text = all_output(outputs + traffic.results)
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*"))
    assert "locked" not in text and "could not be registered" not in text
    assert "locked" not in logs
    listed = {s["uuid"]: s for s in json.loads(run(data_dir, "sessions", "list", "--json").stdout)}
    for take_uuid in uuids:
        assert listed[take_uuid]["status"] == "completed" and listed[take_uuid]["template"] == "cli"


def test_app_threads_and_a_cli_writer_at_once(data_dir):
    """The flow, the sync worker and retention write from their own threads while `kiosk record` runs beside."""
    from kiosk.sessions import retention
    from kiosk.admin_auth import for_database
    from kiosk.config import Config
    from kiosk.sync.worker import enqueue_interview

    data = DataDir(data_dir)
    store = SessionStore.open(data, Config())
    errors: list[str] = []
    registered: list[str] = []
    start = threading.Barrier(5)

    def on_thread(work):
        def body():
            start.wait()
            try:
                work()
            except BaseException:               # reported by the assertion below, with where it happened
                errors.append(traceback.format_exc())
            finally:
                db.close()                      # this thread's own connection
        return threading.Thread(target=body)

    def flow():
        for _ in range(15):
            take = str(uuid.uuid4())
            path = data.recordings / f"interview_{take}_20260101_000000.webm"
            path.write_bytes(b"a finished take")          # closing a take signs a manifest of its file
            interview = store.register_cli_take({"interview_uuid": take, "recording_path": str(path),
                                                 "state": "finalized", "duration": 1.0,
                                                 "events": [{"t": 0.5, "kind": "question.shown", "question": 0}]})
            registered.append(interview.uuid)

    def sync():
        for _ in range(30):
            for interview in list(Interview.select().where(Interview.status == "completed")):
                enqueue_interview(interview, data, Config())

    def admin():
        auth = for_database()
        for n in range(5):
            auth.set_pin(f"{5800 + n}")
            auth.check("0001")

    def keep():
        for _ in range(10):
            retention.apply(Config(), dry_run=False)

    beside = record(data_dir, str(uuid.uuid4()))
    threads = [on_thread(flow), on_thread(flow), on_thread(sync), on_thread(admin), on_thread(keep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    out, err = beside.communicate(timeout=180)
    assert not errors, "\n".join(errors)
    assert beside.returncode == 0 and "locked" not in out + err, err
    assert len(registered) == 30 and Interview.select().where(Interview.uuid.in_(registered)).count() == 30
    assert Setting.get_or_none(Setting.key == "admin.pin_hash") is not None
    close_database()


def test_a_take_the_database_cannot_take_is_adopted_at_the_next_start(data_dir):
    """The database really is unavailable when the take ends: the take stays on disk and the next start adopts it."""
    assert run(data_dir, "sessions", "list").returncode == 0
    database = data_dir / "kiosk.sqlite3"
    take_uuid = str(uuid.uuid4())
    proc = subprocess.Popen(kiosk(data_dir, "record", "--duration", "1.5", "--camera", "demo", "--mic", "none",
                                  "--size", "160x120", "--uuid", take_uuid, "--json"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline())["event"] == "started"
    aside = database.rename(data_dir / "moved-away.sqlite3")
    database.write_bytes(b"this is not a database\n")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "could not be registered as a session" in err and "the next start adopts it" in err
    meta = json.loads(out.splitlines()[-1])
    assert meta["state"] == "finalized" and Path(meta["recording_path"]).exists()

    database.unlink()
    aside.rename(database)
    recovered = run(data_dir, "sessions", "recover", "--json")
    assert recovered.returncode == 0, recovered.stderr
    assert [item["uuid"] for item in json.loads(recovered.stdout)["adopted"]] == [take_uuid]
    listed = {s["uuid"]: s for s in json.loads(run(data_dir, "sessions", "list", "--json").stdout)}
    assert listed[take_uuid]["status"] == "recovered"
