"""CSRF protection of the login form: a signed double-submit token.

The token is ``<nonce>.<HMAC(secret, nonce)>``; it is set as an ``HttpOnly``, ``SameSite=Strict``
cookie scoped to ``/authorize`` and repeated in a hidden form field. A POST is accepted only
if both are present, equal, and the MAC is ours, so another site can neither read nor mint it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

COOKIE_NAME: Final = "city_login_csrf"
MAX_AGE_SECONDS: Final = 30 * 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CsrfTokens:
    """Issues and checks tokens with one secret (``CITY_CSRF_SECRET``, never derived from
    another key)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, nonce: str) -> str:
        return _b64(hmac.new(self._secret, nonce.encode("ascii"), hashlib.sha256).digest())

    def issue(self) -> str:
        """A fresh token."""
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._mac(nonce)}"

    def valid(self, cookie: str | None, submitted: str | None) -> bool:
        """True if the cookie and the form field carry the same token signed by us."""
        if not cookie or not submitted or len(cookie) > 200:
            return False
        if not (cookie.isascii() and submitted.isascii()):
            return False
        if not hmac.compare_digest(cookie.encode(), submitted.encode()):
            return False
        nonce, _, mac = cookie.partition(".")
        return bool(nonce) and hmac.compare_digest(mac.encode(), self._mac(nonce).encode())
