"""What goes into and comes out of tus headers, strictly: a server's answer with its body read to a cap (`Answer`),
Upload-Metadata encoding, numbers and name lists parsed with bounds (None when malformed; kiosk.sync.tus turns that
into an error naming the server and the header), and the URL rules (origin, loopback, URLs safe to print)."""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

MAX_DIGITS = 19                 # an offset or length of up to 19 ASCII digits (< 10 EB)
MAX_LIST_HEADER = 1024          # Tus-Version, Tus-Extension, Tus-Checksum-Algorithm
MAX_LOCATION = 2048
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")      # ASCII only: "²" or "٣" are digits to str.isdigit()
_NAME = re.compile(r"[A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class Answer:
    """A server's answer with its body read up to a cap (the connection is dropped when more was coming)."""

    status: int
    reason: str
    headers: CaseInsensitiveDict
    body: bytes

    def first_line(self) -> str:
        """The body's first line, printable and short, for an error message."""
        text = self.body.decode("utf-8", "replace").strip()
        line = text.splitlines()[0] if text else ""
        return printable(line[:200])


def parse_int(raw: str) -> int | None:
    """A non-negative number of at most MAX_DIGITS ASCII digits; None for anything else."""
    value = raw.strip()
    return int(value) if _DIGITS.fullmatch(value) else None


def parse_list(raw: str) -> list[str] | None:
    """A comma-separated list of names (versions, extensions, algorithms); None when too long or malformed."""
    items = [part.strip() for part in raw.split(",") if part.strip()]
    if len(raw) > MAX_LIST_HEADER or not all(_NAME.fullmatch(item) for item in items):
        return None
    return items


def encode_metadata(metadata: Mapping[str, object]) -> str:
    """Upload-Metadata: comma-separated `key base64(value)` pairs; None values are left out."""
    parts = []
    for key, value in metadata.items():
        if not key or any(c in key for c in " ,") or not key.isascii():
            raise ValueError(f"metadata key {key!r} must be ASCII without spaces or commas")
        if value is None:
            continue
        parts.append(f"{key} {base64.b64encode(str(value).encode('utf-8')).decode('ascii')}")
    return ",".join(parts)


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port (default ports filled in); False for anything unparsable."""
    try:
        pa, pb = urlsplit(a), urlsplit(b)
        default = {"http": 80, "https": 443}
        return ((pa.scheme, (pa.hostname or "").lower(), pa.port or default.get(pa.scheme))
                == (pb.scheme, (pb.hostname or "").lower(), pb.port or default.get(pb.scheme)))
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """A URL without any user:password part, for messages."""
    try:
        parts = urlsplit(url)
        if parts.username or parts.password:
            netloc = parts.hostname or ""
            if parts.port:
                netloc += f":{parts.port}"
            parts = parts._replace(netloc=netloc)
        return parts.geturl()
    except ValueError:
        return printable(url[:80])


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)
