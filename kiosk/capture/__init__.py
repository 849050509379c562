"""Capture sources: camera (OpenCV), microphone (sounddevice) and the built-in demo pair.

Every source runs its own thread and hands stamped frames/blocks to a sink; all stamps are on one clock,
``kiosk.capture.frames.clock()`` (time.monotonic), so the writer can place audio and video on one timeline.
"""
