"""The money around a case's fee besides paying it: the pay link (``case.payment_due``) once per
attempt, the paid fee asked back on withdrawal (``refund_fee``) exactly once, and payment's
answers about refunds (``refund.succeeded`` / ``refund.failed``) on the case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from case_service.cases import repository
from case_service.cases.refunds import refund_fee
from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work

from .conftest import BASE_URL, CaseHarness
from .test_cases_money_late import history, pid, second_attempt
from .test_cases_payment import answer, deliver, read, submitted_case

REFUND_REQUEST = "city.payment.refund.request.v1"
PAYMENT_DUE = "city.case.case.payment_due.v1"


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


def refund_answer(outcome: str, c: dict[str, Any], *, refund_id: uuid.UUID | None = None,
                  event_source: str = "/payment", **fields: Any) -> Event:
    """``city.payment.refund.<outcome>.v1`` about attempt 1's payment of ``c``, as payment
    publishes it for a refund case asked for."""
    data: dict[str, Any] = {
        "refund_id": str(refund_id or uuid.uuid4()), "payment_id": pid(c, 1),
        "tenant": c["tenant"], "source": "case", "reference": f"case/case/{c['id']}",
        "amount": c["fee_amount"], "currency": "EUR", "reason": "withdrawn",
        "refunded_amount": c["fee_amount"] if outcome == "succeeded" else 0,
        "requested_by": "source",
        "line_items": [{"position": 1, "department": "citizens-office", "cost_centre": "BB-1100",
                        "amount": c["fee_amount"]}] if outcome == "succeeded" else [],
        "departments": ["citizens-office"]}
    data.update(fields)
    return new_event(type=f"city.payment.refund.{outcome}.v1", source=event_source,
                     subject=data["payment_id"], tenant=c["tenant"], data=_Data(**data))


async def paid_case(h: CaseHarness) -> dict[str, Any]:
    c = await submitted_case(h)
    await deliver(h, answer("created", c))
    await deliver(h, answer("succeeded", c))
    return c


async def ask_back(h: CaseHarness, c: dict[str, Any]) -> int:
    """``refund_fee`` as the workflow calls it: in its own transaction, the case row locked."""
    async with unit_of_work(h.sessions) as session:
        case = await repository.lock(session, c["tenant"], uuid.UUID(c["id"]))
        assert case is not None
        return await refund_fee(session, case, reason="withdrawn", now=datetime.now(UTC))


async def test_payment_due_is_recorded_once_per_attempt_with_the_pay_link(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    created = answer("created", c)
    for event in (created, created, answer("created", c)):
        await deliver(case, event)
    [due] = await case.outbox(PAYMENT_DUE)
    assert due.key == c["id"]
    assert due.data["payment_id"] == pid(c, 1)
    assert due.data["pay_url"] == f"{BASE_URL}/cases/{c['id']}/pay"
    assert due.data["status"] == "awaiting_payment"
    assert due.data["recipient"] == {"account_id": str(case.ERIKA), "locale": "de"}
    # The pay link leads to the checkout page payment opened.
    pay = await case.client.get(due.data["pay_url"].removeprefix(BASE_URL),
                                headers=case.citizen_headers())
    assert pay.status_code == 303
    assert pay.headers["Location"] == created.data["next_url"]

    await deliver(case, answer("expired", c))
    again = await case.client.post(f"/cases/{c['id']}/payment", headers={
        **case.citizen_headers(), "Idempotency-Key": "again"})
    assert again.status_code == 202
    await deliver(case, answer("created", c))  # a late repeat about attempt 1: nothing new
    for _ in range(2):
        await deliver(case, answer("created", c, attempt=2))
    assert [d.data["payment_id"] for d in await case.outbox(PAYMENT_DUE)] == [
        pid(c, 1), pid(c, 2)]


async def test_refund_fee_asks_the_paid_fee_back_exactly_once(case: CaseHarness) -> None:
    c = await paid_case(case)
    assert [await ask_back(case, c) for _ in range(3)] == [2400, 0, 0]

    [refund] = await case.outbox(REFUND_REQUEST)
    assert refund.topic == "payment.requests"
    assert refund.data == {
        "request_id": str(uuid.uuid5(uuid.UUID(c["id"]), "withdrawal")),
        "tenant": "musterstadt", "reference": f"case/case/{c['id']}", "amount": 2400,
        "reason": "withdrawn"}
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "requested"
    [row] = history(await read(case, c), "refund_requested")
    assert row["detail"] == {"payment_id": pid(c, 1), "amount": 2400, "currency": "EUR",
                             "reason": "withdrawn"}


async def test_refund_fee_of_the_attempt_that_paid(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    await deliver(case, answer("created", c, attempt=2))
    await deliver(case, answer("succeeded", c, attempt=2))
    assert await ask_back(case, c) == 2400
    [refund] = await case.outbox(REFUND_REQUEST)
    assert refund.data["reference"] == f"case/case/{c['id']}/2"


@pytest.mark.parametrize("state", ["requested", "pending", "failed", "no_fee"])
async def test_refund_fee_of_an_unpaid_case_asks_nothing(case: CaseHarness, state: str) -> None:
    c = await submitted_case(case)
    if state in ("pending", "failed"):
        await deliver(case, answer("created", c))
    if state == "failed":
        await deliver(case, answer("failed", c, reason="card_declined"))
    if state == "no_fee":
        await case.execute("UPDATE cases SET fee_amount = 0, payment_status = NULL, "
                           "status = 'submitted' WHERE id = :id", id=c["id"])
    assert await ask_back(case, c) == 0
    assert await case.outbox(REFUND_REQUEST) == []
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) is None


async def test_refund_succeeded_marks_the_fee_refunded_once(case: CaseHarness) -> None:
    c = await paid_case(case)
    await ask_back(case, c)
    version = (await read(case, c))["version"]
    succeeded = refund_answer("succeeded", c)
    for _ in range(2):
        await deliver(case, succeeded)
    body = await read(case, c)
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "refunded"
    assert body["version"] == version + 1
    [row] = history(body, "refund_succeeded")
    assert row["detail"] == {
        "refund_id": succeeded.data["refund_id"], "payment_id": pid(c, 1), "amount": 2400,
        "refunded_amount": 2400, "requested_by": "source", "reason": "withdrawn"}
    [audited] = await case.rows("SELECT actor, before, after FROM case_audit WHERE case_id = :id "
                                "AND action = 'refund_succeeded'", id=c["id"])
    assert audited.actor == "system"
    assert (audited.before["refund_status"], audited.after["refund_status"]) == (
        "requested", "refunded")


async def test_refund_failed_marks_the_fee_refund_failed(case: CaseHarness) -> None:
    c = await paid_case(case)
    await ask_back(case, c)
    failed = refund_answer("failed", c)
    for _ in range(2):
        await deliver(case, failed)
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "failed"
    assert len(history(await read(case, c), "refund_failed")) == 1
    assert await ask_back(case, c) == 0  # never asked twice by the case itself


async def test_a_late_payments_refund_answer_leaves_the_fee_alone(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    await deliver(case, answer("created", c, attempt=2))
    await deliver(case, answer("succeeded", c, attempt=2))
    await deliver(case, answer("succeeded", c))  # attempt 1's money: paid back
    await deliver(case, refund_answer("succeeded", c, reason="late_payment"))
    body = await read(case, c)
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) is None
    [row] = history(body, "refund_succeeded")
    assert (row["detail"]["payment_id"], row["detail"]["reason"]) == (pid(c, 1), "late_payment")


async def test_a_refund_staff_made_at_payment_is_recorded_without_its_text(
        case: CaseHarness) -> None:
    c = await paid_case(case)
    await deliver(case, refund_answer("succeeded", c, requested_by="staff",
                                      reason="Frau Mustermann rief an"))
    body = await read(case, c)
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "refunded"
    [row] = history(body, "refund_succeeded")
    assert "reason" not in row["detail"]
    assert await ask_back(case, c) == 0  # paid back already: not asked again


@pytest.mark.parametrize("forgery", [
    {"event_source": "/forger"},
    {"amount": 2401},
    {"refunded_amount": 9999},
    {"currency": "USD"},
    {"reference": f"case/case/{uuid.uuid4()}"},
    {"tenant": "beispielhausen"},
])
async def test_forged_refund_answers_are_dead_lettered(case: CaseHarness,
                                                       forgery: dict[str, Any]) -> None:
    c = await paid_case(case)
    await ask_back(case, c)
    with pytest.raises(PermanentFailure):
        await deliver(case, refund_answer("succeeded", c, **forgery))
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "requested"


async def test_other_services_refunds_are_skipped(case: CaseHarness) -> None:
    c = await paid_case(case)
    await ask_back(case, c)
    await deliver(case, refund_answer("succeeded", c, source="ticketing"))
    assert await case.scalar("SELECT refund_status FROM cases WHERE id = :id",
                             id=c["id"]) == "requested"
