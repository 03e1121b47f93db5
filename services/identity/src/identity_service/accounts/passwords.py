"""Password hashing (argon2id) and the password policy; no database access here.

Hashing and verifying are CPU- and memory-bound (the RFC 9106 "low memory" profile: 64 MiB,
3 passes), so they run on a small dedicated thread pool: the event loop stays responsive and
a burst of logins cannot allocate more than ``workers x 64 MiB``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from identity_service.accounts.errors import WeakPassword

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PasswordCheck",
    "check_policy",
    "hash_password",
    "verify_dummy",
    "verify_password",
]

MIN_LENGTH = 10
MAX_LENGTH = 1024
# The local part is only checked when it is long enough to be a meaningful part of a password.
_MIN_LOCAL_PART = 3

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def _bytes(password: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in decoded form or JSON input) must not turn a
    # failed login into a 500; valid text encodes exactly as UTF-8.
    return password.encode("utf-8", "surrogatepass")


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")


def check_policy(password: str, email: str | None) -> None:
    """Accept a new password or raise :class:`WeakPassword` (422 ``weak_password``).

    Rules: 10 to 1024 characters; must not contain the e-mail address's local part
    (case-insensitive, when it has at least 3 characters). The error names the rule, never
    the password.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password must have at most {MAX_LENGTH} characters.")
    local = (email or "").partition("@")[0].lower()
    if len(local) >= _MIN_LOCAL_PART and local in password.lower():
        raise WeakPassword("The password must not contain the e-mail address.")


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, salt included) of ``password``."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), _hasher.hash, _bytes(password))


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of :func:`verify_password`: ``ok`` and, if ok, whether to rehash."""

    ok: bool
    needs_rehash: bool = False


def _verify(stored_hash: str, password: str) -> PasswordCheck:
    try:
        _hasher.verify(stored_hash, _bytes(password))
    except (VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    return PasswordCheck(ok=True, needs_rehash=_hasher.check_needs_rehash(stored_hash))


async def verify_password(stored_hash: str, password: str) -> PasswordCheck:
    """Check ``password`` against ``stored_hash``; ``needs_rehash`` when the hash was made with
    other parameters than today's (the caller then stores a fresh hash)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), _verify, stored_hash, password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_dummy(password: str) -> None:
    _verify(_dummy_hash(), password)


async def verify_dummy(password: str) -> None:
    """Spend as long as a real verification, for a login whose account does not exist, so
    response times do not tell which e-mail addresses have accounts. Always "fails"."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_executor(), _verify_dummy, password)
