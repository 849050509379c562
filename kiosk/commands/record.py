"""`kiosk record`: record headless for a duration and end with the metadata.

    kiosk record --out take.webm --duration 10 --camera demo --mic demo --json

With --json, stdout carries one JSON object per line: {"event": "started", ...} as soon as the first frame is on disk,
events such as camera.lost / mic.back as they happen, and the metadata object as the last line. Ctrl+C or SIGTERM stop
cleanly and finalize.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path

from kiosk.config import Size
from kiosk.media import naming, profiles

REPORTED_EVENTS = ("recording.started", "recording.failed", "camera.", "mic.", "disk.low", "encoder.")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("record", help="record headless to a file and print its metadata")
    parser.add_argument("--out", metavar="PATH", help="the file to write (never overwritten; the extension follows "
                        "the codec actually used). Default: a new name under the data dir's recordings folder")
    parser.add_argument("--duration", metavar="SECONDS", type=float, default=None,
                        help="stop after this much recorded time (default: until Ctrl+C or SIGTERM)")
    parser.add_argument("--camera", metavar="SPEC", help="demo, a device index, a video file or a URL "
                        "(default: the camera.spec setting)")
    parser.add_argument("--mic", metavar="SPEC", help="demo, default, a device index or name, or none "
                        "(default: the mic.spec setting)")
    parser.add_argument("--profile", choices=list(profiles.PROFILES), help="container and codecs "
                        "(default: the recording.profile setting)")
    parser.add_argument("--size", metavar="WxH", help="video size, e.g. 1280x720 (default: camera.size)")
    parser.add_argument("--fps", type=float, help="frame rate (default: camera.fps)")
    parser.add_argument("--uuid", help="the interview uuid in the file name and metadata (default: a new one)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    parser.set_defaults(func=run)


def _size(text: str) -> tuple[int, int]:
    try:
        return tuple(Size.parse(text))
    except ValueError as exc:
        raise ValueError(f"--size {text!r}: {exc}") from None


def run(args, ctx) -> int:
    from kiosk.capture import sources
    from kiosk.recorder import Recorder, RecorderError, RecorderSettings

    def say(obj: dict) -> None:
        if args.json:
            print(json.dumps(obj), flush=True)

    def tell(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    settings = RecorderSettings.from_config(ctx.config)
    try:
        if args.profile:
            settings.profile = args.profile
        if args.size:
            settings.size = _size(args.size)
        if args.fps:
            if not 1 <= args.fps <= 120:
                raise ValueError(f"--fps {args.fps:g}: use 1 to 120")
            settings.fps = float(args.fps)
        if args.duration is not None and args.duration <= 0:
            raise ValueError(f"--duration {args.duration:g}: give a positive number of seconds")
        profile = profiles.get(settings.profile)
        camera_spec = args.camera or ctx.config["camera.spec"]
        mic_spec = args.mic or ctx.config["mic.spec"]
        video = None
        if profile.has_video and camera_spec.lower() != "none":
            video = sources.open_camera(camera_spec, settings.size, settings.fps,
                                        ctx.config["camera.open_timeout_s"], ctx.config["camera.read_timeout_s"])
        audio = sources.open_microphone(mic_spec, settings.audio_rate, settings.channels)
    except ValueError as exc:
        tell(f"kiosk record: {exc}")
        return 2
    if isinstance(video, sources.AutoCamera) and video.camera is None:
        tell(f"kiosk record: {sources.NO_CAMERA} (camera 'auto' looked at indices {sources.PROBE_INDICES[0]}.."
             f"{sources.PROBE_INDICES[-1]}). Fix: connect a camera, give --camera with its index or URL (see 'kiosk "
             f"devices'), or --camera demo for a test pattern.")
        return 1
    if video is None and audio is None:
        tell("kiosk record: nothing to record (no camera for this profile and --mic none). "
             "Fix: give --mic or a video profile with --camera.")
        return 2
    # One uuid for the file name, the metadata and the session (two random ones would not match).
    args.uuid = args.uuid or str(uuid.uuid4())
    out = Path(args.out) if args.out else naming.recording_path(ctx.data, args.uuid, settings.profile)

    recorder = Recorder(video, audio, settings)
    started = threading.Event()
    stop = threading.Event()
    failed: list[str] = []

    held: list[dict] = []      # events before the take started: printed after the "started" line, which comes first
    lock = threading.Lock()    # events arrive on several engine threads

    def on_event(event) -> None:
        with lock:
            if event.kind == "recording.started":
                say({"event": "started", **event.data})
                for line in held:
                    say(line)
                held.clear()
                started.set()
                return
            if event.kind == "recording.failed":
                failed.append(event.data.get("error", ""))
                stop.set()
            if event.kind == "disk.low":
                stop.set()
            if event.kind.startswith(REPORTED_EVENTS):
                if not started.is_set():
                    held.append(event.to_json())
                else:
                    say(event.to_json())
                if not args.json:
                    tell(f"{event.kind}: {event.data}")

    recorder.bus.subscribe(on_event)

    def on_signal(signum, frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        recorder.open()
        try:
            recorder.start_take(out, interview_uuid=args.uuid, wait=True)
        except RecorderError as exc:
            tell(f"kiosk record: {exc}")
            return 1
        tell(f"recording to {recorder._take.path if recorder._take else out} "
             f"({'until Ctrl+C' if args.duration is None else f'{args.duration:g} s'})")
        while not stop.is_set():
            if args.duration is not None and recorder.status()["elapsed_s"] >= args.duration:
                break
            stop.wait(0.02)
        if not started.is_set():
            started.wait(2.0)
        future = recorder.stop_take()
        result = future.result()
    finally:
        recorder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:  # best-effort: the take is safe on disk; a database problem must not fail or lose it
        from kiosk.sessions import SessionStore
        store = SessionStore.open(ctx.data, ctx.config)
        kept = store.register_cli_take(result.metadata)
        # Sealed to privacy.recipients by now: name the file that is on disk (<take>.age).
        result.metadata["recording_path"] = store.get(kept.uuid).recording_path or result.metadata["recording_path"]
    except Exception as exc:
        later = ("the next start adopts it (or now: 'kiosk sessions recover')" if ctx.data.recordings.resolve() in
                 out.resolve().parents else f"to register it, move it into {ctx.data.recordings} and run "
                 f"'kiosk sessions recover'")
        logging.getLogger("kiosk.record").error("the take is kept, but it could not be registered as a session "
                                                "(template 'cli') now: %s; %s", exc, later)
    for line in held:          # the take never got its first frame on disk: still report what happened
        say(line)
    say(result.metadata)
    if not args.json:
        m = result.metadata
        tell(f"{m['state']}: {m['recording_path']} {m['duration']:.2f} s, {m['file_size']} bytes, "
             f"{m.get('video_codec')}/{m.get('audio_codec')}, {m.get('frames_written')} frames "
             f"({m.get('frames_dropped')} dropped), sha256 {m.get('sha256', '-')}")
    return 0 if result.ok and not failed else 1
