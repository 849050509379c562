"""`kiosk devices [--json]`: the cameras and microphones this machine can open, and the spec to use for each."""

from __future__ import annotations

import argparse
import json

from kiosk.capture.sources import PROBE_INDICES, list_devices


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("devices", help="list the cameras and microphones that can be opened")
    parser.add_argument("--json", action="store_true", help="print one JSON object {cameras: [...], microphones: [...]}")
    parser.set_defaults(func=run)


def run(args, ctx) -> int:
    devices = list_devices()
    if args.json:
        print(json.dumps(devices))
        return 0
    print("Cameras (camera.spec):")
    if devices["cameras"]:
        for camera in devices["cameras"]:
            print(f"  {camera['spec']:>3}  {camera['name']} via {camera['backend']}: "
                  f"{camera['width']}x{camera['height']} @ {camera['fps']:g}")
    else:
        print(f"  none at indices {PROBE_INDICES[0]}..{PROBE_INDICES[-1]}; "
              f"use 'demo', a video file or a network camera URL")
    print("Microphones (mic.spec; * = the default):")
    if devices["microphones"]:
        for mic in devices["microphones"]:
            mark = "*" if mic["default"] else " "
            print(f"{mark} {mic['spec']:>3}  {mic['name']} ({mic['hostapi']}, {mic['channels']} ch, "
                  f"{mic['default_rate']:g} Hz)")
    else:
        print("  none; check the sound server and the cable, or use 'demo' or 'none'")
    print(f"Current settings: camera.spec = {ctx.config['camera.spec']!r}, mic.spec = {ctx.config['mic.spec']!r}")
    return 0
