"""Every service is a real app: migrations apply on its own database, operational endpoints work."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from sqlalchemy import text

from city_shared.db import create_engine
from city_shared.migrations import upgrade_to_head
from city_shared.testing import serve_in_process

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "identity": "IdentitySettings",
    "case": "CaseSettings",
    "payment": "PaymentSettings",
    "notification": "NotificationSettings",
    "ticketing": "TicketingSettings",
}


def _settings(service: str, database_url: str):  # type: ignore[no-untyped-def]
    module = importlib.import_module(f"{service}_service.settings")
    return getattr(module, SERVICES[service])(database_url=database_url, log_json=False)


async def _fresh_url(database_url) -> str:  # type: ignore[no-untyped-def]
    url = database_url()
    return await url if asyncio.iscoroutine(url) else url


@pytest.mark.parametrize("service", list(SERVICES))
async def test_migrations_create_the_backbone_and_the_app_serves_its_operational_endpoints(
    service: str, database_url  # type: ignore[no-untyped-def]
) -> None:
    url = await _fresh_url(database_url)
    await asyncio.to_thread(upgrade_to_head, str(ROOT / "services" / service / "alembic.ini"), url)
    engine = create_engine(url)
    async with engine.connect() as conn:
        tables = set((await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars())
    await engine.dispose()
    assert {"outbox", "inbox", "idempotency_keys", "alembic_version"} <= tables

    app = importlib.import_module(f"{service}_service.main").create_app(_settings(service, url))
    async with serve_in_process(app, base_url="http://test") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "up"
        spec = (await client.get("/openapi.json")).json()
        assert spec["info"]["title"] == f"City platform: {service}"
        missing = await client.get("/no-such-route", headers={"X-Correlation-ID": "abc-1"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["x-correlation-id"] == "abc-1"
        metrics = (await client.get("/metrics")).text
        assert (
            'city_http_request_duration_seconds_count{method="GET",route="/readyz",'
            f'service="{service}",status="200"}}' in metrics
        )


async def test_readiness_fails_when_the_database_is_unreachable() -> None:
    from identity_service.main import create_app
    from identity_service.settings import IdentitySettings

    settings = IdentitySettings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", log_json=False
    )
    app = create_app(settings)
    async with serve_in_process(app, base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "down"
