"""Migration 0003 (ledger guards, settlements) goes down to 0002 and up again cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from city_shared.db import create_engine
from city_shared.migrations import upgrade_to_head

ALEMBIC_INI = str(Path(__file__).resolve().parents[1] / "alembic.ini")


def _downgrade(url: str, revision: str) -> None:
    config = Config(ALEMBIC_INI)
    config.attributes["database_url"] = url
    command.downgrade(config, revision)


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def test_0003_downgrades_and_upgrades_again(database_url: Any) -> None:
    url: str = await database_url()
    await asyncio.to_thread(upgrade_to_head, ALEMBIC_INI, url)
    assert {"provider_settlements", "settlement_imports"} <= await _tables(url)

    await asyncio.to_thread(_downgrade, url, "0002")
    assert not {"provider_settlements", "settlement_imports"} & await _tables(url)

    await asyncio.to_thread(upgrade_to_head, ALEMBIC_INI, url)
    assert {"provider_settlements", "settlement_imports"} <= await _tables(url)
