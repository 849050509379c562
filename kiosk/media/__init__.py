"""Encoding, finalize and recovery of takes."""
