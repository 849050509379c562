"""The data dir's tmp folder is swept at start (issue 11, item 7); nothing outside it is touched."""

from __future__ import annotations

from kiosk.paths import DataDir


def test_sweep_tmp_removes_leftover_clips_and_nothing_else(data_dir, tmp_path):
    data = DataDir(data_dir).ensure()
    take = data.recordings / "interview_x_20260101_000000.webm"
    take.write_bytes(b"a candidate's take")
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    tmp = data.exports_tmp
    (tmp / "device-tests").mkdir(parents=True)
    (tmp / "device-tests" / "test-1.webm").write_bytes(b"face and voice")
    (tmp / "device-check-3f2a.webm").write_bytes(b"face and voice")
    (tmp / "link").symlink_to(outside)

    assert data.sweep_tmp() == 3
    assert list(tmp.iterdir()) == []
    assert outside.read_text() == "not ours" and take.read_bytes() == b"a candidate's take"
    assert data.sweep_tmp() == 0


def test_sweep_tmp_without_a_tmp_folder(data_dir):
    assert DataDir(data_dir / "new").sweep_tmp() == 0
