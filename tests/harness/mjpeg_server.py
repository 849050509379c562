"""A network camera on loopback: MJPEG over HTTP (multipart/x-mixed-replace), every frame stamped.

Run it as a subprocess (the tests' `mjpeg_camera` fixture does):

    python -m tests.harness.mjpeg_server --port 0 --size 640x360 --fps 30

It prints ``PORT <n>`` on stdout once it listens. Each client gets its own paced stream from ``GET /``.

The stamp: the top of every frame carries two rows of 40 black/white blocks (block side = width / 40 pixels) that
encode the frame number (24 bits) and the capture time on the monotonic clock in microseconds (48 bits), plus an 8-bit
check. time.monotonic() is CLOCK_MONOTONIC on Linux, one clock for every process on the machine, so a receiver can
measure its latency as ``clock() - stamp.t``. Blocks of 8 px and more survive JPEG and a later VP9/VP8/H.264 encode;
``decode_stamp`` reads them back from a frame of any scale.

Signals: SIGUSR1 = stall (keep the connections, stop sending), SIGUSR2 = resume, SIGTERM = stop.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

STAMP_COLUMNS = 40
STAMP_ROWS = 2
FRAME_BITS = 24
TIME_BITS = 48
CHECK_BITS = 8          # 24 + 48 + 8 = 80 = 2 rows x 40 blocks
BOUNDARY = "kioskframe"


@dataclass(frozen=True)
class Stamp:
    frame: int       # frame number from the server's start, modulo 2**24
    t: float         # capture time on time.monotonic(), seconds


def _check(frame: int, micros: int) -> int:
    data = frame.to_bytes(3, "big") + micros.to_bytes(6, "big")
    value = 0x5A
    for byte in data:        # a small rotating xor-add: cheap, and a single flipped block changes it
        value = ((value << 1 | value >> 7) & 0xFF) ^ byte
    return value


def stamp_bits(frame: int, t: float) -> np.ndarray:
    frame %= 1 << FRAME_BITS
    micros = int(round(t * 1e6)) % (1 << TIME_BITS)
    value = (frame << (TIME_BITS + CHECK_BITS)) | (micros << CHECK_BITS) | _check(frame, micros)
    total = FRAME_BITS + TIME_BITS + CHECK_BITS
    return np.array([(value >> (total - 1 - i)) & 1 for i in range(total)], np.uint8)


def stamp_height(width: int) -> int:
    return STAMP_ROWS * (width // STAMP_COLUMNS)


def draw_stamp(image: np.ndarray, frame: int, t: float) -> None:
    """Paint the stamp over the top rows of `image` (BGR, modified in place)."""
    width = image.shape[1]
    side = width // STAMP_COLUMNS
    if side < 4:
        raise ValueError(f"a {width}-pixel-wide frame is too narrow for the stamp; use 160 or more")
    grid = stamp_bits(frame, t).reshape(STAMP_ROWS, STAMP_COLUMNS) * 255
    blocks = np.repeat(np.repeat(grid, side, axis=0), side, axis=1).astype(np.uint8)
    image[:blocks.shape[0], :blocks.shape[1]] = blocks[:, :, np.newaxis]
    image[:blocks.shape[0], blocks.shape[1]:] = 0


def decode_stamp(image: np.ndarray) -> Stamp | None:
    """Read the stamp back from a frame (BGR or grey, any scale); None when it is missing or damaged."""
    grey = image if image.ndim == 2 else image[:, :, 1]
    width = grey.shape[1]
    side = width / STAMP_COLUMNS
    if side < 2 or grey.shape[0] < STAMP_ROWS * side:
        return None
    bits = []
    for row in range(STAMP_ROWS):
        y0, y1 = int(row * side + side / 4), int(row * side + 3 * side / 4)
        for col in range(STAMP_COLUMNS):
            x0, x1 = int(col * side + side / 4), int(col * side + 3 * side / 4)
            bits.append(1 if grey[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].mean() > 127 else 0)
    value = 0
    for bit in bits:
        value = value << 1 | bit
    check = value & 0xFF
    micros = (value >> CHECK_BITS) & ((1 << TIME_BITS) - 1)
    frame = value >> (TIME_BITS + CHECK_BITS)
    if check != _check(frame, micros):
        return None
    return Stamp(frame, micros / 1e6)


class FrameMaker:
    """Cheap moving frames: a grey gradient with a bright bar that crosses the width every 2 s."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.width, self.height, self.fps = width, height, fps
        ramp = np.linspace(40, 160, width, dtype=np.uint8)
        self.base = np.repeat(np.repeat(ramp[np.newaxis, :, np.newaxis], height, axis=0), 3, axis=2)

    def jpeg(self, frame: int) -> tuple[bytes, float]:
        image = self.base.copy()
        bar = int((frame / (2 * self.fps)) % 1.0 * self.width)
        image[stamp_height(self.width):, bar:bar + max(4, self.width // 40)] = (0, 200, 255)
        t = time.monotonic()
        draw_stamp(image, frame, t)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return data.tobytes(), t


class CameraServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, maker: FrameMaker) -> None:
        super().__init__(address, Handler)
        self.maker = maker
        self.running = threading.Event()
        self.running.set()          # cleared = stalled
        self.frame_counter = 0
        self.counter_lock = threading.Lock()

    def next_frame_number(self) -> int:
        with self.counter_lock:
            self.frame_counter += 1
            return self.frame_counter


class Handler(BaseHTTPRequestHandler):
    server: CameraServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args) -> None:   # keep the test output clean
        pass

    def do_GET(self) -> None:
        maker = self.server.maker
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        period = 1.0 / maker.fps
        deadline = time.monotonic()
        try:
            while True:
                if not self.server.running.is_set():
                    self.server.running.wait()      # stalled: the connection stays open, nothing is sent
                    deadline = time.monotonic()
                delay = deadline - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                deadline = max(deadline + period, time.monotonic() - period)
                data, _ = maker.jpeg(self.server.next_frame_number())
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                                 .encode("ascii") + data + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed on stdout)")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    server = CameraServer((args.host, args.port), FrameMaker(width, height, args.fps))
    signal.signal(signal.SIGUSR1, lambda *_: server.running.clear())
    signal.signal(signal.SIGUSR2, lambda *_: server.running.set())
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
