"""`kiosk doctor`: is this machine ready to record? Each check says what it found and, for a problem, the fix.

A check that fails with `blocks=True` means a candidate could not be recorded (camera, microphone, encoders, disk,
database); the command then exits non-zero. Sync, transcript and autostart problems are reported but do not block
recording.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kiosk import __version__, autostart, disk
from kiosk.capture.frames import SourceHealth, clock
from kiosk.config import Config
from kiosk.paths import DataDir

# A kiosk whose clock reads earlier than this release was built has lost its time (dead RTC battery, no NTP).
RELEASED = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


@dataclass
class Check:
    name: str
    status: str            # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""
    blocks: bool = False   # a failure here means no candidate can be recorded

    @property
    def failed_blocking(self) -> bool:
        return self.status == "fail" and self.blocks


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = clock() + timeout
    while clock() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _device_check(state) -> Check | None:
    """The booth's own answer (kiosk.capture.health, as on the welcome screen and the Devices page), when it
    settles the check before anything is opened."""
    from kiosk.capture.health import MISSING, NOT_USED
    if state.status == MISSING:
        return Check(state.device, "fail", f"{state.name}: {state.problem}", state.detail, True)
    if state.status == NOT_USED:
        return Check(state.device, "ok" if state.device == "camera" else "warn", state.detail,
                     "" if state.device == "camera" else "set mic.spec = 'default' to record sound")
    return None


def check_camera(config: Config) -> Check:
    from kiosk.capture.health import DEMO, camera_state
    from kiosk.capture.sources import AutoCamera, open_camera

    state = camera_state(config)
    settled = _device_check(state)
    if settled is not None:
        return settled
    spec = config["camera.spec"]
    size = config["camera.size"]
    try:
        camera = open_camera(spec, size, config["camera.fps"], config["camera.open_timeout_s"],
                             config["camera.read_timeout_s"])
    except ValueError as exc:
        return Check("camera", "fail", str(exc), "set camera.spec in kiosk.toml (see `kiosk devices`)", True)
    if isinstance(camera, AutoCamera) and camera.camera is None:
        return Check("camera", "fail", f"{state.name}: none of the cameras there opens", state.detail, True)
    frames: list = []
    health: list[tuple[SourceHealth, str]] = []
    camera.start(frames.append, lambda h, d: health.append((h, d)))
    try:
        timeout = config["camera.open_timeout_s"] + config["camera.read_timeout_s"]
        _wait_for(lambda: len(frames) >= 5, timeout)
    finally:
        camera.stop()
    if not frames:
        detail = health[-1][1] if health else "no frame arrived"
        return Check("camera", "fail", f"{camera.description}: {detail}",
                     "check the cable or the camera's URL; another program may hold the camera", True)
    height, width = frames[-1].image.shape[:2]
    status = "warn" if state.status == DEMO else "ok"
    return Check("camera", status, f"{camera.description}: delivering {width}x{height}",
                 "set camera.spec to a real camera before candidates come" if status == "warn" else "")


def check_microphone(config: Config, seconds: float = 1.0) -> Check:
    from kiosk.capture.health import microphone_state
    from kiosk.capture.sources import open_microphone

    settled = _device_check(microphone_state(config, live=None))
    if settled is not None:
        return settled
    spec = config["mic.spec"]
    try:
        mic = open_microphone(spec, config["mic.rate"], config["mic.channels"])
    except ValueError as exc:
        return Check("microphone", "fail", str(exc), "set mic.spec in kiosk.toml (see `kiosk devices`)", True)
    blocks: list = []
    health: list[tuple[SourceHealth, str]] = []
    mic.start(blocks.append, lambda h, d: health.append((h, d)))
    try:
        # The first moments of a stream may deliver nothing (PulseAudio warms up): wait for data, then 1 s of it.
        _wait_for(lambda: bool(blocks), 3.0)
        first = len(blocks)
        start = clock()
        _wait_for(lambda: sum(len(b.samples) for b in blocks[first:]) >= seconds * mic.rate, seconds + 2.0)
        elapsed = clock() - start
    finally:
        mic.stop()
    got = blocks[first:] if blocks else []
    if not got:
        return Check("microphone", "fail", f"{mic.description}: no sound arrived in 3 s",
                     "check that the microphone is plugged in and not muted, and that PulseAudio/PipeWire runs",
                     True)
    samples = np.concatenate([b.samples for b in got])
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    rms_db = 20 * math.log10(rms) if rms > 0 else -math.inf
    rate = len(samples) / elapsed if elapsed > 0 else 0
    detail = (f"{mic.description}: recorded {len(samples) / mic.rate:.2f} s, level peak {peak_db:.1f} dBFS, "
              f"rms {rms_db:.1f} dBFS")
    if rate < 0.8 * mic.rate:
        return Check("microphone", "warn", detail + f"; delivers only {rate:.0f} samples/s",
                     "the audio server under-delivers: check its load and latency settings")
    if peak == 0.0:
        return Check("microphone", "warn", detail + " (digital silence)",
                     "unmute the microphone or raise its input volume")
    return Check("microphone", "ok", detail)


def _encoder_opens(name: str) -> bool:
    from fractions import Fraction

    import av

    try:
        codec = av.codec.Codec(name, "w")
        context = av.CodecContext.create(codec)
        if codec.type == "video":
            context.width, context.height = 320, 240
            context.pix_fmt = "yuv420p"
            context.time_base = Fraction(1, 30)
            context.framerate = 30
        else:
            context.sample_rate = 48000
            context.layout = "mono"
            context.format = codec.audio_formats[0].name if codec.audio_formats else "fltp"
        context.open()
        return True
    except Exception:
        return False


def check_encoders(config: Config) -> Check:
    from kiosk.media import profiles

    profile = profiles.get(config["recording.profile"])
    video = [(e.encoder, e.container) for e in profile.video_chain]
    working = [(name, container) for name, container in video if _encoder_opens(name)]
    if profile.has_video and not working:
        return Check("encoders", "fail", f"none of {', '.join(n for n, _ in video)} opens",
                     "install a PyAV (av) wheel built with libvpx or libx264", True)
    audio = working[0][1].audio_encoder if working else profile.audio_container.audio_encoder
    if not _encoder_opens(audio):
        return Check("encoders", "fail", f"the audio encoder {audio} does not open",
                     "install a PyAV (av) wheel built with libopus and aac", True)
    if not profile.has_video:
        return Check("encoders", "ok", f"{profile.name}: {audio}")
    first = working[0][0]
    if first != video[0][0]:
        return Check("encoders", "warn", f"{profile.name}: {video[0][0]} does not open; recording falls back to "
                     f"{first} + {audio}", "install a PyAV (av) wheel with the profile's encoder")
    return Check("encoders", "ok", f"{profile.name}: {first} + {audio}")


def check_disk(config: Config, data: DataDir) -> Check:
    free = disk.free_bytes(data.recordings)
    rate = disk.bitrate_bps(config)
    hours = disk.hours_left(config, free)
    detail = (f"{free / 1e9:.1f} GB free in {data.recordings}: {hours:.1f} h of recording at "
              f"{config['recording.profile']} ({rate / 1e6:.2f} Mbit/s)")
    if hours < 0.25:
        return Check("disk", "fail", detail, "export and delete old sessions, or give the kiosk a larger disk", True)
    if hours < 2:
        return Check("disk", "warn", detail, "export and delete old sessions soon")
    return Check("disk", "ok", detail)


def check_database(data: DataDir) -> Check:
    from kiosk.db import database, migrations

    path = data.database
    if not path.exists():
        return Check("database", "ok", f"{path} will be created at first start (schema {migrations.LATEST})")
    try:
        version = database._inspect(path)   # read-only: doctor never migrates or alters
    except database.DatabaseError as exc:
        return Check("database", "fail", str(exc).split(" Fix: ")[0], str(exc).partition(" Fix: ")[2], True)
    if version > migrations.LATEST:
        return Check("database", "fail", f"{path}: schema {version} is newer than this kiosk's "
                     f"({migrations.LATEST})", "run the newer kiosk version", True)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("interview", "recording") if conn.execute(
                      "SELECT 1 FROM sqlite_master WHERE name = ?", (t,)).fetchone()}
    finally:
        conn.close()
    note = "" if version == migrations.LATEST else f", migrates to {migrations.LATEST} at next start"
    return Check("database", "ok", f"{path}: schema {version}{note}, integrity ok, "
                 + ", ".join(f"{n} {t}s" for t, n in counts.items()))


def check_clock(data: DataDir) -> Check:
    now = dt.datetime.now(dt.timezone.utc)
    if now < RELEASED:
        return Check("clock", "fail", f"the system clock says {now:%Y-%m-%d %H:%M} UTC, before this kiosk was "
                     "released", "set the date (timedatectl set-time, or enable NTP); recordings are named and "
                     "sorted by it", True)
    newest = 0.0
    if data.recordings.exists():
        newest = max((p.stat().st_mtime for p in data.recordings.iterdir() if p.is_file()), default=0.0)
    if newest - now.timestamp() > 300:
        when = dt.datetime.fromtimestamp(newest, dt.timezone.utc)
        return Check("clock", "warn", f"a recording is dated {when:%Y-%m-%d %H:%M} UTC, after the clock's "
                     f"{now:%Y-%m-%d %H:%M} UTC: the clock went back", "enable NTP (timedatectl set-ntp true)")
    local = dt.datetime.now().astimezone()
    return Check("clock", "ok", f"{local:%Y-%m-%d %H:%M %Z} (UTC{local:%z})")


def check_sync(config: Config) -> Check:
    from kiosk.sync import tus

    if not config["sync.enabled"]:
        return Check("sync", "ok", "off (sync.enabled = false): sessions stay on this kiosk until exported")
    url = config["sync.server_url"]
    if not url:
        return Check("sync", "fail", "sync.enabled is true but sync.server_url is empty",
                     "set sync.server_url to the centre's tus endpoint")
    try:
        with tus.TusClient(url, token=config["sync.token"], ca_bundle=config["sync.ca_bundle"],
                           timeout=(5.0, 10.0)) as client:
            caps = client.capabilities(refresh=True)
            # Authorisation: a HEAD of an upload that cannot exist is 404 when the token is accepted, 401/403 not.
            probe = client._request("HEAD", url.rstrip("/") + "/kiosk-doctor-probe-0")
    except tus.TusConfigError as exc:
        return Check("sync", "fail", str(exc).split(" Fix: ")[0], str(exc).partition(" Fix: ")[2])
    except tus.TusError as exc:
        reason = str(exc).split(". Uploads wait")[0]
        return Check("sync", "fail", f"{tus.safe_url(url)} cannot be reached: {reason}",
                     "check the network and sync.server_url; uploads wait in the queue meanwhile")
    if probe.status_code in (401, 403):
        return Check("sync", "fail", f"{tus.safe_url(url)} refuses the token ({probe.status_code})",
                     "check sync.token with the server's administrator")
    extensions = ", ".join(sorted(caps.extensions)) or "none"
    return Check("sync", "ok", f"{tus.safe_url(url)}: tus {', '.join(caps.versions) or '1.0.0'}, extensions: {extensions}")


def check_transcripts(config: Config) -> Check:
    """Is the speech model there and usable? Loads it (a second or two for a small Whisper model)."""
    from kiosk.transcripts import engine

    off = engine.off_reason(config)
    if off:
        return Check("transcripts", "warn", off.split(" Fix: ")[0], off.partition(" Fix: ")[2])
    try:
        transcriber = engine.open_transcriber(config["transcript.engine"], config["transcript.model_path"])
    except engine.TranscriptError as exc:
        return Check("transcripts", "fail", str(exc).split(" Fix: ")[0], str(exc).partition(" Fix: ")[2])
    return Check("transcripts", "ok", transcriber.describe())


def check_config_file(config: Config) -> Check:
    """A kiosk.toml that holds the sync token must be the kiosk user's alone."""
    import stat
    import tomllib

    path = config.source
    if path is None or not path.exists():
        return Check("config", "ok", "no kiosk.toml: all defaults")
    mode = stat.S_IMODE(path.stat().st_mode)
    try:
        token = tomllib.loads(path.read_text(encoding="utf-8")).get("sync", {}).get("token", "")
    except (OSError, ValueError):
        token = ""                  # load() already refused a broken file; nothing to say here
    if token and mode & 0o077:
        return Check("config", "warn", f"{path} holds sync.token and other local users can read it "
                     f"(mode {mode:04o})", f"chmod 600 '{path}' (or pass the token as KIOSK_SYNC_TOKEN)")
    return Check("config", "ok", f"{path} (mode {mode:04o})" + (", holds sync.token" if token else ""))


