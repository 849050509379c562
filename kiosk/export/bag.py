"""Export sessions as a BagIt bag (RFC 8493) to a folder, typically a USB stick.

The bag:

    kiosk-export-20261125T013000/
      bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
      data/sessions.csv
      data/sessions/<date>_<uuid8>/session.json      (seed metadata + events + file hashes; .age when sealed)
      data/sessions/<date>_<uuid8>/<recording files>  (with each take's signed .manifest.json and .sig)

How it stays trustworthy:
- It is written under a temporary name (``.kiosk-export-...-pid<PID>.partial``) in the target and renamed only after
  every file was fsync'ed and read back from the device (page cache dropped) against the manifest. A crash or a kill
  leaves only the temporary name; the next export into that target removes such leftovers of dead processes.
- Space is checked before the first byte (payload rounded up to the file system's blocks, plus a margin); a target
  with too little room is refused with the figures.
- Every name that reaches the disk goes through `safe_component` (no separators, no `..`, no control characters or
  NUL, nothing FAT/exFAT/NTFS refuse, at most 100 UTF-8 bytes), and every destination is checked to lie inside the
  bag before it is opened; files are created exclusively, never overwritten.
- Sources are hashed while they are copied (one read); the copy is then verified by reading it back.
- Private: files 0600 and folders 0700 where the file system has modes (FAT has none: the result says so).

The engine (`export_bag`) takes plain `ExportSession` objects and knows nothing of the database;
kiosk.export.service wires it to kiosk.db and the interview document (kiosk.sessions.document).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from kiosk import __version__
from kiosk.export.targets import FAT_TYPES, fat_limit_problem, filesystem_type, free_bytes
from kiosk.privacy.files import fsync_dir

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
MAX_COMPONENT_BYTES = 100          # well under the 255 of ext4/FAT/exFAT/NTFS, leaves room for suffixes
SPACE_MARGIN_BYTES = 2 * 1024 * 1024
PROGRESS_INTERVAL_S = 0.1
BAG_PREFIX = "kiosk-export-"
_PARTIAL_RE = re.compile(r"^\.kiosk-export-.*-pid(\d+)\.partial$")
_FORBIDDEN = set('/\\:*?"<>|%')    # separators, what FAT/NTFS refuse, and % (BagIt manifests escape it)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
CSV_FIELDS = ("uuid", "code", "candidate", "started_at", "ended_at", "duration_s", "status", "sync_state",
              "folder", "files", "bytes")


class ExportError(RuntimeError):
    """The export could not be made; the message says what is wrong and the fix."""


class ExportCancelled(ExportError):
    """Cancelled by the admin (or a signal); nothing is left under the final name."""


@dataclass(frozen=True)
class ExportFile:
    source: Path
    name: str                      # wished-for file name in the bag (sanitised before use)


@dataclass
class ExportSession:
    uuid: str
    label: str                     # folder name hint, e.g. "2026-11-24" (never personal data)
    document: dict[str, Any]       # written as session.json (seed metadata + events)
    row: dict[str, Any]            # its line in sessions.csv (keys from CSV_FIELDS)
    files: list[ExportFile] = field(default_factory=list)
    # Encrypts session.json (written as session.json.age) when the kiosk encrypts at rest; None: plain.
    seal: Callable[[bytes], bytes] | None = None


@dataclass(frozen=True)
class ExportProgress:
    phase: str                     # "copy", "verify", "done"
    done_bytes: int                # work done: bytes copied + bytes verified
    total_bytes: int               # twice the bytes to export (each is written once and read back once)
    elapsed_s: float
    eta_s: float | None            # None until the rate is known
    current: str = ""              # bag-relative path being worked on

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0

    @property
    def payload_bytes(self) -> int:
        """Bytes of recordings in the export."""
        return self.total_bytes // 2

    @property
    def phase_bytes(self) -> int:
        """Bytes done in the current phase: copied so far, or checked so far."""
        if self.phase == "copy":
            return min(self.done_bytes, self.payload_bytes)
        return max(0, min(self.done_bytes - self.payload_bytes, self.payload_bytes))


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sessions: int
    files: int
    payload_bytes: int
    seconds: float
    verified: bool
    modes: str = ""                # what protects the files on the target from other users (see modes_note)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "sessions": self.sessions, "files": self.files,
                "payload_bytes": self.payload_bytes, "seconds": round(self.seconds, 3), "verified": self.verified,
                "modes": self.modes}


ProgressCallback = Callable[[ExportProgress], None]


# --------------------------------------------------------------------------------------------------------- names
def safe_component(name: str, max_bytes: int = MAX_COMPONENT_BYTES, keep_suffix: bool = False) -> str:
    """One path component that is safe on ext4, FAT, exFAT and NTFS and cannot leave its folder."""
    text = unicodedata.normalize("NFC", str(name))
    out = []
    for ch in text:
        if ch in _FORBIDDEN:
            out.append("_")
        elif unicodedata.category(ch)[0] in "CZ" and ch != " ":   # control, format, NUL, odd spaces, line breaks
            out.append(" " if unicodedata.category(ch)[0] == "Z" else "")
        else:
            out.append(ch)
    text = re.sub(r" {2,}", " ", "".join(out)).strip(" .")
    suffix = ""
    if keep_suffix:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= 8 and ext.isalnum():
            text, suffix = stem.rstrip(" ."), "." + ext
    budget = max(8, max_bytes - len(suffix.encode()))
    encoded = text.encode("utf-8")
    if len(encoded) > budget:
        text = encoded[:budget].decode("utf-8", errors="ignore").rstrip(" .")
    if not text:
        text = "unnamed"
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return unicodedata.normalize("NFC", text + suffix)


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`... (case-insensitively unique: FAT and NTFS fold case)."""
    stem, dot, ext = name.rpartition(".") if "." in name[1:] else (name, "", "")
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    taken.add(candidate.casefold())
    return candidate


