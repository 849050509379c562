"""Shared fixtures for outside things; each harness module owns one (camera server, tus server, display)."""
