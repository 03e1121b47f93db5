"""Helpers of the workflow tests (no tests here): a resident parking permit case of Erika's,
paid and ``submitted``, and the calls staff and the applicant make on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.drafts.models import Draft
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_cases_payment import answer, deliver

PDF = b"%PDF-1.7\n" + b"1" * 400
PARKING: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "street_address": "Musterweg 1", "postal_code": "12345", "locality": "Musterstadt",
    "vehicle_registration": "B-AB 1234", "vehicle_owner": "self", "valid_from": "2026-07-01",
}
DEPT = "citizens-office"


async def parking_case(h: CaseHarness, *, paid: bool = True) -> dict[str, Any]:
    """Erika's parking permit case (with its proof of residence), paid unless ``paid`` is
    False (then ``awaiting_payment``)."""
    draft = Draft(tenant=h.TENANT, service_id=DEMO_SERVICES["bewohnerparkausweis"],
                  definition_id=definition_id("bewohnerparkausweis"),
                  owner=f"citizen:{h.ERIKA}", account_id=h.ERIKA, data=PARKING, verified={},
                  locale="de", expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    upload = await h.client.post(
        f"/drafts/{draft.id}/attachments", params={"kind": "proof_of_residence"}, content=PDF,
        headers={**h.citizen_headers(), "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.text
    response = await h.client.post(f"/drafts/{draft.id}/submit", headers={
        **h.citizen_headers(), "Idempotency-Key": f"submit-{draft.id}"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    if paid:
        await deliver(h, answer("succeeded", body))
        body = await get(h, body["id"], h.citizen_headers())
        assert body["status"] == "submitted"
    return body


async def get(h: CaseHarness, case_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await h.client.get(f"/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    body: dict[str, Any] = response.json()
    return body


async def act(h: CaseHarness, case_id: str, action: str, headers: dict[str, str], *,
              version: int | None = None, **body: Any) -> Any:
    """``POST /cases/{id}/actions/{action}`` with ``If-Match`` of ``version`` (default: the
    current one as ``headers``' caller reads it)."""
    if version is None:
        version = (await get(h, case_id, headers))["version"]
    return await h.client.post(f"/cases/{case_id}/actions/{action}", json=body,
                               headers={**headers, "If-Match": f'"{version}"'})


def staff(h: CaseHarness, role: str = "clerk", sub: str | None = None,
          department: str = DEPT) -> dict[str, str]:
    return h.staff_headers({department: [role]}, sub=sub)


async def events_of(h: CaseHarness, case_id: str, event_type: str) -> list[dict[str, Any]]:
    return [r.data for r in await h.outbox(event_type) if r.key == case_id]


async def answer_parts(h: CaseHarness, case_id: str) -> None:
    """Every open part of the case answered ``agreed`` by its department's clerk."""
    for part_id, department in await h.rows(
            "SELECT id, department FROM case_parts WHERE case_id = :c AND status = 'open'",
            c=case_id):
        clerk = h.staff_headers({department: ["clerk"]})
        read = await h.client.get(f"/parts/{part_id}", headers=clerk)
        assert read.status_code == 200, read.text
        response = await h.client.post(f"/parts/{part_id}/answer", json={"result": "agreed"},
                                       headers={**clerk, "If-Match": read.headers["ETag"]})
        assert response.status_code == 200, response.text
