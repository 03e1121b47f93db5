"""Bad input to drafts (NUL characters, deep nesting, huge bodies, wrong types, not JSON) is
answered with a 4xx problem, never a 500, and stores or changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

DEEP = {"locality": json.loads("[" * 40 + "]" * 40)}


def _bodies(service_id: str) -> list[tuple[str, bytes, str]]:
    """(what, raw body, Content-Type) of bad POST /drafts requests."""
    def draft(data: Any) -> bytes:
        return json.dumps({"service_id": service_id, "data": data}).encode()

    def raw(data: str) -> bytes:
        return ('{"service_id": "' + service_id + '", "data": ' + data + "}").encode()

    return [
        ("NUL in a value", draft({"locality": "Muster\u0000stadt"}), "application/json"),
        ("NUL in a name", draft({"loc\u0000ality": "x"}), "application/json"),
        ("deep nesting", draft(DEEP), "application/json"),
        ("very deep nesting", raw('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
         "application/json"),
        ("huge body", draft({"locality": "x" * (2 * 1024 * 1024)}), "application/json"),
        ("large value", draft({"locality": "x" * (300 * 1024)}), "application/json"),
        ("wrong type of a field", draft({"postal_code": 12345}), "application/json"),
        ("data not an object", draft(["locality"]), "application/json"),
        ("service id not a uuid", json.dumps({"service_id": "parking"}).encode(),
         "application/json"),
        ("not JSON", b'{"service_id": ', "application/json"),
        ("not JSON at all", b"\xff\xfe\x00", "application/json"),
        ("a form post", b"service_id=x", "application/x-www-form-urlencoded"),
        ("huge number", raw('{"postal_code": 1' + "0" * 5000 + "}"), "application/json"),
        ("NaN", raw('{"postal_code": NaN}'), "application/json"),
    ]


async def _service_id(case: Any) -> str:
    return str(await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'"))


async def test_bad_new_drafts_are_refused_and_nothing_is_stored(case: Any) -> None:
    for what, body, content_type in _bodies(await _service_id(case)):
        response = await case.client.post(
            "/drafts", content=body,
            headers={**case.citizen_headers(), "Content-Type": content_type})

        assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", what
    assert await case.scalar("SELECT count(*) FROM drafts") == 0


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
async def test_bad_patches_are_refused_and_change_nothing(case: Any, content_type: str) -> None:
    created = await case.client.post(
        "/drafts", json={"service_id": await _service_id(case), "data": {"locality": "Ort"}},
        headers=case.citizen_headers())
    draft_id = created.json()["id"]
    patches: list[bytes] = [body.replace(b'"service_id"', b'"ignored"')
                            for _, body, _ in _bodies(await _service_id(case))]
    patches += [b"[]", b'{"data": null}', b'{"data": "x"}', b"{}", b"null"]

    for body in patches:
        response = await case.client.patch(
            f"/drafts/{draft_id}", content=body,
            headers={**case.citizen_headers(), "Content-Type": content_type})

        assert 400 <= response.status_code < 500, (body[:60], response.status_code,
                                                   response.text)
    kept = await case.client.get(f"/drafts/{draft_id}", headers=case.citizen_headers())
    assert kept.json()["data"] == {"locality": "Ort"}
    assert kept.json()["version"] == 1


async def test_field_errors_of_guards_name_the_field(case: Any) -> None:
    response = await case.client.post(
        "/drafts", json={"service_id": await _service_id(case),
                         "data": {"locality": "Muster\u0000stadt"}},
        headers={**case.citizen_headers(), "Accept-Language": "en"})

    assert response.status_code == 422
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [
        ("/locality", "nul_character")]
