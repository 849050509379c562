"""`kiosk doctor [--json]`: can this machine record a candidate now? Exit 1 when something blocks recording."""

from __future__ import annotations

import argparse
import json

from kiosk import doctor

SYMBOL = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check camera, microphone, encoders, disk, database, clock, sync, "
                                           "autostart, kiosk.toml's mode, privacy; exit 1 when something blocks "
                                           "recording")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)


def _run(args, ctx) -> int:
    checks = doctor.run_all(ctx.config, ctx.data)
    result = doctor.report(checks)
    if args.json:
        print(json.dumps(result))
    else:
        for check in checks:
            print(f"[{SYMBOL[check.status]}] {check.name:<10} {check.detail}")
            if check.fix and check.status != "ok":
                print(f"{'':18}fix: {check.fix}")
        print("ready to record" if result["ok"] else "NOT ready to record: fix the FAIL lines above")
    return 0 if result["ok"] else 1
