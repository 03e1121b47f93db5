"""Password login (``authenticate_password``): same answer for unknown and wrong, lockout per
e-mail and client address (also for unknown addresses), reset on success, rehash, and the
failure counter under real concurrency."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from city_shared.db import create_engine, create_session_factory
from identity_service.accounts import passwords, repository
from identity_service.accounts.config import LoginPolicy
from identity_service.accounts.errors import AccountLocked, InvalidCredentials
from identity_service.accounts.login import authenticate_password, token_claims, userinfo
from identity_service.accounts.models import Account, AccountAttribute
from identity_service.accounts.repository import LoginCounter

EMAIL = "max.mustermann@example.org"
PASSWORD = "Richtig-langes-Passwort-1"
POLICY = LoginPolicy(max_failures=5, lockout=timedelta(minutes=15))
ADDRESS = "192.0.2.10"


async def _login(
    engine: AsyncEngine,
    *,
    password: str,
    email: str = EMAIL,
    tenant: str = "musterstadt",
    now: datetime | None = None,
    address: str = ADDRESS,
) -> Account | InvalidCredentials | AccountLocked:
    """One login in its own transaction, committed whatever the outcome (as the login route
    must); returns the account or the error."""
    async with create_session_factory(engine)() as session:
        try:
            account = await authenticate_password(
                session, tenant=tenant, email=email, password=password,
                now=now or datetime.now(UTC), policy=POLICY, address=address,
            )
        except (InvalidCredentials, AccountLocked) as error:
            await session.commit()
            return error
        await session.commit()
        return account


async def _row(engine: AsyncEngine, account_id: uuid.UUID) -> Account:
    async with create_session_factory(engine)() as session:
        return (await session.execute(select(Account).where(Account.id == account_id))).scalar_one()


async def _throttle(
    engine: AsyncEngine, email: str = EMAIL, address: str = ADDRESS
) -> LoginCounter:
    async with create_session_factory(engine)() as session:
        key = repository.throttle_key("musterstadt", email, address)
        return await repository.login_throttle(session, key) or LoginCounter(0, None)


async def test_unknown_e_mail_and_wrong_password_get_the_same_answer(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)

    unknown = await _login(identity.engine, email="niemand@example.org", password=PASSWORD)
    wrong = await _login(identity.engine, password="Falsches-Passwort-42")
    not_an_email = await _login(identity.engine, email="kein at zeichen", password=PASSWORD)
    other_tenant = await _login(identity.engine, password=PASSWORD, tenant="beispielhausen")

    for outcome in (unknown, wrong, not_an_email, other_tenant):
        assert isinstance(outcome, InvalidCredentials)
        assert outcome.to_problem() == unknown.to_problem()
        assert outcome.status == 401
        assert outcome.code == "invalid_credentials"


async def test_an_unknown_e_mail_costs_as_much_time_as_a_wrong_password(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)

    async def timed(email: str) -> float:
        started = time.perf_counter()
        await _login(identity.engine, email=email, password="Falsches-Passwort-42")
        return time.perf_counter() - started

    await timed("warmup@example.org")  # the dummy hash is made on first use
    unknown = sorted([await timed("niemand@example.org") for _ in range(3)])[1]
    wrong = sorted([await timed(EMAIL) for _ in range(3)])[1]

    # Without the dummy verification an unknown address answers ~100x faster.
    assert 0.5 < unknown / wrong < 2.0


async def test_five_failures_lock_the_account_for_fifteen_minutes(identity) -> None:  # type: ignore[no-untyped-def]
    account_id = await identity.add_account(EMAIL)
    now = datetime.now(UTC)

    outcomes = [await _login(identity.engine, password=f"Falsch-{i}-xxxxxx", now=now)
                for i in range(5)]
    right_but_locked = await _login(identity.engine, password=PASSWORD, now=now)
    almost_over = await _login(
        identity.engine, password=PASSWORD, now=now + timedelta(minutes=14, seconds=59)
    )

    assert [type(o).__name__ for o in outcomes] == [
        "InvalidCredentials", "InvalidCredentials", "InvalidCredentials", "InvalidCredentials",
        "AccountLocked",
    ]
    assert isinstance(right_but_locked, AccountLocked)
    assert right_but_locked.status == 429
    assert right_but_locked.code == "account_locked"
    assert right_but_locked.headers["Retry-After"] == str(15 * 60)
    assert isinstance(almost_over, AccountLocked)
    assert almost_over.headers["Retry-After"] == "1"
    throttle = await _throttle(identity.engine)
    assert throttle.failed_logins == 5
    assert throttle.locked_until == now + timedelta(minutes=15)

    later = now + timedelta(minutes=15, seconds=1)
    after_lock = await _login(identity.engine, password=PASSWORD, now=later)

    assert isinstance(after_lock, Account)
    row = await _row(identity.engine, account_id)
    assert row.failed_logins == 0
    assert row.locked_until is None
    assert row.last_login_at == later
    assert (await _throttle(identity.engine)).failed_logins == 0


async def test_counting_starts_afresh_after_a_lock_expired(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)
    now = datetime.now(UTC)
    for _ in range(5):
        await _login(identity.engine, password="Falsches-Passwort-42", now=now)

    later = now + timedelta(minutes=16)
    one_more = await _login(identity.engine, password="Falsches-Passwort-42", now=later)
    right = await _login(identity.engine, password=PASSWORD, now=later)

    assert isinstance(one_more, InvalidCredentials)  # not locked again by a single failure
    assert isinstance(right, Account)


async def test_a_successful_login_resets_the_count(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)

    for _ in range(4):
        await _login(identity.engine, password="Falsches-Passwort-42")
    success = await _login(identity.engine, password=PASSWORD)
    again = [await _login(identity.engine, password="Falsches-Passwort-42") for _ in range(4)]

    assert isinstance(success, Account)
    assert all(isinstance(o, InvalidCredentials) for o in again)


@pytest.mark.parametrize("status", ["disabled", "erased"])
async def test_disabled_and_erased_accounts_cannot_log_in(identity, status: str) -> None:  # type: ignore[no-untyped-def]
    account_id = await identity.add_account(EMAIL)
    async with identity.engine.begin() as conn:
        await conn.execute(
            update(Account).where(Account.id == account_id).values(status=status)
        )

    outcome = await _login(identity.engine, password=PASSWORD)

    assert isinstance(outcome, InvalidCredentials)


async def test_an_outdated_hash_is_upgraded_on_login(identity) -> None:  # type: ignore[no-untyped-def]
    account_id = await identity.add_account(EMAIL)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with identity.engine.begin() as conn:
        await conn.execute(
            update(Account).where(Account.id == account_id).values(password_hash=weak)
        )

    outcome = await _login(identity.engine, password=PASSWORD)

    assert isinstance(outcome, Account)
    stored = (await _row(identity.engine, account_id)).password_hash
    assert stored is not None
    assert stored != weak
    assert "m=65536,t=3,p=4" in stored
    assert isinstance(await _login(identity.engine, password=PASSWORD), Account)


async def test_a_strangers_failures_do_not_lock_the_owner_out(identity) -> None:  # type: ignore[no-untyped-def]
    """Issue 11, hole 8: a fuzzer (or an attacker) failing against the admin's address from
    its own address locks only itself; the admin logs in from theirs."""
    await identity.add_account(EMAIL)
    now = datetime.now(UTC)

    stranger = [await _login(identity.engine, password=f"Falsch-{i}-xxxxxx", now=now,
                             address="198.51.100.66") for i in range(6)]
    owner = await _login(identity.engine, password=PASSWORD, now=now, address=ADDRESS)

    assert isinstance(stranger[-1], AccountLocked)
    assert isinstance(owner, Account)


async def test_a_lock_does_not_reveal_whether_the_e_mail_has_an_account(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)
    now = datetime.now(UTC)

    async def five_failures(email: str) -> list[str]:
        outcomes = [await _login(identity.engine, email=email, password=f"Falsch-{i}-xxxxxx",
                                 now=now) for i in range(6)]
        return [o.to_problem()["code"] for o in outcomes if not isinstance(o, Account)]

    existing = await five_failures(EMAIL)
    unknown = await five_failures("niemand@example.org")

    assert existing == unknown == ["invalid_credentials"] * 4 + ["account_locked"] * 2


# --- the counter under real concurrency ------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    """What 20 simultaneous wrong-password logins did."""

    invalid: int
    locked: int
    verifications: int
    failed_logins: int
    locked_until: datetime | None


async def _storm(url: str, attempts: int = 20) -> Storm:
    """``attempts`` wrong-password logins at once, each on its own connection."""
    engine = create_engine(url, pool_size=attempts)
    verifications = 0
    real_verify = passwords.verify_password

    async def counting_verify(stored_hash: str, password: str) -> passwords.PasswordCheck:
        nonlocal verifications
        verifications += 1
        return await real_verify(stored_hash, password)

    gate = asyncio.Event()

    async def attempt() -> Account | InvalidCredentials | AccountLocked:
        await gate.wait()
        return await _login(engine, password="Falsches-Passwort-42")

    try:
        passwords.verify_password = counting_verify  # type: ignore[assignment]
        tasks = [asyncio.create_task(attempt()) for _ in range(attempts)]
        await asyncio.sleep(0)
        gate.set()
        outcomes = await asyncio.gather(*tasks)
    finally:
        passwords.verify_password = real_verify  # type: ignore[assignment]
    row = await _throttle(engine)
    await engine.dispose()
    assert not any(isinstance(o, Account) for o in outcomes)
    return Storm(
        invalid=sum(isinstance(o, InvalidCredentials) for o in outcomes),
        locked=sum(isinstance(o, AccountLocked) for o in outcomes),
        verifications=verifications,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
    )


async def test_concurrent_failures_are_all_counted_and_lock_exactly_once(identity) -> None:  # type: ignore[no-untyped-def]
    await identity.add_account(EMAIL)

    storm = await _storm(identity.url)

    assert storm.invalid + storm.locked == 20
    # Every wrong password that was checked was counted, none lost ...
    assert storm.failed_logins == storm.verifications
    assert storm.verifications >= 5
    # ... so exactly the first four failures answer 401 and everything after is locked.
    assert storm.invalid == 4
    assert storm.locked == 16
    assert storm.locked_until is not None
    assert storm.locked_until > datetime.now(UTC)
    assert isinstance(await _login(identity.engine, password=PASSWORD), AccountLocked)


async def _naive_record_failure(
    session: AsyncSession,
    key: str,
    *,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
) -> LoginCounter:
    """The classic bug: increment the value read when the login started (read-modify-write)."""
    before = await repository.login_throttle(session, key)
    # Read, then write a little later (as if the read happened before hashing): the concurrent
    # attempts all read the same count, which is what a lost update needs. Without the pause a
    # busy machine serialises the attempts and the control would prove nothing.
    await asyncio.sleep(0.2)
    count = (before.failed_logins if before else 0) + 1
    locked_until = now + lockout if count >= max_failures else None
    await session.execute(
        text("INSERT INTO login_throttles (key, failed_logins, locked_until, last_failed_at)"
             " VALUES (:k, :c, :l, :n) ON CONFLICT (key) DO UPDATE"
             " SET failed_logins = :c, locked_until = :l, last_failed_at = :n"),
        {"k": key, "c": count, "l": locked_until, "n": now},
    )
    return LoginCounter(count, locked_until)


async def test_negative_control_a_read_modify_write_counter_loses_failures(
    identity, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """The storm above detects lost updates: with a naive counter its assertions fail."""
    await identity.add_account(EMAIL)
    naive: Callable[..., Awaitable[LoginCounter]] = _naive_record_failure
    monkeypatch.setattr(repository, "record_throttled_failure", naive)

    storm = await _storm(identity.url)

    assert storm.failed_logins < storm.verifications
    assert storm.invalid > 4


# --- what a login yields for the tokens -----------------------------------------------------


async def test_token_claims_and_userinfo(identity) -> None:  # type: ignore[no-untyped-def]
    staff_id = await identity.add_account(
        "kasse@example.org", kind="staff", roles={"pools": ["gatekeeper", "cashier"],
                                                  "museum": ["cashier"]},
        admin="tenant", given_name="Karla", family_name="Kasse",
    )
    citizen_id = await identity.add_account(
        EMAIL, given_name="Erika", family_name="Mustermann", verified=False
    )
    async with identity.engine.begin() as conn:
        await conn.execute(AccountAttribute.__table__.insert().values(
            account_id=citizen_id, name="birth_date", value="1964-08-12", loa="substantial",
            source="eid-sandbox",
        ))
    staff = await _row(identity.engine, staff_id)
    citizen = await _row(identity.engine, citizen_id)

    claims = token_claims(staff)
    assert claims.sub == str(staff_id)
    assert claims.tenant == "musterstadt"
    assert claims.kind == "staff"
    assert claims.roles == {"museum": ["cashier"], "pools": ["cashier", "gatekeeper"]}
    assert claims.admin == "tenant"
    assert token_claims(citizen).roles == {}
    assert token_claims(citizen).admin is None

    assert userinfo(citizen, ["openid"]) == {"sub": str(citizen_id)}
    assert userinfo(citizen, ["openid", "profile", "email"]) == {
        "sub": str(citizen_id),
        "name": "Erika Mustermann",
        "given_name": "Erika",
        "family_name": "Mustermann",
        "locale": "de",
        "birthdate": "1964-08-12",
        "email": EMAIL,
        "email_verified": False,
    }
    assert "email" not in userinfo(citizen, ["openid", "profile"])
