"""`kiosk recover [PATH ...] [--json]`: repair cut-off takes in place and report what survived.

    kiosk recover                      # every cut-off take under the data dir
    kiosk recover take.webm --json     # just this one; one JSON object per take

A take is cut off when its journal ``<file>.recording`` exists and no recording process holds its lock. The repaired
file (stream-copy remux: duration, cues, chapters from the journal) takes the original's path once it is verified.
A take cut off before its first frame reached the disk is reported as "no frame was recorded" (state "empty"): the
file (a header at most) is kept, its sidecar says so, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("recover", help="repair recordings that were cut off (crash, kill, power loss)")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="recordings to repair (default: every cut-off take under the data dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object per take on stdout")
    parser.set_defaults(func=run)


def run(args, ctx) -> int:
    from kiosk.media import finalize

    if not args.paths:
        finalize.remove_scratch(ctx.data.recordings)
    paths = [Path(p) for p in args.paths] if args.paths else finalize.find_cut_off(ctx.data.recordings)
    if not paths and not args.json:
        print(f"no cut-off recordings under {ctx.data.recordings}")
    ok = True
    for path in paths:
        result = finalize.recover(path)
        # A take cut off before its first frame reached the disk is settled ("empty"), not a failure.
        ok = ok and result.state in ("recovered", "empty")
        if args.json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            print({"recovered": "recovered ", "empty": "nothing recorded: "}.get(result.state, "NOT recovered ")
                  + result.message, flush=True)
    return 0 if ok else 1
