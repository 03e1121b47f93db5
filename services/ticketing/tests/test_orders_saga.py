"""The purchase saga: payment's answers confirm, cancel or expire an order; the hold expiry
releases unpaid places and a payment that arrives afterwards is paid back; a citizen's
cancellation is refunded (or not) by payment. Every answer is delivered twice: the second
delivery changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work
from ticketing_service.orders.expiry import expire_due_holds
from ticketing_service.subscriptions import build_subscriptions


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


def payment_event(kind: str, order: dict[str, Any], *, payment_id: str | None = None,
                  amount: int | None = None, source: str = "ticketing",
                  reference: str | None = None, **extra: Any) -> Event:
    """A ``city.payment.payment.<kind>.v1`` as payment publishes it (payments/events.py)."""
    pid = payment_id or str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))
    data: dict[str, Any] = {
        "payment_id": pid, "tenant": order["tenant"], "source": source,
        "reference": reference or order["reference"],
        "amount": order["total"] if amount is None else amount, "currency": "EUR",
        "status": kind, "reason": None, **extra,
    }
    if kind == "created":
        data.update(description="Tickets", expires_at=datetime.now(UTC).isoformat(),
                    next_url=f"http://payment.test/sandbox/pay/sbx_{pid[:8]}")
    if kind == "succeeded":
        data.setdefault("line_items", [])
    return new_event(type=f"city.payment.payment.{kind}.v1", source="/payment", subject=pid,
                     tenant=order["tenant"], data=_Data(**data))


def refund_event(kind: str, order: dict[str, Any], *, amount: int,
                 refunded_amount: int) -> Event:
    """A ``city.payment.refund.<kind>.v1`` as payment publishes it (refunds/events.py)."""
    pid = str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))
    data = {"refund_id": str(uuid.uuid4()), "payment_id": pid, "tenant": order["tenant"],
            "source": "ticketing", "reference": order["reference"], "amount": amount,
            "currency": "EUR", "reason": "cancelled_by_citizen",
            "refunded_amount": refunded_amount}
    return new_event(type=f"city.payment.refund.{kind}.v1", source="/payment", subject=pid,
                     tenant=order["tenant"], data=_Data(**data))


async def deliver(t: Any, event: Event, *, times: int = 2) -> None:
    """Run the ticketing handler of ``event`` ``times`` times, each in its own transaction
    (as redeliveries with a lost inbox row would)."""
    [handler] = [s.handler for s in build_subscriptions(t.settings)
                 if s.event_type == event.type and s.topic == "payment.payments"]
    for _ in range(times):
        async with unit_of_work(t.sessions) as session:
            await handler(session, event)


async def place(t: Any, lines: list[dict[str, Any]], *, headers: dict[str, str] | None = None,
                expect: int = 201) -> dict[str, Any]:
    response = await t.client.post(
        "/orders", json={"lines": lines, "email": "erika@example.org", "locale": "de"},
        headers={**(headers or t.citizen_headers()), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


def line(ticket_type: uuid.UUID, slot: uuid.UUID | None = None,
         quantity: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"ticket_type_id": str(ticket_type), "quantity": quantity}
    if slot is not None:
        body["slot_id"] = str(slot)
    return body


async def get(t: Any, order: dict[str, Any]) -> dict[str, Any]:
    response = await t.client.get(f"/orders/{order['order_id']}", headers=t.citizen_headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def slot_counts(t: Any, slot: uuid.UUID) -> tuple[int, int]:
    [row] = await t.rows("SELECT held, sold FROM slots WHERE id = :id", id=slot)
    return row.held, row.sold


async def order_events(t: Any, order: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(r.event_type.split(".")[3], r.data) for r in await t.outbox()
            if r.topic == "ticketing.orders" and r.key == order["order_id"]]


async def commands(t: Any, event_type: str) -> list[Any]:
    return [r for r in await t.outbox(event_type) if r.topic == "payment.requests"]


async def test_paid_order_is_confirmed_once_with_tickets_and_places_sold(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, [line(demo.museum_adult, demo.exhibition_slot, 2)])
    assert order["status"] == "awaiting_payment"
    assert order["checkout_url"] is None
    assert await slot_counts(ticketing, demo.exhibition_slot) == (2, 0)

    await deliver(ticketing, payment_event("created", order))
    seen = await get(ticketing, order)
    assert seen["checkout_url"].startswith("http://payment.test/sandbox/pay/")
    assert seen["payment_id"] == str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))

    succeeded = payment_event("succeeded", order)
    await deliver(ticketing, succeeded)

    seen = await get(ticketing, order)
    assert seen["status"] == "confirmed"
    assert seen["checkout_url"] is None
    assert len(seen["tickets"]) == 2
    assert {t["status"] for t in seen["tickets"]} == {"valid"}
    assert await slot_counts(ticketing, demo.exhibition_slot) == (0, 2)
    assert await ticketing.scalar("SELECT count(*) FROM tickets") == 2
    assert len(await ticketing.outbox("city.ticketing.ticket.issued.v1")) == 2
    kinds = [kind for kind, _ in await order_events(ticketing, order)]
    assert kinds == ["placed", "confirmed"]
    [confirmed] = await ticketing.outbox("city.ticketing.order.confirmed.v1")
    assert confirmed.attributes["causationid"] == str(succeeded.id)
    assert confirmed.attributes["department"] == "museum"
    # No typed address: notification writes to the account's own address and inbox.
    assert confirmed.data["recipient"] == {"account_id": str(ticketing.ERIKA),
                                           "email": None, "locale": "de"}
    assert len(confirmed.data["tickets"]) == 2
    assert all(t["qr_payload"].count(".") == 2 for t in confirmed.data["tickets"])
    assert {t["code"] for t in confirmed.data["tickets"]} == {t["code"] for t in seen["tickets"]}
    assert confirmed.data["lines"][0]["ticket_type"] == "Erwachsene"
    assert confirmed.data["lines"][0]["quantity"] == 2


async def test_a_success_with_another_amount_is_dead_lettered_and_confirms_nothing(
    ticketing: Any,
) -> None:
    from city_shared.consumer import PermanentFailure

    demo = await ticketing.demo()
    order = await place(ticketing, [line(demo.museum_adult, demo.exhibition_slot)])
    with pytest.raises(PermanentFailure):
        await deliver(ticketing, payment_event("succeeded", order, amount=1), times=1)
    assert (await get(ticketing, order))["status"] == "awaiting_payment"


@pytest.mark.parametrize(("kind", "status", "reason", "event"), [
    ("failed", "cancelled", "payment_failed", "cancelled"),
    ("cancelled", "cancelled", "payment_cancelled", "cancelled"),
    ("expired", "expired", "payment_expired", "expired"),
])
async def test_unpaid_outcomes_close_the_order_and_give_the_places_back(
    ticketing: Any, kind: str, status: str, reason: str, event: str,
) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, [line(demo.museum_reduced, demo.exhibition_slot, 3)])
    assert await slot_counts(ticketing, demo.exhibition_slot) == (3, 0)
    await deliver(ticketing, payment_event("created", order))

    await deliver(ticketing, payment_event(kind, order))

    seen = await get(ticketing, order)
    assert (seen["status"], seen["reason"], seen["checkout_url"]) == (status, reason, None)
    assert await slot_counts(ticketing, demo.exhibition_slot) == (0, 0)
    assert await ticketing.scalar(
        "SELECT held FROM slot_quota_usage WHERE slot_id = :s", s=demo.exhibition_slot) == 0
    events = await order_events(ticketing, order)
    assert [k for k, _ in events] == ["placed", event]
    assert events[1][1]["reason"] == reason
    assert events[1][1]["recipient"]["account_id"] == str(ticketing.ERIKA)
    # A late success after that is paid back, the order stays closed.
    await deliver(ticketing, payment_event("succeeded", order))
    assert (await get(ticketing, order))["status"] == status
    assert len(await commands(ticketing, "city.payment.refund.request.v1")) == 1


async def test_hold_expiry_releases_places_and_a_late_payment_is_refunded_once(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, [line(demo.pool_family, demo.pool_slot)])
    assert await slot_counts(ticketing, demo.pool_slot) == (4, 0)
    hold_ends = datetime.fromisoformat(order["hold_expires_at"])
    placed = datetime.fromisoformat(order["placed_at"])
    assert timedelta(minutes=14) < hold_ends - placed <= timedelta(minutes=15, seconds=1)

    async with unit_of_work(ticketing.sessions) as session:
        assert await expire_due_holds(session, hold_ends - timedelta(seconds=1), 100) == 0
    async with unit_of_work(ticketing.sessions) as session:
        assert await expire_due_holds(session, hold_ends + timedelta(seconds=1), 100) == 1
    async with unit_of_work(ticketing.sessions) as session:
        assert await expire_due_holds(session, hold_ends + timedelta(minutes=5), 100) == 0

    seen = await get(ticketing, order)
    assert (seen["status"], seen["reason"]) == ("expired", "hold_expired")
    assert await slot_counts(ticketing, demo.pool_slot) == (0, 0)
    assert [k for k, _ in await order_events(ticketing, order)] == ["placed", "expired"]

    succeeded = payment_event("succeeded", order)
    await deliver(ticketing, succeeded)
    await deliver(ticketing, payment_event("succeeded", order))  # another success event

    seen = await get(ticketing, order)
    assert (seen["status"], seen["reason"]) == ("expired", "late_payment_refunded")
    assert seen["tickets"] == []
    assert await ticketing.scalar("SELECT count(*) FROM tickets") == 0
    assert await slot_counts(ticketing, demo.pool_slot) == (0, 0)
    [refund] = await commands(ticketing, "city.payment.refund.request.v1")
    assert refund.data["reference"] == order["reference"]
    assert refund.data["amount"] == 1100
    assert refund.data["reason"] == "late_payment"
    assert refund.data["tenant"] == ticketing.TENANT
    assert refund.attributes["source"] == "/ticketing"
    assert refund.attributes["causationid"] == str(succeeded.id)
    assert [k for k, _ in await order_events(ticketing, order)] == ["placed", "expired"]

    await deliver(ticketing, refund_event("succeeded", order, amount=1100, refunded_amount=1100))
    seen = await get(ticketing, order)
    assert (seen["status"], seen["refunded_amount"]) == ("expired", 1100)


async def _paid(t: Any, lines: list[dict[str, Any]]) -> dict[str, Any]:
    order = await place(t, lines)
    await deliver(t, payment_event("created", order), times=1)
    await deliver(t, payment_event("succeeded", order), times=1)
    seen = await get(t, order)
    assert seen["status"] == "confirmed"
    return seen


async def _cancel(t: Any, order: dict[str, Any], *, expect: int = 202,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await t.client.post(
        f"/orders/{order['order_id']}/cancel",
        headers={**(headers or t.citizen_headers()), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_citizen_cancellation_is_refunded_then_tickets_are_voided_and_places_freed(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    later = await ticketing.add_slot(demo.exhibition,
                                     starts_at=ticketing.next_weekday_at(10, days_ahead=4))
    order = await _paid(ticketing, [line(demo.museum_adult, later, 2),
                                    line(demo.museum_reduced, later, 1)])
    assert await slot_counts(ticketing, later) == (0, 3)

    cancelled = await _cancel(ticketing, order)
    assert (cancelled["status"], cancelled["reason"]) == ("cancellation_requested",
                                                          "cancelled_by_citizen")
    assert {t["status"] for t in cancelled["tickets"]} == {"valid"}  # until the money is back
    [refund] = await commands(ticketing, "city.payment.refund.request.v1")
    assert refund.data["amount"] == 2100
    assert refund.data["reason"] == "cancelled_by_citizen"
    assert refund.data["reference"] == order["reference"]
    assert refund.key == order["reference"]
    assert await slot_counts(ticketing, later) == (0, 3)
    # Cancelling again is refused and asks for no second refund.
    again = await _cancel(ticketing, order, expect=409)
    assert again["code"] == "invalid_transition"

    await deliver(ticketing, refund_event("succeeded", order, amount=2100, refunded_amount=2100))

    seen = await get(ticketing, order)
    assert (seen["status"], seen["refunded_amount"]) == ("refunded", 2100)
    assert {t["status"] for t in seen["tickets"]} == {"voided"}
    assert await slot_counts(ticketing, later) == (0, 0)
    assert await ticketing.scalar(
        "SELECT sold FROM slot_quota_usage WHERE slot_id = :s", s=later) == 0
    assert len(await ticketing.outbox("city.ticketing.ticket.voided.v1")) == 3
    events = await order_events(ticketing, order)
    assert [k for k, _ in events] == ["placed", "confirmed", "refunded"]
    assert events[2][1]["refunded_amount"] == 2100
    assert events[2][1]["recipient"]["account_id"] == str(ticketing.ERIKA)
    assert len(await commands(ticketing, "city.payment.refund.request.v1")) == 1


async def test_a_failed_refund_puts_the_order_back_to_confirmed_and_it_may_be_cancelled_again(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    later = await ticketing.add_slot(demo.indoor_pool,
                                     starts_at=ticketing.next_weekday_at(9, days_ahead=5))
    order = await _paid(ticketing, [line(demo.pool_adult, later, 1)])
    await _cancel(ticketing, order)

    await deliver(ticketing, refund_event("failed", order, amount=450, refunded_amount=0))

    seen = await get(ticketing, order)
    assert (seen["status"], seen["reason"]) == ("confirmed", "refund_failed")
    assert {t["status"] for t in seen["tickets"]} == {"valid"}
    assert await slot_counts(ticketing, later) == (0, 1)
    # A second attempt is another refund for payment (another request id).
    await _cancel(ticketing, order)
    first, second = await commands(ticketing, "city.payment.refund.request.v1")
    assert first.data["request_id"] != second.data["request_id"]


async def test_cancellation_after_the_deadline_is_refused_with_the_deadline(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    soon = await ticketing.add_slot(demo.exhibition, starts_at=starts)
    order = await _paid(ticketing, [line(demo.museum_adult, soon)])

    problem = await _cancel(ticketing, order, expect=409)

    assert problem["code"] == "cancellation_not_allowed"
    assert datetime.fromisoformat(problem["deadline"]) == starts - timedelta(hours=24)
    assert (await get(ticketing, order))["status"] == "confirmed"
    assert await commands(ticketing, "city.payment.refund.request.v1") == []


async def test_a_combo_without_a_cancellation_rule_and_a_used_pass_cannot_be_cancelled(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    combo = await _paid(ticketing, [line(demo.kulturpass_type)])
    problem = await _cancel(ticketing, combo, expect=409)
    assert (problem["code"], problem["deadline"]) == ("cancellation_not_allowed", None)

    card = await _paid(ticketing, [line(demo.ten_visit_type)])
    async with ticketing.engine.begin() as conn:  # one visit used at the gate
        await conn.execute(text(
            "UPDATE ticket_entitlements SET visits_used = 1 WHERE ticket_id IN "
            "(SELECT id FROM tickets WHERE order_id = :o)"), {"o": card["order_id"]})
    assert (await _cancel(ticketing, card, expect=409))["code"] == "tickets_used"
    assert await commands(ticketing, "city.payment.refund.request.v1") == []


async def test_only_the_buying_citizen_cancels(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await _paid(ticketing, [line(demo.ten_visit_type)])
    assert (await _cancel(ticketing, card, expect=404,
                          headers=ticketing.citizen_headers(ticketing.MAX)))["code"] == \
        "order_not_found"
    await _cancel(ticketing, card, expect=403, headers=ticketing.manager_headers("pools"))
    await _cancel(ticketing, card, expect=403, headers=ticketing.client_headers())
    assert (await get(ticketing, card))["status"] == "confirmed"


async def test_a_free_order_is_confirmed_at_once_without_payment(ticketing: Any) -> None:
    demo = await ticketing.demo()

    order = await place(ticketing, [line(demo.museum_child, demo.exhibition_slot, 2)])

    assert (order["status"], order["total"]) == ("confirmed", 0)
    assert len(order["tickets"]) == 2
    assert await slot_counts(ticketing, demo.exhibition_slot) == (0, 2)
    assert await ticketing.scalar(
        "SELECT sold FROM slot_quota_usage WHERE slot_id = :s", s=demo.exhibition_slot) == 2
    assert await commands(ticketing, "city.payment.request.v1") == []
    assert [k for k, _ in await order_events(ticketing, order)] == ["placed", "confirmed"]


async def test_a_cancelled_free_order_is_refunded_at_once(ticketing: Any) -> None:
    demo = await ticketing.demo()
    later = await ticketing.add_slot(demo.exhibition,
                                     starts_at=ticketing.next_weekday_at(11, days_ahead=3))
    order = await place(ticketing, [line(demo.museum_child, later)])

    cancelled = await _cancel(ticketing, order)

    assert (cancelled["status"], cancelled["refunded_amount"]) == ("refunded", 0)
    assert {t["status"] for t in cancelled["tickets"]} == {"voided"}
    assert await slot_counts(ticketing, later) == (0, 0)
    assert await commands(ticketing, "city.payment.refund.request.v1") == []


async def test_answers_about_other_services_or_unknown_orders_change_nothing(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, [line(demo.museum_adult, demo.exhibition_slot)])

    await deliver(ticketing, payment_event("succeeded", order, source="case"))
    await deliver(ticketing, payment_event("succeeded", order,
                                           reference=f"ticketing/order/{uuid.uuid4()}"))
    await deliver(ticketing, payment_event("expired", order, source="case"))

    seen = await get(ticketing, order)
    assert (seen["status"], seen["payment_id"]) == ("awaiting_payment", None)
    assert await slot_counts(ticketing, demo.exhibition_slot) == (1, 0)
