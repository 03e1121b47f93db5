"""Shared fixtures of the case tests: a migrated database of its own per test and the case app
running on it with tokens it trusts.

``migrated_url`` and ``token_factory`` come from the devstack plugin, the harness base
(:class:`~city_shared.testing.ServiceHarness`: headers, ``scalar``/``rows``/``execute``/``outbox``)
from ``city_shared.testing``.

- ``case_app(**overrides)``: ``async with`` a :class:`CaseHarness` with other settings;
  ``case``: one with the default test settings and the demo library seeded;
  ``case_db``: the same without the demo library (an empty catalogue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from case_service.main import create_app
from case_service.settings import CaseSettings
from city_shared.auth.testing import TokenFactory
from city_shared.testing import ServiceHarness, harness_starter

BASE_URL = "http://case.test"


def case_settings(url: str, **overrides: Any) -> CaseSettings:
    """Settings for a test app on ``url``."""
    values: dict[str, Any] = {
        "database_url": url, "log_json": False, "public_base_url": BASE_URL,
        "database_pool_size": 10, **overrides,
    }
    return CaseSettings(**values)


class CaseHarness(ServiceHarness[CaseSettings]):
    """A running case app on its own database, and the means to drive it."""

    BASE_URL = BASE_URL
    CLIENT_ID = "city-erp"
    CLIENT_SCOPE = "case:read case:write"

    def manager_headers(self, department: str = "citizens-office",
                        tenant: str = "musterstadt") -> dict[str, str]:
        return self.staff_headers({department: ["manager"]}, tenant=tenant)

    def clerk_headers(self, department: str = "citizens-office",
                      tenant: str = "musterstadt") -> dict[str, str]:
        return self.staff_headers({department: ["clerk"]}, tenant=tenant)

    def platform_admin_headers(self) -> dict[str, str]:
        return self.staff_headers({}, admin="platform")

    def tenant_admin_headers(self, tenant: str = "musterstadt") -> dict[str, str]:
        return self.staff_headers({}, admin="tenant", tenant=tenant)


async def _seed_demo_library(engine: AsyncEngine) -> None:
    from case_service.seed import seed_library

    await seed_library(engine)


@pytest.fixture
def case_app(migrated_url: str, token_factory: TokenFactory) -> Any:
    """``async with case_app(**settings) as harness``: the app with other settings (an empty
    catalogue)."""
    return harness_starter(CaseHarness, create_app, partial(case_settings, migrated_url),
                           url=migrated_url, tokens=token_factory, base_url=BASE_URL)


@pytest.fixture
async def case_db(case_app: Any) -> AsyncIterator[CaseHarness]:
    """The app with default test settings and an empty catalogue."""
    async with case_app() as harness:
        yield harness


@pytest.fixture
async def case(migrated_url: str, token_factory: TokenFactory) -> AsyncIterator[CaseHarness]:
    """The app with default test settings and the demo library (both tenants' parameters)."""
    from city_shared.testing import running_harness

    async with running_harness(CaseHarness, create_app, case_settings(migrated_url),
                               url=migrated_url, tokens=token_factory, base_url=BASE_URL,
                               prepare=_seed_demo_library) as harness:
        yield harness
