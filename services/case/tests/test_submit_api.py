"""Submitting a draft (``POST /drafts/{id}/submit``) and applying on a citizen's behalf
(``POST /cases``): the case, its number, its fee from the tenant's parameters, exactly one
payment request when a fee is due, the trust level, pinned versions, hostile data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.catalogue.models import ServiceDefinition, ServiceParameters
from case_service.drafts.models import Draft
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness

BIRTH = "geburtsurkunde"
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
EXEMPTION_DATA: dict[str, Any] = {"given_name": "Erika", "family_name": "Mustermann",
                                  "dog_name": "Bello", "reason": "assistance_dog"}
SUBSTANTIAL = {"acr": "substantial"}
PAYMENT_REQUEST = "city.payment.request.v1"


async def make_draft(h: CaseHarness, slug: str, data: dict[str, Any], *,
                     tenant: str = "musterstadt", account: uuid.UUID | None = None,
                     definition: uuid.UUID | None = None) -> uuid.UUID:
    """A draft of ``slug`` owned by the citizen ``account`` (Erika), through the ORM."""
    account = account or h.ERIKA
    draft = Draft(tenant=tenant, service_id=DEMO_SERVICES[slug],
                  definition_id=definition or definition_id(slug), owner=f"citizen:{account}",
                  account_id=account, data=data, verified={}, locale="de",
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    return draft.id


async def submit(h: CaseHarness, draft: uuid.UUID, *, key: str | None = None,
                 tenant: str = "musterstadt", account: uuid.UUID | None = None,
                 acr: str = "substantial") -> Any:
    headers = {**h.citizen_headers(account or h.ERIKA, tenant=tenant, acr=acr),
               "Idempotency-Key": key or str(uuid.uuid4())}
    return await h.client.post(f"/drafts/{draft}/submit", headers=headers)


async def test_submit_birth_certificate_opens_a_case_and_requests_the_fee_once(
        case: CaseHarness) -> None:
    draft = await make_draft(case, BIRTH, BIRTH_DATA)
    response = await submit(case, draft)
    assert response.status_code == 201, response.text
    body = response.json()
    year = datetime.now(UTC).year
    assert body["number"] == f"MS-{year}-000001"
    assert body["status"] == "awaiting_payment"
    assert body["fee"]["amount"] == 1200
    assert body["fee_amount"] == 1200
    assert body["payment"]["status"] == "requested"
    assert body["payment"]["pay_url"].endswith(f"/cases/{body['id']}/pay")
    assert body["data"] == BIRTH_DATA
    assert response.headers["Location"].endswith(f"/cases/{body['id']}")

    submitted = await case.outbox("city.case.case.submitted.v1")
    assert [e.key for e in submitted] == [body["id"]]
    event = submitted[0]
    assert event.topic == "case.cases"
    assert event.attributes["department"] == "citizens-office"
    assert event.data["status"] == "awaiting_payment"
    assert "given_name" not in str(event.data)  # no form data in events
    requests = await case.outbox(PAYMENT_REQUEST)
    assert len(requests) == 1
    request = requests[0].data
    assert requests[0].topic == "payment.requests"
    assert request["reference"] == f"case/case/{body['id']}"
    assert request["request_id"] == str(uuid.uuid5(uuid.UUID(body["id"]), "payment"))
    assert request["amount"] == 1200
    assert sum(i["amount"] for i in request["line_items"]) == 1200
    assert request["line_items"][0]["cost_centre"] == "BB-1100"
    assert request["payer"] == {"account_id": str(case.ERIKA)}
    assert request["return_url"] == case.settings.payment_return_url

    draft_row = await case.rows("SELECT submitted_case_id FROM drafts WHERE id = :id", id=draft)
    assert str(draft_row[0].submitted_case_id) == body["id"]
    again = await submit(case, draft)
    assert again.status_code == 409
    assert again.json()["code"] == "draft_submitted"
    assert again.json()["case_id"] == body["id"]


async def test_same_service_costs_what_each_tenant_says(case: CaseHarness) -> None:
    ms = await submit(case, await make_draft(case, BIRTH, BIRTH_DATA))
    bh = await submit(case, await make_draft(case, BIRTH, BIRTH_DATA, tenant="beispielhausen"),
                      tenant="beispielhausen")
    assert (ms.status_code, bh.status_code) == (201, 201)
    assert ms.json()["fee_amount"] == 1200
    assert bh.json()["fee_amount"] == 1500
    year = datetime.now(UTC).year
    assert ms.json()["number"] == f"MS-{year}-000001"
    assert bh.json()["number"] == f"BH-{year}-000001"  # counted per tenant
    amounts = sorted(r.data["amount"] for r in await case.outbox(PAYMENT_REQUEST))
    assert amounts == [1200, 1500]


async def test_case_numbers_count_per_tenant_and_year(case: CaseHarness) -> None:
    await case.execute("INSERT INTO case_number_counters (tenant, year, last) "
                       "VALUES ('musterstadt', :y, 122)", y=datetime.now(UTC).year)
    await case.execute("INSERT INTO case_number_counters (tenant, year, last) "
                       "VALUES ('musterstadt', :y, 999)", y=datetime.now(UTC).year - 1)
    numbers = [(await submit(case, await make_draft(case, BIRTH, BIRTH_DATA))).json()["number"]
               for _ in range(2)]
    year = datetime.now(UTC).year
    assert numbers == [f"MS-{year}-000123", f"MS-{year}-000124"]


async def test_revenue_shares_split_the_fee_exactly(case: CaseHarness) -> None:
    data = {"given_name": "Erika", "family_name": "Mustermann", "business_name": "Eis & Co",
            "activity": "Verkauf von Speiseeis", "legal_form": "gbr",
            "start_date": "2026-07-01", "employees": 2, "street_address": "Hauptstr. 1",
            "postal_code": "12345", "locality": "Musterstadt", "email": "erika@example.org"}
    response = await submit(case, await make_draft(case, "gewerbeanmeldung", data), acr="basic")
    assert response.status_code == 201, response.text
    [request] = await case.outbox(PAYMENT_REQUEST)
    items = {i["cost_centre"]: i["amount"] for i in request.data["line_items"]}
    assert items == {"BB-1100": 1560, "OA-3200": 1040}
    assert sum(items.values()) == request.data["amount"] == 2600


async def test_no_payment_request_for_dog_tax_or_the_exemption(case: CaseHarness) -> None:
    dog = await submit(case, await make_draft(case, "hundesteuer-anmeldung", DOG_DATA),
                       acr="basic")
    assert dog.status_code == 201, dog.text
    assert dog.json()["status"] == "submitted"
    assert dog.json()["fee"]["amount"] == 10800  # assessed later, not due now
    assert dog.json()["fee_amount"] == 0
    assert dog.json()["payment"] is None
    exemption = await make_draft(case, "hundesteuer-befreiung", EXEMPTION_DATA)
    missing = await submit(case, exemption)
    assert missing.status_code == 422
    assert missing.json()["code"] == "attachments_missing"
    assert missing.json()["kinds"] == ["proof"]
    await case.execute(
        "INSERT INTO attachments (id, tenant, draft_id, kind, filename, media_type, size, "
        "sha256, storage_key) VALUES (:id, 'musterstadt', :d, 'proof', 'p.pdf', "
        "'application/pdf', 4, :sha, :key)", id=uuid.uuid4(), d=exemption, sha="0" * 64,
        key=f"test/{uuid.uuid4()}")
    ok = await submit(case, exemption)
    assert ok.status_code == 201, ok.text
    assert ok.json()["status"] == "submitted"
    assert [a["kind"] for a in ok.json()["attachments"]] == ["proof"]
    moved = await case.rows("SELECT draft_id, case_id FROM attachments")
    assert [(r.draft_id, str(r.case_id)) for r in moved] == [(None, ok.json()["id"])]
    assert await case.outbox(PAYMENT_REQUEST) == []
    assert len(await case.outbox("city.case.case.submitted.v1")) == 2


async def test_trust_level_is_enforced(case: CaseHarness) -> None:
    draft = await make_draft(case, BIRTH, BIRTH_DATA)
    weak = await submit(case, draft, acr="basic")
    assert weak.status_code == 403
    assert weak.json()["code"] == "insufficient_assurance"
    assert weak.json()["required_acr"] == "substantial"
    assert 'acr_values="substantial"' in weak.headers["WWW-Authenticate"]
    assert await case.scalar("SELECT count(*) FROM cases") == 0
    # A tenant's parameters may be stricter than the library (basic for business
    # registration): then the parameters decide.
    async with unit_of_work(case.sessions) as session:
        await session.execute(update(ServiceParameters).where(
            ServiceParameters.tenant == "musterstadt",
            ServiceParameters.service_id == DEMO_SERVICES[BIRTH]).values(trust_level="high"))
    strict = await submit(case, draft, acr="substantial")
    assert strict.status_code == 403
    assert strict.json()["required_acr"] == "high"
    assert (await submit(case, draft, acr="high")).status_code == 201


async def test_case_keeps_its_versions_when_library_and_parameters_change(
        case: CaseHarness) -> None:
    response = await submit(case, await make_draft(case, BIRTH, BIRTH_DATA))
    case_id = response.json()["id"]
    today = date.today()
    async with unit_of_work(case.sessions) as session:
        old = await session.get(ServiceDefinition, definition_id(BIRTH))
        assert old is not None
        session.add(ServiceDefinition(
            service_id=old.service_id, version=2, names=old.names,
            descriptions=old.descriptions, keywords=old.keywords,
            form_schema={**old.form_schema,
                         "properties": {**old.form_schema["properties"],
                                        "registry_office": {"type": "string"}},
                         "required": [*old.form_schema["required"], "registry_office"]},
            attachments=[],
            trust_level="basic", fee_rule=old.fee_rule, process=None, processing_days=1,
            created_by="test"))
        await session.execute(update(ServiceParameters).where(
            ServiceParameters.tenant == "musterstadt",
            ServiceParameters.service_id == DEMO_SERVICES[BIRTH]).values(valid_to=today))
        params = await session.get(ServiceParameters, uuid.UUID(
            str(await case.scalar("SELECT parameters_id FROM cases"))))
        assert params is not None
        session.add(ServiceParameters(
            tenant="musterstadt", department=params.department, service_id=params.service_id,
            version=2, valid_from=today, valid_to=None, offered=True,
            cost_centre=params.cost_centre, revenue_shares=[],
            fee_values={"certificate": 9900}, currency="EUR", trust_level=None, texts={},
            retention_days=30, created_by="test"))
    after = (await case.client.get(f"/cases/{case_id}", headers=case.citizen_headers())).json()
    assert after["definition_version"] == 1
    assert after["parameters_version"] == 1
    assert after["definition_id"] == str(definition_id(BIRTH))
    assert after["fee_amount"] == 1200
    assert after["fee"]["amount"] == 1200
    # A draft pinned to version 1 is still validated against version 1 (version 2 requires a
    # field the data lacks) and priced by the parameters in force now.
    later = await submit(case, await make_draft(case, BIRTH, BIRTH_DATA))
    assert later.status_code == 201, later.text
    assert later.json()["definition_version"] == 1
    assert later.json()["parameters_version"] == 2
    assert later.json()["fee_amount"] == 9900


async def test_submit_requires_an_idempotency_key_and_the_owner(case: CaseHarness) -> None:
    draft = await make_draft(case, BIRTH, BIRTH_DATA)
    no_key = await case.client.post(f"/drafts/{draft}/submit",
                                    headers=case.citizen_headers(acr="substantial"))
    assert no_key.status_code == 400
    assert no_key.json()["code"] == "idempotency_key_required"
    other = await submit(case, draft, account=case.MAX)
    assert other.status_code == 404
    assert other.json()["code"] == "draft_not_found"
    other_tenant = await submit(case, draft, tenant="beispielhausen")
    assert other_tenant.status_code == 404
    staff = await case.client.post(f"/drafts/{draft}/submit", headers={
        **case.clerk_headers(), "Idempotency-Key": "k"})
    assert staff.status_code == 403
    anonymous = await case.client.post(f"/drafts/{draft}/submit",
                                       headers={"Idempotency-Key": "k"})
    assert anonymous.status_code == 401
    assert await case.scalar("SELECT count(*) FROM cases") == 0


async def test_invalid_form_data_is_refused_and_stores_nothing(case: CaseHarness) -> None:
    hostile: list[dict[str, Any]] = [
        {**BIRTH_DATA, "copies": "one"},
        {**BIRTH_DATA, "place_of_birth": "x" * 100_000},
        {**BIRTH_DATA, "extra": _nested(200)},
    ]
    for data in hostile:
        response = await submit(case, await make_draft(case, BIRTH, data), acr="substantial")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "form_invalid"
        assert response.json()["errors"]
    # A draft cannot even hold a NUL (PostgreSQL refuses it in JSON); a city system sends one.
    for data in ({**BIRTH_DATA, "given_name": "Eri\x00ka"}, {**BIRTH_DATA, "x": _nested(200)},
                 {**BIRTH_DATA, "\x00": 1}):
        response = await case.client.post("/cases", json={
            "service_id": str(DEMO_SERVICES[BIRTH]), "account_id": str(case.ERIKA),
            "data": data}, headers={**case.client_headers(), "Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "form_invalid"
    assert await case.scalar("SELECT count(*) FROM cases") == 0
    assert await case.outbox() == []
    assert await case.scalar("SELECT coalesce(max(last), 0) FROM case_number_counters") == 0


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


async def test_city_system_applies_on_a_citizens_behalf(case: CaseHarness) -> None:
    body = {"service_id": str(DEMO_SERVICES[BIRTH]), "account_id": str(case.ERIKA),
            "data": BIRTH_DATA, "locale": "en"}
    headers = {**case.client_headers(), "Idempotency-Key": "erp-1"}
    response = await case.client.post("/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "partner"
    assert response.json()["account_id"] == str(case.ERIKA)
    replay = await case.client.post("/cases", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == response.json()["id"]
    assert len(await case.outbox(PAYMENT_REQUEST)) == 1
    mine = await case.client.get("/cases", headers=case.citizen_headers())
    assert [c["id"] for c in mine.json()["items"]] == [response.json()["id"]]

    parking = {**body, "service_id": str(DEMO_SERVICES["bewohnerparkausweis"])}
    needs_file = await case.client.post("/cases", json=parking, headers={
        **case.client_headers(), "Idempotency-Key": "erp-2"})
    assert needs_file.status_code == 422
    assert needs_file.json()["code"] == "attachments_not_possible"
    for headers in (case.client_headers("case:read"), case.citizen_headers(),
                    case.clerk_headers()):
        refused = await case.client.post("/cases", json=body,
                                         headers={**headers, "Idempotency-Key": "erp-3"})
        assert refused.status_code == 403
    no_key = await case.client.post("/cases", json=body, headers=case.client_headers())
    assert no_key.status_code == 400
    huge = await case.client.post("/cases", content=b'{"data": "' + b"x" * 3_000_000 + b'"}',
                                  headers={**case.client_headers(), "Idempotency-Key": "erp-4",
                                           "Content-Type": "application/json"})
    assert huge.status_code in (413, 422)
    deep = await case.client.post("/cases", content=b'{"data": ' + b"[" * 100_000
                                  + b"]" * 100_000 + b"}",
                                  headers={**case.client_headers(), "Idempotency-Key": "erp-5",
                                           "Content-Type": "application/json"})
    assert deep.status_code in (400, 413, 422)
    assert await case.scalar("SELECT count(*) FROM cases") == 1


async def test_three_calls_from_the_drafts_api_to_a_payable_case(case: CaseHarness) -> None:
    """Start the draft with the form data (identity unreachable: no prefill), submit, pay."""
    headers = case.citizen_headers(acr="substantial")
    started = await case.client.post("/drafts", json={
        "service_id": str(DEMO_SERVICES[BIRTH]), "data": BIRTH_DATA}, headers=headers)
    assert started.status_code == 201, started.text
    response = await submit(case, uuid.UUID(started.json()["id"]))
    assert response.status_code == 201, response.text
    assert response.json()["fee_amount"] == 1200
    pay = await case.client.get(f"/cases/{response.json()['id']}/pay", headers=headers)
    assert pay.status_code == 409  # until payment answered; then 303 (test_cases_payment)
    assert pay.headers["Retry-After"]
