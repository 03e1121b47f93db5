"""The upload routes take files up to the definition's limit although the platform refuses other
bodies above 1 MiB; everything else keeps the platform's limit."""

from __future__ import annotations

import hashlib
from typing import Any

PDF_3MB = b"%PDF-1.7\n" + b"\x00" * (3 * 1024 * 1024)


async def test_a_three_megabyte_proof_is_accepted_where_the_kind_allows_five(case: Any) -> None:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    draft = await case.client.post("/drafts", json={"service_id": str(service_id)},
                                   headers=case.citizen_headers())
    assert draft.status_code == 201, draft.text

    response = await case.client.post(
        f"/drafts/{draft.json()['id']}/attachments",
        params={"kind": "proof_of_residence", "filename": "nachweis.pdf"}, content=PDF_3MB,
        headers={**case.citizen_headers(), "Content-Type": "application/pdf"})

    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(PDF_3MB).hexdigest()


async def test_a_draft_body_of_three_megabytes_is_still_refused(case: Any) -> None:
    service_id = await case.scalar("SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")
    response = await case.client.post(
        "/drafts", json={"service_id": str(service_id), "data": {"locality": "x" * 3_000_000}},
        headers=case.citizen_headers())

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert await case.scalar("SELECT count(*) FROM drafts") == 0
