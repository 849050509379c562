"""Fixtures of the deployment harnesses (real window managers) for the end-to-end tests."""

from tests.harness.wm import desktop  # noqa: F401  (a fixture)
