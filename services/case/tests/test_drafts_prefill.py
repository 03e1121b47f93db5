"""Prefill from the real identity service: identity's app runs on its own migrated database and
a local port, holding Erika's verified attributes; the case app asks it with Erika's own token.
Prefilled fields carry their level and source until changed; without identity a draft starts
empty and says so."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.dialects.postgresql import insert

import identity_service
from case_service.seed import seed_library
from city_shared.auth.testing import TokenFactory
from city_shared.db import create_engine
from city_shared.testing import ERIKA
from identity_service.accounts.models import Account, AccountAttribute
from identity_service.main import create_app as create_identity_app
from identity_service.seed import DEPARTMENTS, TENANTS
from identity_service.settings import IdentitySettings
from identity_service.tenancy.models import Department, Tenant

ATTRIBUTES = [
    ("given_name", "Erika", "basic", "self-declared"),
    ("family_name", "Mustermann", "substantial", "eid-sandbox"),
    ("birth_date", "1964-08-12", "substantial", "eid-sandbox"),
    ("postal_code", "12345", "substantial", "eid-sandbox"),
    ("street_address", "Musterstraße 1", "high", "eid-sandbox"),
]


async def _seed_identity(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(Tenant).values(TENANTS).on_conflict_do_nothing())
            await conn.execute(insert(Department).values(DEPARTMENTS).on_conflict_do_nothing())
            await conn.execute(insert(Account).values(
                id=ERIKA, tenant="musterstadt", kind="citizen",
                email="erika.mustermann@example.org", password_hash=None, given_name="Erika",
                family_name="Mustermann", locale="de", status="active", failed_logins=0))
            await conn.execute(insert(AccountAttribute).values([
                {"account_id": ERIKA, "name": n, "value": v, "loa": loa, "source": s}
                for n, v, loa, s in ATTRIBUTES]))
    finally:
        await engine.dispose()


@pytest.fixture
async def identity_url(migrated_database: Any, token_factory: TokenFactory) -> AsyncIterator[str]:
    """Identity's real app on 127.0.0.1 (a free port), trusting the tests' tokens."""
    ini = Path(identity_service.__file__).parents[2] / "alembic.ini"
    url = await migrated_database(ini)
    await _seed_identity(url)
    app = create_identity_app(IdentitySettings(database_url=url, log_json=False,
                                               signing_key_bits=2048))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        app.state.token_verifier = token_factory.verifier()  # after the lifespan set the real one
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


@pytest.fixture
async def case_with_identity(case_app: Any, identity_url: str) -> AsyncIterator[Any]:
    async with case_app(identity_url=identity_url) as case:
        await seed_library(case.engine)
        yield case


async def _start(case: Any, headers: dict[str, str], data: dict[str, Any] | None = None) -> Any:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    body: dict[str, Any] = {"service_id": str(service_id)}
    if data is not None:
        body["data"] = data
    return await case.client.post("/drafts", json=body, headers=headers)


async def test_verified_attributes_prefill_the_form_with_their_level(
        case_with_identity: Any) -> None:
    case = case_with_identity

    response = await _start(case, case.citizen_headers(),
                            {"vehicle_registration": "MS-AB 123", "family_name": "Musterfrau"})

    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["prefill"] == "applied"
    assert draft["data"] == {
        "given_name": "Erika", "family_name": "Musterfrau", "birth_date": "1964-08-12",
        "postal_code": "12345", "street_address": "Musterstraße 1",
        "vehicle_registration": "MS-AB 123"}
    assert draft["verified"] == {
        "/given_name": {"attribute": "given_name", "level": "basic", "source": "self-declared"},
        "/birth_date": {"attribute": "birth_date", "level": "substantial",
                        "source": "eid-sandbox"},
        "/postal_code": {"attribute": "postal_code", "level": "substantial",
                         "source": "eid-sandbox"},
        "/street_address": {"attribute": "street_address", "level": "high",
                            "source": "eid-sandbox"},
    }  # the family name was typed over: not verified


async def test_changing_a_prefilled_field_drops_its_verified_mark(case_with_identity: Any) -> None:
    case = case_with_identity
    draft = (await _start(case, case.citizen_headers())).json()

    response = await case.client.patch(
        f"/drafts/{draft['id']}",
        json={"data": {"street_address": "Rathausplatz 2", "postal_code": "12345"}},
        headers=case.citizen_headers())

    assert response.status_code == 200, response.text
    verified = response.json()["verified"]
    assert "/street_address" not in verified
    assert verified["/postal_code"]["level"] == "substantial"  # sent again unchanged
    assert "/given_name" in verified


async def test_an_account_identity_does_not_know_starts_without_prefill(
        case_with_identity: Any) -> None:
    case = case_with_identity

    response = await _start(case, case.citizen_headers(uuid.uuid4()))

    assert response.status_code == 201
    assert response.json()["prefill"] == "unavailable"
    assert response.json()["data"] == {}


async def test_without_identity_a_draft_starts_empty_and_says_so(case_app: Any) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = sock.getsockname()[1]
    sock.close()  # nothing listens there
    async with case_app(identity_url=f"http://127.0.0.1:{closed}",
                        identity_timeout_seconds=1) as case:
        await seed_library(case.engine)

        response = await _start(case, case.citizen_headers(), {"locality": "Musterstadt"})

    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["prefill"] == "unavailable"
    assert draft["data"] == {"locality": "Musterstadt"}
    assert draft["verified"] == {}
