"""The ``Delivery`` aggregate owns its transitions: each checks the state machine and records
its event, which is published exactly when the unit of work around it commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from city_shared.errors import InvalidTransition
from city_shared.unit_of_work import unit_of_work
from notification_service.deliveries.events import DELIVERED, FAILED
from notification_service.deliveries.models import Delivery

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")


class _Abandoned(Exception):
    pass


async def _in_unit_of_work(notify: Any, delivery_id: uuid.UUID,
                           change: Callable[[Delivery], None]) -> None:
    """Load the delivery, apply ``change``, commit (or roll back when it raises)."""
    async with unit_of_work(notify.sessions) as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        change(delivery)


def _abandon_after(change: Callable[[Delivery], None]) -> Callable[[Delivery], None]:
    def changed_then_abandoned(delivery: Delivery) -> None:
        change(delivery)
        raise _Abandoned

    return changed_then_abandoned


def fail(delivery: Delivery) -> None:
    delivery.fail(datetime.now(UTC), "recipient_erased")


async def _email_delivery_id(notify: Any, event: Any) -> uuid.UUID:
    found: uuid.UUID = next(d.id for d in await notify.deliveries(event.id)
                            if d.channel == "email")
    return found


async def test_a_delivered_delivery_is_not_sent_again_and_publishes_nothing_more(
    notify: Any,
) -> None:
    event = notify.order_event(account_id=ERIKA, email=notify.new_address())
    await notify.handle(event)
    assert await notify.deliver() == {"delivered": 2}
    delivery_id = await _email_delivery_id(notify, event)
    with pytest.raises(InvalidTransition) as raised:
        await _in_unit_of_work(notify, delivery_id, lambda d: d.deliver(datetime.now(UTC)))
    assert raised.value.code == "invalid_transition"
    keys = [row.key for row in await notify.outbox(DELIVERED)]
    assert keys.count(str(delivery_id)) == 1


async def test_a_failure_recorded_in_a_unit_of_work_that_rolls_back_is_never_published(
    notify: Any,
) -> None:
    event = notify.order_event(account_id=ERIKA, email=notify.new_address())
    await notify.handle(event)
    delivery_id = await _email_delivery_id(notify, event)
    with pytest.raises(_Abandoned):
        await _in_unit_of_work(notify, delivery_id, _abandon_after(fail))
    assert [row.key for row in await notify.outbox(FAILED)] == []
    async with notify.sessions() as session:
        status = (await session.execute(
            select(Delivery.status).where(Delivery.id == delivery_id))).scalar_one()
    assert status == "created"
    # The same transition committed is published once.
    await _in_unit_of_work(notify, delivery_id, fail)
    assert [row.key for row in await notify.outbox(FAILED)] == [str(delivery_id)]
