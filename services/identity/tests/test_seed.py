"""The demo seed: the demo city exists after it, and running it twice changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from city_shared.db import create_engine
from city_shared.migrations import upgrade_to_head
from identity_service.seed import seed

ALEMBIC_INI = str(Path(__file__).resolve().parents[1] / "alembic.ini")


async def test_seed_creates_the_demo_city_and_is_repeatable(database_url) -> None:  # type: ignore[no-untyped-def]
    url = database_url()
    url = await url if asyncio.iscoroutine(url) else url
    await asyncio.to_thread(upgrade_to_head, ALEMBIC_INI, url)

    first = await seed(url)
    second = await seed(url)

    assert first == second
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT tenant, slug, cost_centre FROM departments ORDER BY tenant, slug"
        ))).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("beispielhausen", "citizens-office", "BB-0100"),
        ("musterstadt", "citizens-office", "BB-1100"),
        ("musterstadt", "museum", "MUS-4100"),
        ("musterstadt", "pools", "BAD-5700"),
        ("musterstadt", "public-order", "OA-3200"),
        ("musterstadt", "tax-office", "ST-2000"),
        ("musterstadt", "traffic", "SVB-6600"),
    ]
    departments = {t["slug"]: {d["slug"]: d["cost_centre"] for d in t["departments"]}
                   for t in first["tenants"]}  # type: ignore[attr-defined]
    assert departments["musterstadt"]["traffic"] == "SVB-6600"  # demo.json names them too
    assert departments["beispielhausen"] == {"citizens-office": "BB-0100"}
