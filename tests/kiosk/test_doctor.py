"""`kiosk doctor` against real parts: the MJPEG network camera, the PulseAudio virtual mic, the official tus server."""

import json
import sqlite3

import pytest

from kiosk.cli import main
from tests.harness.pulse import speech_wav


def _doctor(capsys, data_dir, config_file) -> tuple[int, dict]:
    code = main(["--data-dir", str(data_dir), "--config", str(config_file), "doctor", "--json"])
    return code, json.loads(capsys.readouterr().out)


def _by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


def test_ready_machine_passes_and_reports_the_mic_level(tmp_path, capsys, data_dir, mjpeg_camera, pulse,
                                                        tus_server_factory):
    server = tus_server_factory(token="t0ken")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[camera]\nspec = "{mjpeg_camera.url}"\nsize = "320x240"\n'
                      f'[sync]\nenabled = true\nserver_url = "{server.url}"\ntoken = "t0ken"\n')
    wav = speech_wav("Testing the interview kiosk microphone, one two three, testing.", tmp_path / "speech.wav")
    player = pulse.play(wav, wait=False)
    try:
        code, report = _doctor(capsys, data_dir, config)
    finally:
        player.wait(timeout=30)
    checks = _by_name(report)
    assert code == 0 and report["ok"] is True, report
    assert checks["camera"]["status"] == "ok" and "320x240" in checks["camera"]["detail"]
    assert checks["microphone"]["status"] == "ok", checks["microphone"]
    peak = float(checks["microphone"]["detail"].split("peak ")[1].split(" dBFS")[0])
    assert -30 < peak <= 0          # speech, not silence
    assert checks["encoders"]["status"] == "ok" and "libvpx-vp9" in checks["encoders"]["detail"]
    assert checks["sync"]["status"] == "ok" and "creation" in checks["sync"]["detail"]
    assert checks["disk"]["status"] == "ok" and " h of recording" in checks["disk"]["detail"]
    assert "t0ken" not in json.dumps(report)


def test_problems_name_their_fix_and_block_only_when_recording_is_impossible(tmp_path, capsys, data_dir,
                                                                               tus_server_factory):
    server = tus_server_factory(token="right")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[camera]\nspec = "demo"\n[mic]\nspec = "demo"\n'
                      f'[sync]\nenabled = true\nserver_url = "{server.url}"\ntoken = "wrong"\n')
    code, report = _doctor(capsys, data_dir, config)
    checks = _by_name(report)
    # A wrong token is a problem with a fix, but the kiosk can still record.
    assert checks["sync"]["status"] == "fail" and "sync.token" in checks["sync"]["fix"]
    assert checks["camera"]["status"] == "warn" and checks["microphone"]["status"] == "ok"
    assert code == 0 and report["ok"] is True

    config.write_text('[camera]\nspec = "/no/such/camera.mp4"\n[mic]\nspec = "demo"\n')
    code, report = _doctor(capsys, data_dir, config)
    camera = _by_name(report)["camera"]
    assert code == 1 and report["ok"] is False
    assert camera["status"] == "fail" and camera["blocks"] and "kiosk devices" in camera["fix"]


def test_a_database_from_a_newer_kiosk_blocks_and_is_left_unchanged(tmp_path, capsys, data_dir):
    database = data_dir / "kiosk.sqlite3"
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE interview (id INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()
    before = database.read_bytes()
    config = tmp_path / "kiosk.toml"
    config.write_text('[camera]\nspec = "demo"\n[mic]\nspec = "demo"\n')
    code, report = _doctor(capsys, data_dir, config)
    check = _by_name(report)["database"]
    assert code == 1 and check["status"] == "fail" and "newer" in check["detail"]
    assert database.read_bytes() == before


def test_human_output_says_ready(tmp_path, capsys, data_dir):
    config = tmp_path / "kiosk.toml"
    config.write_text('[camera]\nspec = "demo"\n[mic]\nspec = "demo"\n')
    assert main(["--data-dir", str(data_dir), "--config", str(config), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "ready to record" in out and "[ok  ] encoders" in out
