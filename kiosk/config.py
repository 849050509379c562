"""Every setting of the kiosk, declared once: name, type, default, help.

The file is ``kiosk.toml`` in the config dir (``--config FILE`` or ``KIOSK_CONFIG`` override it). Keys are dotted
``section.name``; a TOML table ``[camera]`` with ``spec = "0"`` sets ``camera.spec``. Unknown keys, wrong types and
out-of-range values are refused at start with an error that names the file, the key and the fix.
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from kiosk import bounded_parse
from kiosk.paths import resolve_config_file

MAX_FILE_BYTES = 256 * 1024       # a kiosk.toml with every setting and its help is about 6 KiB


class ConfigError(ValueError):
    """A setting is wrong; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Option:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # Extra check beyond type/choices/range: returns an error text or None.
    check: Callable[[Any], str | None] | None = None
    secret: bool = False     # never shown: `config show` prints *** in its place

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]


class Size(NamedTuple):
    """A picture size; written "WIDTHxHEIGHT" in kiosk.toml, converted once when the config is read."""
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> "Size":
        parts = text.strip().lower().split("x")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and 0 < len(p) <= 5 and int(p) > 0
                                      for p in parts):
            raise ValueError("write it as WIDTHxHEIGHT, e.g. 1280x720")
        return cls(int(parts[0]), int(parts[1]))

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def host_list(value: list[str]) -> list[tuple[str, int | None]]:
    """sync.allowed_hosts as (host, port or None) pairs: ["cdn.example.org", "files.example.org:8443"]."""
    hosts: list[tuple[str, int | None]] = []
    for item in filter(None, (part.strip() for part in value)):
        host, sep, port = item.partition(":")
        if (not host or not host.isascii() or any(c in host for c in "/@[] ") or (sep and not port.isdigit())
                or (sep and not 0 < int(port) < 65536)):
            raise ValueError(f"{item!r} is not HOST or HOST:PORT")
        hosts.append((host.lower(), int(port) if sep else None))
    return hosts


def _hosts(value: list) -> str | None:
    try:
        host_list(value)
    except ValueError as exc:
        return f'{exc}; write a list of host names, e.g. ["cdn.example.org", "files.example.org:8443"]'
    return None


def _pin_entry(value: str) -> str | None:
    allowed = {"corner-long-press", "key-chord", "both"}
    return None if value in allowed else f"use one of {', '.join(sorted(allowed))}"


def _transcript_engine(value: str) -> str | None:
    from kiosk.transcripts.engine import ENGINES     # the registry is the one list of engines
    return None if value in ENGINES else f"use one of {', '.join(sorted(ENGINES))}"


def _recipients(value: list) -> str | None:
    from kiosk.privacy.crypto import recipients_problem
    return recipients_problem(value)


PROFILES = ("webm-vp9-opus", "webm-vp8-opus", "mp4-h264-aac", "audio-opus")

