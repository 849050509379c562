"""`kiosk stats [--json]`: count, total and mean duration, success rate, bytes on disk, failures by cause.

    kiosk stats
    kiosk stats --json | jq .success_rate
"""

from __future__ import annotations

import argparse
import json

from kiosk.commands.sessions import open_store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stats", help="interview statistics: count, durations, success rate, disk, failures")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(func=run)


def run(args, ctx) -> int:
    store = open_store(ctx)
    if store is None:
        return 1
    from kiosk.sessions import queries

    stats = queries.statistics(ctx.data, ctx.config).to_json()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    rate = f"{stats['success_rate'] * 100:.1f} %" if stats["success_rate"] is not None else "-"
    mean = f"{stats['mean_duration_s'] / 60:.1f} min" if stats["mean_duration_s"] is not None else "-"
    print(f"interviews:      {stats['count']} ({', '.join(f'{k} {v}' for k, v in stats['by_status'].items()) or '-'})")
    print(f"total recorded:  {stats['total_duration_s'] / 3600:.2f} h")
    print(f"mean length:     {mean}")
    print(f"success rate:    {rate} of {stats['finished']} finished")
    print(f"on disk:         {stats['bytes_on_disk'] / 1e6:.1f} MB in {stats['recordings']} recording(s)")
    if stats["failures_by_cause"]:
        print("failures by cause:")
        for cause, count in stats["failures_by_cause"].items():
            print(f"  {count:5}  {cause}")
    return 0
