"""Password login with throttling per e-mail and client address, and what a login yields for
the OAuth side: the claims of an access token (:func:`token_claims`) and the OIDC userinfo
(:func:`userinfo`).

Failed attempts are counted in the caller's transaction: **its unit of work must commit also
when** :class:`InvalidCredentials` **or** :class:`AccountLocked` **is raised**, or the attempt
is not counted (a route returns the error response instead of raising it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from identity_service.accounts import passwords, repository
from identity_service.accounts.config import LoginPolicy
from identity_service.accounts.emails import normalise_email
from identity_service.accounts.errors import AccountLocked, InvalidCredentials
from identity_service.accounts.models import Account

__all__ = [
    "AccountClaims",
    "authenticate_password",
    "token_claims",
    "userinfo",
    "verify_current_password",
]

logger = logging.getLogger(__name__)


async def authenticate_password(
    session: AsyncSession,
    *,
    tenant: str,
    email: str,
    password: str,
    now: datetime,
    policy: LoginPolicy | None = None,
    address: str = "unknown",
) -> Account:
    """The account of ``tenant`` whose e-mail address and password match.

    - Unknown e-mail address, wrong password, an account that is disabled or erased: the same
      :class:`InvalidCredentials` (401), after the same argon2 work (a dummy hash is verified
      when there is no account), so neither the answer nor its timing reveals an account.
    - Throttling counts failures per (tenant, e-mail address as typed, client ``address``),
      whether or not an account has that address: after ``policy.max_failures`` consecutive
      failures that combination answers :class:`AccountLocked` (429, ``Retry-After``) for
      ``policy.lockout``, even with the right password; the failure that reaches the limit
      already answers 429. So a lock reveals no account either, and a stranger's failures
      lock only the stranger's address: the owner logs in from elsewhere as usual.
    - Success clears that throttle and the account's counter, stamps ``last_login_at`` and
      rehashes the password if its hash parameters are outdated.

    ``address`` is the client's IP address (the app must see the real one behind a proxy).
    ``policy`` defaults to 5 failures / 15 minutes; the app's comes from
    :class:`~identity_service.accounts.config.LoginPolicy` ``.from_settings`` (or the
    ``LoginPolicyDep`` dependency). The counters are updated in ``session``: its unit of
    work must commit on success **and** on either error (routes return these errors as their
    answer instead of raising them).
    """
    policy = policy or LoginPolicy()
    account: Account | None = None
    try:
        normalised: str | None = normalise_email(email)
    except ValueError:
        normalised = None
    key = repository.throttle_key(tenant, normalised or email.strip().lower(), address)
    throttle = await repository.login_throttle(session, key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        raise AccountLocked(throttle.locked_until, now)
    if normalised is not None and len(password) <= passwords.MAX_LENGTH:
        account = await repository.get_by_email(session, tenant, normalised)
    if account is None or account.password_hash is None or account.status != "active":
        await passwords.verify_dummy(password[: passwords.MAX_LENGTH])
        await _count_failure(session, key, now, policy)
    check = await passwords.verify_password(account.password_hash, password)
    if not check.ok:
        await _count_failure(session, key, now, policy)
    new_hash = await passwords.hash_password(password) if check.needs_rehash else None
    if not await repository.record_successful_login(
        session, account.id, now=now, new_hash=new_hash
    ):
        # locked (by failed password changes) or deactivated meanwhile
        await session.refresh(account, ["failed_logins", "locked_until", "status"])
        if account.is_locked(now):
            assert account.locked_until is not None
            raise AccountLocked(account.locked_until, now)
        raise InvalidCredentials()
    await repository.clear_throttle(session, key)
    set_committed_value(account, "failed_logins", 0)
    set_committed_value(account, "locked_until", None)
    set_committed_value(account, "last_login_at", now)
    if new_hash is not None:
        set_committed_value(account, "password_hash", new_hash)
        logger.info("password hash upgraded to current parameters")
    return account


async def _count_failure(
    session: AsyncSession, key: str, now: datetime, policy: LoginPolicy
) -> NoReturn:
    counter = await repository.record_throttled_failure(
        session, key, now=now, max_failures=policy.max_failures, lockout=policy.lockout
    )
    if counter.locked_until is not None and counter.locked_until > now:
        logger.warning("login throttled after %d failures", counter.failed_logins)
        raise AccountLocked(counter.locked_until, now)
    raise InvalidCredentials()


async def verify_current_password(
    session: AsyncSession,
    account: Account,
    password: str,
    *,
    now: datetime,
    policy: LoginPolicy,
) -> passwords.PasswordCheck:
    """Check ``password`` for ``account`` under the lockout rules, counting a failure.

    :raises AccountLocked: locked before, or by this failure.
    :raises InvalidCredentials: wrong password (counted in ``session``; commit it).
    """
    if account.is_locked(now):
        assert account.locked_until is not None
        raise AccountLocked(account.locked_until, now)
    if account.password_hash is None:
        await passwords.verify_dummy(password[: passwords.MAX_LENGTH])
        raise InvalidCredentials()
    check = await passwords.verify_password(account.password_hash, password)
    if check.ok:
        return check
    counter = await repository.record_failed_login(
        session, account.id, now=now, max_failures=policy.max_failures, lockout=policy.lockout
    )
    set_committed_value(account, "failed_logins", counter.failed_logins)
    set_committed_value(account, "locked_until", counter.locked_until)
    if counter.locked_until is not None and counter.locked_until > now:
        logger.warning("account locked after %d failed logins", counter.failed_logins)
        raise AccountLocked(counter.locked_until, now)
    raise InvalidCredentials()


@dataclass(frozen=True)
class AccountClaims:
    """The account's part of an access token: ``sub``, ``tenant``, ``kind``, ``roles``
    (department -> sorted roles; staff only) and ``admin`` (``tenant``/``platform`` or None).
    ``acr`` and ``scope`` depend on the login and the client, not the account."""

    sub: str
    tenant: str
    kind: str
    roles: dict[str, list[str]] = field(default_factory=dict)
    admin: str | None = None


def token_claims(account: Account) -> AccountClaims:
    """The claims an access token for ``account`` carries about the account."""
    return AccountClaims(
        sub=str(account.id),
        tenant=account.tenant,
        kind=account.kind,
        roles=account.roles_by_department() if account.kind == "staff" else {},
        admin=account.admin,
    )


def userinfo(account: Account, scopes: Iterable[str]) -> dict[str, str | bool]:
    """OIDC standard claims of ``account`` released by ``scopes``: always ``sub``;
    ``profile`` -> ``name``, ``given_name``, ``family_name``, ``locale`` and ``birthdate`` (from
    a verified attribute); ``email`` -> ``email``, ``email_verified``. Claims without a value
    are left out (OIDC Core 5.3.2)."""
    granted = frozenset(scopes)
    claims: dict[str, str | bool] = {"sub": str(account.id)}
    if "profile" in granted:
        full_name = " ".join(n for n in (account.given_name, account.family_name) if n)
        if full_name:
            claims["name"] = full_name
        if account.given_name:
            claims["given_name"] = account.given_name
        if account.family_name:
            claims["family_name"] = account.family_name
        claims["locale"] = account.locale
        birth_date = next((a.value for a in account.attributes if a.name == "birth_date"), None)
        if birth_date:
            claims["birthdate"] = birth_date
    if "email" in granted and account.email is not None:
        claims["email"] = account.email
        claims["email_verified"] = account.email_verified_at is not None
    return claims