OPTIONS: tuple[Option, ...] = (
    # --- devices
    Option("camera.spec", str, "auto",
           "Camera: 'auto' (first that opens; none: the booth is not ready), 'demo', a device index, a video "
           "file or a URL."),
    Option("camera.size", Size, Size(1280, 720), "Requested capture size, WIDTHxHEIGHT."),
    Option("camera.fps", int, 30, "Requested capture frame rate.", minimum=1, maximum=120),
    Option("camera.open_timeout_s", float, 3.0, "Give up opening the camera after this long.", minimum=0.1, maximum=60),
    Option("camera.read_timeout_s", float, 2.0, "A read that takes longer than this counts as a lost camera.",
           minimum=0.1, maximum=60),
    Option("mic.spec", str, "default",
           "Microphone: 'default', 'demo', 'none', a device index or a device name (substring)."),
    Option("mic.channels", int, 1, "Microphone channels recorded (1 = mono, 2 = stereo).", minimum=1, maximum=2),
    Option("mic.rate", int, 48000, "Microphone sample rate in Hz.", choices=(48000,)),
    # --- recording
    Option("recording.profile", str, "webm-vp9-opus",
           "Container and codecs; falls back VP9 -> VP8 -> H.264 when an encoder cannot open.", choices=PROFILES),
    Option("recording.video_bitrate_kbps", int, 2500, "Video bitrate (constant) in kbit/s at 720p; scaled by area.",
           minimum=100, maximum=50000),
    Option("recording.audio_bitrate_kbps", int, 96, "Audio bitrate in kbit/s.", minimum=16, maximum=512),
    Option("recording.keyframe_interval_s", float, 1.0, "Keyframe interval; at most 1 s keeps crash loss under 1 s.",
           minimum=0.1, maximum=1.0),
    Option("recording.fsync_interval_s", float, 1.0, "How often the writer forces the file to disk.",
           minimum=0.1, maximum=5.0),
    # --- storage
    Option("storage.min_free_mb", int, 500, "Below this much free space a running take is finalized and stopped.",
           minimum=50),
    Option("storage.space_margin", float, 1.5, "Safety factor on the space a take is estimated to need.",
           minimum=1.0, maximum=10.0),
    Option("storage.retention_days", int, 0, "Delete recordings this many days after they are safe (0 = keep forever).",
           minimum=0),
    Option("storage.retention_requires_sync", bool, True, "Never delete a recording that has not been synced."),
    Option("storage.retention_requires_export", bool, False, "Never delete a recording that has not been exported."),
    # --- sync
    Option("sync.enabled", bool, False, "Upload finished sessions to a tus 1.0 server."),
    Option("sync.server_url", str, "", "The tus endpoint, e.g. https://centre.example.org/files/"),
    Option("sync.token", str, "", "Bearer token sent to the sync server (never logged).", secret=True),
    Option("sync.ca_bundle", str, "", "Path of a CA bundle for a server with a private certificate."),
    Option("sync.chunk_mb", float, 4.0, "Size of each PATCH request in MiB.", minimum=0.0625, maximum=256),
    Option("sync.bandwidth_kbps", int, 0, "Upload bandwidth cap in kbit/s (0 = none).", minimum=0),
    Option("sync.verify", bool, True, "Confirm each upload by checksum or by reading it back when the server allows."),
    Option("sync.kiosk_id", str, "", "This kiosk's name in upload metadata (default: the host name)."),
    Option("sync.allowed_hosts", list, [],
           "Other hosts (\"HOST\" or \"HOST:PORT\") the server may send uploads to in its Location answer; they "
           "never receive the token. Empty = only sync.server_url's own origin.", check=_hosts),
    Option("sync.status_interval_s", int, 300,
           "Upload a booth status document (disk, queue, devices, errors; no personal data) this often "
           "(0 = never).", minimum=0, maximum=86400),
    # --- privacy
    Option("privacy.recipients", list, [],
           "The centre's age public keys (age1...): finished takes and session JSON are encrypted to them "
           "(empty = not encrypted).", check=_recipients),
    # --- interview flow / UI
    Option("ui.idle_timeout_s", int, 120, "Idle this long anywhere -> back to the welcome screen.", minimum=10),
    Option("ui.countdown_s", int, 3, "Countdown before a take starts automatically.", minimum=0, maximum=30),
    Option("ui.read_questions_aloud", bool, False, "Read each question aloud (text to speech)."),
    Option("ui.high_contrast", bool, False, "Use the high-contrast theme."),
    Option("ui.show_cursor", bool, False, "Show the mouse cursor (off for touch kiosks)."),
    Option("ui.kiosk_mode", bool, True, "Full screen, on top, exit keys disabled."),
    Option("ui.language", str, "", "UI language code, e.g. 'de' (empty = the system's)."),
    Option("ui.failsafe_timeout_s", int, 30, "The error screen returns to the welcome screen after this long.",
           minimum=3),
    # --- transcripts (kiosk/transcripts/): on the kiosk, after the interview, at idle priority
    Option("transcript.enabled", bool, True,
           "Transcribe each answer in the background after the session (needs transcript.model_path)."),
    Option("transcript.engine", str, "whisper", "Speech recogniser: 'whisper' (faster-whisper, CTranslate2).",
           check=_transcript_engine),
    Option("transcript.model_path", str, "",
           "Folder of the speech model, copied onto the kiosk (empty = transcripts off); see docs/transcripts.md."),
    # --- admin
    Option("admin.entry", str, "both", "How the admin PIN pad is opened: corner-long-press, key-chord or both.",
           check=_pin_entry),
    Option("admin.key_chord", str, "Ctrl+Alt+Shift+A", "The key chord that opens the admin PIN pad."),
    # --- logging
    Option("log.level", str, "INFO", "Log level of the rotating log file.",
           choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Option("log.max_mb", int, 5, "Size of one log file before it rotates.", minimum=1),
    Option("log.backups", int, 5, "How many rotated log files are kept.", minimum=0),
)

OPTIONS_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


def _type_name(t: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
            Size: 'a size such as "1280x720"', list: "a list of strings"}[t]


def _coerce(option: Option, value: Any, where: str) -> Any:
    """Check one value against its declaration; return it in its declared type."""
    t = option.type
    if t is Size and isinstance(value, str):
        try:
            value = Size.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: '{option.name}' = {value!r} is not valid. Fix: {exc}.") from None
    ok = isinstance(value, t) and not (t is int and isinstance(value, bool))
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if ok and t is float and not math.isfinite(value):
        raise ConfigError(f"{where}: '{option.name}' must be a finite number, not {value!r}. "
                          f"Fix: set it like {option.name.split('.', 1)[1]} = {_toml_literal(option.default)}")
    if t is list:
        ok = ok and all(isinstance(item, str) for item in value)
    if not ok:
        raise ConfigError(f"{where}: '{option.name}' must be {_type_name(t)}, not {_short(value)}. "
                          f"Fix: set it like {option.name.split('.', 1)[1]} = {_toml_literal(option.default)}")
    if option.choices is not None and value not in option.choices:
        raise ConfigError(f"{where}: '{option.name}' = {_short(value)} is not allowed. "
                          f"Fix: use one of {', '.join(map(repr, option.choices))}.")
    if option.minimum is not None and value < option.minimum:
        raise ConfigError(f"{where}: '{option.name}' = {value!r} is below {option.minimum}. "
                          f"Fix: use {option.minimum} or more.")
    if option.maximum is not None and value > option.maximum:
        raise ConfigError(f"{where}: '{option.name}' = {value!r} is above {option.maximum}. "
                          f"Fix: use {option.maximum} or less.")
    if option.check is not None:
        problem = option.check(value)
        if problem:
            raise ConfigError(f"{where}: '{option.name}' = {_short(value)} is not valid. Fix: {problem}.")
    return value


def _short(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a message: a pasted essay or a huge list is cut."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _at(where: str, line: int | None) -> str:
    return f"{where}, line {line}" if line else where


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Size):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(item) for item in value) + "]"
    return repr(value)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


