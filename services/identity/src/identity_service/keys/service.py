"""The key ring: creates, rotates and publishes signing keys and signs with the active one.

Keys are RSA (``RS256``, OpenID Connect's mandatory algorithm) of ``signing_key_bits`` bits;
the kid is the key's RFC 7638 thumbprint. There is always a ``next`` key published before it
signs, so caches holding the JWKS know a key before they meet a token signed with it. Every
change happens under a PostgreSQL advisory lock (and the unique index on the active key), so
concurrent replicas starting up or rotating never create two active keys. Nothing here commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.keys import repository
from identity_service.keys.encryption import PrivateKeyCipher
from identity_service.keys.models import SigningKey

__all__ = ["ALGORITHM", "KeyRing", "RotationResult"]

ALGORITHM: Final = "RS256"
_REGISTRY: Final = JWSRegistry(algorithms=[ALGORITHM])


def _import(jwk: Mapping[str, str]) -> RSAKey:
    data: dict[str, str | list[str]] = {**jwk}
    return RSAKey.import_key(data)


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did: the new active key, the key now retiring (published until
    ``publish_until``) and the freshly published next key."""

    active_kid: str
    retiring_kid: str | None
    publish_until: datetime | None
    next_kid: str


class KeyRing:
    """Signing keys of this issuer. ``overlap`` is how long a retiring key stays published:
    at least the lifetime of the tokens it signed plus a margin for clocks and caches.

    Decrypted private keys are cached per process by kid; the active kid is read from the
    database on every signature, so a rotation by another replica takes effect at once.
    """

    def __init__(self, cipher: PrivateKeyCipher, *, bits: int, overlap: timedelta) -> None:
        self._cipher = cipher
        self._bits = bits
        self._overlap = overlap
        self._private: dict[str, RSAKey] = {}

    async def ensure_active_key(self, session: AsyncSession, now: datetime) -> str:
        """The active kid; creates the active key (and a next key) if there is none.
        Idempotent and safe under concurrency; flushes, never commits."""
        kid = await repository.active_kid(session)
        if kid is not None:
            return kid
        await repository.lock_keys(session)
        kid = await repository.active_kid(session)
        if kid is not None:
            return kid
        waiting = await repository.by_status(session, "next")
        key = waiting.pop(0) if waiting else await self._generate(session, now)
        key.activate(now)
        await session.flush()
        if not waiting:
            await self._generate(session, now)
        return key.kid

    async def rotate(self, session: AsyncSession, now: datetime) -> RotationResult:
        """Activate the next key, keep the old one published for the overlap, publish a new
        next key, and stop publishing retiring keys whose overlap has ended."""
        await repository.lock_keys(session)
        await self._retire_expired(session, now)
        old = await repository.by_status(session, "active")
        publish_until = now + self._overlap
        for key in old:
            key.start_retiring(publish_until)
        await session.flush()  # the old key leaves "active" before the new one enters it
        waiting = await repository.by_status(session, "next")
        new = waiting[0] if waiting else await self._generate(session, now)
        new.activate(now)
        await session.flush()
        upcoming = await self._generate(session, now)
        return RotationResult(
            active_kid=new.kid,
            retiring_kid=old[0].kid if old else None,
            publish_until=publish_until if old else None,
            next_kid=upcoming.kid,
        )

    async def jwks(self, session: AsyncSession, now: datetime) -> dict[str, list[dict[str, str]]]:
        """The JWKS document: public halves of the active, next and still-published keys."""
        return {"keys": [dict(key.public_jwk) for key in await repository.published(session, now)]}

    async def sign(
        self, session: AsyncSession, claims: Mapping[str, Any], *, typ: str, now: datetime
    ) -> str:
        """A compact JWS of ``claims`` signed with the active key (created if missing), with
        the header ``{"alg": "RS256", "kid": ..., "typ": typ}``."""
        kid = await repository.active_kid(session) or await self.ensure_active_key(session, now)
        key = self._private.get(kid)
        if key is None:
            row = await repository.get(session, kid)
            assert row is not None
            key = _import(self._cipher.decrypt(row.private_jwk))
            self._private = {kid: key}  # older keys no longer sign
        header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
        return jwt.encode(header, dict(claims), key, algorithms=[ALGORITHM])

    async def verify(
        self, session: AsyncSession, token: str, *, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(header, claims)`` of a token this issuer signed with a key published at ``now``;
        None for anything else (malformed, unknown kid, bad signature). Claims are NOT
        validated here (expiry, audience): the caller decides what it needs."""
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError, KeyError, IndexError, UnicodeError):
            return None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or len(kid) > 64:
            return None
        row = await repository.get(session, kid)
        if row is None or row not in await repository.published(session, now):
            return None
        try:
            decoded = jwt.decode(token, _import(row.public_jwk), registry=_REGISTRY)
        except (JoseError, ValueError, TypeError):
            return None
        return dict(decoded.header), dict(decoded.claims)

    async def _retire_expired(self, session: AsyncSession, now: datetime) -> None:
        for key in await repository.by_status(session, "retiring"):
            if key.publish_until is not None and key.publish_until <= now:
                key.retire(now)

    async def _generate(self, session: AsyncSession, now: datetime) -> SigningKey:
        """A new ``next`` key, added to the session and flushed."""
        pair = await asyncio.to_thread(RSAKey.generate_key, self._bits, None, True)
        kid = pair.thumbprint()
        meta = {"kid": kid, "use": "sig", "alg": ALGORITHM}
        public = {**{k: str(v) for k, v in pair.as_dict(private=False).items()}, **meta}
        private = {**{k: str(v) for k, v in pair.as_dict(private=True).items()}, **meta}
        key = SigningKey(kid=kid, alg=ALGORITHM, private_jwk=self._cipher.encrypt(private),
                         public_jwk=public, status="next", created_at=now)
        session.add(key)
        await session.flush()
        return key