def check_privacy(config: Config, data: DataDir) -> Check:
    """Encryption at rest, the signing key, and the data dir's modes."""
    import stat

    from kiosk.privacy.files import SHARED_BITS

    mode = stat.S_IMODE(data.root.stat().st_mode) if data.root.exists() else 0o700
    if mode & SHARED_BITS:
        return Check("privacy", "warn", f"other local users can open the data dir {data.root} (mode {mode:04o})",
                     f"chmod 700 '{data.root}' (the kiosk sets it at start)")
    key = "the signing key is made at first start"
    if data.signing_key.exists():
        from kiosk.privacy import signing
        key = f"manifests signed with {signing.for_kiosk(data, config).fingerprint} (`kiosk keys show`)"
    recipients = config["privacy.recipients"]
    if not recipients:
        return Check("privacy", "warn", f"recordings are kept unencrypted; {key}",
                     "set privacy.recipients to the centre's age public key(s) (see docs/privacy.md)")
    return Check("privacy", "ok", f"takes encrypted to {len(recipients)} recipient(s); {key}")


def check_autostart() -> Check:
    found = {k: v for k, v in autostart.status().items() if v}
    if not found:
        return Check("autostart", "warn", "the kiosk does not start at boot",
                     "as root, `kiosk install-autostart --method cage --user kiosk` (recommended: the kiosk alone "
                     "in cage on tty1), or `kiosk install-autostart` as the kiosk user in its desktop session; "
                     "see docs/deployment.md")
    return Check("autostart", "ok", ", ".join(f"{k}: {v}" for k, v in found.items()))