@dataclass
class Config:
    """Validated settings. Read with ``config["camera.fps"]``."""

    values: dict[str, Any] = field(default_factory=lambda: {o.name: o.default for o in OPTIONS})
    source: Path | None = None
    # Settings whose value came from a KIOSK_* environment variable: never written back into the file.
    from_environment: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def set(self, name: str, value: Any, where: str = "override") -> None:
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise ConfigError(f"{where}: unknown setting '{name}'. Fix: see 'kiosk config show' for the valid names.")
        self.values[name] = _coerce(option, value, where)

    def shown(self) -> dict[str, Any]:
        """The values as they may be shown: each secret that is set becomes ***, each URL loses its user:password."""
        from kiosk.sync.headers import safe_url as without_credentials

        return {o.name: "***" if o.secret and self.values[o.name] else
                without_credentials(self.values[o.name]) if o.name.endswith("_url") else self.values[o.name]
                for o in OPTIONS}

    def to_toml(self, with_help: bool = True, values: Mapping[str, Any] | None = None) -> str:
        """The settings as a kiosk.toml text (`values` instead of this config's own, e.g. ``shown()``)."""
        values = self.values if values is None else values
        lines: list[str] = []
        section = None
        for option in OPTIONS:
            if option.section != section:
                section = option.section
                lines.append(f"\n[{section}]")
            if with_help:
                lines.append(f"# {option.help}")
            lines.append(f"{option.name.split('.', 1)[1]} = {_toml_literal(values[option.name])}")
        return "\n".join(lines).lstrip() + "\n"


