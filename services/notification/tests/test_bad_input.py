"""Malformed requests get problem+json 4xx, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

BODIES: list[tuple[str, str, Any]] = [
    ("POST", "/templates", None),
    ("POST", "/templates", []),
    ("POST", "/templates", {"key": "Bad Key!", "content": {"de": {}}}),
    ("POST", "/templates", {"key": "ok-key", "content": {"fr": {"sms": {"text": "x"}}}}),
    ("POST", "/templates", {"key": "ok-key", "variables": [1, {"name": "a b"}],
                            "content": {"de": {"sms": {"text": "x"}}}}),
    ("POST", "/templates", {"key": "ok-key", "content": {"de": {"sms": {"text": "x" * 2000}}}}),
    ("POST", "/templates", {"key": "ok-key", "variables": ["a", "a"],
                            "content": {"de": {"sms": {"text": "{{ a }}"}}}}),
    ("POST", "/rules", {"event_type": "not.a.type", "template_key": "x-y", "channels": []}),
    ("POST", "/rules", {"event_type": "city.a.b.c.v1", "template_key": "x-y",
                        "channels": ["fax"]}),
    ("PUT", "/rules/not-a-uuid", {}),
    ("GET", "/templates/not-a-uuid", None),
    ("GET", f"/templates/{uuid.uuid4()}/versions/0", None),
    ("POST", f"/templates/{uuid.uuid4()}/preview", {"locale": "xx"}),
    ("POST", f"/templates/{uuid.uuid4()}/preview", {"params": {"bad name": 1}}),
]

CLIENT_BODIES: list[Any] = [
    {},
    {"template": "account-email-verification", "recipient": {}},
    {"template": "account-email-verification", "recipient": {"email": "not-an-address"}},
    {"template": "account-email-verification", "recipient": {"account_id": "x"}},
    {"template": "account-email-verification", "recipient": {"account_id": str(uuid.uuid4())},
     "channels": ["pigeon"]},
    {"template": "account-email-verification", "recipient": {"account_id": str(uuid.uuid4())},
     "params": "not a map"},
    "just a string",
]


@pytest.mark.parametrize(("method", "path", "body"), BODIES)
async def test_staff_endpoints_refuse_bad_input(notify: Any, method: str, path: str,
                                                body: Any) -> None:
    response = await notify.client.request(method, path, json=body,
                                           headers=notify.admin_headers())
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", CLIENT_BODIES)
async def test_send_refuses_bad_input(notify: Any, body: Any) -> None:
    response = await notify.client.post("/notifications", json=body, headers={
        **notify.client_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_citizen_endpoints_refuse_bad_input(notify: Any) -> None:
    erika = notify.citizen_headers(uuid.uuid4())
    for method, path, body in (("POST", "/inbox/not-a-uuid/read", None),
                               ("GET", "/inbox?limit=0", None),
                               ("PUT", "/preferences", {"fax": True}),
                               ("PUT", "/preferences", [True])):
        response = await notify.client.request(method, path, json=body, headers=erika)
        assert response.status_code == 422, (path, response.text)
    garbage = await notify.client.put("/preferences", content=b"{not json",
                                      headers={**erika, "Content-Type": "application/json"})
    assert garbage.status_code == 422
