"""Client secrets: generated with :mod:`secrets`, stored as argon2id hashes, verified off the
event loop. A secret has 256 bits of entropy, so the hash parameters are the OWASP minimum
(19 MiB, 2 passes) rather than the password parameters: no dictionary can guess it."""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["generate_secret", "hash_secret", "verify_secret"]

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def generate_secret() -> str:
    """A new client secret: 43 URL-safe characters."""
    return secrets.token_urlsafe(32)


async def hash_secret(secret: str) -> str:
    """The argon2id hash (PHC string) of ``secret``."""
    return await asyncio.to_thread(_hasher.hash, secret)


@cache
def _dummy() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


def _verify(stored: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy(), secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_secret(stored: str | None, secret: str) -> bool:
    """True if ``secret`` matches ``stored``. With ``stored=None`` (unknown client, or one
    without a secret) a dummy hash is checked, so timing does not tell which clients exist."""
    return await asyncio.to_thread(_verify, stored, secret)