def parse(text: str, where: str) -> Config:
    """Validate the text of a kiosk.toml; every problem is a ConfigError naming `where`, the line and the fix."""
    try:
        document = bounded_parse.parse(text, "toml", MAX_FILE_BYTES)
    except bounded_parse.DocumentError as exc:
        raise ConfigError(f"{_at(where, exc.line)}: {exc.message}") from None
    config = Config(source=Path(where))
    for name, value in _flatten(document.body):
        at = _at(where, document.line_of(name))
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            close = [o.name for o in OPTIONS if o.name.split(".")[-1] == name.split(".")[-1]]
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{at}: unknown setting '{_short(name)[1:-1]}'.{hint} "
                              f"Fix: remove it or see 'kiosk config show' for the valid names.")
        config.values[name] = _coerce(option, value, at)
    return config


def load(path: Path | None) -> Config:
    """Load and validate the config file; a missing file means all defaults."""
    if path is None or not path.exists():
        config = Config(source=path)
    else:
        try:
            text = bounded_parse.read_text(path, MAX_FILE_BYTES, "kiosk.toml")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror}). Fix: check its permissions.") from None
        except bounded_parse.DocumentError as exc:
            raise ConfigError(f"{_at(str(path), exc.line)}: {exc.message}") from None
        config = parse(text, str(path))
    # Environment overrides for deployment scripts: KIOSK_SYNC_TOKEN -> sync.token
    for option in OPTIONS:
        env = "KIOSK_" + option.name.replace(".", "_").upper()
        if env in os.environ:
            raw = os.environ[env]
            value: Any = raw
            if option.type is bool:
                value = raw.strip().lower() in ("1", "true", "yes", "on")
            elif option.type is list:
                value = raw.replace(",", " ").split()
            elif option.type in (int, float):
                try:
                    value = option.type(raw)
                except ValueError:
                    raise ConfigError(f"environment {env}: {raw!r} is not {_type_name(option.type)}. "
                                      f"Fix: export {env}={_toml_literal(option.default)}") from None
            config.values[option.name] = _coerce(option, value, f"environment {env}")
            config.from_environment[option.name] = config.values[option.name]
    return config


def _toml_value(value: Any) -> Any:
    return str(value) if isinstance(value, Size) else value


def save_settings(config: Config, changes: Mapping[str, Any], path: Path | None = None) -> Path:
    """Validate `changes` (ConfigError names the problem), apply them to `config` and write them into kiosk.toml:
    only the keys changed, the rest of the file (comments, order, other keys) as it was, its mode kept (a new file
    is 0600). A value that came from the environment and is unchanged is not written (a token passed as
    KIOSK_SYNC_TOKEN stays out of the file). Atomic: temporary file, fsync, rename. Returns the file written."""
    import tomlkit

    from kiosk.privacy.files import PRIVATE_FILE, write_private

    trial = Config(values=dict(config.values), source=config.source)
    for name, value in changes.items():
        trial.set(name, value, where="admin console")
    target = Path(path or config.source or resolve_config_file())
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        document = tomlkit.parse(target.read_text(encoding="utf-8")) if target.exists() else tomlkit.document()
        mode = target.stat().st_mode & 0o777 if target.exists() else PRIVATE_FILE
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"{target}: cannot be read to save the change ({exc}). Nothing was written. "
                          f"Fix: correct the file, or check its permissions.") from None
    for name in changes:
        if name in config.from_environment and trial.values[name] == config.from_environment[name]:
            continue
        section, key = name.split(".", 1)
        if section not in document:
            document[section] = tomlkit.table()
        document[section][key] = _toml_value(trial.values[name])
    write_private(target, tomlkit.dumps(document).encode("utf-8"), mode=mode)
    config.values.update(trial.values)
    config.source = target
    return target


def kiosk_id(config: Config) -> str:
    """This kiosk's name in upload metadata, manifests and its public key line."""
    return config["sync.kiosk_id"] or socket.gethostname()