def _inside(root: Path, path: Path) -> Path:
    """`path` if it resolves inside `root`; refuses anything else (the last line of defence for names)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise ExportError(f"refused to write {path}: it is outside the export folder {root}")
    return path


SESSION_FOLDER_BYTES = 64    # keeps bag paths under Windows' 260 characters when the bag is copied on


def session_folder(session: ExportSession) -> str:
    """`<label>_<uuid8>` (the service's label is the date); a long label is shortened, the uuid part always stays."""
    tail = safe_component(session.uuid[:8]) if session.uuid else "session"
    if not session.label:
        return tail
    head = safe_component(session.label, max_bytes=SESSION_FOLDER_BYTES - len(tail.encode()) - 1)
    return f"{head}_{tail}"


# --------------------------------------------------------------------------------------------------------- space
def required_bytes(payload_sizes: Iterable[int], block: int, tag_bytes: int = 0) -> int:
    """Bytes the bag will occupy: every file rounded up to whole blocks, plus tag files and a margin."""
    block = max(512, block)
    total = sum(-(-size // block) * block for size in payload_sizes)
    return total + -(-tag_bytes // block) * block + SPACE_MARGIN_BYTES



# --------------------------------------------------------------------------------------------------------- writing
class _Meter:
    """Progress with a rate and time left, reported at most every PROGRESS_INTERVAL_S."""

    def __init__(self, total: int, callback: ProgressCallback | None, cancel: threading.Event | None) -> None:
        self.total, self.done, self.callback, self.cancel = total, 0, callback, cancel
        self.start = time.monotonic()
        self._last = 0.0
        self.phase, self.current = "copy", ""

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise ExportCancelled("Export cancelled; nothing was left on the target.")

    def add(self, n: int, force: bool = False) -> None:
        self.done += n
        self.check_cancel()
        now = time.monotonic()
        if self.callback is not None and (force or now - self._last >= PROGRESS_INTERVAL_S):
            self._last = now
            self.callback(self.snapshot())

    def snapshot(self) -> ExportProgress:
        elapsed = time.monotonic() - self.start
        eta = (self.total - self.done) * elapsed / self.done if self.done and elapsed > 0.2 else None
        return ExportProgress(self.phase, self.done, self.total, elapsed, eta, self.current)


def _drop_cache(fd: int) -> None:
    # After fsync: make the read-back come from the device, not from memory.
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


# File systems without Unix modes: chmod fails or is ignored there, and every user can read every file.
MODELESS_TYPES = FAT_TYPES + ("exfat", "ntfs", "ntfs3", "fuseblk")


def modes_note(fstype: str) -> str:
    """What the export report says about who can read the bag's files."""
    if fstype in MODELESS_TYPES:
        return (f"{fstype} has no file permissions: anyone with the stick can read what is not encrypted (set "
                f"privacy.recipients so recordings and session.json are sealed)")
    return "files 0600, folders 0700 (only this kiosk's user)"


def _write_file(dest: Path, chunks: Iterable[bytes], meter: _Meter | None) -> tuple[str, int]:
    """Create `dest` exclusively (0600 where the file system has modes), write, fsync; returns (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
            if meter is not None:
                meter.add(len(chunk))
        out.flush()
        os.fsync(out.fileno())
        _drop_cache(out.fileno())
    return digest.hexdigest(), size


def _read_chunks(path: Path) -> Iterable[bytes]:
    try:
        with open(path, "rb") as src:
            while chunk := src.read(CHUNK):
                yield chunk
    except OSError as exc:
        # The kiosk's own disk, not the target: say so.
        raise ExportError(f"Reading the recording {path} failed ({exc.strerror or exc}). Fix: check the kiosk's "
                          f"disk (kiosk doctor); leave this session out to export the others.") from None


def _hash_file(path: Path, meter: _Meter | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as src:
        _drop_cache(src.fileno())
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if meter is not None:
                meter.add(len(chunk))
    return digest.hexdigest(), size


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with = + - @ as a formula: a hostile name must stay text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-?\d+(\.\d+)?", text):
        text = "'" + text
    return text.replace("\x00", "")


def sessions_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in CSV_FIELDS})
    return buf.getvalue().encode("utf-8-sig")   # the BOM makes spreadsheet programs read UTF-8 names right


def clean_stale_partials(target: Path) -> list[Path]:
    """Remove `.kiosk-export-*.partial` folders whose exporting process is gone (a crash or a kill)."""
    removed = []
    try:
        entries = list(os.scandir(target))
    except OSError:
        return removed
    for entry in entries:
        match = _PARTIAL_RE.match(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
            continue                          # still exporting (or the pid was reused): leave it
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        log.info("removed an interrupted export left behind: %s", entry.path)
        removed.append(Path(entry.path))
    return removed


def _final_name(target: Path, now: dt.datetime) -> str:
    base = BAG_PREFIX + now.strftime("%Y%m%dT%H%M%S")
    name, n = base, 1
    while (target / name).exists() or (target / name).is_symlink() or \
            (target / f".{name}-pid{os.getpid()}.partial").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def export_bag(sessions: Sequence[ExportSession], target: Path, *, progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None, bag_info: dict[str, str] | None = None,
               now: dt.datetime | None = None) -> ExportResult:
    """Write `sessions` as one verified BagIt bag in the existing folder `target`; returns where it is.

    Raises ExportError (too little space, target missing or failing) or ExportCancelled; in both cases nothing is
    left under the final name and the temporary folder is removed.
    """
    started = time.monotonic()
    target = Path(target)
    if not target.is_dir():
        raise ExportError(f"The export target {target} is not a folder that exists. "
                          f"Fix: plug in the USB stick and pick its folder (it must be mounted).")
    if not os.access(target, os.W_OK | os.X_OK):
        raise ExportError(f"The export target {target} is not writable. Fix: pick another folder or check the "
                          f"stick's write-protect switch.")
    if not sessions:
        raise ExportError("No sessions to export. Fix: pick at least one session or widen the date range.")
    clean_stale_partials(target)

    # Plan every name before writing anything.
    folders: set[str] = set()
    plan: list[tuple[ExportSession, str, list[tuple[ExportFile, str, int]]]] = []
    for session in sessions:
        folder = _unique(session_folder(session), folders)
        names: set[str] = {"session.json", "session.json.age"}
        files = []
        for f in session.files:
            try:
                size = f.source.stat().st_size
            except OSError as exc:
                raise ExportError(f"The recording {f.source} of session {session.uuid} cannot be read "
                                  f"({exc.strerror}). Fix: run 'kiosk recover' or leave that session out.") from None
            files.append((f, _unique(safe_component(f.name, keep_suffix=True), names), size))
        plan.append((session, folder, files))
    payload_total = sum(size for _, _, files in plan for _, _, size in files)
    json_estimate = sum(len(json.dumps(s.document, ensure_ascii=False, default=str)) * 2 + 4096 for s in sessions)

    fstype = filesystem_type(target)
    problem = fat_limit_problem(fstype, (size for _, _, files in plan for _, _, size in files))
    if problem:
        raise ExportError(problem)
    free, block = free_bytes(target)
    needed = required_bytes([size for _, _, files in plan for _, _, size in files], block,
                            json_estimate + 200 * len(sessions) + 64 * 1024)
    if needed > free:
        raise ExportError(f"Not enough space on {target}: the export needs {_mb(needed)} and {_mb(free)} are free. "
                          f"Fix: use a larger stick, free space on it, or export fewer sessions.")

    now = now or dt.datetime.now().astimezone()
    final_name = _final_name(target, now)
    temp = target / f".{final_name}-pid{os.getpid()}.partial"
    meter = _Meter(2 * payload_total, progress, cancel)
    try:
        temp.mkdir(mode=0o700)
        payload: list[tuple[str, str, int]] = []       # (bag-relative path, sha256, bytes)
        rows = []
        for session, folder, files in plan:
            meter.check_cancel()
            folder_path = _inside(temp, temp / "data" / "sessions" / folder)
            for folder_part in (temp / "data", temp / "data" / "sessions", folder_path):
                folder_part.mkdir(mode=0o700, exist_ok=folder_part != folder_path)
            entries = []
            for f, name, _ in files:
                rel = f"data/sessions/{folder}/{name}"
                meter.current = rel
                sha, size = _write_file(_inside(temp, folder_path / name), _read_chunks(f.source), meter)
                payload.append((rel, sha, size))
                entries.append({"path": rel, "original_name": f.name, "sha256": sha, "bytes": size})
            document = {**session.document, "export": {"folder": f"data/sessions/{folder}", "files": entries}}
            blob = (json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
            document_name = "session.json" if session.seal is None else "session.json.age"
            if session.seal is not None:
                blob = session.seal(blob)
            rel = f"data/sessions/{folder}/{document_name}"
            sha, size = _write_file(_inside(temp, folder_path / document_name), [blob], None)
            payload.append((rel, sha, size))
            rows.append({**session.row, "uuid": session.uuid, "folder": f"sessions/{folder}",
                         "files": len(entries), "bytes": sum(e["bytes"] for e in entries)})
        blob = sessions_csv(rows)
        sha, size = _write_file(_inside(temp, temp / "data" / "sessions.csv"), [blob], None)
        payload.append(("data/sessions.csv", sha, size))

        # Tag files.
        tags: list[tuple[str, str, int]] = []
        tags.append(("bagit.txt",) + _write_file(temp / "bagit.txt",
                                                 [b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"], None))
        info = {
            "Bag-Software-Agent": f"kiosk-interview-recorder {__version__}",
            "Bagging-Date": now.date().isoformat(),
            "Bagging-Time": now.isoformat(timespec="seconds"),
            "Payload-Oxum": f"{sum(p[2] for p in payload)}.{len(payload)}",
            "Internal-Sender-Identifier": socket.gethostname(),
            "External-Description": f"{len(sessions)} interview session(s) exported from the recording kiosk",
            **(bag_info or {}),
        }
        info_text = "".join(f"{k}: {_tag_value(v)}\n" for k, v in info.items())
        tags.append(("bag-info.txt",) + _write_file(temp / "bag-info.txt", [info_text.encode("utf-8")], None))
        manifest = "".join(f"{sha}  {rel}\n" for rel, sha, _ in sorted(payload))
        tags.append(("manifest-sha256.txt",) + _write_file(temp / "manifest-sha256.txt",
                                                           [manifest.encode("utf-8")], None))
        tagmanifest = "".join(f"{sha}  {rel}\n" for rel, sha, _ in tags)
        _write_file(temp / "tagmanifest-sha256.txt", [tagmanifest.encode("utf-8")], None)
        for directory in sorted({p.parent for p in temp.rglob("*")}, key=lambda p: -len(p.parts)):
            fsync_dir(directory)

        # Read everything back from the device against the manifests.
        meter.phase = "verify"
        problems = verify_bag(temp, meter=meter)
        if problems:
            raise ExportError("The copy on the target does not match the recordings: " + "; ".join(problems[:5]) +
                              ". Fix: the stick may be failing; use another one.")
        meter.check_cancel()
        os.rename(temp, target / final_name)
        fsync_dir(target)
    except ExportCancelled:
        _remove_partial(temp)
        log.info("export to %s cancelled", target)
        raise
    except OSError as exc:
        _remove_partial(temp)
        raise ExportError(f"Writing to {target} failed: {exc.strerror or exc}. Fix: check that the stick is still "
                          f"plugged in and not full, then export again.") from exc
    except BaseException:
        _remove_partial(temp)
        raise
    meter.phase, meter.current = "done", ""
    meter.add(0, force=True)
    files = sum(len(f) for _, _, f in plan)
    result = ExportResult(target / final_name, len(sessions), files, payload_total, time.monotonic() - started, True,
                          modes_note(fstype))
    log.info("exported %d session(s), %d file(s), %s to %s in %.1f s", result.sessions, files, _mb(payload_total),
             result.path, result.seconds)
    return result


def _tag_value(value: Any) -> str:
    return " ".join(str(value).split())       # one line, no control characters


def _remove_partial(temp: Path) -> None:
    if temp.exists():
        shutil.rmtree(temp, ignore_errors=True)
        if temp.exists():
            log.warning("could not remove the unfinished export %s; delete it by hand", temp)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def verify_bag(bag: Path, meter: _Meter | None = None) -> list[str]:
    """Check every payload and tag file against its sha256 manifest, and that no payload file is missing or extra.

    Returns the problems (empty: the bag is complete and intact)."""
    bag = Path(bag)
    problems = []
    listed: set[str] = set()
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        try:
            lines = (bag / manifest).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            return [f"{manifest} cannot be read ({exc.strerror})"]
        for line in lines:
            if not line.strip():
                continue
            sha, _, rel = line.partition("  ")
            path = bag / rel
            if manifest.startswith("manifest"):
                listed.add(rel)
            try:
                _inside(bag, path)
                if meter is not None:
                    meter.current = rel
                actual, _ = _hash_file(path, meter if manifest.startswith("manifest") and rel.startswith(
                    "data/sessions/") and not rel.endswith(("/session.json", "/session.json.age")) else None)
            except ExportError:
                problems.append(f"{rel}: outside the bag")
                continue
            except FileNotFoundError:
                problems.append(f"{rel}: missing")
                continue
            if actual != sha:
                problems.append(f"{rel}: checksum differs")
    present = {p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()}
    problems += [f"{rel}: not in the manifest" for rel in sorted(present - listed)]
    return problems
