"""Admission control of every service app under real concurrency: beyond ``max_in_flight``
requests a request waits briefly, then gets 503 ``overloaded`` with ``Retry-After`` (counted),
while health and metrics still answer; slots come back after a response, an exception and a
cancelled request; with a high limit the same requests all run (negative control)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from city_shared.admission import AdmissionMiddleware, Slots
from city_shared.app import create_service_app
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings

# Nothing in these tests reaches the database: the lifespan's engine never connects.
UNREACHABLE_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
#: A guard against a hung test, never an assertion about how long something took.
GUARD_SECONDS = 10.0
TINY_WAIT = 0.05


@dataclass
class Gate:
    """Holds ``GET /work`` until opened; counts who entered and wakes whoever waits for them."""

    entered: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def until_entered(self, count: int) -> None:
        async def wait() -> None:
            while self.entered < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), GUARD_SECONDS)


def build_app(gate: Gate, service: str, *, max_in_flight: int = 200,
              wait_seconds: float = TINY_WAIT) -> FastAPI:
    router = APIRouter()

    @router.get("/work")
    async def work() -> dict[str, str]:
        gate.entered += 1
        gate.changed.set()
        await asyncio.wait_for(gate.opened.wait(), GUARD_SECONDS)
        return {"status": "done"}

    @router.get("/fail")
    async def fail() -> None:
        raise RuntimeError("a bug in the route")

    settings = ServiceSettings(service_name=service, database_url=UNREACHABLE_DB,
                               log_json=False, max_in_flight=max_in_flight,
                               admission_wait_seconds=wait_seconds)
    return create_service_app(settings, title=service, description="test", routers=[router])


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        # A route that raises answers 500 and the server re-raises: keep the answer.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def admission(app: FastAPI) -> AdmissionMiddleware:
    """The app's admission middleware (the stack is built by the first request)."""
    node: Any = app.middleware_stack
    while not isinstance(node, AdmissionMiddleware):
        node = node.app
    return node


async def queued(app: FastAPI, count: int) -> None:
    """Returns once ``count`` requests wait for a slot (they are queued, not yet refused)."""
    for _ in range(10_000):
        if admission(app).slots.waiting >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"fewer than {count} requests are waiting for a slot")


def refused(service: str) -> float:
    value = REGISTRY.get_sample_value("city_http_requests_refused_total",
                                      {"service": service, "reason": "overloaded"})
    return value or 0.0


def in_flight(service: str) -> float:
    return REGISTRY.get_sample_value("city_http_requests_in_flight", {"service": service}) or 0.0


def assert_overloaded(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-correlation-id"]
    body = response.json()
    assert body["code"] == "overloaded"
    assert body["type"].endswith("/overloaded")
    assert body["status"] == 503
    assert body["instance"] == "/work"


async def test_beyond_the_limit_a_request_gets_503_overloaded_and_health_still_answers() -> None:
    gate, service = Gate(), "admission-full"
    before = refused(service)
    async with serving(build_app(gate, service, max_in_flight=2)) as client:
        running = [asyncio.create_task(client.get("/work")) for _ in range(2)]
        await gate.until_entered(2)

        third = await client.get("/work")
        health = await client.get("/healthz")
        metrics = await client.get("/metrics")
        assert_overloaded(third)
        assert gate.entered == 2  # the refused request never reached the route
        assert health.status_code == 200
        assert metrics.status_code == 200
        assert f'city_http_requests_in_flight{{service="{service}"}} 2.0' in metrics.text
        assert refused(service) == before + 1

        gate.opened.set()
        assert [r.status_code for r in await asyncio.gather(*running)] == [200, 200]
        again = await asyncio.gather(client.get("/work"), client.get("/work"))
    assert [r.status_code for r in again] == [200, 200]
    assert gate.entered == 4
    assert in_flight(service) == 0
    assert refused(service) == before + 1


async def test_with_a_high_limit_the_same_three_requests_all_run() -> None:
    """Negative control: the 503 above comes from the limit, not from the test's setup."""
    gate, service = Gate(), "admission-roomy"
    before = refused(service)
    async with serving(build_app(gate, service, max_in_flight=200)) as client:
        running = [asyncio.create_task(client.get("/work")) for _ in range(3)]
        await gate.until_entered(3)
        gate.opened.set()
        responses = await asyncio.gather(*running)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert refused(service) == before


async def test_a_waiting_request_takes_the_slot_a_finished_one_returns() -> None:
    gate, service = Gate(), "admission-queue"
    app = build_app(gate, service, max_in_flight=1, wait_seconds=GUARD_SECONDS)
    async with serving(app) as client:
        first = asyncio.create_task(client.get("/work"))
        await gate.until_entered(1)
        second = asyncio.create_task(client.get("/work"))
        await queued(app, 1)
        assert gate.entered == 1
        gate.opened.set()
        responses = await asyncio.gather(first, second)
    assert [r.status_code for r in responses] == [200, 200]
    assert gate.entered == 2


async def test_a_route_that_raises_returns_its_slot() -> None:
    gate, service = Gate(), "admission-raises"
    gate.opened.set()
    async with serving(build_app(gate, service, max_in_flight=1)) as client:
        failures = [await client.get("/fail") for _ in range(3)]
        after = await client.get("/work")
    assert [r.status_code for r in failures] == [500, 500, 500]
    assert after.status_code == 200, after.text
    assert in_flight(service) == 0


async def test_a_cancelled_request_returns_its_slot() -> None:
    """The client went away mid-request (the server cancels the request's task)."""
    gate, service = Gate(), "admission-cancelled"
    async with serving(build_app(gate, service, max_in_flight=1)) as client:
        abandoned = asyncio.create_task(client.get("/work"))
        await gate.until_entered(1)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        gate.opened.set()
        after = await client.get("/work")
    assert after.status_code == 200, after.text
    assert in_flight(service) == 0


async def test_a_waiter_cancelled_or_timed_out_takes_no_slot() -> None:
    slots = Slots(1)
    assert await slots.acquire(0)
    waiter = asyncio.create_task(slots.acquire(GUARD_SECONDS))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not await slots.acquire(TINY_WAIT)
    slots.release()
    assert slots.in_use == 0
    assert await slots.acquire(0)


async def test_the_limits_are_settings(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("CITY_MAX_IN_FLIGHT", "7")
    environ.setenv("CITY_ADMISSION_WAIT_SECONDS", "0.25")
    environ.setenv("CITY_DATABASE_POOL_TIMEOUT_SECONDS", "2")
    settings = ServiceSettings(service_name="limits")
    assert (settings.max_in_flight, settings.admission_wait_seconds) == (7, 0.25)
    assert settings.database_pool_timeout_seconds == 2
    environ.setenv("CITY_MAX_IN_FLIGHT", "0")
    with pytest.raises(ValidationError):
        ServiceSettings(service_name="limits")


def test_openapi_documents_overloaded_where_the_limit_applies() -> None:
    document = build_app(Gate(), "admission-docs").openapi()
    work = document["paths"]["/work"]["get"]["responses"]["503"]
    assert "`overloaded`" in work["description"]
    assert "Retry-After" in work["headers"]
    assert "503" not in document["paths"]["/healthz"]["get"]["responses"]
