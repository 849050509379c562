"""The BagIt export engine: a valid bag (checked by the reference `bagit` tool), names that cannot escape, an
interrupted export leaves nothing under the final name, a full target is refused, the copy is verified."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import bagit
import pytest
from hypothesis import given, settings, strategies as st

from kiosk import export
from kiosk.export import bag
from kiosk.export import ExportCancelled, ExportError, ExportFile, ExportSession, export_bag, safe_component
from tests.helpers.media import decode_counts, make_webm

HOSTILE = ["../../../etc/passwd", "a\x00b/..\\c", "x" * 1000, "Zoë Łukasz 李小龍 🎤", "CON", "=HYPERLINK(\"http://x\")",
           ".hidden..", "tab\tnew\nline\r", "%2e%2e%2f", "   ", "é" * 300]


def _session(tmp_path: Path, uuid: str, candidate: str, files: list[tuple[str, Path]]) -> ExportSession:
    return ExportSession(
        uuid=uuid, label=f"2026-11-24_AB12_{candidate}",
        document={"uuid": uuid, "candidate": candidate, "events": [{"event": "recording.started", "t": 1.0}]},
        row={"code": "AB12", "candidate": candidate, "started_at": "2026-11-24T10:00:00", "duration_s": 1.0,
             "status": "done", "sync_state": "pending"},
        files=[ExportFile(path, name) for name, path in files])


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def recordings(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    return [make_webm(src / f"take{i}.webm", seconds=1.0, seed=i) for i in range(3)]


def test_bag_is_valid_for_the_reference_tool_and_recordings_decode(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    sessions = [_session(tmp_path, "11111111-aaaa-4bbb-8ccc-000000000001", "Jane Doe",
                         [("q1.webm", recordings[0]), ("q2.webm", recordings[1])]),
                _session(tmp_path, "22222222-aaaa-4bbb-8ccc-000000000002", "Zoë 李", [("q1.webm", recordings[2])])]
    reports = []
    result = export_bag(sessions, target, progress=reports.append)
    assert result.path.parent == target and result.path.name.startswith("kiosk-export-")
    assert result.verified and result.sessions == 2 and result.files == 3
    assert os.listdir(target) == [result.path.name]           # nothing else, no temporary left

    bag = bagit.Bag(str(result.path))
    bag.validate()                                             # raises on any problem
    assert bag.info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in result.path.joinpath('data').rglob('*') if p.is_file())}.{3 + 2 + 1}"
    # The reference tool's own command line, as a receiving archive would run it.
    bagit_py = Path(sys.executable).parent / "bagit.py"
    cli = subprocess.run([sys.executable, str(bagit_py), "--validate", str(result.path)], capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "is valid" in cli.stderr

    # Each copy decodes like its source, the JSON carries the document and hashes, the CSV one row per session.
    copies = sorted(result.path.joinpath("data", "sessions").rglob("*.webm"))
    assert len(copies) == 3
    for copy in copies:
        assert decode_counts(copy) == (10, 48000)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in result.path.rglob("session.json")]
    assert {d["candidate"] for d in docs} == {"Jane Doe", "Zoë 李"}
    jane = next(d for d in docs if d["candidate"] == "Jane Doe")
    assert [f["original_name"] for f in jane["export"]["files"]] == ["q1.webm", "q2.webm"]
    assert jane["events"][0]["event"] == "recording.started"
    assert {f["sha256"] for f in jane["export"]["files"]} == {bag.entries[f["path"]]["sha256"]
                                                             for f in jane["export"]["files"]}
    rows = list(csv.DictReader(io.StringIO(result.path.joinpath("data", "sessions.csv").read_text("utf-8-sig"))))
    assert [r["candidate"] for r in rows] == ["Jane Doe", "Zoë 李"]
    assert rows[0]["files"] == "2" and int(rows[0]["bytes"]) == recordings[0].stat().st_size + recordings[1].stat().st_size

    # Progress: copy then verify, never going back, ending complete with time left known on the way.
    assert [r.phase for r in reports][-1] == "done" and reports[-1].fraction == 1.0
    assert all(a.done_bytes <= b.done_bytes for a, b in zip(reports, reports[1:]))
    assert reports[-1].total_bytes == 2 * sum(p.stat().st_size for p in recordings)
    assert reports[-1].payload_bytes == sum(p.stat().st_size for p in recordings)
    # Bytes shown are per phase: copied so far, then checked so far; never more than the payload.
    assert all(0 <= r.phase_bytes <= r.payload_bytes for r in reports)
    assert reports[-1].phase_bytes == reports[-1].payload_bytes


def test_hostile_names_stay_inside_the_bag(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    outside_before = _all_files(tmp_path)
    sessions = [_session(tmp_path, f"{i:08d}-aaaa-4bbb-8ccc-000000000000", name,
                         [(name + ".webm", recordings[0]), ("../../evil.webm", recordings[1]),
                          ("session.json", recordings[2])])
                for i, name in enumerate(HOSTILE)]
    result = export_bag(sessions, target)
    bagit.Bag(str(result.path)).validate()
    new = _all_files(tmp_path) - outside_before
    assert new and all(n.startswith(f"usb{os.sep}{result.path.name}") or n == "usb" for n in new)
    for path in result.path.rglob("*"):
        name = path.name
        assert "\x00" not in name and "/" not in name and "\\" not in name and name not in (".", "..")
        assert len(name.encode()) <= bag.MAX_COMPONENT_BYTES
    folders = sorted(p.name for p in result.path.joinpath("data", "sessions").iterdir())
    assert len(folders) == len(HOSTILE)
    assert any("李小龍" in f for f in folders) and any(f.startswith("2026-11-24_AB12_") for f in folders)
    # The candidate's name survives unchanged in the JSON, and stays text in the CSV.
    docs = {json.loads(p.read_text("utf-8"))["candidate"] for p in result.path.rglob("session.json")}
    assert docs == set(HOSTILE)
    rows = list(csv.DictReader(io.StringIO(result.path.joinpath("data", "sessions.csv").read_text("utf-8-sig"))))
    assert any(r["candidate"] == "'=HYPERLINK(\"http://x\")" for r in rows)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_safe_component_never_escapes(name):
    safe = safe_component(name)
    assert safe and safe not in (".", "..") and not safe.startswith(".")
    assert not any(c in safe for c in '/\\\x00:*?"<>|%')
    assert len(safe.encode()) <= bag.MAX_COMPONENT_BYTES
    assert all(ord(c) >= 32 for c in safe)
    assert safe_component(safe) == safe                       # stable: sanitising twice changes nothing


def test_safe_component_keeps_extension_of_long_names():
    assert safe_component("é" * 300 + ".webm", keep_suffix=True).endswith(".webm")
    assert safe_component("../q1.webm", keep_suffix=True) == "_q1.webm" or \
        safe_component("../q1.webm", keep_suffix=True) == "__q1.webm"


def test_cancel_half_way_leaves_nothing(tmp_path, recordings, monkeypatch):
    monkeypatch.setattr(bag, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(bag, "CHUNK", 4096)
    target = tmp_path / "usb"
    target.mkdir()
    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.fraction)
        if p.fraction >= 0.25:
            cancel.set()
    sessions = [_session(tmp_path, "33333333-aaaa-4bbb-8ccc-000000000003", "A",
                         [(f"q{i}.webm", r) for i, r in enumerate(recordings)])]
    with pytest.raises(ExportCancelled):
        export_bag(sessions, target, progress=on_progress, cancel=cancel)
    assert 0.25 <= max(seen) < 0.5                           # it really was half-way through the copy
    assert os.listdir(target) == []


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kiosk import export
    from kiosk.export import bag
    bag.CHUNK = 4096
    bag.PROGRESS_INTERVAL_S = 0.0
    files = [export.ExportFile(Path(p), Path(p).name) for p in sys.argv[2:]]
    session = export.ExportSession("44444444-aaaa-4bbb-8ccc-000000000004", "x", {}, {}, files)
    def slow(p):
        if p.fraction > 0.1:
            print("HALF", flush=True)
            time.sleep(0.05)
    export.export_bag([session], Path(sys.argv[1]), progress=slow)
""")


