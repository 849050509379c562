"""Sizes from the screen and the QSS theme from resources/theme/: nothing has a fixed pixel size."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.resources import resource

# The app's own background in the normal theme (the edge check of the e2e test looks for it).
BACKGROUND_RGB = (0x14, 0x20, 0x2B)
HIGH_CONTRAST_BACKGROUND_RGB = (0, 0, 0)


@dataclass(frozen=True)
class Metrics:
    """Layout unit from the screen's short side: 27 px at 1080p, 19 at 768, 54 at 2160."""

    unit: int
    touch: int        # minimum touch target (>= 48 px at 1080p)
    font: int
    title: int
    big: int

    @classmethod
    def for_size(cls, width: int, height: int) -> "Metrics":
        short = max(1, min(width, height))
        unit = max(8, round(short / 40))
        return cls(unit=unit, touch=max(round(short * 0.06), 32), font=max(10, round(unit * 0.95)),
                   title=max(14, round(unit * 1.6)), big=max(18, round(unit * 3.2)))


def stylesheet(metrics: Metrics, high_contrast: bool = False) -> str:
    name = "high_contrast.qss" if high_contrast else "kiosk.qss"
    text = resource("theme", name).read_text(encoding="utf-8")
    for token, value in (("@FONT@", metrics.font), ("@TITLE@", metrics.title), ("@BIG@", metrics.big),
                         ("@HALF@", max(2, metrics.unit // 2)), ("@U@", metrics.unit), ("@T@", metrics.touch)):
        text = text.replace(token, str(value))
    return text
