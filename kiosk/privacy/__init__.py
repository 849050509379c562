"""Privacy by design: encryption at rest to the centre's keys (crypto), the kiosk's signing key (signing), the event
hash chain (chain), the signed session manifest (manifest) and private file modes (files).

Everything here runs headless and holds no personal data: the manifest and the chain name uuids and hashes only.
"""

from __future__ import annotations


class PrivacyError(ValueError):
    """A key, identity, signature or sealed file is wrong; the message says what and names the fix."""
