"""Exactly one payment pays a case's fee: a success of an earlier attempt, of a payment after the
case was paid by another, or after it was withdrawn, is paid back in full through payment's
refund command, once per payment, under redelivery and under concurrent delivery (with a
negative control without the case row lock)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from case_service.cases import repository
from case_service.cases.models import Case
from case_service.subscriptions import build_subscriptions
from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_cases_payment import answer, deliver, read, submitted_case

REFUND_REQUEST = "city.payment.refund.request.v1"


def pid(c: dict[str, Any], attempt: int) -> str:
    """The payment id :func:`answer` gives attempt ``attempt``."""
    return str(uuid.uuid5(uuid.UUID(c["id"]), f"pay:{attempt}"))


async def second_attempt(h: CaseHarness, c: dict[str, Any]) -> None:
    """Attempt 1 opened and expired; the applicant asked for attempt 2."""
    await deliver(h, answer("created", c))
    await deliver(h, answer("expired", c))
    again = await h.client.post(f"/cases/{c['id']}/payment", headers={
        **h.citizen_headers(), "Idempotency-Key": "again"})
    assert again.status_code == 202, again.text


def history(body: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [row for row in body["history"] if row["type"] == type_]


async def test_late_success_of_an_earlier_attempt_is_refunded_once(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    late = answer("succeeded", c)
    for event in (late, late, answer("succeeded", c)):  # redelivered; republished (a new id)
        await deliver(case, event)

    [refund] = await case.outbox(REFUND_REQUEST)
    assert refund.topic == "payment.requests"
    assert refund.key == f"case/case/{c['id']}"
    assert refund.attributes["source"] == "/case"
    assert refund.data == {
        "request_id": str(uuid.uuid5(uuid.UUID(c["id"]), f"late:{pid(c, 1)}")),
        "tenant": "musterstadt", "reference": f"case/case/{c['id']}", "amount": 2400,
        "reason": "late_payment"}
    body = await read(case, c)
    assert body["status"] == "awaiting_payment"
    assert body["payment"]["status"] == "requested"  # attempt 2 still counts
    [row] = history(body, "payment_refunded")
    assert row["detail"] == {"payment_id": pid(c, 1), "amount": 2400, "currency": "EUR",
                             "reason": "late_payment"}
    assert await case.outbox("city.case.case.paid.v1") == []
    assert await case.rows("SELECT actor, action FROM case_audit WHERE case_id = :id "
                           "AND action = 'payment_refunded'", id=c["id"]) == [
        ("system", "payment_refunded")]

    # The current attempt pays as before; nothing more is paid back.
    await deliver(case, answer("created", c, attempt=2))
    await deliver(case, answer("succeeded", c, attempt=2))
    after = await read(case, c)
    assert (after["status"], after["payment"]["payment_id"]) == ("submitted", pid(c, 2))
    assert len(await case.outbox("city.case.case.paid.v1")) == 1
    assert len(await case.outbox(REFUND_REQUEST)) == 1


async def test_two_successes_of_different_attempts_the_first_pays_the_second_is_refunded(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    await deliver(case, answer("created", c, attempt=2))
    await deliver(case, answer("succeeded", c, attempt=2))
    for _ in range(2):
        await deliver(case, answer("succeeded", c))  # attempt 1's money arrives after all

    body = await read(case, c)
    assert (body["status"], body["payment"]["payment_id"]) == ("submitted", pid(c, 2))
    assert len(await case.outbox("city.case.case.paid.v1")) == 1
    [refund] = await case.outbox(REFUND_REQUEST)
    assert refund.data["reference"] == f"case/case/{c['id']}"
    assert refund.data["request_id"] == str(uuid.uuid5(uuid.UUID(c["id"]), f"late:{pid(c, 1)}"))
    assert [r["detail"]["payment_id"] for r in history(body, "payment_refunded")] == [pid(c, 1)]


async def test_redelivered_success_of_the_paying_payment_refunds_nothing(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("created", c))
    succeeded = answer("succeeded", c)
    for event in (succeeded, succeeded, answer("succeeded", c)):
        await deliver(case, event)
    assert (await read(case, c))["status"] == "submitted"
    assert len(await case.outbox("city.case.case.paid.v1")) == 1
    assert await case.outbox(REFUND_REQUEST) == []


async def test_success_after_the_case_was_withdrawn_unpaid_is_refunded(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("created", c))
    # Withdrawn while its payment was open (the workflow's transition, written directly here).
    await case.execute("UPDATE cases SET status = 'withdrawn' WHERE id = :id", id=c["id"])
    for _ in range(2):
        await deliver(case, answer("succeeded", c))

    body = await read(case, c)
    assert body["status"] == "withdrawn"
    assert body["payment"]["status"] == "pending"  # it never paid the case
    assert await case.outbox("city.case.case.paid.v1") == []
    [refund] = await case.outbox(REFUND_REQUEST)
    assert refund.data["request_id"] == str(uuid.uuid5(uuid.UUID(c["id"]), f"late:{pid(c, 1)}"))
    assert refund.data["amount"] == 2400


@pytest.mark.parametrize("forgery", [
    {"attempt": 3},  # an attempt the case never asked for
    {"attempt": 1, "amount": 1},
    {"attempt": 1, "currency": "USD"},
    {"attempt": 1, "event_source": "/forger"},
    {"attempt": 2, "payment_id": str(uuid.uuid4())},  # not the payment attempt 2 named
    {"attempt": 1, "reference_tail": "/1"},
])
async def test_mismatched_successes_are_dead_lettered_and_refund_nothing(
        case: CaseHarness, forgery: dict[str, Any]) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    await deliver(case, answer("created", c, attempt=2))
    attempt = forgery.pop("attempt")
    tail = forgery.pop("reference_tail", None)
    if tail is not None:
        forgery["reference"] = f"case/case/{c['id']}{tail}"
    with pytest.raises(PermanentFailure):
        await deliver(case, answer("succeeded", c, attempt=attempt, **forgery))
    assert (await read(case, c))["status"] == "awaiting_payment"
    assert await case.outbox(REFUND_REQUEST) == []


async def _unlocked(session: Any, tenant: str, case_id: uuid.UUID) -> Case | None:
    """The case read WITHOUT ``FOR UPDATE`` (the negative control's broken lock)."""
    found: Case | None = await session.scalar(
        select(Case).where(Case.id == case_id, Case.tenant == tenant))
    return found


async def _deliver_at_once(h: CaseHarness, event: Event) -> None:
    """Two workers deliver ``event``: the first has handled it but not committed when the
    second starts; the first commits once the second waits for the case row lock (or, without
    the lock, has finished)."""
    [handler] = [s.handler for s in build_subscriptions(h.settings)
                 if s.event_type == event.type and s.topic == "payment.payments"]
    async with unit_of_work(h.sessions) as first:
        await handler(first, event)
        second = asyncio.create_task(deliver(h, event))
        while not second.done():
            if await h.scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'SELECT cases.%FOR UPDATE%'"):
                break
            await asyncio.sleep(0.01)
    await second


async def test_concurrent_delivery_of_a_late_success_sends_one_refund(case: CaseHarness) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    await _deliver_at_once(case, answer("succeeded", c))
    assert len(await case.outbox(REFUND_REQUEST)) == 1
    assert len(history(await read(case, c), "payment_refunded")) == 1


async def test_negative_control_without_the_row_lock_two_refunds_are_sent(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    c = await submitted_case(case)
    await second_attempt(case, c)
    monkeypatch.setattr(repository, "lock", _unlocked)
    await _deliver_at_once(case, answer("succeeded", c))
    assert len(await case.outbox(REFUND_REQUEST)) == 2  # what the test above would catch
