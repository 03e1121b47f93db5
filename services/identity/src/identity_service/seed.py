"""Seeds the demo city (``../shared/DEMO.md``) into the identity database; safe to run again.

``python -m identity_service.seed --out .local/demo.json`` upserts the tenants and departments
and the demo accounts (:mod:`identity_service.accounts.demo`) and OAuth clients
(:func:`seed_clients`), and writes what a frontend developer needs to know into the JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.production import refuse_demo_seed
from city_shared.unit_of_work import unit_of_work
from identity_service.accounts.demo import DEMO_PASSWORD, seed_accounts
from identity_service.clients.client_secrets import hash_secret
from identity_service.clients.models import OAuthClient
from identity_service.settings import IdentitySettings
from identity_service.tenancy.models import Department, Tenant

TENANTS = [
    {"slug": "musterstadt", "name": "Musterstadt", "time_zone": "Europe/Berlin", "currency": "EUR"},
    {"slug": "beispielhausen", "name": "Beispielhausen", "time_zone": "Europe/Berlin",
     "currency": "EUR"},
]
DEPARTMENTS = [
    {"tenant": "musterstadt", "slug": "museum", "name": "Stadtmuseum", "cost_centre": "MUS-4100"},
    {"tenant": "musterstadt", "slug": "pools", "name": "Bäderbetriebe", "cost_centre": "BAD-5700"},
    {"tenant": "musterstadt", "slug": "citizens-office", "name": "Bürgerbüro",
     "cost_centre": "BB-1100"},
    {"tenant": "musterstadt", "slug": "traffic", "name": "Straßenverkehrsbehörde",
     "cost_centre": "SVB-6600"},
    {"tenant": "musterstadt", "slug": "public-order", "name": "Ordnungsamt",
     "cost_centre": "OA-3200"},
    {"tenant": "musterstadt", "slug": "tax-office", "name": "Steueramt",
     "cost_centre": "ST-2000"},
    {"tenant": "beispielhausen", "slug": "citizens-office", "name": "Bürgerbüro",
     "cost_centre": "BB-0100"},
]


DEMO_REDIRECT_URIS = ("http://127.0.0.1:5173/callback", "http://localhost:5173/callback")


@dataclass(frozen=True)
class DemoClient:
    """An OAuth client of the demo city: confidential (client credentials, secret) unless
    ``redirect_uris`` are given, which makes it a public code + PKCE client."""

    client_id: str
    name: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    tenant: str = "musterstadt"

    @property
    def public(self) -> bool:
        return bool(self.redirect_uris)


#: One confidential client per service that calls others, the city ERP, an outside online
#: service delivering applications to case management, the demo frontend (musterstadt) and
#: beispielhausen's frontend (its citizens and staff log in through it).
DEMO_CLIENTS = (
    DemoClient("case-service", "Case service", ("payment:write", "notification:send")),
    DemoClient("payment-service", "Payment service", ("notification:send",)),
    DemoClient("notification-service", "Notification service", ("case:read", "ticketing:read")),
    DemoClient("ticketing-service", "Ticketing service", ("payment:write", "notification:send")),
    DemoClient("city-erp", "City ERP (finance)", ("payment:read", "payment:reports",
                                                    "ticketing:read", "case:read")),
    DemoClient("online-service", "Online service (applications)", ("case:intake", "case:write")),
    DemoClient("demo-frontend", "Demo frontend",
               ("openid", "profile", "email", "case:read", "case:write", "ticketing:read",
                "ticketing:write", "payment:read", "notification:read"), DEMO_REDIRECT_URIS),
    DemoClient("beispielhausen-frontend", "Beispielhausen's frontend",
               ("openid", "profile", "email", "case:read", "case:write", "payment:read",
                "notification:read"), DEMO_REDIRECT_URIS, tenant="beispielhausen"),
)


def demo_client_secret(client_id: str) -> str:
    """The deterministic secret of a demo client: public, written to demo.json (local demo)."""
    return f"{client_id}-demo-secret"


async def seed_clients(
    session: AsyncSession, tenant: str | None = None
) -> list[dict[str, str | list[str] | None]]:
    """Upsert :data:`DEMO_CLIENTS` into their tenants, or all into ``tenant`` if given
    (confidential ones with their demo secret; a disabled one is enabled again); returns their
    demo.json entries, secrets included."""
    summary: list[dict[str, str | list[str] | None]] = []
    for demo in DEMO_CLIENTS:
        client_tenant = tenant or demo.tenant
        secret = None if demo.public else demo_client_secret(demo.client_id)
        grants = ["authorization_code", "refresh_token"] if demo.public else [
            "client_credentials"]
        method = "none" if demo.public else "client_secret_basic"
        row = {
            "tenant": client_tenant, "name": demo.name,
            "kind": "public" if demo.public else "confidential", "auth_method": method,
            "secret_hash": await hash_secret(secret) if secret else None, "jwks": None,
            "redirect_uris": list(demo.redirect_uris), "allowed_scopes": list(demo.scopes),
            "grant_types": grants, "disabled_at": None,
        }
        stmt = insert(OAuthClient).values(client_id=demo.client_id, **row)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[OAuthClient.client_id], set_={k: stmt.excluded[k] for k in row},
        ))
        summary.append({"client_id": demo.client_id, "tenant": client_tenant,
                        "client_secret": secret,
                        "auth_method": method, "grant_types": grants,
                        "scope": " ".join(demo.scopes), "redirect_uris": list(demo.redirect_uris)})
    return summary


async def seed(database_url: str) -> dict[str, object]:
    """Upsert the demo tenants, departments and accounts; returns the summary written to
    demo.json (with the demo accounts' password: a local demo)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            conn = await session.connection()
            for tenant in TENANTS:
                stmt = insert(Tenant).values(**tenant)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[Tenant.slug],
                    set_={k: stmt.excluded[k] for k in tenant if k != "slug"},
                ))
            for department in DEPARTMENTS:
                stmt = insert(Department).values(**department)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=[Department.tenant, Department.slug],
                    set_={"name": stmt.excluded.name, "cost_centre": stmt.excluded.cost_centre},
                ))
            accounts = await seed_accounts(session)
            clients = await seed_clients(session)
    finally:
        await engine.dispose()
    return {
        "tenants": [
            {**tenant, "departments": [
                {k: v for k, v in d.items() if k != "tenant"}
                for d in DEPARTMENTS if d["tenant"] == tenant["slug"]
            ]}
            for tenant in TENANTS
        ],
        "demo_password": DEMO_PASSWORD,
        "accounts": accounts,
        "clients": clients,
    }


def main() -> None:
    """Entry point: seed and write the summary file."""
    parser = argparse.ArgumentParser(prog="python -m identity_service.seed")
    parser.add_argument("--out", type=Path, default=Path(".local/demo.json"))
    args = parser.parse_args()
    settings = IdentitySettings()
    refuse_demo_seed(settings.env)
    summary = asyncio.run(seed(settings.database_url.get_secret_value()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
