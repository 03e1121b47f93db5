"""A NUL character (or other text PostgreSQL cannot store) in a query parameter or a body is the
client's mistake: 422 ``invalid_character`` problem+json, never a 500 (issue 11, hole 11)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from city_shared.app import create_service_app
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings


class Note(BaseModel):
    text: str


async def test_nul_in_a_query_parameter_or_body_is_a_422_and_nothing_is_stored(
    database_url,  # type: ignore[no-untyped-def]
) -> None:
    url = await database_url()
    router = APIRouter()

    @router.get("/notes")
    async def find(reference: str, request: Request) -> dict[str, int]:
        async with request.app.state.session_factory() as session:
            found = await session.execute(text("SELECT count(*) FROM notes WHERE body = :r"),
                                          {"r": reference})
        return {"count": int(found.scalar_one())}

    @router.post("/notes", status_code=201)
    async def add(note: Note, request: Request) -> dict[str, str]:
        async with request.app.state.session_factory() as session, session.begin():
            await session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": note.text})
        return {"status": "stored"}

    app = create_service_app(
        ServiceSettings(service_name="notes", database_url=url, log_json=False),
        title="notes", description="A tiny service.", routers=[router])
    async with app.router.lifespan_context(app):
        async with app.state.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (body text)"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
            found = await client.get("/notes", params={"reference": "\x00abc"})
            stored = await client.post("/notes", json={"text": "a\x00b"})
            fine = await client.post("/notes", json={"text": "ab"})
            counted = await client.get("/notes", params={"reference": "ab"})
        async with app.state.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one()

    for answer in (found, stored):
        assert answer.status_code == 422
        assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
        assert answer.json()["code"] == "invalid_character"
    assert fine.status_code == 201
    assert counted.json() == {"count": 1}
    assert rows == 1
