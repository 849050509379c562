"""Admin console figures: the searchable session list, a session's detail, statistics and the sync overview."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk import config as configmod, disk
from kiosk.sessions import queries
from kiosk.sync.overview import sync_overview
from kiosk.db.models import Event, Interview, Recording, SyncState

from tests.helpers.media import make_webm

UTC = dt.timezone.utc


@pytest.fixture
def sessions(data, database):
    made = []
    plan = [(20, "completed", "", 60.0), (20, "completed", "", 120.0), (22, "interrupted", "camera_lost", 30.0),
            (23, "failed", "disk_full", None), (23, "failed", "disk_full", None), (24, "in_progress", "", None)]
    for n, (day, status, reason, duration) in enumerate(plan):
        interview = Interview.create(code=f"K{n}", candidate_name=["Ann Berg", "Čeněk Novák", "Bo", "Di", "Ed",
                                                                  "Fa"][n],
                                     status=status, end_reason=reason, recording_duration=duration,
                                     started_at=dt.datetime(2026, 11, day, 12, tzinfo=UTC),
                                     recording_data={"chapters": [{"label": "Q2", "start": 30.0, "end": 60.0},
                                                                  {"label": "Q1", "start": 0.0, "end": 30.0}]})
        if n in (1, 2):       # rows only: durations come from the recordings' metadata
            Recording.create(interview=interview, path=f"/elsewhere/{n}.webm", duration=duration,
                             state="finalized" if n == 1 else "recovered")
        if n == 0:
            path = make_webm(data.recordings / "a.webm", seconds=0.5)
            rec = Recording.create(interview=interview, path=str(path), state="finalized",
                                   size=path.stat().st_size, duration=60.0)
            Event.create(interview=interview, recording=rec, kind="recording.started", offset_s=0.0)
            Event.create(interview=interview, recording=rec, kind="question.shown", question_index=1, offset_s=0.2)
            SyncState.create(interview=interview, recording=rec, path=str(path), status="failed", size=1000,
                             offset=400, last_error="HTTP 503 from server")
        if n == 1:
            SyncState.create(interview=interview, path="/x/b.webm", status="synced", size=10,
                             synced_at=dt.datetime(2026, 11, 21, tzinfo=UTC))
        made.append(interview)
    return made


def test_list_is_newest_first_and_search_matches_words_and_accents(sessions):
    rows = queries.list_sessions()
    assert [r.code for r in rows] == ["K5", "K4", "K3", "K2", "K1", "K0"]
    assert [r.code for r in queries.list_sessions("čeněk")] == ["K1"]
    assert [r.code for r in queries.list_sessions("CENEK novak")] == ["K1"]
    assert [r.code for r in queries.list_sessions("ann 2026-11-20")] == ["K0"]
    assert [r.code for r in queries.list_sessions("failed")] == ["K4", "K3", "K0"]     # status or sync state
    assert [r.code for r in queries.list_sessions(sessions[2].uuid[:8])] == ["K2"]
    k0 = rows[-1]
    assert k0.files == 1 and k0.bytes > 0 and k0.sync_state == "failed" and k0.duration_s == 60.0


def test_detail_has_events_recordings_and_sorted_chapters(sessions):
    detail = queries.session_detail(sessions[0].uuid)
    assert [e.kind for e in detail.events] == ["recording.started", "question.shown"]
    assert detail.recordings[0].exists and detail.recordings[0].state == "finalized"
    assert [c.label for c in detail.chapters] == ["Q1", "Q2"] and detail.chapters[1].start == 30.0
    assert queries.session_detail("missing") is None
    assert queries.chapters_of({"chapters": [{"label": "x"}, "junk", {"start": "2", "label": "y"}]}) == [
        queries.Chapter("y", 2.0, None)]


def test_statistics(sessions, data):
    config = configmod.Config()
    figures = queries.statistics(data, config, days=7, today=dt.date(2026, 11, 24))
    assert figures.per_day == [(dt.date(2026, 11, d), c) for d, c in
                               ((18, 0), (19, 0), (20, 2), (21, 0), (22, 1), (23, 2), (24, 1))]
    assert figures.total == 6 and figures.finished == 5 and figures.completed == 2
    assert figures.success_rate == pytest.approx(0.4)
    assert figures.failures_by_cause == {"disk_full": 2, "camera_lost": 1}
    assert figures.duration_mean_s == pytest.approx(70.0) and figures.duration_median_s == 60.0
    assert figures.bytes_on_disk == (data.recordings / "a.webm").stat().st_size
    # 2500 kbit/s video at 720p + 96 kbit/s audio; hours = (free - reserve) * 8 / bitrate, the reserve in MB as the
    # recorder counts it.
    assert figures.bitrate_bps == 2_596_000
    expected = (figures.free_bytes - 500 * 1_000_000) * 8 / 2_596_000 / 3600
    assert figures.hours_left == pytest.approx(max(0.0, expected))
    config.set("camera.size", "1920x1080")
    assert disk.bitrate_bps(config) == int(2_500_000 * 2.25 + 96_000)
    config.set("recording.profile", "audio-opus")
    assert disk.bitrate_bps(config) == 96_000


def test_sync_overview(sessions):
    overview = sync_overview(configmod.Config())
    assert overview.counts == {"failed": 1, "synced": 1}
    assert overview.pending_bytes == 600
    assert overview.errors == [("a.webm", "HTTP 503 from server")]
    assert overview.last_synced_at == dt.datetime(2026, 11, 21, tzinfo=UTC)


def test_console_figures_match_kiosk_stats(sessions, data, capsys):
    import json

    from kiosk.cli import main

    assert main(["--data-dir", str(data.root), "stats", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    console = queries.statistics(data, configmod.Config())
    assert console.total == cli["count"] and console.finished == cli["finished"]
    assert console.success_rate == pytest.approx(cli["success_rate"])
    assert console.failures_by_cause == cli["failures_by_cause"]
    assert console.duration_mean_s == pytest.approx(cli["mean_duration_s"])
    assert console.bytes_on_disk == cli["bytes_on_disk"]
    assert console.hours_left == pytest.approx(cli["hours_left"], abs=0.01)
