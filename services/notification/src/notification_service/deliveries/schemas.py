"""HTTP models of the notifications API (GOV.UK Notify-like): ``NotificationCreate`` /
``NotificationRead`` with one ``DeliveryRead`` per channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from city_shared.slugs import Slug
from notification_service.deliveries.models import Delivery, Message
from notification_service.types import Channel, Flag, Locale, TemplateKey

__all__ = ["DeliveryRead", "NotificationCreate", "NotificationRead", "RecipientCreate"]


def _email_only() -> list[Channel]:
    return ["email"]

_ParamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class RecipientCreate(BaseModel):
    """Who to tell: an account (its e-mail and locale come from the contact directory unless
    given) and/or an address."""

    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID | None = None
    email: Annotated[str, StringConstraints(max_length=320,
                                            pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,20}$")] | None = None

    @model_validator(mode="after")
    def _someone(self) -> RecipientCreate:
        if self.account_id is None and self.email is None and self.phone is None:
            raise ValueError("name an account_id, an email or a phone")
        return self


class NotificationCreate(BaseModel):
    """Send a template to one person. ``Idempotency-Key`` required: the same key from the same
    client is the same notification. 422 ``unknown_template``, ``missing_personalisation``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "template": "account-email-verification",
        "recipient": {"account_id": "6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10",
                      "email": "erika@example.org"},
        "locale": "de",
        "params": {"verification_url": "https://id.musterstadt.example/verify/abc",
                   "given_name": "Erika"},
        "channels": ["email"],
        "legally_required": True,
        "reference": "identity/verification/4711",
    }]})

    template: TemplateKey
    department: Slug | None = None
    recipient: RecipientCreate
    locale: Locale | None = None
    params: Annotated[dict[_ParamName, JsonValue], Field(max_length=200)] = Field(
        default_factory=dict)
    channels: Annotated[list[Channel], Field(min_length=1, max_length=3)] = Field(
        default_factory=_email_only)
    legally_required: Flag = False
    reference: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None

    @model_validator(mode="after")
    def _inbox_needs_account(self) -> NotificationCreate:
        if "inbox" in self.channels and self.recipient.account_id is None:
            raise ValueError("the inbox channel needs recipient.account_id")
        return self


class DeliveryRead(BaseModel):
    """One channel's delivery; ``reason`` explains failures and skips (``opted_out``,
    ``no_address``, ``smtp_unreachable``, ``max_attempts``, ...)."""

    delivery_id: uuid.UUID
    channel: Channel
    status: str
    reason: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryRead:
        return cls.model_validate({
            "delivery_id": delivery.id, "channel": delivery.channel, "status": delivery.status,
            "reason": delivery.reason, "attempts": delivery.attempts,
            "created_at": delivery.created_at, "updated_at": delivery.updated_at,
            "delivered_at": delivery.delivered_at})


class NotificationRead(BaseModel):
    """A notification and its deliveries. ``status``: ``pending`` while any delivery is open,
    then ``delivered`` if every delivery that was attempted arrived, else ``failed``."""

    notification_id: uuid.UUID
    tenant: str
    department: str | None
    origin: str
    reference: str | None
    template: str
    template_version: int | None
    locale: str
    legally_required: bool
    status: Literal["pending", "delivered", "failed"]
    deliveries: list[DeliveryRead]
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> NotificationRead:
        statuses = {d.status for d in message.deliveries}
        status: Literal["pending", "delivered", "failed"]
        if statuses & {"created", "sending", "temporary_failure"}:
            status = "pending"
        elif "permanent_failure" in statuses:
            status = "failed"
        else:
            status = "delivered"
        return cls(notification_id=message.id, tenant=message.tenant,
                   department=message.department, origin=message.origin,
                   reference=message.reference, template=message.template_key,
                   template_version=message.template_version, locale=message.locale,
                   legally_required=message.legally_required, status=status,
                   deliveries=[DeliveryRead.of(d) for d in message.deliveries],
                   created_at=message.created_at)
