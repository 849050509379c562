"""Kiosk interview recorder: the engine and domain. No Qt here; it runs headless and reports through events."""

__version__ = "0.1.0"
