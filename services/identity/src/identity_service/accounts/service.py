"""Self-service use cases on accounts: register, verify the e-mail address, profile, password,
export and erasure. Flushes and writes outbox rows, never commits.

The login use cases (:func:`authenticate_password`, :func:`token_claims`, :func:`userinfo`)
live in :mod:`identity_service.accounts.login` and are re-exported here.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.auth import Principal
from identity_service.accounts import events, passwords, repository
from identity_service.accounts.config import LoginPolicy, VerificationConfig
from identity_service.accounts.errors import (
    AccountNotFound,
    EmailTaken,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidVerificationToken,
)
from identity_service.accounts.login import (
    AccountClaims,
    authenticate_password,
    token_claims,
    userinfo,
    verify_current_password,
)
from identity_service.accounts.models import Account
from identity_service.accounts.schemas import AccountUpdate, CitizenCreate, PasswordChange
from identity_service.tenancy import repository as tenancy
from identity_service.tenancy.errors import TenantNotFound
from identity_service.topics import ACCOUNTS

__all__ = [
    "AccountClaims",
    "authenticate_password",
    "change_password",
    "create_account",
    "current_account",
    "erase_account",
    "get_account",
    "register_citizen",
    "request_email_verification",
    "token_claims",
    "update_profile",
    "userinfo",
    "verify_email",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


async def _flush_unique_email(session: AsyncSession) -> None:
    """Flush; a concurrent account with the same e-mail address surfaces as 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_accounts_tenant_email" in str(exc.orig):
            raise EmailTaken() from None
        raise


