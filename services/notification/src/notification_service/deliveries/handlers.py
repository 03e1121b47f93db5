"""Inbound events and commands of the deliveries slice, with narrow models of what they read.

- Events that should reach a citizen (any producer; wired in
  :mod:`notification_service.subscriptions`): the rule for ``(tenant, department, type)``
  (the department's own first, then the tenant-wide one) names the template and channels;
  the event's whole ``data`` is the template's params; ``data.recipient`` says who
  (``account_id``, optional ``email``, ``phone``, ``locale``; the contact directory fills in
  what is missing). No rule, or no ``recipient``: nothing is sent. One message per event and
  rule.
- ``city.notification.request.v1`` on ``notification.requests`` (command): the named template
  to the named person (channels default e-mail); one message per ``request_id``.

A rule or template that fails (the template is missing or stored broken, it cannot render
with the event's data, a rule row names an unknown channel) fails only its own message, with
a reason (see :mod:`.service`); the event is handled. Dead letters are for what no
configuration can fix: a malformed record (``ValidationError``), a command whose tenant
differs from its envelope's (:class:`PermanentFailure`), a bug.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import Handler, PermanentFailure
from city_shared.envelope import Event
from notification_service.deliveries import service
from notification_service.deliveries.metrics import count_failed
from notification_service.deliveries.service import MessageConfig, NewMessage, Recipient
from notification_service.rules import repository as rules
from notification_service.rules.models import Rule
from notification_service.types import CHANNELS, Channel, TemplateKey

__all__ = ["NOTIFICATION_REQUEST", "NotificationRequestData", "citizen_event_handler",
           "notification_request_handler"]


def _email_only() -> list[Channel]:
    return ["email"]

log = logging.getLogger(__name__)

NOTIFICATION_REQUEST: Final = "city.notification.request.v1"

_Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
_Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ]{6,24}$")]


class RecipientData(BaseModel):
    """``data.recipient`` of an event or command. Without ``account_id`` (a guest, or an
    account erased meanwhile) only the given addresses are used: no inbox, no preferences."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID | None = None
    email: _Email | None = None
    phone: _Phone | None = None
    locale: str | None = None

    def to_recipient(self) -> Recipient:
        locale = self.locale if self.locale in ("de", "en") else None
        return Recipient(account_id=self.account_id, email=self.email, phone=self.phone,
                         locale=locale)


class CitizenEventData(BaseModel):
    """The one field notification reads from an event that should reach a citizen."""

    model_config = ConfigDict(extra="ignore")

    recipient: RecipientData | None = None


class NotificationRequestData(BaseModel):
    """``city.notification.request.v1``: "please tell this person this"."""

    model_config = ConfigDict(extra="ignore")

    request_id: uuid.UUID
    tenant: str
    recipient: RecipientData
    template: TemplateKey
    locale: str | None = None
    params: Annotated[dict[str, JsonValue], Field(max_length=200)] = Field(default_factory=dict)
    legally_required: bool = False
    channels: Annotated[list[Channel], Field(min_length=1, max_length=3)] = Field(
        default_factory=_email_only)


def _channels(rule: Rule, event: Event) -> list[str]:
    """The rule's known channels. The API saves only known ones; a row written around it may
    hold others, which are counted and logged as failed and left out."""
    raw = rule.channels if isinstance(rule.channels, list) else []
    known = [c for c in raw if isinstance(c, str) and c in CHANNELS]
    if len(known) != len(raw) or not raw:
        count_failed(rule.tenant, "unknown", "rule_invalid")
        log.warning("notification failed", extra={
            "tenant": rule.tenant, "rule_id": str(rule.id), "reason": "rule_invalid",
            "event_type": event.type, "source_event_id": str(event.id)})
    return known


def citizen_event_handler(config: MessageConfig) -> Handler:
    """The handler for events that may reach a citizen through a rule."""

    async def on_citizen_event(session: AsyncSession, event: Event) -> None:
        rule = await rules.matching(session, event.tenant, event.department, event.type)
        if rule is None:
            return
        data = event.parse(CitizenEventData)
        if data.recipient is None:
            log.info("event without recipient ignored", extra={"event_type": event.type})
            return
        channels = _channels(rule, event)
        if not channels:
            return
        new = NewMessage(
            tenant=event.tenant, dedup_key=f"event:{event.id}:{rule.id}", origin="event",
            template_key=rule.template_key, channels=channels,
            recipient=data.recipient.to_recipient(), params=event.data,
            legally_required=rule.legally_required, department=event.department,
            source_event_id=event.id, event_type=event.type, rule_id=rule.id,
        )
        await service.create_message(session, new, config, caused_by=event)

    return on_citizen_event


def notification_request_handler(config: MessageConfig) -> Handler:
    """The handler of ``city.notification.request.v1``."""

    async def on_notification_requested(session: AsyncSession, event: Event) -> None:
        data = event.parse(NotificationRequestData)
        if data.tenant != event.tenant:
            raise PermanentFailure("data.tenant differs from the event's tenant")
        recipient = data.recipient.to_recipient()
        if data.locale in ("de", "en"):
            recipient = Recipient(account_id=recipient.account_id, email=recipient.email,
                                  phone=recipient.phone, locale=data.locale)
        new = NewMessage(
            tenant=event.tenant, dedup_key=f"request:{data.request_id}", origin="request",
            template_key=data.template, channels=list(data.channels), recipient=recipient,
            params=data.params, legally_required=data.legally_required,
            department=event.department, source_event_id=event.id, event_type=event.type,
            client_id=event.source.removeprefix("/"),
        )
        await service.create_message(session, new, config, caused_by=event)

    return on_notification_requested
