"""Queries of the accounts slice; every lookup is scoped to a tenant. Never commits.

The login counter is changed by single ``UPDATE ... RETURNING`` statements, so concurrent
attempts on one account serialise on the row lock and none of them is lost.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, exists, null, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.accounts.models import (
    Account,
    EmailVerification,
    LoginThrottle,
    StaffRole,
)

__all__ = [
    "LoginCounter",
    "add_verification",
    "clear_throttle",
    "consume_verification",
    "delete_pending_verifications",
    "email_in_use",
    "get",
    "get_by_email",
    "get_for_update",
    "list_staff",
    "login_throttle",
    "record_failed_login",
    "record_successful_login",
    "record_throttled_failure",
    "revoke_tokens",
    "throttle_key",
]


@dataclass(frozen=True)
class LoginCounter:
    """The counter after a failed login: consecutive failures and the lock, if one is set."""

    failed_logins: int
    locked_until: datetime | None


async def get(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> Account | None:
    """The account ``account_id`` of ``tenant``, in any status."""
    stmt = select(Account).where(Account.tenant == tenant, Account.id == account_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_for_update(
    session: AsyncSession, tenant: str, account_id: uuid.UUID
) -> Account | None:
    """Like :func:`get`, with the row locked until the transaction ends (writers of the same
    account, e.g. two role changes, run one after the other)."""
    stmt = (
        select(Account)
        .where(Account.tenant == tenant, Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_email(session: AsyncSession, tenant: str, email: str) -> Account | None:
    """The account of ``tenant`` with the normalised ``email``."""
    stmt = select(Account).where(Account.tenant == tenant, Account.email == email)
    return (await session.execute(stmt)).scalar_one_or_none()


async def email_in_use(
    session: AsyncSession, tenant: str, email: str, *, except_id: uuid.UUID | None = None
) -> bool:
    """True if another account of ``tenant`` has ``email``."""
    cond = and_(Account.tenant == tenant, Account.email == email)
    if except_id is not None:
        cond = and_(cond, Account.id != except_id)
    return bool((await session.execute(select(exists().where(cond)))).scalar())


async def record_failed_login(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
) -> LoginCounter:
    """Count one failed login atomically; the failure that reaches ``max_failures`` locks the
    account until ``now + lockout``. After a lock has expired, counting starts again at 1."""
    expired_lock = and_(Account.locked_until.is_not(None), Account.locked_until <= now)
    count = case((expired_lock, 1), else_=Account.failed_logins + 1)
    stmt = (
        update(Account)
        .where(Account.id == account_id)
        .values(
            failed_logins=count,
            locked_until=case(
                (count >= max_failures, now + lockout),
                (expired_lock, null()),
                else_=Account.locked_until,
            ),
        )
        .returning(Account.failed_logins, Account.locked_until)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).one()
    return LoginCounter(failed_logins=row.failed_logins, locked_until=row.locked_until)


def throttle_key(tenant: str, email: str, address: str) -> str:
    """The key of the login throttle of ``email`` (as typed, normalised if possible) in
    ``tenant`` tried from the client ``address``."""
    raw = "\x00".join((tenant, email, address))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


async def login_throttle(session: AsyncSession, key: str) -> LoginCounter | None:
    """The throttle's counter, None if nothing failed (or it was cleared)."""
    row = await session.get(LoginThrottle, key, populate_existing=True)
    return None if row is None else LoginCounter(row.failed_logins, row.locked_until)


async def record_throttled_failure(
    session: AsyncSession, key: str, *, now: datetime, max_failures: int, lockout: timedelta
) -> LoginCounter:
    """Count one failed login on the throttle ``key`` atomically (an upsert, so concurrent
    failures are all counted); the failure that reaches ``max_failures`` locks it until
    ``now + lockout``. After a lock expired, or ``lockout`` after the last failure, counting
    starts again at 1."""
    table = LoginThrottle.__table__
    stale = or_(
        and_(table.c.locked_until.is_not(None), table.c.locked_until <= now),
        table.c.last_failed_at <= now - lockout,
    )
    count = case((stale, 1), else_=table.c.failed_logins + 1)
    first = insert(LoginThrottle).values(
        key=key, failed_logins=1, last_failed_at=now,
        locked_until=now + lockout if max_failures <= 1 else None,
    )
    stmt = first.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failed_logins": count,
            "locked_until": case(
                (count >= max_failures, now + lockout), (stale, null()),
                else_=table.c.locked_until,
            ),
            "last_failed_at": now,
        },
    ).returning(LoginThrottle.failed_logins, LoginThrottle.locked_until)
    row = (await session.execute(stmt)).one()
    return LoginCounter(failed_logins=row.failed_logins, locked_until=row.locked_until)


