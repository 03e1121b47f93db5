"""Browsers and service apps: preflights from configured origins are answered, other origins
get no CORS headers; every response carries the security headers, HTML pages a CSP."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from city_shared.app import create_service_app
from city_shared.security_headers import STRICT_CSP
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process

DEMO_FRONTEND = "http://127.0.0.1:5173"
FOREIGN = "https://evil.example"
UNREACHABLE_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
API_HEADERS = ["authorization", "content-type", "idempotency-key", "if-match", "if-none-match",
               "x-correlation-id"]
OWN_CSP = "default-src 'none'; form-action 'self' https://shop.example"

router = APIRouter()


@router.get("/things/{thing_id}")
async def read_thing(thing_id: str, response: Response) -> dict[str, str]:
    response.headers["ETag"] = '"v1"'
    return {"id": thing_id}


@router.get("/page", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>page</title><p>hello</p>")


@router.get("/own-policy", response_class=HTMLResponse)
async def own_policy() -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>own</title>",
                        headers={"Content-Security-Policy": OWN_CSP})


def _app(*, origins: str | list[str] = DEMO_FRONTEND, production: bool = False) -> FastAPI:
    settings = ServiceSettings(service_name="browsers", database_url=UNREACHABLE_DB,
                               log_json=False, cors_allowed_origins=origins,
                               env="production" if production else "development")
    return create_service_app(settings, title="browsers", description="test", routers=[router])


def _preflight(origin: str, method: str = "PATCH") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ", ".join(API_HEADERS)}


def _listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_a_preflight_from_the_demo_frontend_is_allowed(method: str) -> None:
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.options("/things/1", headers=_preflight(DEMO_FRONTEND, method))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DEMO_FRONTEND
    assert method.lower() in _listed(response.headers["access-control-allow-methods"])
    assert set(API_HEADERS) <= _listed(response.headers["access-control-allow-headers"])
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("origins", ["", "http://127.0.0.1:5174,https://shop.example"])
async def test_a_preflight_from_another_origin_is_refused(origins: str) -> None:
    async with serve_in_process(_app(origins=origins), base_url="http://test") as client:
        foreign = await client.options("/things/1", headers=_preflight(FOREIGN))
        demo = await client.options("/things/1", headers=_preflight(DEMO_FRONTEND))
        read = await client.get("/things/1", headers={"Origin": FOREIGN})
    for response in (foreign, demo):
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers


async def test_a_preflight_for_a_header_the_api_does_not_use_is_refused() -> None:
    headers = {**_preflight(DEMO_FRONTEND), "Access-Control-Request-Headers": "x-debug-admin"}
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.options("/things/1", headers=headers)
    assert response.status_code == 400


async def test_a_cross_origin_response_exposes_the_headers_frontends_read() -> None:
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.get("/things/1", headers={"Origin": DEMO_FRONTEND})
        missing = await client.post("/things", headers={"Origin": DEMO_FRONTEND})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DEMO_FRONTEND
    assert "origin" in _listed(response.headers["vary"])
    exposed = _listed(response.headers["access-control-expose-headers"])
    assert {"location", "etag", "retry-after", "x-correlation-id"} <= exposed
    # Errors too, so the frontend can read the problem.
    assert missing.status_code in (404, 405)
    assert missing.headers["access-control-allow-origin"] == DEMO_FRONTEND


def test_origins_are_exact_and_never_a_wildcard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITY_CORS_ALLOWED_ORIGINS",
                       "http://127.0.0.1:5173, HTTPS://Shop.Example:443,http://[::1]:8080/")
    settings = ServiceSettings(service_name="browsers")
    assert settings.cors_allowed_origins == (
        "http://127.0.0.1:5173", "https://shop.example", "http://[::1]:8080")
    monkeypatch.setenv("CITY_CORS_ALLOWED_ORIGINS", '["https://a.example"]')
    assert ServiceSettings(service_name="browsers").cors_allowed_origins == ("https://a.example",)
    for bad in ["*", "https://*.example", "https://a.example/shop", "ftp://a.example",
                "https://user@a.example", "null"]:
        monkeypatch.setenv("CITY_CORS_ALLOWED_ORIGINS", bad)
        with pytest.raises(ValidationError, match=r"origin|'\*'"):
            ServiceSettings(service_name="browsers")


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


async def test_json_and_error_responses_carry_the_security_headers_without_hsts() -> None:
    async with serve_in_process(_app(), base_url="http://test") as client:
        responses = [await client.get("/things/1"), await client.get("/no-such-route"),
                     await client.get("/healthz")]
    for response in responses:
        _assert_security_headers(response)
        assert response.headers["content-security-policy"] == STRICT_CSP
        assert "strict-transport-security" not in response.headers


async def test_production_adds_hsts() -> None:
    async with serve_in_process(_app(production=True), base_url="http://test") as client:
        response = await client.get("/things/1")
    _assert_security_headers(response)
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_an_html_page_gets_a_csp_and_keeps_its_own() -> None:
    async with serve_in_process(_app(), base_url="http://test") as client:
        plain = await client.get("/page")
        own = await client.get("/own-policy")
    _assert_security_headers(plain)
    assert plain.headers["content-security-policy"] == STRICT_CSP
    assert plain.headers.get_list("content-security-policy") == [STRICT_CSP]
    assert own.headers.get_list("content-security-policy") == [OWN_CSP]


async def test_the_api_docs_may_load_what_they_need() -> None:
    async with serve_in_process(_app(), base_url="http://test") as client:
        docs = await client.get("/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist" in docs.text
    assert "script-src 'unsafe-inline' https://cdn.jsdelivr.net" in csp
    assert "connect-src 'self'" in csp  # fetches /openapi.json
