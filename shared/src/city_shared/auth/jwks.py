"""A cache of identity's public signing keys (the JWKS), refreshed on expiry and on an unknown
``kid``, never more often than a floor interval.

Only asymmetric signature keys (RSA, EC, OKP) with a ``kid`` are kept: a symmetric (``oct``) key
or an encryption key in the JWKS is ignored, so it can never verify a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, KeySet, OKPKey, RSAKey

__all__ = ["JwksCache", "JwksUnavailable", "PublicKey"]

logger = logging.getLogger(__name__)

PublicKey = RSAKey | ECKey | OKPKey

_ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class JwksUnavailable(Exception):
    """No key set has ever been fetched, and fetching one failed (or is rate-limited)."""


class JwksCache:
    """Public keys by ``kid``, fetched from ``url`` with ``http``.

    - Keys older than ``ttl_seconds`` are refetched on the next lookup; if that fetch fails the
      old keys keep being served (identity down must not log everybody out).
    - An unknown ``kid`` triggers one refetch, so a freshly rotated key is picked up at once.
    - At most one fetch per ``min_refresh_interval`` seconds, counting failed attempts: a flood
      of random ``kid`` values cannot hammer identity. A key rotated in within that interval
      after another fetch is found on the first lookup after the interval.
    - Concurrent callers share one fetch (an ``asyncio.Lock``; callers that waited for a fetch
      use its result instead of fetching again).
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        ttl_seconds: float = 300,
        min_refresh_interval: float = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._ttl = ttl_seconds
        self._min_interval = min_refresh_interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._key_set: KeySet | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._attempts = 0

    @property
    def url(self) -> str:
        """Where the key set is fetched from."""
        return self._url

    @property
    def http(self) -> httpx.AsyncClient:
        """The client the key set is fetched with (shared with the revocation list)."""
        return self._http

    @property
    def min_refresh_interval(self) -> float:
        """Seconds between two fetches at the least."""
        return self._min_interval

    async def get_key(self, kid: str) -> PublicKey | None:
        """The public key with this ``kid``, or None if identity does not publish it.

        May fetch the JWKS (see the class contract).

        :raises JwksUnavailable: no key set could be fetched so far.
        """
        attempts = self._attempts
        if self._is_stale():
            await self._refresh(attempts)
        if self._key_set is None:
            raise JwksUnavailable(self._url)
        key = self._lookup(kid)
        if key is None and self._attempts == attempts:
            # Only if no fetch started during this call: that one already saw the newest keys.
            await self._refresh(attempts)
            key = self._lookup(kid)
        return key

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl

    def _lookup(self, kid: str) -> PublicKey | None:
        if self._key_set is None:
            return None
        for key in self._key_set:
            if key.kid == kid and isinstance(key, RSAKey | ECKey | OKPKey):
                return key
        return None

    async def _refresh(self, attempts_seen: int) -> None:
        """Fetch unless another caller fetched since ``attempts_seen`` or the floor interval has
        not passed. A failed fetch keeps the previous keys."""
        async with self._lock:
            if self._attempts != attempts_seen:
                return
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
                return
            self._attempts += 1
            self._attempted_at = now
            try:
                key_set = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                logger.warning("JWKS fetch from %s failed: %s", self._url, type(exc).__name__)
                return
            self._key_set = key_set
            self._fetched_at = now

    async def _fetch(self) -> KeySet:
        response = await self._http.get(self._url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS document has no 'keys' list")
        keys: list[Key] = [k for entry in document["keys"] if (k := _import(entry)) is not None]
        if not keys:
            raise ValueError("JWKS holds no usable signature key")
        return KeySet(keys)


def _import(entry: object) -> PublicKey | None:
    """One JWKS entry as a verification key, or None if it is not an asymmetric signature key
    with a ``kid`` (skipped, like RFC 7517 asks for keys a reader does not understand)."""
    if not isinstance(entry, dict):
        return None
    kid = entry.get("kid")
    if entry.get("kty") not in _ASYMMETRIC_KEY_TYPES or entry.get("use", "sig") != "sig":
        return None
    if not isinstance(kid, str) or not kid:
        return None
    try:
        key = JWKRegistry.import_key(entry)
    except (JoseError, ValueError, TypeError) as exc:
        logger.warning("skipping JWKS key %s: %s", kid, type(exc).__name__)
        return None
    return key if isinstance(key, RSAKey | ECKey | OKPKey) else None
