"""Only a draft's owner sees or changes it and its attachments: another citizen and a citizen
of another tenant get 404, staff and clients without ``case:write`` 403, anonymous callers 401."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

PDF = b"%PDF-1.7\n" + b"0" * 200


async def _draft_with_attachment(case: Any) -> tuple[str, str]:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    draft = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                   headers=case.citizen_headers())
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]
    upload = await case.client.post(
        f"/drafts/{draft_id}/attachments", params={"kind": "proof_of_residence"}, content=PDF,
        headers={**case.citizen_headers(), "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.text
    return draft_id, upload.json()["id"]


def _requests(draft_id: str, attachment_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/drafts/{draft_id}"
    return [
        ("GET", base, {}),
        ("PATCH", base, {"json": {"data": {"locality": "X"}}}),
        ("DELETE", base, {}),
        ("POST", f"{base}/attachments?kind=proof_of_residence",
         {"content": PDF, "headers": {"Content-Type": "application/pdf"}}),
        ("GET", f"{base}/attachments/{attachment_id}", {}),
        ("DELETE", f"{base}/attachments/{attachment_id}", {}),
    ]


@pytest.mark.parametrize(("who", "status"), [
    ("another citizen", 404),
    ("a citizen of another tenant", 404),
    ("staff", 403),
    ("a tenant admin", 403),
    ("a client without case:write", 403),
    ("another client with case:write", 404),
    ("anonymous", 401),
])
async def test_strangers_never_reach_a_draft(case: Any, who: str, status: int) -> None:
    draft_id, attachment_id = await _draft_with_attachment(case)
    headers = {
        "another citizen": case.citizen_headers(case.MAX),
        "a citizen of another tenant": case.citizen_headers(case.ERIKA,
                                                            tenant=case.OTHER_TENANT),
        "staff": case.clerk_headers(),
        "a tenant admin": case.tenant_admin_headers(),
        "a client without case:write": case.client_headers("case:read"),
        "another client with case:write": case.client_headers(client_id="other-system"),
        "anonymous": {},
    }[who]

    for method, url, kwargs in _requests(draft_id, attachment_id):
        extra = kwargs.pop("headers", {})
        response = await case.client.request(method, url, headers={**headers, **extra},
                                             **kwargs)
        assert response.status_code == status, (method, url, response.text)

    owner = case.citizen_headers()
    still = await case.client.get(f"/drafts/{draft_id}", headers=owner)
    assert still.status_code == 200
    assert still.json()["version"] == 2  # the owner's upload only
    assert [a["id"] for a in still.json()["attachments"]] == [attachment_id]


@pytest.mark.parametrize("who", ["staff", "a client without case:write", "anonymous"])
async def test_strangers_cannot_start_or_list_drafts(case: Any, who: str) -> None:
    headers, status = {
        "staff": (case.clerk_headers(), 403),
        "a client without case:write": (case.client_headers("case:read"), 403),
        "anonymous": ({}, 401),
    }[who]
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")

    started = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                      headers=headers)
    listed = await case.client.get("/drafts", headers=headers)

    assert started.status_code == status
    assert listed.status_code == status
    assert await case.scalar("SELECT count(*) FROM drafts") == 0


async def test_others_drafts_are_not_listed(case: Any) -> None:
    await _draft_with_attachment(case)

    for headers in (case.citizen_headers(case.MAX),
                    case.citizen_headers(case.ERIKA, tenant=case.OTHER_TENANT),
                    case.client_headers()):
        listed = await case.client.get("/drafts", headers=headers)
        assert listed.status_code == 200
        assert listed.json()["items"] == []


async def test_an_attachment_of_another_draft_is_not_found(case: Any) -> None:
    draft_id, attachment_id = await _draft_with_attachment(case)
    other, _ = await _draft_with_attachment(case)

    response = await case.client.get(f"/drafts/{other}/attachments/{attachment_id}",
                                     headers=case.citizen_headers())
    unknown = await case.client.get(f"/drafts/{draft_id}/attachments/{uuid.uuid4()}",
                                    headers=case.citizen_headers())

    assert (response.status_code, response.json()["code"]) == (404, "attachment_not_found")
    assert unknown.status_code == 404
