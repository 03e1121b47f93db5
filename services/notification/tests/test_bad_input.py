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


async def test_a_flag_is_json_true_or_false_never_a_number_or_a_word(notify: Any) -> None:
    """The documents say ``boolean``; 0, 1 or "yes" are refused, not read as a choice (found
    by the API fuzzer: ``{"inbox": 0}`` switched the inbox off)."""
    erika = notify.citizen_headers(uuid.uuid4())
    for value in (0, 1, "false", "yes"):
        response = await notify.client.put("/preferences", json={"inbox": value}, headers=erika)
        assert response.status_code == 422, (value, response.text)
        assert response.json()["errors"][0]["loc"] == ["body", "inbox"]
    preferences = await notify.client.get("/preferences", headers=erika)
    assert preferences.json()["inbox"] is True
    admin = notify.admin_headers()
    for method, path, body in (
        ("POST", "/rules", {"event_type": "city.case.decided.v1", "template_key": "x-y",
                            "channels": ["inbox"], "enabled": 0}),
        ("POST", "/rules", {"event_type": "city.case.decided.v1", "template_key": "x-y",
                            "channels": ["inbox"], "legally_required": "true"}),
        ("PUT", f"/rules/{uuid.uuid4()}", {"template_key": "x-y", "channels": ["inbox"],
                                           "enabled": 1}),
        ("POST", "/templates", {"key": "ok-key", "variables": [{"name": "a", "required": 0}],
                                "content": {"de": {"sms": {"text": "{{ a }}"}}}}),
        ("POST", f"/templates/{uuid.uuid4()}/preview", {"version": "1"}),
    ):
        response = await notify.client.request(method, path, json=body, headers=admin)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["code"] == "validation_error", response.text
    send = await notify.client.post("/notifications", json={
        "template": "account-email-verification",
        "recipient": {"account_id": str(uuid.uuid4())}, "legally_required": 1,
    }, headers={**notify.client_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert send.status_code == 422, send.text
    assert send.json()["errors"][0]["loc"] == ["body", "legally_required"]
