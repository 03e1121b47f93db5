"""Delivery events written later by the sending job stay in the journey of the event that
caused the message (same correlation id), as the consumer's context left it."""

from __future__ import annotations

import uuid
from typing import Any

from city_shared.context import correlation_scope


async def test_the_delivered_event_carries_the_journey_of_the_triggering_event(
    notify: Any,
) -> None:
    event = notify.order_event(account_id=uuid.uuid4(), email=notify.new_address(),
                               tickets=[notify.ticket()])
    with correlation_scope(event.correlationid):  # as the consumer runs a handler
        await notify.handle(event)
    with correlation_scope("the-delivery-job"):
        await notify.deliver()

    delivered = await notify.outbox("city.notification.delivery.delivered.v1")
    assert len(delivered) == 2  # e-mail and inbox
    assert {row.attributes["correlationid"] for row in delivered} == {event.correlationid}
