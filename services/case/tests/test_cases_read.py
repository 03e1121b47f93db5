"""Reading cases: the applicant, the staff of the case's department, tenant admins and clients
with ``case:read`` see it; everyone else gets the denial a stranger should get."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.drafts.models import Draft
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness

BIRTH_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 1, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}
DOG_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "street_address": "Hauptstr. 1",
    "postal_code": "12345", "locality": "Musterstadt",
    "dogs": [{"name": "Bello", "breed": "Dackel"}],
}
PDF = b"%PDF-1.4\n%test\n"


async def submitted(h: CaseHarness, slug: str, data: dict[str, Any], *,
                    account: uuid.UUID | None = None, with_file: bool = False) -> dict[str, Any]:
    account = account or h.ERIKA
    draft = Draft(tenant="musterstadt", service_id=DEMO_SERVICES[slug],
                  definition_id=definition_id(slug), owner=f"citizen:{account}",
                  account_id=account, data=data, verified={}, locale="de",
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    if with_file:
        key = f"test/{uuid.uuid4()}"
        await h.execute("INSERT INTO attachment_blobs (key, content) VALUES (:k, :c)",
                        k=key, c=PDF)
        await h.execute(
            "INSERT INTO attachments (id, tenant, draft_id, kind, filename, media_type, size, "
            "sha256, storage_key) VALUES (:id, 'musterstadt', :d, 'extra', 'a.pdf', "
            "'application/pdf', :n, :sha, :key)", id=uuid.uuid4(), d=draft.id, n=len(PDF),
            sha="0" * 64, key=key)
    response = await h.client.post(f"/drafts/{draft.id}/submit", headers={
        **h.citizen_headers(account, acr="substantial"), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_who_sees_which_case(case: CaseHarness) -> None:
    birth = await submitted(case, "geburtsurkunde", BIRTH_DATA, with_file=True)  # citizens-office
    dog = await submitted(case, "hundesteuer-anmeldung", DOG_DATA)  # tax-office
    maxs = await submitted(case, "geburtsurkunde", BIRTH_DATA, account=case.MAX)

    async def ids(headers: dict[str, str], query: str = "") -> list[str]:
        response = await case.client.get(f"/cases{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await ids(case.citizen_headers()) == [dog["id"], birth["id"]]
    assert await ids(case.clerk_headers("tax-office")) == [dog["id"]]
    assert await ids(case.clerk_headers()) == [maxs["id"], birth["id"]]
    assert len(await ids(case.tenant_admin_headers())) == 3
    assert len(await ids(case.client_headers("case:read"))) == 3
    assert await ids(case.client_headers("case:read", tenant="beispielhausen")) == []
    assert await ids(case.citizen_headers(), "?status=submitted") == [dog["id"]]
    service = DEMO_SERVICES["geburtsurkunde"]
    assert await ids(case.tenant_admin_headers(), f"?service_id={service}") == [
        maxs["id"], birth["id"]]
    first = (await case.client.get("/cases?limit=2", headers=case.tenant_admin_headers())).json()
    rest = (await case.client.get(f"/cases?limit=2&cursor={first['next_cursor']}",
                                  headers=case.tenant_admin_headers())).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == [maxs["id"], dog["id"],
                                                                 birth["id"]]
    assert rest["next_cursor"] is None

    url = f"/cases/{birth['id']}"
    mine = (await case.client.get(url, headers=case.citizen_headers())).json()
    assert mine["data"] == BIRTH_DATA
    assert mine["number"] == birth["number"]
    assert [h["type"] for h in mine["history"]] == ["submitted", "payment_requested"]
    assert (await case.client.get(url, headers=case.clerk_headers())).json()["data"] \
        == BIRTH_DATA
    assert (await case.client.get(url, headers=case.tenant_admin_headers())).json()["data"] \
        is None
    denials = {
        "other citizen": (case.citizen_headers(case.MAX), 404),
        "other tenant": (case.citizen_headers(tenant="beispielhausen"), 404),
        "other tenant's admin": (case.tenant_admin_headers("beispielhausen"), 404),
        "staff of another department": (case.clerk_headers("tax-office"), 404),
        "client without scope": (case.client_headers("case:write"), 403),
        "staff without a role": (case.staff_headers({}), 403),
        "anonymous": ({}, 401),
    }
    [attachment] = mine["attachments"]
    download = f"{url}/attachments/{attachment['id']}"
    for who, (headers, status) in denials.items():
        for path in (url, download):
            response = await case.client.get(path, headers=headers)
            assert response.status_code == status, (who, path, response.text)
    for headers in (case.citizen_headers(), case.clerk_headers()):
        got = await case.client.get(download, headers=headers)
        assert got.status_code == 200
        assert got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
    unknown = await case.client.get(f"{url}/attachments/{uuid.uuid4()}",
                                    headers=case.citizen_headers())
    assert unknown.status_code == 404
    assert (await case.client.get(f"/cases/{uuid.uuid4()}",
                                  headers=case.citizen_headers())).status_code == 404
    bad_cursor = await case.client.get("/cases?cursor=nope", headers=case.citizen_headers())
    assert bad_cursor.status_code == 422
