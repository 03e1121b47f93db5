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
    attributes: dict[str, dict[str, tuple[str, str, str]]] = {}
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
                attributes[demo["email"]] = {
                    a.name: (a.value, a.loa, a.source) for a in account.attributes}
                if demo["email"] == "erika.mustermann@example.org":
                    erika = userinfo(account, ["profile", "email"])
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
        "traffic.manager@example.org": {"traffic": ["manager"]},
        "traffic.clerk@example.org": {"traffic": ["clerk"]},
        "public-order.manager@example.org": {"public-order": ["manager"]},
        "public-order.clerk@example.org": {"public-order": ["clerk"]},
        "tax-office.clerk@example.org": {"tax-office": ["clerk"]},
        "citizens-office.manager@beispielhausen.example.org": {"citizens-office": ["manager"]},
        "citizens-office.clerk@beispielhausen.example.org": {"citizens-office": ["clerk"]},
    }
    tenants = {c.tenant for e, c in claims.items() if e.endswith("@beispielhausen.example.org")}
    assert tenants == {"beispielhausen"}
    admins = {(c.tenant, c.admin) for c in claims.values() if c.admin}
    assert admins == {("musterstadt", "tenant"), ("beispielhausen", "tenant")}
    citizens = {(c.tenant, e) for e, c in claims.items() if c.kind == "citizen"}
    assert citizens == {("musterstadt", "erika.mustermann@example.org"),
                        ("musterstadt", "max.mustermann@example.org"),
                        ("beispielhausen", "paula.beispiel@example.org")}
    levels = {d["email"]: d.get("level_of_assurance") for d in accounts if d["kind"] == "citizen"}
    assert levels == {"erika.mustermann@example.org": "substantial",
                      "max.mustermann@example.org": "basic",
                      "paula.beispiel@example.org": "substantial"}
    assert erika["birthdate"] == "1964-08-12"
    eid = ("substantial", "eid-sandbox")
    assert attributes["erika.mustermann@example.org"] == {
        "given_name": ("Erika", *eid), "family_name": ("Mustermann", *eid),
        "birth_date": ("1964-08-12", *eid), "street_address": ("Musterstraße 1", *eid),
        "postal_code": ("12345", *eid), "locality": ("Musterstadt", *eid)}
    assert set(attributes["max.mustermann@example.org"]) == {"given_name", "family_name"}
    paula = attributes["paula.beispiel@example.org"]
    assert set(paula) == {"given_name", "family_name", "birth_date", "street_address",
                          "postal_code", "locality"}
    assert {(loa, source) for _, loa, source in paula.values()} == {eid}
    assert paula["locality"][0] == "Beispielhausen"


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
    assert (erika.status, erika.attributes) == ("active", 6)
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
