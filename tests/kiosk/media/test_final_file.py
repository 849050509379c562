"""The finalized file as players see it: duration, cues and chapters by ffprobe and in headless Chromium; finalize
reads a bounded part of the take, whatever its length."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from pathlib import Path

from kiosk.capture.demo import DemoCamera, DemoMicrophone
from kiosk.media import ebml, finalize, journal
from kiosk.recorder import Recorder, RecorderSettings
from tests.harness.chromium import PageServer, video_check_page


def record(folder: Path, name: str, seconds: float, labels: list[str], size=(320, 240),
           snapshot: Path | None = None):
    recorder = Recorder(DemoCamera(size, 30), DemoMicrophone(), RecorderSettings(size=size, fps=30, min_free_mb=50))
    path = folder / name
    recorder.open()
    try:
        recorder.start_take(path, label=labels[0], wait=True)
        for label in labels[1:]:
            time.sleep(seconds / len(labels))
            recorder.mark(label)
        time.sleep(seconds / len(labels))
        if snapshot is not None:               # the live file as a crash would leave it: no duration, no cues
            shutil.copyfile(path, snapshot)
        result = recorder.stop_take().result(timeout=60)
    finally:
        recorder.close()
    assert result.state == "finalized", result.message
    return result


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_chapters", "-show_streams", "-of", "json",
                          str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def test_finalized_take_has_duration_cues_and_chapters_in_ffprobe_and_chromium(tmp_path):
    live = tmp_path / "live.webm"
    result = record(tmp_path, "take.webm", 4.5, ["Q1", "Q2", "Q2 retake 2"], snapshot=live)
    m = result.metadata
    probe = ffprobe(result.path)
    assert abs(float(probe["format"]["duration"]) - m["duration"]) < 0.05
    assert [c["tags"]["title"] for c in probe["chapters"]] == ["Q1", "Q2", "Q2 retake 2"]
    starts = [float(c["start_time"]) for c in probe["chapters"]]
    assert starts[0] == 0.0 and all(abs(b - a - 1.5) < 0.3 for a, b in zip(starts, starts[1:]))
    with open(result.path, "rb") as f:
        entries = ebml.seek_head(f)
        assert ebml.element_at(f, entries[ebml.CUES]) == ebml.CUES
    targets = [c["start"] + 0.05 for c in m["chapters"]] + [m["duration"] - 0.2]
    with PageServer(tmp_path) as server:
        final = server.run_page(video_check_page("take.webm", targets), timeout=90)
        cut_off = server.run_page(video_check_page("live.webm", []), timeout=90)
    assert final["error"] is None and (final["width"], final["height"]) == (320, 240)
    assert final["duration"] is not None and abs(final["duration"] - m["duration"]) < 0.1, final
    assert [round(s["landed"], 2) for s in final["seeks"]] == [round(t, 2) for t in targets]
    # The control: the live file as a crash leaves it has no duration for the browser (JSON null = Infinity).
    assert cut_off["error"] is None and (cut_off["duration"] is None or not math.isfinite(cut_off["duration"]))


def test_finalize_reads_a_bounded_part_of_the_take_whatever_its_length(tmp_path):
    short = record(tmp_path, "short.webm", 1.5, ["Q1", "Q2"], size=(640, 360))
    long = record(tmp_path, "long.webm", 12.0, ["Q1", "Q2"], size=(640, 360))
    sizes = [r.metadata["file_size"] for r in (short, long)]
    reads = [r.metadata["finalize_bytes_read"] for r in (short, long)]
    assert sizes[1] > 5 * sizes[0], sizes
    # What is read: the header, seek head, cues and chapters, the last keyframe on, a keyframe per chapter.
    assert reads[1] < 0.6 * sizes[1] and reads[1] < 2 * reads[0] + 200_000, (reads, sizes)
    assert not journal.journal_path(long.path).exists() and finalize.probe(long.path)["seekable"]
