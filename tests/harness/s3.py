"""An S3-compatible object store for the sync tests: moto's server mode (PyPI `moto[server]`) on 127.0.0.1, standing
in for AWS S3 / MinIO / Ceph, with boto3 to create buckets and read objects back.

Fixtures: `moto_server` (one server per test session; each test takes its own bucket with `.new_bucket()`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.harness.tus import free_port

ACCESS_KEY, SECRET_KEY, REGION = "test", "test", "us-east-1"
_bucket_numbers = itertools.count(1)


class MotoServer:
    """`moto_server -H 127.0.0.1 -p PORT` as a subprocess."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"moto-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "MotoServer":
        program = Path(sys.executable).parent / "moto_server"
        if not program.exists():
            raise pytest.UsageError("moto's server is not installed. Fix: run 'make test-setup' "
                                    "(pip install -e '.[test]' brings moto[server] and boto3).")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(program), "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                requests.get(self.endpoint, timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not start: {self.log_path.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    @property
    def env(self) -> dict[str, str]:
        """What a client of this store (the tus server, `kiosk centre report`) needs in its environment."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def new_bucket(self, prefix: str = "centre") -> str:
        name = f"{prefix}-{os.getpid()}-{next(_bucket_numbers)}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, int]:
        """Every key in the bucket with its size."""
        found: dict[str, int] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def sha256(self, bucket: str, key: str) -> str:
        """The sha256 of an object as read back through boto3."""
        digest = hashlib.sha256()
        body = self.client().get_object(Bucket=bucket, Key=key)["Body"]
        for block in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(block)
        return digest.hexdigest()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """A running S3-compatible server for the whole session: .endpoint, .new_bucket(), .objects(), .sha256()."""
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()
