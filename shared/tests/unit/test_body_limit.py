"""The request body limit of every service app: a 50 MB body is refused with 413 before it is
read (by Content-Length, or counted while streamed), on unknown and real routes, anonymous and
with ``Idempotency-Key``; normal bodies still work; the limit is configurable per service and
per route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from city_shared.app import create_service_app
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process

MIB = 1024 * 1024
FIFTY_MB = 50 * MIB
CHUNK = 64 * 1024
# Nothing in these tests reaches the database: the lifespan's engine never connects.
UNREACHABLE_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
UPLOAD_ROUTE = "/uploads/{upload_id}/parts"


class Note(BaseModel):
    text: str


router = APIRouter()


@router.post("/notes", status_code=201)
async def create_note(note: Note) -> dict[str, int]:
    return {"length": len(note.text)}


@router.post(UPLOAD_ROUTE, status_code=201)
async def upload_part(upload_id: str, request: Request) -> dict[str, int]:
    return {"received": len(await request.body())}


@dataclass
class Upload:
    """A request body produced on demand; ``sent`` tells how much the server pulled."""

    size: int
    sent: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            n = min(CHUNK, self.size - self.sent)
            self.sent += n
            yield b"x" * n


def _app(*, max_body_bytes: int = MIB, body_limits: dict[str, int] | None = None) -> FastAPI:
    settings = ServiceSettings(service_name="limits", database_url=UNREACHABLE_DB,
                               log_json=False, max_body_bytes=max_body_bytes)
    return create_service_app(settings, title="limits", description="test", routers=[router],
                              body_limits=body_limits)


def _assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    problem = response.json()
    assert problem["code"] == "body_too_large"
    assert problem["max_bytes"] == limit
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("path", ["/no-such-route", "/notes"])
@pytest.mark.parametrize("idempotency", [False, True])
async def test_a_50_mb_body_declared_by_content_length_is_refused_unread(
    path: str, idempotency: bool
) -> None:
    upload = Upload(FIFTY_MB)
    headers = {"Content-Length": str(FIFTY_MB), "Content-Type": "application/json"}
    if idempotency:
        headers["Idempotency-Key"] = "k-1"
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.post(path, content=upload.stream(), headers=headers)
    _assert_too_large(response, MIB)
    assert upload.sent == 0


@pytest.mark.parametrize("idempotency", [False, True])
async def test_a_streamed_50_mb_body_is_cut_off_at_the_limit(idempotency: bool) -> None:
    upload = Upload(FIFTY_MB)
    headers = {"Content-Type": "application/json"}
    if idempotency:
        headers["Idempotency-Key"] = "k-2"
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.post("/notes", content=upload.stream(), headers=headers)
    _assert_too_large(response, MIB)
    assert upload.sent <= MIB + CHUNK


@pytest.mark.parametrize("idempotency", [False, True])
async def test_a_streamed_body_to_an_unknown_route_is_not_read(idempotency: bool) -> None:
    upload = Upload(FIFTY_MB)
    headers = {"Idempotency-Key": "k-3"} if idempotency else {}
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.post("/no-such-route", content=upload.stream(), headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert upload.sent == 0


async def test_a_body_under_the_limit_still_reaches_the_route() -> None:
    text = "x" * (MIB - 100)
    async with serve_in_process(_app(), base_url="http://test") as client:
        response = await client.post("/notes", json={"text": text})
        streamed = Upload(MIB - 10)
        part = await client.post("/uploads/u1/parts", content=streamed.stream())
    assert response.status_code == 201, response.text
    assert response.json() == {"length": len(text)}
    assert part.status_code == 201
    assert part.json() == {"received": MIB - 10}


async def test_the_limit_is_a_setting_of_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITY_MAX_BODY_BYTES", "200")
    settings = ServiceSettings(service_name="limits", database_url=UNREACHABLE_DB)
    assert settings.max_body_bytes == 200
    async with serve_in_process(_app(max_body_bytes=200), base_url="http://test") as client:
        small = await client.post("/notes", json={"text": "x" * 100})
        large = await client.post("/notes", json={"text": "x" * 300})
    assert small.status_code == 201
    _assert_too_large(large, 200)


async def test_an_upload_route_may_take_more_than_the_service_default() -> None:
    app = _app(body_limits={UPLOAD_ROUTE: 4 * MIB})
    async with serve_in_process(app, base_url="http://test") as client:
        part = await client.post("/uploads/u1/parts", content=b"x" * (3 * MIB))
        note = await client.post("/notes", content=b"x" * (3 * MIB))
        huge = Upload(FIFTY_MB)
        refused = await client.post("/uploads/u1/parts", content=huge.stream())
    assert part.status_code == 201
    assert part.json() == {"received": 3 * MIB}
    _assert_too_large(note, MIB)
    _assert_too_large(refused, 4 * MIB)
    assert huge.sent <= 4 * MIB + CHUNK


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        ServiceSettings(service_name="limits", max_body_bytes=0)
    with pytest.raises(ValueError, match="body_limits"):
        _app(body_limits={UPLOAD_ROUTE: 0})
