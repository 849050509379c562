"""The PyInstaller bundle from build.spec runs the CLI and records, with its resources inside, and starts the app
itself on a real X display up to the welcome screen."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from tests.helpers.kiosk_process import PIN, ROOT, Driver, app_env, edge_report, log_lines
from tests.harness.camera import MjpegCamera


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(work / "dist"),
         "--workpath", str(work / "build"), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    executable = work / "dist" / "kiosk" / "kiosk"
    assert executable.is_file()
    return executable


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_bundle_runs_version_and_a_demo_recording(bundle, tmp_path):
    started = time.monotonic()
    version = subprocess.run([str(bundle), "--version"], capture_output=True, text=True, timeout=60)
    start_seconds = time.monotonic() - started
    assert version.returncode == 0 and version.stdout.startswith("kiosk ")
    assert (bundle.parent / "_internal" / "resources" / "templates").is_dir()

    out = tmp_path / "bundle-take.webm"
    record = subprocess.run(
        [str(bundle), "--data-dir", str(tmp_path / "data"), "record", "--out", str(out), "--duration", "3",
         "--camera", "demo", "--mic", "demo", "--size", "320x240", "--json"],
        capture_output=True, text=True, timeout=120)
    assert record.returncode == 0, record.stderr[-2000:]
    lines = [json.loads(line) for line in record.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["event"] == "started" and lines[-1]["recording_path"] == str(out)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert container.streams.audio[0].codec_context.name == "opus"
        frames = sum(1 for _ in container.decode(video=0))
    assert 2.8 <= lines[-1]["duration"] <= 3.5 and frames >= 60
    print(f"bundle start (--version): {start_seconds:.2f} s; size: "
          f"{sum(p.stat().st_size for p in bundle.parent.rglob('*') if p.is_file() and not p.is_symlink()) / 1e6:.0f} MB")


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(1200)
def test_bundle_starts_the_app_on_a_display_to_the_welcome_screen(bundle, tmp_path, xvfb, pulse):
    # Real devices (the MJPEG network camera, the PulseAudio virtual microphone): the bundle's OpenCV and
    # PortAudio open them, and no demo badge covers the screen's edge.
    camera = MjpegCamera(size=(640, 360), fps=15).start()
    data, config = tmp_path / "data", tmp_path / "kiosk.toml"
    config.write_text(f'[camera]\nspec = "{camera.url}"\nsize = "640x360"\nfps = 15\n[mic]\nspec = "default"\n')
    env = {k: v for k, v in app_env(**xvfb.env, KIOSK_UI_MAP=str(tmp_path / "ui.json")).items()
           if k != "PYTHONPATH"}              # the bundle carries its own code: nothing from the checkout
    pin = subprocess.run([str(bundle), "--data-dir", str(data), "admin", "set-pin", "--stdin"], input=PIN + "\n",
                         env=env, capture_output=True, text=True, timeout=120)
    assert pin.returncode == 0, pin.stderr
    out = open(tmp_path / "app.out", "w")
    started = time.monotonic()
    proc = subprocess.Popen([str(bundle), "--data-dir", str(data), "--config", str(config)], env=env,
                            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        drive = Driver(xvfb, tmp_path / "ui.json", proc, shots=tmp_path)
        drive.wait("attract", timeout=120, button="start")
        welcome_s = time.monotonic() - started
        total, ours, size = edge_report(drive.shot("bundle_welcome"))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        out.close()
        camera.stop()
    assert code == 0, (tmp_path / "app.out").read_text()[-3000:]
    assert size == xvfb.size and ours == total, f"{total - ours} of {total} edge pixels are not the app's"
    assert log_lines(data, r"kiosk window shown: 1920x1080, kiosk mode True, real devices")
    print(f"bundle app: welcome screen {welcome_s:.1f} s after start")
