"""Unpadded base64url, the one text encoding of opaque tokens (cursors, keys, seeds).

Services wrote ``urlsafe_b64decode(raw + "=" * (-len(raw) % 4))`` again and again; this is it,
strict: anything outside the base64url alphabet is refused rather than silently skipped.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET: Final = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """``data`` as base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of base64url ``text``, with or without padding.

    :raises ValueError: ``text`` has a character outside the base64url alphabet (standard
        base64's ``+`` and ``/``, whitespace, non-ASCII) or an impossible length.
    """
    unpadded = text.rstrip("=")
    if not _ALPHABET.fullmatch(unpadded) or len(unpadded) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
