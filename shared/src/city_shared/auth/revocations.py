"""A cache of the access tokens identity revoked before their expiry (by ``jti``), fetched from
identity's revocation list and refreshed every few seconds.

Identity publishes the list at ``/.well-known/revoked-tokens.json`` beside its JWKS::

    {"revoked": ["<jti>", ...], "max_age": 5}

An entry stays listed until the token it names would have expired, so the list holds only the
revocations of the last access-token lifetime (minutes) and stays small. See ADR 0009.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urljoin

import httpx

__all__ = ["REVOCATION_LIST_NAME", "RevocationList", "revocation_url"]

logger = logging.getLogger(__name__)

#: The revocation list's file name, a sibling of the JWKS (``jwks.json``).
REVOCATION_LIST_NAME = "revoked-tokens.json"
_MAX_JTI = 64


def revocation_url(jwks_url: str) -> str:
    """The revocation list beside ``jwks_url`` (same origin and directory)."""
    return urljoin(jwks_url, REVOCATION_LIST_NAME)


class RevocationList:
    """Revoked ``jti`` values, fetched from ``url`` with ``http``.

    - A lookup refetches once the list is older than ``ttl_seconds`` (so a revocation reaches
      every service within that time while identity answers); concurrent lookups share one
      fetch, and a failed fetch is not retried before ``ttl_seconds`` have passed.
    - A failed fetch keeps the previous list (identity down must not log everybody out): then
      revocations made meanwhile take effect when identity answers again, or when the token
      expires, whichever comes first.
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        ttl_seconds: float = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._revoked: frozenset[str] = frozenset()
        self._attempted_at: float | None = None

    @property
    def url(self) -> str:
        """Where the list is fetched from."""
        return self._url

    async def is_revoked(self, jti: str) -> bool:
        """True if identity listed ``jti`` as revoked (may fetch the list, see the class)."""
        if self._is_stale():
            await self._refresh()
        return jti in self._revoked

    def _is_stale(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._ttl

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._is_stale():
                return  # another caller fetched while this one waited
            self._attempted_at = self._clock()
            try:
                self._revoked = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                logger.warning("revocation list fetch from %s failed: %s", self._url,
                               type(exc).__name__)

    async def _fetch(self) -> frozenset[str]:
        response = await self._http.get(self._url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, Mapping) or not isinstance(document.get("revoked"), list):
            raise ValueError("revocation list has no 'revoked' list")
        return frozenset(
            jti for jti in document["revoked"] if isinstance(jti, str) and len(jti) <= _MAX_JTI
        )