def run_all(config: Config, data: DataDir) -> list[Check]:
    """Run every check; camera and microphone in parallel with the rest (they wait on devices)."""
    results: dict[str, Check] = {}
    slow = {"camera": lambda: check_camera(config), "microphone": lambda: check_microphone(config)}
    threads = []
    for name, fn in slow.items():
        def run(name=name, fn=fn):
            try:
                results[name] = fn()
            except Exception as exc:   # a check must report, never crash the doctor
                results[name] = Check(name, "fail", f"the check itself failed: {exc!r}", "see the log", True)
        thread = threading.Thread(target=run, name=f"doctor-{name}")
        thread.start()
        threads.append(thread)
    quick: list[tuple[str, Callable[[], Check], bool]] = [
        ("encoders", lambda: check_encoders(config), True), ("disk", lambda: check_disk(config, data), True),
        ("database", lambda: check_database(data), True), ("clock", lambda: check_clock(data), True),
        ("sync", lambda: check_sync(config), False), ("transcripts", lambda: check_transcripts(config), False),
        ("autostart", check_autostart, False), ("config", lambda: check_config_file(config), False),
        ("privacy", lambda: check_privacy(config, data), False)]
    for name, fn, blocks in quick:
        try:
            results[name] = fn()
        except Exception as exc:
            results[name] = Check(name, "fail", f"the check itself failed: {exc!r}", "see the log", blocks)
    for thread in threads:
        thread.join()
    order = ["camera", "microphone", "encoders", "disk", "database", "clock", "sync", "transcripts", "autostart",
             "config", "privacy"]
    return [results[name] for name in order]


def report(checks: list[Check]) -> dict:
    return {"version": __version__, "ok": not any(c.failed_blocking for c in checks),
            "checks": [asdict(c) for c in checks]}
