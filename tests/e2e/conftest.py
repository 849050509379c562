"""Fixtures of the deployment harnesses (a real systemd user manager, real window managers) for end-to-end tests."""

from tests.harness.systemd import user_manager  # noqa: F401  (a fixture)
from tests.harness.wm import desktop  # noqa: F401  (a fixture)
