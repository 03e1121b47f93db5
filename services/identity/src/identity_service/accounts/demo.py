"""The demo city's accounts (``../shared/DEMO.md``): staff per department, a tenant admin per
tenant and citizens in both tenants, all with one documented password. Used by
``identity_service.seed``.

Local demo only: the password is public, written into ``.local/demo.json``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from city_shared import outbox
from identity_service.accounts import events
from identity_service.accounts.models import Account, AccountAttribute, StaffRole
from identity_service.accounts.passwords import hash_password
from identity_service.topics import ACCOUNTS

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "DemoAccount", "seed_accounts"]

DEMO_PASSWORD = "Demo-Passwort-2026!"  # noqa: S105 - documented password of the local demo
_NAMESPACE = uuid.UUID("5f0c1d2e-7a43-4b8e-9c61-3d2f8e4a1b07")


@dataclass(frozen=True)
class DemoAccount:
    """One account of the demo city. ``attributes``: name -> value, proven at ``loa``."""

    tenant: str
    email: str
    given_name: str
    family_name: str
    kind: str = "staff"
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    admin: str | None = None
    loa: str = "basic"
    source: str = "self-declared"
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def default_id(self) -> uuid.UUID:
        """A stable id, so repeated seeds and demo.json agree."""
        return uuid.uuid5(_NAMESPACE, f"{self.tenant}:{self.email}")


def _staff(
    email: str, given: str, family: str, department: str, role: str,
    tenant: str = "musterstadt",
) -> DemoAccount:
    return DemoAccount(tenant, email, given, family, roles={department: (role,)})


# Staff e-mail addresses of beispielhausen carry the town in the domain: an address is unique
# per tenant only, but demo.json and the login forms are easier to read without repeats.
_BEISPIELHAUSEN = "beispielhausen.example.org"


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("musterstadt", "admin.musterstadt@example.org", "Andrea", "Weber",
                admin="tenant"),
    _staff("museum.manager@example.org", "Marta", "Lindner", "museum", "manager"),
    _staff("museum.cashier@example.org", "Kai", "Becker", "museum", "cashier"),
    _staff("museum.gatekeeper@example.org", "Tim", "Vogel", "museum", "gatekeeper"),
    _staff("pools.manager@example.org", "Paula", "Wagner", "pools", "manager"),
    _staff("pools.cashier@example.org", "Jonas", "Keller", "pools", "cashier"),
    _staff("pools.gatekeeper@example.org", "Lea", "Hoffmann", "pools", "gatekeeper"),
    _staff("citizens-office.manager@example.org", "Bernd", "Schulz", "citizens-office",
           "manager"),
    _staff("citizens-office.clerk1@example.org", "Clara", "Fischer", "citizens-office",
           "clerk"),
    _staff("citizens-office.clerk2@example.org", "Deniz", "Yilmaz", "citizens-office",
           "clerk"),
    _staff("traffic.manager@example.org", "Stefan", "Braun", "traffic", "manager"),
    _staff("traffic.clerk@example.org", "Nina", "Schröder", "traffic", "clerk"),
    _staff("public-order.manager@example.org", "Holger", "Krause", "public-order", "manager"),
    _staff("public-order.clerk@example.org", "Aylin", "Demir", "public-order", "clerk"),
    _staff("tax-office.clerk@example.org", "Petra", "Neumann", "tax-office", "clerk"),
    DemoAccount("beispielhausen", "admin.beispielhausen@example.org", "Bernhard", "Klein",
                admin="tenant"),
    _staff(f"citizens-office.manager@{_BEISPIELHAUSEN}", "Ute", "Hartmann", "citizens-office",
           "manager", tenant="beispielhausen"),
    _staff(f"citizens-office.clerk@{_BEISPIELHAUSEN}", "Lukas", "Brandt", "citizens-office",
           "clerk", tenant="beispielhausen"),
    DemoAccount("musterstadt", "erika.mustermann@example.org", "Erika", "Mustermann",
                kind="citizen", loa="substantial", source="eid-sandbox",
                attributes={"given_name": "Erika", "family_name": "Mustermann",
                            "birth_date": "1964-08-12", "street_address": "Musterstraße 1",
                            "postal_code": "12345", "locality": "Musterstadt"}),
    DemoAccount("musterstadt", "max.mustermann@example.org", "Max", "Mustermann",
                kind="citizen",
                attributes={"given_name": "Max", "family_name": "Mustermann"}),
    DemoAccount("beispielhausen", "paula.beispiel@example.org", "Paula", "Beispiel",
                kind="citizen", loa="substantial", source="eid-sandbox",
                attributes={"given_name": "Paula", "family_name": "Beispiel",
                            "birth_date": "1988-03-21", "street_address": "Beispielweg 5",
                            "postal_code": "54321", "locality": "Beispielhausen"}),
)


async def seed_accounts(session: AsyncSession) -> list[dict[str, object]]:
    """Upsert the demo accounts in ``session``'s unit of work and return their summary for
    demo.json. Repeatable: afterwards every demo account is active, verified, unlocked, has
    :data:`DEMO_PASSWORD` and exactly its demo roles and attributes, whatever happened to it.
    An existing account with a demo e-mail address keeps its id. Each account's state goes out
    as ``account.updated`` through the outbox, like any change of an account, so the other
    services (notification's contact directory) know the demo people as they know registered
    ones.
    """
    conn = await session.connection()
    # One hash for all: the password is the same and public; this keeps the seed fast.
    password_hash = await hash_password(DEMO_PASSWORD)
    summary: list[dict[str, object]] = []
    for demo in DEMO_ACCOUNTS:
        account_id = await _account_id(conn, demo)
        values = {
            "tenant": demo.tenant, "kind": demo.kind, "email": demo.email,
            "password_hash": password_hash, "given_name": demo.given_name,
            "family_name": demo.family_name, "locale": "de", "admin": demo.admin,
            "status": "active", "failed_logins": 0, "locked_until": None, "erased_at": None,
        }
        stmt = insert(Account).values(id=account_id, email_verified_at=func.now(), **values)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[Account.id],
            set_={**values, "email_verified_at": func.coalesce(
                Account.email_verified_at, stmt.excluded.email_verified_at)},
        ))
        await _replace_roles(conn, account_id, demo)
        await _replace_attributes(conn, account_id, demo)
        account = await session.get_one(Account, account_id, populate_existing=True)
        await outbox.add(session, ACCOUNTS, events.updated(account, ["email", "email_verified"]))
        summary.append({
            "id": str(account_id), "tenant": demo.tenant, "kind": demo.kind,
            "email": demo.email, "password": DEMO_PASSWORD,
            "name": f"{demo.given_name} {demo.family_name}",
            "roles": {d: sorted(r) for d, r in demo.roles.items()}, "admin": demo.admin,
            **({"level_of_assurance": demo.loa} if demo.kind == "citizen" else {}),
        })
    return summary


async def _account_id(conn: AsyncConnection, demo: DemoAccount) -> uuid.UUID:
    existing = (await conn.execute(
        select(Account.id).where(Account.tenant == demo.tenant, Account.email == demo.email)
    )).scalar_one_or_none()
    return existing or demo.default_id


async def _replace_roles(conn: AsyncConnection, account_id: uuid.UUID, demo: DemoAccount) -> None:
    wanted = [(d, r) for d, roles in demo.roles.items() for r in roles]
    stale = delete(StaffRole).where(StaffRole.account_id == account_id)
    if wanted:
        stale = stale.where(tuple_(StaffRole.department, StaffRole.role).not_in(wanted))
    await conn.execute(stale)
    for department, role in wanted:
        await conn.execute(insert(StaffRole).values(
            account_id=account_id, tenant=demo.tenant, department=department, role=role
        ).on_conflict_do_nothing())


async def _replace_attributes(
    conn: AsyncConnection, account_id: uuid.UUID, demo: DemoAccount
) -> None:
    stale = delete(AccountAttribute).where(AccountAttribute.account_id == account_id)
    if demo.attributes:
        stale = stale.where(AccountAttribute.name.not_in(list(demo.attributes)))
    await conn.execute(stale)
    for name, value in demo.attributes.items():
        stmt = insert(AccountAttribute).values(
            account_id=account_id, name=name, value=value, loa=demo.loa, source=demo.source
        )
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[AccountAttribute.account_id, AccountAttribute.name],
            set_={"value": value, "loa": demo.loa, "source": demo.source},
        ))
