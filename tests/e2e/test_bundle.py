"""The PyInstaller bundle from build.spec runs the CLI and records, with its resources inside."""

import json
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

ROOT = Path(__file__).resolve().parents[2]


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
