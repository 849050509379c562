import threading

import numpy as np

from kiosk.capture.demo import BEEP_S, MARKER_PERIOD_S, DemoCamera, DemoMicrophone
from kiosk.capture.frames import SourceHealth


def test_demo_camera_pattern_is_dark_and_marker_is_white():
    camera = DemoCamera((640, 360), 30)
    assert camera.render(1.5).mean() < 0.7 * 255
    assert camera.render(4.0).min() == 255
    assert not camera.is_marker(4.0 + 1 / 30)


def test_demo_mic_beeps_at_each_marker():
    mic = DemoMicrophone(48000, 1)
    period = int(MARKER_PERIOD_S * 48000)
    samples = mic.render(period * 3 - 480, 4800)[:, 0]
    onset = np.argmax(np.abs(samples) > 0.2)
    assert onset == 480   # first beep sample is exactly at the marker instant
    beep_len = int(BEEP_S * 48000)
    assert np.abs(samples[480 + beep_len + 10:]).max() < 0.05


def test_demo_sources_deliver_in_real_time():
    camera, mic = DemoCamera((320, 240), 30), DemoMicrophone()
    frames, blocks, health = [], [], []
    camera.start(frames.append, lambda h, d: health.append(h))
    mic.start(blocks.append, lambda h, d: health.append(h))
    threading.Event().wait(1.0)
    camera.stop()
    mic.stop()
    # A loaded machine may make the demo camera skip frames (on purpose), never invent or reorder them.
    assert 15 <= len(frames) <= 32
    stamps = [f.t for f in frames]
    assert all(abs(t * 30 - round(t * 30)) < 1e-6 for t in stamps)     # every stamp on the 1/30 s grid
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    samples = sum(len(b.samples) for b in blocks)
    assert 30000 <= samples <= 52000
    starts = [b.t for b in blocks]
    assert all(abs(t * 4800 - round(t * 4800)) < 1e-6 for t in starts)  # blocks on the 10 ms sample grid
    assert health.count(SourceHealth.OK) == 2 and health.count(SourceHealth.CLOSED) == 2
