"""Payment's answers about a case's fee (``payment.payments``): checkout page, paid, failed or
expired and a new attempt; each delivered twice; forged or mismatched answers dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.drafts.models import Draft
from case_service.subscriptions import build_subscriptions
from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness

BIRTH_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 2, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


async def submitted_case(h: CaseHarness, tenant: str = "musterstadt") -> dict[str, Any]:
    """A birth certificate case of Erika (2 copies) awaiting payment."""
    draft = Draft(tenant=tenant, service_id=DEMO_SERVICES["geburtsurkunde"],
                  definition_id=definition_id("geburtsurkunde"), owner=f"citizen:{h.ERIKA}",
                  account_id=h.ERIKA, data=BIRTH_DATA, verified={}, locale="de",
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    response = await h.client.post(f"/drafts/{draft.id}/submit", headers={
        **h.citizen_headers(tenant=tenant, acr="substantial"), "Idempotency-Key": "k"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def answer(kind: str, case: dict[str, Any], *, attempt: int = 1, event_source: str = "/payment",
           **fields: Any) -> Event:
    """``city.payment.payment.<kind>.v1`` about ``case`` as payment publishes it."""
    reference = f"case/case/{case['id']}" + (f"/{attempt}" if attempt > 1 else "")
    pid = str(uuid.uuid5(uuid.UUID(case["id"]), f"pay:{attempt}"))
    data: dict[str, Any] = {"payment_id": pid, "tenant": case["tenant"], "source": "case",
                            "reference": reference, "amount": case["fee_amount"],
                            "currency": "EUR", "status": kind, "reason": None}
    if kind == "created":
        data["next_url"] = f"http://payment.test/sandbox/pay/{pid[:8]}"
    data.update(fields)
    return new_event(type=f"city.payment.payment.{kind}.v1", source=event_source, subject=pid,
                     tenant=data.pop("event_tenant", case["tenant"]), data=_Data(**data))


async def deliver(h: CaseHarness, event: Event) -> None:
    """Run the worker's handler of ``event`` in one transaction, as the consumer does (without
    the inbox: a second call shows the handler's own idempotency)."""
    [handler] = [s.handler for s in build_subscriptions(h.settings)
                 if s.event_type == event.type and s.topic == "payment.payments"]
    async with unit_of_work(h.sessions) as session:
        await handler(session, event)


async def read(h: CaseHarness, case: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = (await h.client.get(f"/cases/{case['id']}",
                                               headers=h.citizen_headers())).json()
    return body


async def test_pay_redirects_once_payment_opened_the_page_and_paid_submits(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    assert c["fee_amount"] == 2400
    pay = f"/cases/{c['id']}/pay"
    pending = await case.client.get(pay, headers=case.citizen_headers())
    assert pending.status_code == 409
    assert pending.json()["code"] == "payment_pending"
    assert pending.headers["Retry-After"]
    created = answer("created", c)
    for _ in range(2):  # delivered twice
        await deliver(case, created)
    redirect = await case.client.get(pay, headers=case.citizen_headers())
    assert redirect.status_code == 303
    assert redirect.headers["Location"] == created.data["next_url"]
    assert (await read(case, c))["payment"]["status"] == "pending"
    other = await case.client.get(pay, headers=case.citizen_headers(case.MAX))
    assert other.status_code == 404

    succeeded = answer("succeeded", c)
    for _ in range(2):
        await deliver(case, succeeded)
    after = await read(case, c)
    assert after["status"] == "submitted"
    assert after["payment"]["status"] == "paid"
    assert [h["type"] for h in after["history"]] == [
        "submitted", "payment_requested", "payment_created", "paid"]
    paid = await case.outbox("city.case.case.paid.v1")
    assert len(paid) == 1
    assert paid[0].data["status"] == "submitted"
    assert paid[0].attributes["department"] == "citizens-office"
    done = await case.client.get(pay, headers=case.citizen_headers())
    assert done.status_code == 409
    assert done.json()["code"] == "nothing_due"


@pytest.mark.parametrize(("kind", "status"), [("failed", "failed"), ("cancelled", "failed"),
                                               ("expired", "expired")])
async def test_failed_payment_keeps_the_case_waiting_and_the_applicant_pays_again(
        case: CaseHarness, kind: str, status: str) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("created", c))
    ended = answer(kind, c, reason="card_declined" if kind == "failed" else kind)
    for _ in range(2):
        await deliver(case, ended)
    after = await read(case, c)
    assert after["status"] == "awaiting_payment"
    assert after["payment"]["status"] == status
    failed = await case.outbox("city.case.case.payment_failed.v1")
    assert len(failed) == 1
    assert failed[0].data["payment_status"] == kind

    again = await case.client.post(f"/cases/{c['id']}/payment", headers={
        **case.citizen_headers(), "Idempotency-Key": "again"})
    assert again.status_code == 202, again.text
    assert again.json()["payment"]["status"] == "requested"
    requests = await case.outbox("city.payment.request.v1")
    assert [r.data["request_id"] for r in requests] == [
        str(uuid.uuid5(uuid.UUID(c["id"]), "payment")),
        str(uuid.uuid5(uuid.UUID(c["id"]), "payment:2"))]
    assert requests[1].data["reference"] == f"case/case/{c['id']}/2"
    still_open = await case.client.post(f"/cases/{c['id']}/payment", headers={
        **case.citizen_headers(), "Idempotency-Key": "again-2"})
    assert still_open.status_code == 409
    # A late answer about the first attempt changes nothing; the second attempt pays.
    await deliver(case, answer("expired", c))
    await deliver(case, answer("created", c, attempt=2))
    await deliver(case, answer("succeeded", c, attempt=2))
    assert (await read(case, c))["status"] == "submitted"


async def test_other_services_payments_are_skipped(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("succeeded", c, source="ticketing"))
    assert (await read(case, c))["status"] == "awaiting_payment"


@pytest.mark.parametrize("forgery", [
    {"source_attr": "/forger"},
    {"amount": 1},
    {"currency": "USD"},
    {"reference": "case/case/not-a-case"},
    {"reference": f"case/case/{uuid.uuid4()}"},
    {"event_tenant": "beispielhausen", "tenant": "beispielhausen"},
    {"tenant": "beispielhausen"},
])
async def test_forged_or_mismatched_answers_are_dead_lettered(
        case: CaseHarness, forgery: dict[str, Any]) -> None:
    c = await submitted_case(case)
    source = forgery.pop("source_attr", "/payment")
    with pytest.raises(PermanentFailure):
        await deliver(case, answer("succeeded", c, event_source=source, **forgery))
    after = await read(case, c)
    assert after["status"] == "awaiting_payment"
    assert await case.outbox("city.case.case.paid.v1") == []


async def test_answer_with_another_payment_id_is_dead_lettered(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("created", c))
    with pytest.raises(PermanentFailure):
        await deliver(case, answer("succeeded", c, payment_id=str(uuid.uuid4())))
    assert (await read(case, c))["status"] == "awaiting_payment"