async def get_account(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> Account:
    """The account ``account_id`` of ``tenant`` unless erased (for ``/userinfo`` and refresh).

    :raises AccountNotFound: no such account in this tenant, or it was erased.
    """
    account = await repository.get(session, tenant, account_id)
    if account is None or account.status == "erased":
        raise AccountNotFound()
    return account


async def current_account(
    session: AsyncSession, principal: Principal, *, for_update: bool = False
) -> Account:
    """The caller's own account (citizen or staff token); ``for_update`` locks its row.

    :raises AccountNotFound: the token's subject is no account of its tenant any more.
    """
    try:
        account_id = uuid.UUID(principal.sub)
    except ValueError:
        raise AccountNotFound() from None
    if not for_update:
        return await get_account(session, principal.tenant, account_id)
    account = await repository.get_for_update(session, principal.tenant, account_id)
    if account is None or account.status == "erased":
        raise AccountNotFound()
    return account


async def request_email_verification(
    session: AsyncSession, account: Account, *, config: VerificationConfig, now: datetime
) -> None:
    """Store a new one-time token (only its sha256) and ask notification to send the link.

    The token itself exists only in the outbox command; it expires after ``config.ttl``.
    """
    if account.email is None:
        return
    token = secrets.token_urlsafe(32)
    await repository.add_verification(session, account.id, _token_hash(token), now + config.ttl)
    command = events.email_verification_request(account, config.link(token))
    await outbox.add(session, events.NOTIFICATION_REQUESTS_TOPIC, command)


async def create_account(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    email: str,
    password: str,
    given_name: str | None,
    family_name: str | None,
    locale: str,
    config: VerificationConfig,
    now: datetime,
) -> Account:
    """Create an active account with an unverified e-mail address; publishes
    ``account.registered`` and the verification command.

    :raises TenantNotFound: no such tenant.
    :raises WeakPassword: the password breaks the policy.
    :raises EmailTaken: the tenant has an account with this (normalised) address.
    """
    if await tenancy.get_tenant(session, tenant) is None:
        raise TenantNotFound()
    passwords.check_policy(password, email)
    if await repository.email_in_use(session, tenant, email):
        raise EmailTaken()
    account = Account(
        id=uuid.uuid4(),
        tenant=tenant,
        kind=kind,
        email=email,
        password_hash=await passwords.hash_password(password),
        given_name=given_name,
        family_name=family_name,
        locale=locale,
        status="active",
        failed_logins=0,
        attributes=[],
        roles=[],
    )
    session.add(account)
    await _flush_unique_email(session)
    await outbox.add(session, ACCOUNTS, events.registered(account))
    await request_email_verification(session, account, config=config, now=now)
    return account


async def register_citizen(
    session: AsyncSession,
    tenant: str,
    data: CitizenCreate,
    *,
    config: VerificationConfig | None = None,
    now: datetime | None = None,
) -> None:
    """Register a citizen of ``tenant`` (effects as :func:`create_account`), unless the tenant
    already has an account with this address: then nothing happens, after the same password
    hashing, so the caller cannot tell the two apart (neither from the answer nor its
    timing). The address's owner still logs in (or resets the password) as before.

    :raises TenantNotFound: no such tenant.
    :raises WeakPassword: the password breaks the policy (checked before anything else).
    """
    try:
        async with session.begin_nested():
            await create_account(
                session,
                tenant=tenant,
                kind="citizen",
                email=data.email,
                password=data.password,
                given_name=data.given_name,
                family_name=data.family_name,
                locale=data.locale,
                config=config or VerificationConfig(),
                now=now or _now(),
            )
    except EmailTaken:
        await passwords.hash_password(data.password)  # as long as a registration takes


async def verify_email(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> Account:
    """Mark the address the token was sent to as verified; publishes ``account.updated``
    (unless it was verified already). A token works once and until it expires.

    :raises InvalidVerificationToken: unknown, used, expired, or the account is gone.
    """
    now = now or _now()
    account_id = await repository.consume_verification(session, _token_hash(token), now)
    if account_id is None:
        raise InvalidVerificationToken()
    account = await session.get(Account, account_id)
    if account is None or account.status != "active" or account.email is None:
        raise InvalidVerificationToken()
    if account.email_verified_at is None:
        account.email_verified_at = now
        await session.flush()
        await outbox.add(session, ACCOUNTS, events.updated(account, ["email_verified"]))
    return account


async def update_profile(
    session: AsyncSession,
    account: Account,
    data: AccountUpdate,
    *,
    config: VerificationConfig,
    now: datetime | None = None,
) -> Account:
    """Apply the fields present in ``data``. A new e-mail address is unverified: pending
    tokens for the old one are dropped and a verification link goes to the new one. Publishes
    ``account.updated`` naming the changed fields, if any changed.

    :raises EmailTaken: another account of the tenant has the new address.
    """
    now = now or _now()
    fields = data.model_fields_set
    changed: list[str] = []
    for name in ("given_name", "family_name", "locale"):
        value = getattr(data, name)
        if name in fields and getattr(account, name) != value:
            setattr(account, name, value)
            changed.append(name)
    new_email = data.email if "email" in fields else None
    if new_email is not None and new_email != account.email:
        if await repository.email_in_use(session, account.tenant, new_email, except_id=account.id):
            raise EmailTaken()
        await repository.delete_pending_verifications(session, account.id)
        account.email = new_email
        account.email_verified_at = None
        changed.append("email")
    if not changed:
        return account
    await _flush_unique_email(session)
    await outbox.add(session, ACCOUNTS, events.updated(account, changed))
    if "email" in changed:
        await request_email_verification(session, account, config=config, now=now)
    return account


async def change_password(
    session: AsyncSession,
    account: Account,
    data: PasswordChange,
    *,
    policy: LoginPolicy,
    now: datetime | None = None,
) -> None:
    """Replace the password after checking the current one (a wrong one counts as a failed
    login, so this cannot be used to guess it). Revokes the account's refresh and access
    tokens (every session has to log in again, every service refuses the old access tokens
    within seconds) and publishes ``account.tokens_revoked``.

    :raises InvalidCurrentPassword: the current password is wrong (commit: it was counted).
    :raises AccountLocked: too many failures (commit as well).
    :raises WeakPassword: the new password breaks the policy.
    """
    now = now or _now()
    try:
        await verify_current_password(
            session, account, data.current_password, now=now, policy=policy
        )
    except InvalidCredentials:
        raise InvalidCurrentPassword("The current password is wrong.") from None
    passwords.check_policy(data.new_password, account.email)
    account.password_hash = await passwords.hash_password(data.new_password)
    account.failed_logins = 0
    account.locked_until = None
    await repository.revoke_tokens(session, account.id, now)
    await session.flush()
    await outbox.add(session, ACCOUNTS, events.tokens_revoked(
        account.id, account.tenant, reason="password_changed", revoked="account", not_before=now))


async def erase_account(
    session: AsyncSession, account: Account, *, now: datetime | None = None
) -> None:
    """Erase the person's data held here (e-mail address, names, password hash, attributes,
    roles, pending verifications), revoke their refresh tokens and publish ``account.erased``
    so every other service erases theirs. The bare row stays with status ``erased``."""
    now = now or _now()
    await repository.delete_pending_verifications(session, account.id)
    await repository.revoke_tokens(session, account.id, now)
    account.erase(now)
    await session.flush()
    await outbox.add(session, ACCOUNTS, events.erased(account))
