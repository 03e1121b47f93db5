"""Every service's real app limits request bodies (413 before a 50 MB body is read), answers
the demo frontend's CORS preflights and sends the security headers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.testing import serve_in_process

SERVICES = {
    "identity": "IdentitySettings",
    "case": "CaseSettings",
    "payment": "PaymentSettings",
    "notification": "NotificationSettings",
    "ticketing": "TicketingSettings",
}
# Nothing here reaches the database: every request is answered before a route runs.
UNREACHABLE_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
DEMO_FRONTEND = "http://127.0.0.1:5173"
FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


def _app(service: str) -> FastAPI:
    settings_class = getattr(importlib.import_module(f"{service}_service.settings"),
                             SERVICES[service])
    settings = settings_class(database_url=UNREACHABLE_DB, log_json=False,
                              cors_allowed_origins=DEMO_FRONTEND)
    app: FastAPI = importlib.import_module(f"{service}_service.main").create_app(settings)
    return app


def _a_post_route(app: FastAPI) -> str | None:
    """A POST path of the service's own API (path parameters filled in), if it has one."""
    paths = app.openapi()["paths"]
    template = next((path for path, ops in sorted(paths.items()) if "post" in ops), None)
    return template and template.replace("{", "").replace("}", "")


class Counter:
    sent = 0

    async def stream(self) -> AsyncIterator[bytes]:
        while self.sent < FIFTY_MB:
            self.sent += CHUNK
            yield b"x" * CHUNK


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_50_mb_body_is_refused_before_it_is_read(service: str) -> None:
    app = _app(service)
    route = _a_post_route(app)
    declared, streamed = Counter(), Counter()
    async with serve_in_process(app, base_url="http://test") as client:
        responses = [await client.post(
            "/no-such-route", content=declared.stream(),
            headers={"Content-Length": str(FIFTY_MB), "Idempotency-Key": "k1"})]
        if route is not None:  # (case has no routes of its own yet)
            responses.append(await client.post(
                route, content=streamed.stream(),
                headers={"Content-Type": "application/json", "Idempotency-Key": "k2"}))
    for response in responses:
        assert response.status_code == 413, (route, response.text)
        assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
        assert response.json()["code"] == "body_too_large"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert declared.sent == 0
    assert streamed.sent <= app.state.settings.max_body_bytes + CHUNK


@pytest.mark.parametrize("service", list(SERVICES))
async def test_the_demo_frontend_may_call_the_api_and_a_foreign_origin_may_not(
    service: str,
) -> None:
    app = _app(service)
    route = _a_post_route(app) or "/healthz"
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    async with serve_in_process(app, base_url="http://test") as client:
        allowed = await client.options(route, headers={"Origin": DEMO_FRONTEND, **preflight})
        refused = await client.options(route, headers={"Origin": "https://evil.example",
                                                       **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == DEMO_FRONTEND
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_wrong_method_is_answered_405_with_every_method_the_path_takes(
    service: str,
) -> None:
    app = _app(service)
    documented = {path: {m.upper() for m in ops} for path, ops in app.openapi()["paths"].items()}
    # The path with most operations: Starlette alone names only the first route's methods.
    template = max(sorted(documented), key=lambda path: len(documented[path]))
    path = template.replace("{", "").replace("}", "")
    async with serve_in_process(app, base_url="http://test") as client:
        response = await client.request("PUT" if "PUT" not in documented[template]
                                        else "TRACE", path)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert set(response.headers["allow"].split(", ")) == documented[template]


@pytest.mark.parametrize("service", ["identity", "payment", "notification", "ticketing"])
def test_the_platform_answers_are_documented_on_every_operation_that_can_give_them(
    service: str,
) -> None:
    document = _app(service).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if path not in {"/healthz", "/readyz", "/metrics"}:
                assert "503" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" in headers:
                assert {"400", "409", "422"} <= statuses, (method, path)
            if "422" in statuses:  # the error handlers answer every 422 as problem+json
                assert PROBLEM_CONTENT_TYPE in operation["responses"]["422"]["content"], (
                    method, path)
    assert "Problem" in document["components"]["schemas"]
