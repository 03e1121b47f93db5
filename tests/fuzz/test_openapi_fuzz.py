"""Property-based fuzzing of every service's own OpenAPI document (issue 11, hole 11).

Each service runs as a real HTTP server (uvicorn on 127.0.0.1, a free port) on its own migrated
and seeded PostgreSQL database; `schemathesis run` reads the service's ``/openapi.json`` and
sends generated requests, valid and invalid, with the token of a tenant admin or of a citizen.
A run fails on any server error, and on any response that contradicts the documented schema,
status codes, content types, headers or ``Allow`` header, or that accepts input the schema
forbids (a documented 413 counts as refusing it: the platform refuses a body over the limit
before reading it). The fix for a finding is in the spec or the code, never here.

Generation is seeded (``CITY_FUZZ_SEED``, default fixed) so that CI is reproducible; set
``CITY_FUZZ_SEED=random`` and ``CITY_FUZZ_EXAMPLES`` higher to search further by hand.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from city_shared.auth.testing import TokenFactory
from devstack.ports import free_port

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
TENANT = "musterstadt"
ERIKA = "6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10"
#: The checks every run makes (``positive_data_acceptance`` is left out: generated ids name
#: nothing, so valid requests are rightly answered 404/409).
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "missing_required_header", "unsupported_method", "allow_header_conformance",
    "use_after_free", "ensure_resource_availability",
])
BIRTH_CERTIFICATE = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 2, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}
NO_FEE = {"amount": 0, "currency": "EUR", "collect": "on_submission", "period": "once",
          "exempt": None, "lines": []}
#: ``negative_data_rejection``'s statuses that refuse input: schemathesis's own list and 413.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
              "5xx"]
CONFIG = "[checks.negative_data_rejection]\nexpected-statuses = [{}]\n".format(
    ", ".join(f'"{status}"' for status in REJECTIONS))
SIGNING_KEY = "ZnV6ei10aWNrZXQtc2lnbmluZy1rZXktbnVtYmVyLTE"

Seed = Callable[[str], Awaitable[None]]


async def _seed_identity(url: str) -> None:
    from identity_service.seed import seed

    await seed(url)


async def _seed_ticketing(url: str) -> None:
    from ticketing_service.seed import seed

    await seed(url)


async def _seed_notification(url: str) -> None:
    from notification_service.seed import seed
    from notification_service.settings import NotificationSettings

    await seed(NotificationSettings(database_url=url, log_json=False))


async def _seed_nothing(url: str) -> None:
    del url


async def _seed_case(url: str) -> None:
    """The demo library and the demo intake destinations (2048-bit keys: seeding stays fast),
    and the citizen's rows the OpenAPI examples name (a complete birth certificate draft, a
    submitted parking permit case), so that the examples phase reaches the happy paths."""
    import uuid
    from datetime import UTC, date, datetime, timedelta

    from case_service.cases.models import Case
    from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id, parameters_id
    from case_service.drafts.models import Draft
    from case_service.intake.seed import seed_destinations
    from case_service.openapi_examples import EXAMPLE_IDS
    from case_service.seed import seed_library
    from city_shared.db import create_engine, create_session_factory
    from city_shared.unit_of_work import unit_of_work

    erika = uuid.UUID(ERIKA)
    engine = create_engine(url, pool_size=1)
    try:
        await seed_library(engine)
        await seed_destinations(engine, key_bits=2048)
        async with unit_of_work(create_session_factory(engine)) as session:
            session.add(Draft(
                id=EXAMPLE_IDS["draft_id"], tenant=TENANT,
                service_id=DEMO_SERVICES["geburtsurkunde"],
                definition_id=definition_id("geburtsurkunde"), owner=f"citizen:{ERIKA}",
                account_id=erika, data=BIRTH_CERTIFICATE, verified={}, locale="de",
                expires_at=datetime.now(UTC) + timedelta(days=1)))
            case_id = EXAMPLE_IDS["case_id"]
            session.add(Case(
                id=case_id, tenant=TENANT, department="citizens-office",
                number="MS-2026-000123", service_id=DEMO_SERVICES["bewohnerparkausweis"],
                definition_id=definition_id("bewohnerparkausweis"), definition_version=1,
                parameters_id=parameters_id(TENANT, "bewohnerparkausweis"),
                parameters_version=1, account_id=erika, submitted_by=f"citizen:{ERIKA}",
                channel="online", status="submitted", data={}, reference=f"case/case/{case_id}",
                fee_amount=0, fee=NO_FEE, retain_until=date(2036, 12, 31)))
    finally:
        await engine.dispose()


def _app(service: str, url: str) -> FastAPI:
    common: dict[str, Any] = {"database_url": url, "log_json": False, "database_pool_size": 5}
    if service == "identity":
        from identity_service.main import create_app as identity
        from identity_service.settings import IdentitySettings

        return identity(IdentitySettings(**common))
    if service == "payment":
        from payment_service.main import create_app as payment
        from payment_service.settings import PaymentSettings

        return payment(PaymentSettings(
            **common, payment_return_url_origins="https://tickets.example.org"))
    if service == "notification":
        from notification_service.main import create_app as notification
        from notification_service.settings import NotificationSettings

        return notification(NotificationSettings(**common))
    if service == "ticketing":
        from ticketing_service.main import create_app as ticketing
        from ticketing_service.settings import TicketingSettings

        return ticketing(TicketingSettings(**common, ticket_signing_keys=[SIGNING_KEY]))
    from case_service.main import create_app as case
    from case_service.settings import CaseSettings

    return case(CaseSettings(**common))


@dataclass(frozen=True)
class Target:
    service: str
    seed: Seed


TARGETS = {
    "identity": Target("identity", _seed_identity),
    "payment": Target("payment", _seed_nothing),
    "notification": Target("notification", _seed_notification),
    "ticketing": Target("ticketing", _seed_ticketing),
    "case": Target("case", _seed_case),
}


def _caller(tokens: TokenFactory, who: str) -> dict[str, str]:
    """The headers of the caller ``who``."""
    if who == "tenant-admin":
        token = tokens.issue(sub="0d4c4f1e-1a6b-4bd0-9a55-6a0f3c1d2e01", kind="staff",
                             admin="tenant", acr="substantial")
    else:
        token = tokens.issue(sub=ERIKA, kind="citizen", acr="substantial")
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def serving(app: FastAPI, tokens: TokenFactory) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn on 127.0.0.1 (this event loop), trusting ``tokens``;
    yields its base URL."""
    async with app.router.lifespan_context(app):
        app.state.token_verifier = tokens.verifier()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               lifespan="off", log_config=None,
                                               access_log=False))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


