"""PKCE (RFC 7636), ``S256`` only: the ``plain`` method offers no protection and is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

__all__ = ["is_valid_challenge", "is_valid_verifier", "s256", "verify"]

_CHALLENGE: Final = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest
_VERIFIER: Final = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1


def s256(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(verifier)))`` without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_challenge(challenge: str) -> bool:
    """True if ``challenge`` can be an S256 challenge."""
    return _CHALLENGE.fullmatch(challenge) is not None


def is_valid_verifier(verifier: str) -> bool:
    """True if ``verifier`` has the length and alphabet RFC 7636 requires."""
    return _VERIFIER.fullmatch(verifier) is not None


def verify(verifier: str, challenge: str) -> bool:
    """True if ``verifier`` is well-formed and hashes to ``challenge`` (constant time)."""
    return is_valid_verifier(verifier) and hmac.compare_digest(s256(verifier), challenge)
