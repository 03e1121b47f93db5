"""The demo accounts: every one can log in with the documented password, with its roles and
attributes, and seeding again repairs whatever happened to them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from city_shared.db import create_engine, create_session_factory
from identity_service.accounts.config import LoginPolicy
from identity_service.accounts.demo import DEMO_PASSWORD
from identity_service.accounts.login import authenticate_password, token_claims, userinfo
from identity_service.seed import seed


async def test_every_demo_account_logs_in_with_the_demo_password(migrated_url: str) -> None:
    summary = await seed(migrated_url)

    accounts = summary["accounts"]
    assert isinstance(accounts, list)
    assert summary["demo_password"] == DEMO_PASSWORD
    engine = create_engine(migrated_url)
    claims = {}
    try:
        async with create_session_factory(engine)() as session:
            for demo in accounts:
                account = await authenticate_password(
                    session, tenant=demo["tenant"], email=demo["email"],
                    password=demo["password"], now=datetime.now(UTC), policy=LoginPolicy(),
                )
                assert str(account.id) == demo["id"]
                assert account.email_verified_at is not None
                claims[demo["email"]] = token_claims(account)
                if demo["email"] == "erika.mustermann@example.org":
                    erika = userinfo(account, ["profile", "email"])
                    attributes = {(a.name, a.loa, a.source) for a in account.attributes}
            await session.commit()
    finally:
        await engine.dispose()

    staff = {email: c.roles for email, c in claims.items() if c.kind == "staff" and c.roles}
    assert staff == {
        "museum.manager@example.org": {"museum": ["manager"]},
        "museum.cashier@example.org": {"museum": ["cashier"]},
        "museum.gatekeeper@example.org": {"museum": ["gatekeeper"]},
        "pools.manager@example.org": {"pools": ["manager"]},
        "pools.cashier@example.org": {"pools": ["cashier"]},
        "pools.gatekeeper@example.org": {"pools": ["gatekeeper"]},
        "citizens-office.manager@example.org": {"citizens-office": ["manager"]},
        "citizens-office.clerk1@example.org": {"citizens-office": ["clerk"]},
        "citizens-office.clerk2@example.org": {"citizens-office": ["clerk"]},
    }
    admins = {(c.tenant, c.admin) for c in claims.values() if c.admin}
    assert admins == {("musterstadt", "tenant"), ("beispielhausen", "tenant")}
    assert claims["max.mustermann@example.org"].kind == "citizen"
    assert erika["birthdate"] == "1964-08-12"
    assert attributes == {("given_name", "substantial", "eid-sandbox"),
                          ("family_name", "substantial", "eid-sandbox"),
                          ("birth_date", "substantial", "eid-sandbox")}


async def test_seeding_again_repairs_the_demo_accounts(migrated_url: str) -> None:
    first = await seed(migrated_url)
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:  # somebody played with the demo
            await conn.execute(text(
                "UPDATE accounts SET failed_logins = 9, locked_until = now() + interval '1 h',"
                " given_name = 'Gehackt' WHERE email = 'museum.cashier@example.org'"
            ))
            await conn.execute(text(
                "UPDATE accounts SET email = NULL, password_hash = NULL, status = 'erased'"
                " WHERE email = 'erika.mustermann@example.org'"
            ))
            await conn.execute(text("DELETE FROM account_attributes"))
            await conn.execute(text(
                "INSERT INTO staff_roles (account_id, tenant, department, role)"
                " SELECT id, tenant, 'pools', 'manager' FROM accounts"
                " WHERE email = 'museum.cashier@example.org'"
            ))

        second = await seed(migrated_url)

        async with engine.connect() as conn:
            cashier = (await conn.execute(text(
                "SELECT a.given_name, a.failed_logins, a.locked_until,"
                " array_agg(r.department || ':' || r.role) AS roles"
                " FROM accounts a JOIN staff_roles r ON r.account_id = a.id"
                " WHERE a.email = 'museum.cashier@example.org'"
                " GROUP BY a.given_name, a.failed_logins, a.locked_until"
            ))).one()
            erika = (await conn.execute(text(
                "SELECT status, (SELECT count(*) FROM account_attributes t"
                "  WHERE t.account_id = a.id) AS attributes"
                " FROM accounts a WHERE email = 'erika.mustermann@example.org'"
            ))).one()
            total = (await conn.execute(text("SELECT count(*) FROM accounts"))).scalar()
    finally:
        await engine.dispose()

    assert second == first
    assert (cashier.given_name, cashier.failed_logins, cashier.locked_until) == ("Kai", 0, None)
    assert cashier.roles == ["museum:cashier"]
    assert (erika.status, erika.attributes) == ("active", 3)
    assert total == len(first["accounts"])  # type: ignore[arg-type]


async def test_the_seed_tells_the_other_services_each_demo_account_and_its_address(
    migrated_url: str,
) -> None:
    summary = await seed(migrated_url)
    engine = create_engine(migrated_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT event_type, data->>'account_id', data->>'email', "
                "(data->>'email_verified')::boolean FROM outbox WHERE topic = 'identity.accounts'"
            ))).all()
    finally:
        await engine.dispose()
    accounts = summary["accounts"]
    assert isinstance(accounts, list)
    assert sorted(rows) == sorted(
        ("city.identity.account.updated.v1", demo["id"], demo["email"], True)
        for demo in accounts
    )
