"""Fixtures of the harness modules that only the sync and centre tests use (the misbehaving tus server, S3)."""

from tests.harness.s3 import moto_server  # noqa: F401
from tests.harness.tus_hostile import hostile_tus  # noqa: F401
