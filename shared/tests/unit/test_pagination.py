"""Keyset cursors: what we hand out comes back as the same position; anything else is a 422
``invalid_cursor`` problem, never a 500 or a silently different page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from city_shared.encoding import b64url_encode
from city_shared.errors import install_error_handlers
from city_shared.pagination import CURSOR_MAX_LENGTH, Cursor, CursorQuery, InvalidCursor, next_page

AT = datetime(2027, 3, 22, 8, 0, 0, 123456, tzinfo=UTC)
ID = uuid.UUID("9e2f7c1a-4d3b-4a5e-8f6a-1b2c3d4e5f60")


def test_a_cursor_round_trips() -> None:
    cursor = Cursor(AT, ID)
    assert Cursor.decode(cursor.encode()) == cursor


def test_the_offset_survives_the_round_trip() -> None:
    at = datetime(2027, 3, 22, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    decoded = Cursor.decode(Cursor(at, ID).encode())
    assert decoded.at == AT.replace(microsecond=0)
    assert decoded.at.utcoffset() == timedelta(hours=1)


def test_the_encoding_is_url_safe_and_unpadded() -> None:
    text = Cursor(AT, ID).encode()
    assert text.isascii()
    assert not set(text) & set("+/=")
    assert len(text) <= CURSOR_MAX_LENGTH


def test_the_format_is_what_services_handed_out_before() -> None:
    """Cursors already in clients' hands (ticketing, payment) keep working."""
    legacy = b64url_encode(f"{AT.isoformat()}|{ID}".encode())
    assert Cursor.decode(legacy) == Cursor(AT, ID)


@pytest.mark.parametrize("value", [
    "",
    "x" * (CURSOR_MAX_LENGTH + 1),
    "not base64!",
    "ü",
    Cursor(AT, ID).encode()[:-3],
    Cursor(AT, ID).encode() + "A",
    b64url_encode(b"2027-03-22T08:00:00+00:00"),
    b64url_encode(f"{AT.isoformat()}|{ID}|x".encode()),
    b64url_encode(f"yesterday|{ID}".encode()),
    b64url_encode(f"{AT.isoformat()}|42".encode()),
    b64url_encode(f"2027-03-22T08:00:00|{ID}".encode()),
    b64url_encode("2027-03-22T08:00:00+00:00|ü".encode()),
    b64url_encode(b"\x00\xff|"),
])
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(value)


def test_a_naive_position_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Cursor(AT.replace(tzinfo=None), ID)


def test_parse_keeps_none() -> None:
    assert Cursor.parse(None) is None
    assert Cursor.parse(Cursor(AT, ID).encode()) == Cursor(AT, ID)


def test_a_tampered_cursor_is_a_422_problem_with_a_stable_code() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things")
    async def things(cursor: CursorQuery = None) -> dict[str, str | None]:
        after = Cursor.parse(cursor)
        return {"after": str(after.id) if after else None}

    client = TestClient(app)
    good = client.get("/things", params={"cursor": Cursor(AT, ID).encode()})
    assert good.status_code == 200
    assert good.json() == {"after": str(ID)}
    tampered = Cursor(AT, ID).encode()[:-2] + "zz"
    response = client.get("/things", params={"cursor": tampered})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid_cursor"
    assert tampered not in response.text
    too_long = client.get("/things", params={"cursor": "A" * (CURSOR_MAX_LENGTH + 1)})
    assert too_long.status_code == 422


def test_next_page_cuts_the_extra_row_into_a_cursor() -> None:
    rows = [(AT - timedelta(minutes=i), uuid.uuid4()) for i in range(3)]
    page, cursor = next_page(rows, 2, lambda row: Cursor(*row))
    assert page == rows[:2]
    assert cursor is not None
    assert Cursor.decode(cursor) == Cursor(*rows[1])
    assert next_page(rows, 3, lambda row: Cursor(*row)) == (rows, None)
    assert next_page([], 0, lambda row: Cursor(*row)) == ([], None)
