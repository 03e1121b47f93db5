"""The ``Order`` aggregate owns its transitions: each one checks the state machine and records
what it publishes, which the unit of work writes to the outbox (in recording order) when it
commits. No database: the recorded events are read through ``write_recorded_events`` with the
outbox write replaced by a list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.envelope import Event
from city_shared.errors import InvalidTransition
from city_shared.unit_of_work import write_recorded_events
from ticketing_service.orders.events import LineSummary
from ticketing_service.orders.models import LATE_PAYMENT_REFUNDED, Order, OrderLine

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PLACED = "city.ticketing.order.placed.v1"
CONFIRMED = "city.ticketing.order.confirmed.v1"
PAYMENT_REQUEST = "city.payment.request.v1"
REFUND_REQUEST = "city.payment.refund.request.v1"


def an_order(*, total: int = 1600, status: str = "awaiting_payment") -> Order:
    order_id = uuid.uuid4()
    line = OrderLine(id=uuid.uuid4(), position=0, tenant="musterstadt", department="museum",
                     cost_centre="MUS-4100", offering_id=uuid.uuid4(),
                     ticket_type_id=uuid.uuid4(), slot_id=None, quantity=2, places=1,
                     unit_price=total // 2, amount=total, description="Dauerausstellung")
    return Order(id=order_id, tenant="musterstadt", account_id=uuid.uuid4(), locale="de",
                 placed_by="citizen:x", status=status, reason=None, total=total,
                 currency="EUR", reference=f"ticketing/order/{order_id}",
                 hold_expires_at=NOW + timedelta(minutes=15), refunded_amount=0, version=1,
                 lines=[line], payment_items=[])


def summary(order: Order) -> list[LineSummary]:
    return [LineSummary(department=line.department, offering_id=line.offering_id,
                        ticket_type_id=line.ticket_type_id, ticket_type="Erwachsene",
                        slot_id=None, slot_starts_at=None, quantity=line.quantity,
                        amount=line.amount) for line in order.lines]


async def written(order: Order, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(topic, event type) of what the unit of work would write for ``order``, in order."""
    seen: list[tuple[str, str]] = []

    async def add_all(_session: Any, events: list[tuple[str, Event]]) -> None:
        seen.extend((topic, event.type) for topic, event in events)

    monkeypatch.setattr("city_shared.unit_of_work.outbox.add_all", add_all)
    session = AsyncSession()
    session.add(order)
    await write_recorded_events(session)
    return seen


async def test_placing_records_the_event_then_the_payment_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = an_order()
    order.place(lines=summary(order), payment_description="Tickets: Dauerausstellung")
    assert await written(order, monkeypatch) == [("ticketing.orders", PLACED),
                                                 ("payment.requests", PAYMENT_REQUEST)]


async def test_a_free_order_asks_for_no_payment(monkeypatch: pytest.MonkeyPatch) -> None:
    order = an_order(total=0)
    order.place(lines=summary(order), payment_description="Tickets: Dauerausstellung")
    assert await written(order, monkeypatch) == [("ticketing.orders", PLACED)]


async def test_a_pending_cancellation_is_not_confirmed_as_paid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The state machine lets a pending cancellation become confirmed again (refund failed),
    # but not by a payment: confirm() refuses it and records nothing.
    order = an_order(status="cancellation_requested")
    with pytest.raises(InvalidTransition):
        order.confirm(NOW, lines=summary(order), tickets=[])
    assert order.status == "cancellation_requested"
    assert await written(order, monkeypatch) == []


async def test_confirming_records_the_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    order = an_order()
    order.confirm(NOW, lines=summary(order), tickets=[])
    assert (order.status, order.confirmed_at, order.version) == ("confirmed", NOW, 2)
    assert await written(order, monkeypatch) == [("ticketing.orders", CONFIRMED)]


async def test_a_late_payment_is_paid_back_once(monkeypatch: pytest.MonkeyPatch) -> None:
    order = an_order(status="expired")
    payment_id = uuid.uuid4()
    assert order.refund_late_payment(1600, payment_id, NOW)
    assert not order.refund_late_payment(1600, payment_id, NOW)
    assert order.reason == LATE_PAYMENT_REFUNDED
    assert await written(order, monkeypatch) == [("payment.requests", REFUND_REQUEST)]


async def test_a_cancellation_asks_back_only_what_is_outstanding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = an_order(status="confirmed")
    order.refunded_amount = 1600  # all of it paid back at payment already
    assert order.request_cancellation("cancelled_by_citizen", NOW) == 0
    assert order.status == "cancellation_requested"
    assert await written(order, monkeypatch) == []
    with pytest.raises(InvalidTransition):
        order.request_cancellation("cancelled_by_citizen", NOW)
