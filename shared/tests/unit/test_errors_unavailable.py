"""A request that fails because the database is unreachable, restarting or recovering answers
503 ``service_unavailable`` with ``Retry-After``, from inside the app (nothing re-raised to the
server); every other failure stays a 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from city_shared.errors import PROBLEM_CONTENT_TYPE, install_error_handlers

ADDRESS = "db.internal:5432"

TRANSIENT: dict[str, Exception] = {
    "refused": ConnectionRefusedError(111, f"Connect call failed {ADDRESS}"),
    "starting_up": sa_exc.OperationalError(
        "SELECT 1", {}, asyncpg.CannotConnectNowError("the database system is starting up")),
    "cut_mid_statement": sa_exc.InterfaceError(
        "SELECT 1", {}, asyncpg.InternalClientError("cannot switch to state 12")),
    "shut_down": sa_exc.DBAPIError(
        "SELECT 1", {}, asyncpg.AdminShutdownError("terminating connection"),
        connection_invalidated=True),
    "pool_exhausted": sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
}
PERMANENT: dict[str, Exception] = {
    "integrity": sa_exc.IntegrityError(
        "INSERT", {}, asyncpg.UniqueViolationError("duplicate key")),
    "missing_file": FileNotFoundError(2, "No such file", "/etc/city/key.pem"),
}


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    errors = TRANSIENT | PERMANENT

    @app.get("/fail/{name}")
    async def fail(name: str) -> None:
        raise errors[name]

    @app.get("/wrapped")
    async def wrapped() -> None:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as exc:
            raise RuntimeError("could not load the order") from exc

    return app


def client(*, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize("name", sorted(TRANSIENT))
async def test_a_database_fault_is_503_with_retry_after_and_no_address(name: str) -> None:
    async with client() as http:
        response = await http.get(f"/fail/{name}")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["code"] == "service_unavailable"
    assert ADDRESS not in response.text
    assert "asyncpg" not in response.text


async def test_an_error_caused_by_a_database_fault_is_503_too() -> None:
    async with client(raise_app_exceptions=False) as http:
        response = await http.get("/wrapped")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.parametrize("name", sorted(PERMANENT))
async def test_other_database_and_os_errors_stay_500(name: str) -> None:
    async with client() as http:
        response = await http.get(f"/fail/{name}")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "retry-after" not in response.headers
