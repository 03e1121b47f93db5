"""The events the deliveries slice publishes on ``notification.deliveries`` (source
``/notification``, subject and record key = the delivery id, extension ``department`` when the
message has one).

- ``city.notification.delivery.created.v1``: a delivery exists (status ``created``, or at once
  ``skipped_opted_out`` / ``permanent_failure`` when there is nothing to send);
- ``city.notification.delivery.delivered.v1``: the channel accepted it (SMTP 250, SMS provider,
  inbox filed);
- ``city.notification.delivery.failed.v1``: it will not be delivered (``permanent_failure``).

No personal data: no addresses, no rendered texts, no params; ``recipient_account_id`` is the
pseudonymous account id the producer named.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from city_shared.envelope import Event, new_event

if TYPE_CHECKING:  # the models record these events
    from notification_service.deliveries.models import Delivery, Message

__all__ = ["CREATED", "DELIVERED", "FAILED", "SOURCE", "DeliveryEventData", "delivery_event"]

SOURCE: Final = "/notification"
CREATED: Final = "city.notification.delivery.created.v1"
DELIVERED: Final = "city.notification.delivery.delivered.v1"
FAILED: Final = "city.notification.delivery.failed.v1"


class DeliveryEventData(BaseModel):
    """What every delivery event carries."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "delivery_id": "2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c98",
        "message_id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "tenant": "musterstadt",
        "channel": "email",
        "status": "delivered",
        "reason": None,
        "attempts": 1,
        "template": "ticketing-order-confirmed",
        "template_version": 3,
        "origin": "event",
        "reference": None,
        "source_event_id": "c0ffee00-1234-4abc-8def-0123456789ab",
        "recipient_account_id": "3f2b6c1e-8d4a-4c7e-9b1f-2a6d5e4c3b21",
    }]})


    delivery_id: uuid.UUID
    message_id: uuid.UUID
    tenant: str
    channel: str
    status: str
    reason: str | None
    attempts: int
    template: str
    template_version: int | None
    origin: str
    reference: str | None
    source_event_id: uuid.UUID | None
    recipient_account_id: uuid.UUID | None


def delivery_event(
    type_: str, delivery: Delivery, message: Message, *, caused_by: Event | None = None
) -> Event:
    """The event ``type_`` about ``delivery`` in its current state."""
    data = DeliveryEventData(
        delivery_id=delivery.id, message_id=message.id, tenant=message.tenant,
        channel=delivery.channel, status=delivery.status, reason=delivery.reason,
        attempts=delivery.attempts, template=message.template_key,
        template_version=message.template_version, origin=message.origin,
        reference=message.reference, source_event_id=message.source_event_id,
        recipient_account_id=message.recipient_account_id,
    )
    return new_event(type=type_, source=SOURCE, subject=str(delivery.id), tenant=message.tenant,
                     department=message.department, data=data, caused_by=caused_by)
