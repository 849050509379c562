"""`kiosk record` and `kiosk recover` as outside scripts drive them: subprocesses, JSON lines, signals, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.media import analysis, finalize, journal

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def kiosk(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", "--data-dir", str(data_dir), *args]


def record_cmd(data_dir: Path, out: Path, duration: float, *extra: str) -> list[str]:
    return kiosk(data_dir, "record", "--out", str(out), "--duration", str(duration), "--camera", "demo",
                 "--mic", "demo", "--size", "320x240", "--fps", "30", "--json", *extra)


def read_line(proc: subprocess.Popen, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline()
    assert line and time.monotonic() < deadline, "no JSON line from kiosk record"
    return json.loads(line)


def test_record_json_lines_started_first_metadata_last(data_dir):
    out = data_dir / "take.webm"
    proc = subprocess.run(record_cmd(data_dir, out, 2.0), env=ENV, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["event"] == "started" and lines[0]["path"] == str(out) and lines[0]["video_codec"] == "vp9"
    meta = lines[-1]
    assert meta["state"] == "finalized" and meta["recording_path"] == str(out) and meta["filename"] == "take.webm"
    assert 2.0 <= meta["duration"] <= 2.5 and meta["file_size"] == out.stat().st_size
    assert meta["sha256"] == finalize.sha256(out) and meta["recorded_at"].endswith("Z")
    assert (meta["width"], meta["height"], meta["frames_dropped"]) == (320, 240, 0)
    assert analysis.scan_video(out).count == meta["frames_written"] >= 54   # 90 %: a loaded machine may skip a frame


def test_record_without_out_names_the_file_like_the_seed(data_dir):
    proc = subprocess.run(kiosk(data_dir, "record", "--duration", "1", "--camera", "demo", "--mic", "none",
                                "--size", "320x240", "--uuid", "abc-123", "--json"),
                          env=ENV, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout.splitlines()[-1])
    path = Path(meta["recording_path"])
    assert path.parent == data_dir / "media" / "interview_recordings"
    assert path.name.startswith("interview_abc-123_") and path.suffix == ".webm"
    assert meta["audio_codec"] is None and meta["interview_uuid"] == "abc-123"


def test_sigterm_stops_cleanly_and_finalizes(data_dir):
    out = data_dir / "term.webm"
    proc = subprocess.Popen(record_cmd(data_dir, out, 60), env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(proc)["event"] == "started"
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0].splitlines()
    finally:
        proc.kill()
    assert proc.returncode == 0
    meta = json.loads(rest[-1])
    assert meta["state"] == "finalized" and 1.3 <= meta["duration"] <= 3.5
    assert finalize.probe(out)["seekable"] and not journal.journal_path(out).exists()


def test_kill_9_mid_take_then_recover_keeps_all_but_the_last_second(data_dir):
    folder = data_dir / "media" / "interview_recordings"
    folder.mkdir(parents=True)
    out = folder / "cut.webm"
    proc = subprocess.Popen(record_cmd(data_dir, out, 60), env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(proc)["event"] == "started"
        started = time.monotonic()
        time.sleep(3.0)
        # While it records, recover leaves the live take alone (its journal is locked).
        live = subprocess.run(kiosk(data_dir, "recover", "--json"), env=ENV, capture_output=True, text=True,
                              timeout=60)
        assert live.returncode == 0 and live.stdout == ""
        elapsed = time.monotonic() - started
        proc.kill()                        # SIGKILL: no chance to finalize
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.stdout.close()
    assert journal.journal_path(out).exists() and not finalize.probe(out)["seekable"]
    done = subprocess.run(kiosk(data_dir, "recover", "--json"), env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["ok"] and report["path"] == str(out)
    assert report["duration"] >= elapsed - 1.0, (report["duration"], elapsed)
    info = finalize.probe(out)
    assert info["seekable"] and not info["damaged_tail"]
    assert report["metadata"]["state"] == "recovered" and report["metadata"]["sha256"] == finalize.sha256(out)
    assert analysis.scan_video(out).count == report["metadata"]["frames_written"] >= (elapsed - 1.0) * 30 * 0.9
    assert not journal.journal_path(out).exists() and finalize.sidecar(out).exists()
    assert sorted(p.name for p in folder.iterdir()) == ["cut.webm", "cut.webm.json"]
    again = subprocess.run(kiosk(data_dir, "recover"), env=ENV, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "no cut-off recordings" in again.stdout


def test_bad_arguments_say_the_fix(data_dir):
    proc = subprocess.run(kiosk(data_dir, "record", "--duration", "1", "--size", "big", "--camera", "demo"),
                          env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "WIDTHxHEIGHT" in proc.stdout + proc.stderr
    proc = subprocess.run(kiosk(data_dir, "recover", str(data_dir / "missing.webm")), env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "does not exist" in proc.stdout


def test_camera_that_does_not_open_still_records_slate_and_started_comes_first(data_dir):
    proc = subprocess.run(kiosk(data_dir, "record", "--duration", "1.5", "--camera", "7", "--mic", "demo",
                                "--size", "320x240", "--json"), env=ENV, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["event"] == "started"
    assert any(line.get("event") == "camera.lost" for line in lines[1:-1])
    meta = lines[-1]
    assert meta["state"] == "finalized" and any(e["kind"] == "camera.lost" and e["t"] < 0.5 for e in meta["events"])
    scan = analysis.scan_video(Path(meta["recording_path"]))
    assert scan.count >= 40 and max(scan.lumas) < 60          # dark slate frames all along
