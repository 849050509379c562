"""Reusable kiosk widgets: preview, recording indicator, level meter, keypad, camera toggle."""
