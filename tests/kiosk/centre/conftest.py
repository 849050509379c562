"""Fixtures of the harness modules that the centre tests use (S3)."""

from tests.harness.s3 import moto_server  # noqa: F401
