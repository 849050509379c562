"""The suite's one config stub: a small, cheap take on the real recorder (320x180 at 15 fps, VP8 at 300 kbit/s) and
a 50 MB disk reserve, so tests run light on a loaded 2-core machine and fit a small tmpfs."""

from __future__ import annotations

from kiosk.config import Config


def small_config(**values) -> Config:
    """small_config(ui__idle_timeout_s=60) sets ui.idle_timeout_s too (double underscores stand for dots)."""
    config = Config()
    config.set("storage.min_free_mb", 50)
    config.set("camera.size", "320x180")
    config.set("camera.fps", 15)
    config.set("recording.profile", "webm-vp8-opus")
    config.set("recording.video_bitrate_kbps", 300)
    for name, value in values.items():
        config.set(name.replace("__", "."), value)
    return config
