"""Seeds the demo city (``../shared/DEMO.md``) into the identity database; safe to run again.

``python -m identity_service.seed --out .local/demo.json`` upserts the tenants and departments
and writes what a frontend developer needs to know into the JSON file. Accounts and clients
join the seed when the identity domain lands (issue 3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert

from city_shared.db import create_engine
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
    {"tenant": "beispielhausen", "slug": "citizens-office", "name": "Bürgerbüro",
     "cost_centre": "BB-0100"},
]


async def seed(database_url: str) -> dict[str, object]:
    """Upsert the demo tenants and departments; returns the summary written to demo.json."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
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
    }


def main() -> None:
    """Entry point: seed and write the summary file."""
    parser = argparse.ArgumentParser(prog="python -m identity_service.seed")
    parser.add_argument("--out", type=Path, default=Path(".local/demo.json"))
    args = parser.parse_args()
    settings = IdentitySettings()
    summary = asyncio.run(seed(settings.database_url.get_secret_value()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
