"""Bad input on every payment endpoint is a 4xx, never a 500, and never echoes what was sent."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

HUGE = "x" * 100_000
MARKER = "Geheimnis-Marker-5531"


def _bodies(payments: Any) -> list[bytes]:
    good = payments.body()

    def variant(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    return [
        b"", b"{not json", b"\xff\xfe\x00", b"[]", b'"text"', b"42", b"null",
        b"[" * 5000 + b"]" * 5000,
        variant(amount="1300"), variant(amount=13.5), variant(amount=True), variant(amount=-1),
        variant(amount=10**30), variant(amount=None), variant(currency="eur"),
        variant(currency=MARKER), variant(description=""), variant(description=HUGE),
        variant(description="a\u0000b"), variant(description="\ud800"),
        variant(reference=MARKER + "\u0007"), variant(reference=HUGE), variant(reference=""),
        variant(return_url="javascript:alert(1)"), variant(return_url="ftp://x.example"),
        variant(return_url="https://" + HUGE), variant(return_url="https://a.example/ b"),
        variant(metadata={"k": 1}), variant(metadata={MARKER + " !": "v"}),
        variant(metadata={f"k{i}": "v" for i in range(21)}), variant(metadata=[]),
        variant(metadata={"k": HUGE}),
        variant(line_items=[]), variant(line_items=None), variant(line_items="museum"),
        variant(line_items=[payments.line_item() for _ in range(51)]),
        variant(line_items=[{**payments.line_item(amount=1300), "department": "Museum"}]),
        variant(line_items=[{**payments.line_item(amount=1300), "cost_centre": MARKER + "/<>"}]),
        variant(line_items=[{**payments.line_item(amount=1300), "amount": -1}]),
        variant(line_items=[{**payments.line_item(amount=1300), "extra": 1}]),
        variant(line_items=[payments.line_item(amount=10**11), payments.line_item(amount=10**11)],
                amount=10**11),
        variant(payer={"account_id": "nope"}), variant(payer={"email": MARKER}),
        variant(payer={"name": "x" * 201}), variant(payer={"unknown": 1}),
        variant(status="succeeded"), variant(tenant="beispielhausen"),
        json.dumps({k: v for k, v in good.items() if k != "line_items"}).encode(),
    ]


def _assert_problem(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/problem+json", what
    assert "code" in response.json(), what
    assert MARKER not in response.text, what
    assert HUGE not in response.text, what


async def test_create_rejects_bad_bodies(payments: Any) -> None:
    headers = payments.client_headers()
    for body in _bodies(payments):
        for content_type in ("application/json", "text/plain"):
            response = await payments.client.post(
                "/payments", content=body,
                headers={**headers, "Content-Type": content_type,
                         "Idempotency-Key": str(uuid.uuid4())})
            _assert_problem(response, f"{body[:80]!r} {content_type}")
    assert await payments.scalar("SELECT count(*) FROM payments") == 0
    assert await payments.outbox() == []


@pytest.mark.parametrize("query", [
    "status=paid", "status=" + MARKER, "limit=0", "limit=101", "limit=x", "limit=-1",
    "created_from=yesterday", "created_from=2026-01-01T00:00:00", "created_to=" + MARKER,
    "created_to=0.5", "created_from=1700000000", "created_from=2026-01-01%2000:00:00Z",
    "department=Museum", "department=" + "a" * 70, "reference=" + "r" * 300,
    "reference=a%00b", "cursor=" + "c" * 300, "cursor=%00", "cursor=" + MARKER,
    "cursor=MjAyNi0wMS0wMXxub3QtYS11dWlk",
])
async def test_list_rejects_bad_query_parameters(payments: Any, query: str) -> None:
    response = await payments.client.get(f"/payments?{query}",
                                         headers=payments.client_headers())
    _assert_problem(response, query)


@pytest.mark.parametrize("path", [
    "/payments/not-a-uuid", "/payments/" + "1" * 500, "/payments/%00",
    "/payments/not-a-uuid/events", "/payments/" + str(uuid.uuid4()),
    "/payments/" + str(uuid.uuid4()) + "/events",
])
async def test_reads_of_bad_or_unknown_ids_are_4xx(payments: Any, path: str) -> None:
    _assert_problem(await payments.client.get(path, headers=payments.client_headers()), path)


@pytest.mark.parametrize("path", ["/payments/not-a-uuid/cancel",
                                  f"/payments/{uuid.uuid4()}/cancel"])
async def test_cancel_of_bad_or_unknown_ids_is_4xx(payments: Any, path: str) -> None:
    response = await payments.client.post(path, headers=payments.client_headers(),
                                          content=b"{garbage")
    _assert_problem(response, path)


@pytest.mark.parametrize("header", ["Bearer", "Bearer x.y.z", "Basic abc", "Bearer " + HUGE])
async def test_bad_tokens_are_401(payments: Any, header: str) -> None:
    response = await payments.client.get("/payments", headers={"Authorization": header})
    assert response.status_code == 401


async def test_the_sandbox_form_rejects_garbage(payments: Any) -> None:
    created = await payments.create()
    url = created["next_url"]
    for data in ({}, {"action": "steal"}, {"action": "pay"}, {"action": "pay", "csrf": HUGE},
                 {"action": "pay", "csrf": "a.b", "lang": HUGE}):
        response = await payments.client.post(url, data=data)
        assert 400 <= response.status_code < 500, (data, response.status_code)
        assert HUGE not in response.text
    for raw in (b"\xff\xfe", b"action=pay&csrf=%ZZ", b"a" * 100_000):
        response = await payments.client.post(
            url, content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= response.status_code < 500, raw[:20]
    page = await payments.client.get(url + "?lang=" + "x" * 50)
    assert page.status_code in (200, 422)
    assert (await payments.row(created["payment_id"])).status in ("created", "started")
