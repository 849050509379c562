"""`kiosk keys show [--allowed-signers] [--json]`: the kiosk's public signing key, for the centre to pin.

    kiosk keys show                      # ssh-ed25519 AAAA… kiosk-id
    kiosk keys show --allowed-signers    # kiosk-id namespaces="kiosk-session" ssh-ed25519 AAAA…  (ssh-keygen -Y verify)
"""

from __future__ import annotations

import argparse
import json
import sys

from kiosk.privacy import PrivacyError, signing


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("keys", help="the kiosk's signing key (its public half, for the centre to pin)")
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the public key as an OpenSSH line (made at first start)")
    show.add_argument("--allowed-signers", action="store_true",
                      help="print the line for an allowed_signers file (ssh-keygen -Y verify -f FILE)")
    show.add_argument("--json", action="store_true", help="one JSON object: public_key, allowed_signers, "
                                                          "fingerprint, namespace")
    show.set_defaults(func=_show)


def _show(args, ctx) -> int:
    try:
        key = signing.for_kiosk(ctx.data, ctx.config)
    except PrivacyError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"public_key": key.public_line, "allowed_signers": key.allowed_signers_line,
                          "fingerprint": key.fingerprint, "namespace": signing.NAMESPACE,
                          "kiosk_id": key.kiosk_id}))
    else:
        print(key.allowed_signers_line if args.allowed_signers else key.public_line)
    return 0
