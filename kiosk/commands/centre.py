"""`kiosk centre report --s3 s3://BUCKET --endpoint URL | --dir DIR [--allowed-signers FILE] [--json]`: what the booths' uploads in the centre's
tus store amount to, per booth (see kiosk/centre/report.py)."""

from __future__ import annotations

import argparse
import json
import sys

from pathlib import Path

from kiosk.centre.report import build_report, load_allowed_signers, report_lines
from kiosk.centre.stores import DirStore, S3Store, StoreError
from kiosk.privacy import PrivacyError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "centre", help="at the centre: report what the booths uploaded (per booth: last seen, sessions arrived and "
                       "verified, what a booth holds that has not arrived, incomplete uploads)",
        description="Reads the tus server's store directly (not through the server). Runs at the centre, not on a "
                    "booth; needs no kiosk database.")
    actions = parser.add_subparsers(dest="centre_action", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="per booth: last seen, sessions arrived and verified (sha256 "
                                "against the upload metadata), sessions queued on a booth that have not arrived, "
                                "uploads left incomplete; exit 1 when anything is missing or unverified")
    where = report.add_mutually_exclusive_group(required=True)
    where.add_argument("--s3", metavar="s3://BUCKET[/PREFIX]", help="the bucket of @tus/s3-store or tusd -s3-bucket "
                       "(credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws; needs the [centre] extra)")
    where.add_argument("--dir", metavar="DIR", help="the directory of @tus/file-store or tusd -upload-dir")
    report.add_argument("--endpoint", metavar="URL", default="", help="the S3 endpoint for MinIO, Ceph and other "
                        "S3-compatible stores (default: AWS)")
    report.add_argument("--allowed-signers", metavar="FILE", help="the booths' public keys (`kiosk keys show "
                        "--allowed-signers` on each booth, one line each): every recording must then carry a "
                        "manifest signed with its booth's key")
    report.add_argument("--json", action="store_true", help="print the report as one JSON object (for monitoring)")
    report.set_defaults(func=_report)


def _report(args, ctx) -> int:
    if args.endpoint and not args.s3:
        print("kiosk: --endpoint is for --s3. Fix: drop it, or use --s3 s3://BUCKET.", file=sys.stderr)
        return EXIT_USAGE
    try:
        signers = load_allowed_signers(Path(args.allowed_signers).read_text(encoding="utf-8")) \
            if args.allowed_signers else None
    except (OSError, UnicodeError) as exc:
        print(f"kiosk: {args.allowed_signers} cannot be read ({exc}). Fix: give the allowed_signers file.",
              file=sys.stderr)
        return EXIT_USAGE
    except PrivacyError as exc:
        print(f"kiosk: {args.allowed_signers}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = S3Store(args.s3, args.endpoint) if args.s3 else DirStore(args.dir)
        report = build_report(store, signers=signers)
    except StoreError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("\n".join(report_lines(report)))
    return EXIT_OK if report["ok"] else EXIT_PROBLEMS