def _seed_argument() -> list[str]:
    seed = os.environ.get("CITY_FUZZ_SEED", "20261201")
    if seed == "random":
        seed = str(secrets.randbelow(2**31))
    return ["--seed", seed]


async def schemathesis(base_url: str, headers: dict[str, str], report: Path) -> tuple[int, str]:
    """Run the schemathesis CLI against ``base_url``; its exit code and output."""
    examples = os.environ.get("CITY_FUZZ_EXAMPLES", "10")
    config = report.with_suffix(".toml")
    config.write_text(CONFIG, encoding="utf-8")
    arguments = [
        "--config-file", str(config), "run", f"{base_url}/openapi.json", "--checks", CHECKS,
        "--max-examples", examples,
        *_seed_argument(), "--workers", "1", "--request-timeout", "20",
        "--suppress-health-check", "all", "--continue-on-failure",
        "--report", "junit", "--report-junit-path", str(report),
        *[f"--header={name}: {value}" for name, value in headers.items()],
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", *arguments,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"},
    )
    output, _ = await process.communicate()
    return await process.wait(), output.decode(errors="replace")


@pytest.mark.parametrize("service", list(TARGETS))
async def test_the_api_keeps_its_documented_contract_under_fuzzing(
    service: str, migrated_database: Any, tmp_path: Path
) -> None:
    """A tenant admin, then a citizen, fuzz the same running service. (Not at once: both runs
    generate the same keys from one seed, and their anonymous requests would then be one
    caller's concurrent duplicates, rightly answered 409 ``idempotency_key_in_flight``.)"""
    target = TARGETS[service]
    url: str = await migrated_database(ROOT / "services" / service / "alembic.ini")
    await target.seed(url)
    tokens = TokenFactory(tenant=TENANT)
    callers = ("tenant-admin", "citizen")
    async with serving(_app(service, url), tokens) as base_url:
        runs = [await schemathesis(base_url, _caller(tokens, who), tmp_path / f"junit-{who}.xml")
                for who in callers]
    failures = [f"as {who}:\n{output}" for who, (code, output) in zip(callers, runs, strict=True)
                if code != 0]
    assert not failures, f"schemathesis found contract violations in {service}:\n" + \
        "\n".join(failures)
