"""The window covers the screen with the app's own pixels, nothing overflows or is cut, touch targets are big enough:
every screen at 1024x768, 1920x1080, 3840x2160 and portrait 1080x1920 (offscreen screens of those sizes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def probe(width: int, height: int, *extra: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "tests.ui.layout_probe", str(width), str(height), *extra],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size,extra", [((1024, 768), ()), ((1920, 1080), ()), ((3840, 2160), ()),
                                        ((1080, 1920), ()), ((1024, 768), ("--high-contrast",)),
                                        ((1024, 768), ("--language=de",)), ((1080, 1920), ("--language=de",))])
def test_every_screen_fits_the_screen(size, extra):
    report = probe(*size, *extra)
    assert report["problems"] == []
    assert report["size"] == list(size)
    if size == (1920, 1080):
        assert report["touch"] >= 48
    # sizes scale with the screen, nothing is fixed in pixels
    assert report["unit"] == round(min(size) / 40)


def test_the_probe_catches_a_screen_too_small_for_the_layout():
    report = probe(400, 300)
    assert any("does not cover the screen" in p or "needs" in p for p in report["problems"])