def test_killed_export_leaves_no_bag_and_the_next_export_cleans_up(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(target), *map(str, recordings)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3])
    try:
        assert proc.stdout.readline().strip() == "HALF"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    left = os.listdir(target)
    assert len(left) == 1 and left[0].endswith(".partial")    # only the temporary name
    assert not any(n.startswith(export.BAG_PREFIX) for n in left)
    assert list((target / left[0]).rglob("*.webm"))           # it had started writing
    session = _session(tmp_path, "55555555-aaaa-4bbb-8ccc-000000000005", "B", [("q.webm", recordings[0])])
    result = export_bag([session], target)
    assert os.listdir(target) == [result.path.name]
    bagit.Bag(str(result.path)).validate()


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "stick"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True, timeout=30)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True, timeout=30)


def test_target_with_too_little_space_is_refused(tmp_path, small_tmpfs):
    take = make_webm(tmp_path / "take.webm", seconds=2.0, size=(320, 240), fps=15)   # noise: ~180 kB
    too_many = -(-4 * 1024 * 1024 // take.stat().st_size)          # together more than the 4 MiB stick
    session = _session(tmp_path, "66666666-aaaa-4bbb-8ccc-000000000006", "C", [("q.webm", take)] * too_many)
    with pytest.raises(ExportError, match=r"Not enough space .* needs [\d.]+ MB and [\d.]+ MB are free"):
        export_bag([session], small_tmpfs)
    assert os.listdir(small_tmpfs) == []
    # One take fits: the check refuses what does not fit, not everything.
    result = export_bag([_session(tmp_path, "66666666-aaaa-4bbb-8ccc-000000000007", "C", [("q.webm", take)])],
                        small_tmpfs)
    bagit.Bag(str(result.path)).validate()


def test_a_missing_target_is_not_created(tmp_path, recordings):
    session = _session(tmp_path, "77777777-aaaa-4bbb-8ccc-000000000007", "D", [("q.webm", recordings[0])])
    with pytest.raises(ExportError, match="plug in the USB stick"):
        export_bag([session], tmp_path / "not-mounted")
    assert not (tmp_path / "not-mounted").exists()


def test_verify_finds_a_damaged_copy(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    result = export_bag([_session(tmp_path, "88888888-aaaa-4bbb-8ccc-000000000008", "E",
                                  [("q.webm", recordings[0])])], target)
    assert export.verify_bag(result.path) == []
    copy = next(result.path.rglob("q.webm"))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    (result.path / "data" / "stray.txt").write_text("x")
    problems = export.verify_bag(result.path)
    assert any("q.webm: checksum differs" in p for p in problems)
    assert any("stray.txt: not in the manifest" in p for p in problems)


def test_usb_sticks_show_up_by_mount_point(tmp_path):
    stick = tmp_path / "media" / "kiosk" / "MY STICK"
    stick.mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n"
                      f"/dev/sdz1 {str(stick).replace(' ', chr(92) + '040')} vfat rw 0 0\n"
                      f"/dev/sdz2 {tmp_path}/media/gone vfat rw 0 0\n")
    targets = export.removable_targets(mounts, roots=(f"{tmp_path}/media/",))
    assert [(t.mount_point, t.device, t.label) for t in targets] == [(stick, "/dev/sdz1", "MY STICK")]
    assert 0 < targets[0].free_bytes <= targets[0].total_bytes


def test_fat32_stick_refuses_a_4_gb_recording_up_front(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda1 / ext4 rw 0 0\n/dev/sdz1 {tmp_path}/stick vfat rw 0 0\n")
    assert export.filesystem_type(tmp_path / "stick" / "sub", mounts) == "vfat"
    assert export.filesystem_type(tmp_path / "stickX", mounts) == "ext4"        # a prefix is not a parent
    assert export.fat_limit_problem("vfat", [1000, export.FAT_MAX_FILE]) is None
    assert "exFAT" in export.fat_limit_problem("vfat", [export.FAT_MAX_FILE + 1])
    assert export.fat_limit_problem("exfat", [10 * 1024 ** 3]) is None


def test_long_names_keep_the_uuid_and_a_short_folder(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    sessions = [_session(tmp_path, f"abcdef0{i}-aaaa-4bbb-8ccc-000000000000", "Ü" * 200, [("q.webm", recordings[0])])
                for i in range(2)]
    result = export_bag(sessions, target)
    folders = sorted(p.name for p in (result.path / "data" / "sessions").iterdir())
    assert [f[-9:] for f in folders] == ["_abcdef00", "_abcdef01"]
    assert all(len(f.encode()) <= bag.SESSION_FOLDER_BYTES for f in folders)


def test_a_source_that_cannot_be_read_is_named(tmp_path, recordings):
    target = tmp_path / "usb"
    target.mkdir()
    unreadable = tmp_path / "dir.webm"
    unreadable.mkdir()                       # stat works, reading fails (EISDIR), as a failing disk would
    session = _session(tmp_path, "99999999-aaaa-4bbb-8ccc-000000000009", "F",
                       [("a.webm", recordings[0]), ("b.webm", unreadable)])
    with pytest.raises(ExportError, match=r"Reading the recording .*dir.webm failed"):
        export_bag([session], target)
    assert os.listdir(target) == []


def test_mount_table_parsing_decodes_escapes():
    rows = export.parse_mounts("/dev/sdb1 /media/kiosk/MY\\040STICK vfat rw 0 0\nproc /proc proc rw 0 0\n")
    assert rows[0] == ("/dev/sdb1", "/media/kiosk/MY STICK", "vfat")
    assert export.removable_targets(Path("/nonexistent")) == []
