"""The small real recordings the export and playback tests use (tests/helpers/media.py) decode as made."""

from __future__ import annotations

from tests.helpers.media import decode_counts, make_webm


def test_made_recording_decodes(tmp_path):
    frames, samples = decode_counts(make_webm(tmp_path / "a.webm", seconds=0.5))
    assert frames == 5 and samples == 24000