async def clear_throttle(session: AsyncSession, key: str) -> None:
    """Forget the failures of ``key`` (after a successful login from there)."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def record_successful_login(
    session: AsyncSession, account_id: uuid.UUID, *, now: datetime, new_hash: str | None
) -> bool:
    """Reset the counter and stamp ``last_login_at`` (and store ``new_hash`` if given), unless
    the account got locked or deactivated meanwhile: then nothing changes and False returns."""
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if new_hash is not None:
        values["password_hash"] = new_hash
    stmt = (
        update(Account)
        .where(
            Account.id == account_id,
            Account.status == "active",
            or_(Account.locked_until.is_(None), Account.locked_until <= now),
        )
        .values(values)
        .returning(Account.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def add_verification(
    session: AsyncSession, account_id: uuid.UUID, token_hash: str, expires_at: datetime
) -> None:
    """Store a pending e-mail verification (only the token's hash)."""
    session.add(
        EmailVerification(token_hash=token_hash, account_id=account_id, expires_at=expires_at)
    )
    await session.flush()


async def consume_verification(
    session: AsyncSession, token_hash: str, now: datetime
) -> uuid.UUID | None:
    """Mark the verification used and return its account id, if it is pending and unexpired;
    one statement, so a token verifies at most once even when submitted twice at once."""
    stmt = (
        update(EmailVerification)
        .where(
            EmailVerification.token_hash == token_hash,
            EmailVerification.used_at.is_(None),
            EmailVerification.expires_at > now,
        )
        .values(used_at=now)
        .returning(EmailVerification.account_id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_pending_verifications(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Forget the account's verification tokens (the address they were sent to changed)."""
    await session.execute(
        delete(EmailVerification)
        .where(EmailVerification.account_id == account_id)
        .execution_options(synchronize_session=False)
    )


#: Access tokens live at most this long (``access_token_ttl_seconds`` <= 3600) plus clock
#: leeway: a grant exchanged longer ago has no live access token left.
_MAX_ACCESS_TOKEN_LIFE = timedelta(seconds=3600 + 60)


async def revoke_tokens(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> None:
    """Revoke the account's refresh tokens and its live access tokens (put on the revocation
    list by their jti, derived from the grant exchanged for them as
    ``oauth.tokens.derived_jti`` does) and drop its authorization codes.

    Plain SQL on purpose: those tables belong to the OAuth slice, whose models this slice does
    not import.
    """
    await session.execute(
        text(
            "INSERT INTO revoked_access_tokens (jti, expires_at)"
            " SELECT substr(encode(sha256(convert_to('access-token:' || h, 'UTF8')), 'hex'),"
            " 1, 32), used_at + :life FROM ("
            "  SELECT code_hash AS h, used_at FROM authorization_codes"
            "   WHERE account_id = :account_id AND used_at > :since"
            "  UNION ALL SELECT token_hash, used_at FROM refresh_tokens"
            "   WHERE account_id = :account_id AND used_at > :since) AS grants"
            " ON CONFLICT DO NOTHING"
        ),
        {"account_id": account_id, "since": now - _MAX_ACCESS_TOKEN_LIFE,
         "life": _MAX_ACCESS_TOKEN_LIFE},
    )
    await session.execute(
        text(
            "UPDATE refresh_tokens SET revoked_at = :now"
            " WHERE account_id = :account_id AND revoked_at IS NULL"
        ),
        {"now": now, "account_id": account_id},
    )
    await session.execute(
        text("DELETE FROM authorization_codes WHERE account_id = :account_id"),
        {"account_id": account_id},
    )


async def list_staff(
    session: AsyncSession,
    tenant: str,
    *,
    departments: Collection[str] | None,
    limit: int,
    offset: int,
) -> list[Account]:
    """Staff accounts of ``tenant`` that are not erased, by name; with ``departments``, only
    those holding a role in one of them."""
    stmt = select(Account).where(
        Account.tenant == tenant, Account.kind == "staff", Account.status != "erased"
    )
    if departments is not None:
        holders = select(StaffRole.account_id).where(
            StaffRole.tenant == tenant, StaffRole.department.in_(list(departments))
        )
        stmt = stmt.where(Account.id.in_(holders))
    stmt = (
        stmt.order_by(Account.family_name, Account.given_name, Account.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(stmt)).scalars())
