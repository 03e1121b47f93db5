"""Use cases of the deliveries slice: turn "tell this person this" into a message with one
delivery per channel (from an event and its rule, a command, or the REST API), and read
messages. Flushes, never commits; sending is :mod:`.sending`'s job.

Creating a message is idempotent on its ``dedup_key``; it renders the template's current
version once (the texts are stored on the deliveries, the version on the message), applies
the person's preferences unless the message is legally required, and each delivery records a
``created`` event (written to the outbox when the unit of work commits).

A message from an event or a command whose template is missing, stored broken or cannot
render with the params is still recorded: each delivery ``permanent_failure`` with the reason
(``template_missing``, ``template_broken``, ``missing_personalisation``,
``template_render_failed``, ``template_too_expensive``), a ``failed`` event, the
``city_notification_deliveries_failed_total`` metric and a log line (no personal data). A
broken configuration thus fails only its own messages; it never stops the consumer or other
rules.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.envelope import Event
from city_shared.errors import Forbidden, NotFound
from city_shared.journey import capture
from notification_service.contacts.models import Contact
from notification_service.deliveries.metrics import count_failed
from notification_service.deliveries.models import Delivery, DeliveryStatus, Message, Origin
from notification_service.preferences.service import opted_out
from notification_service.templates import service as templates
from notification_service.templates.errors import (
    MissingPersonalisation,
    TemplateBroken,
    TemplateRenderFailed,
    UnknownTemplate,
)
from notification_service.templates.schemas import Rendered

__all__ = [
    "MessageConfig",
    "NewMessage",
    "NotificationNotFound",
    "Recipient",
    "create_message",
    "get_message",
    "list_messages",
]

log = logging.getLogger(__name__)


class NotificationNotFound(NotFound):
    """404: no such notification, or the caller may not see it."""

    code = "notification_not_found"
    title = "Notification not found"


@dataclass(frozen=True)
class MessageConfig:
    """Settings the use cases need."""

    default_locale: str = "de"


@dataclass(frozen=True)
class Recipient:
    """Who to tell; missing e-mail and locale are looked up in the contact directory."""

    account_id: uuid.UUID | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class NewMessage:
    """Everything a new message needs; ``dedup_key`` identifies it within the tenant."""

    tenant: str
    dedup_key: str
    origin: Origin
    template_key: str
    channels: Sequence[str]
    recipient: Recipient
    params: Mapping[str, JsonValue]
    legally_required: bool = False
    department: str | None = None
    source_event_id: uuid.UUID | None = None
    event_type: str | None = None
    rule_id: uuid.UUID | None = None
    client_id: str | None = None
    reference: str | None = None


async def _existing(session: AsyncSession, tenant: str, dedup_key: str) -> Message | None:
    return (await session.execute(select(Message).where(
        Message.tenant == tenant, Message.dedup_key == dedup_key))).scalar_one_or_none()


async def create_message(
    session: AsyncSession, new: NewMessage, config: MessageConfig, *,
    caused_by: Event | None = None, strict: bool = False,
) -> tuple[Message, bool]:
    """The message for ``new.dedup_key``, created unless it exists; True if created now.

    With ``strict`` (REST), a template that is missing, broken or cannot render with the params
    raises; otherwise (events, commands) each delivery is recorded as ``permanent_failure``
    with the reason (see the module docstring).

    :raises UnknownTemplate: only with ``strict``: no template ``new.template_key``.
    :raises TemplateBroken, MissingPersonalisation, TemplateRenderFailed: only with ``strict``.
    """
    existing = await _existing(session, new.tenant, new.dedup_key)
    if existing is not None:
        return existing, False
    found = await templates.find_for_sending(session, new.tenant, new.template_key,
                                             new.department)
    if found is None and strict:
        raise UnknownTemplate(f"The tenant has no template '{new.template_key}'.")
    contact = None
    if new.recipient.account_id is not None:
        contact = await session.get(Contact, (new.tenant, new.recipient.account_id))
    locale = (new.recipient.locale or (contact.locale if contact else None)
              or config.default_locale)
    rendered: Rendered | None = None
    failure: str | None = None
    if found is None:
        failure = "template_missing"
    else:
        try:
            rendered = await templates.render_in_thread(
                found.version, locale, new.params, channels=new.channels,
                fallback_locale=config.default_locale)
        except (TemplateBroken, MissingPersonalisation, TemplateRenderFailed) as exc:
            if strict:
                raise
            failure = exc.code
    message_id = uuid.uuid4()
    journey = capture()  # the triggering event's (the consumer sets it) or the request's
    inserted = (await session.execute(insert(Message).values(
        id=message_id, tenant=new.tenant, department=new.department, dedup_key=new.dedup_key,
        origin=new.origin, source_event_id=new.source_event_id, event_type=new.event_type,
        rule_id=new.rule_id, client_id=new.client_id, reference=new.reference,
        template_key=new.template_key,
        template_version=found.version.version if found is not None else None,
        locale=rendered.locale if rendered else locale,
        recipient_account_id=new.recipient.account_id,
        legally_required=new.legally_required, params=dict(new.params),
        correlation_id=journey.correlation_id, traceparent=journey.traceparent,
    ).on_conflict_do_nothing(index_elements=["tenant", "dedup_key"]).returning(Message.id)
    )).scalar_one_or_none()
    if inserted is None:  # created concurrently
        concurrent = await _existing(session, new.tenant, new.dedup_key)
        assert concurrent is not None
        return concurrent, False
    message = await session.get(Message, message_id)
    assert message is not None
    now = datetime.now(UTC)
    # The directory's address only once identity verified it: a stranger's address typed in at
    # registration never receives order or case mail.
    email = new.recipient.email or (contact.email if contact and contact.email_verified else None)
    for channel in dict.fromkeys(new.channels):
        delivery = await _delivery(session, message, channel, rendered, failure, now,
                                   email=email, phone=new.recipient.phone, caused_by=caused_by)
        if delivery.status == "permanent_failure":
            count_failed(message.tenant, delivery.channel, delivery.reason)
    if failure is not None:
        log.warning("notification failed", extra={
            "tenant": message.tenant, "department": message.department,
            "message_id": str(message.id), "reason": failure, "origin": message.origin,
            "template": message.template_key, "event_type": message.event_type,
            "rule_id": str(message.rule_id) if message.rule_id else None,
            "source_event_id": str(message.source_event_id) if message.source_event_id
            else None, "channels": sorted(set(new.channels))})
    await session.refresh(message, ["deliveries"])
    return message, True


async def _delivery(
    session: AsyncSession, message: Message, channel: str, rendered: Rendered | None,
    failure: str | None, now: datetime, *, email: str | None, phone: str | None,
    caused_by: Event | None,
) -> Delivery:
    content = getattr(rendered, channel, None) if rendered is not None else None
    address = {"email": email, "sms": phone, "inbox": None}[channel]
    status: DeliveryStatus = "created"
    reason = failure
    if failure is not None:
        status = "permanent_failure"
    elif content is None:
        status, reason = "permanent_failure", "template_has_no_channel"
    elif channel != "inbox" and not address:
        status, reason = "permanent_failure", "no_address"
    elif channel == "inbox" and message.recipient_account_id is None:
        status, reason = "permanent_failure", "no_account"
    elif not message.legally_required and await opted_out(
            session, message.tenant, message.recipient_account_id, channel):
        status, reason = "skipped_opted_out", "opted_out"
    delivery = Delivery.open(
        message, channel, now, status=status, reason=reason, address=address,
        content=content.model_dump() if content is not None else None, caused_by=caused_by)
    session.add(delivery)
    await session.flush()
    return delivery


def visible(principal: Principal, message: Message) -> bool:
    """The client that sent it, a tenant admin, or staff of the message's department."""
    if principal.tenant != message.tenant:
        return False
    if principal.is_admin("tenant"):
        return True
    if principal.kind == "client":
        return message.client_id is not None and message.client_id == (
            principal.client_id or principal.sub)
    if principal.kind == "staff":
        return message.department is not None and message.department in (
            principal.departments_with())
    return False


async def get_message(
    session: AsyncSession, principal: Principal, message_id: uuid.UUID
) -> Message:
    """:raises NotificationNotFound: absent or not visible to ``principal``."""
    if principal.kind == "citizen":
        raise Forbidden("Citizens read their messages in their inbox.")
    message = (await session.execute(select(Message).where(
        Message.tenant == principal.tenant, Message.id == message_id))).scalar_one_or_none()
    if message is None or not visible(principal, message):
        raise NotificationNotFound()
    return message


async def list_messages(
    session: AsyncSession, principal: Principal, *, reference: str | None, limit: int,
) -> Sequence[Message]:
    """Newest first: all of the tenant for admins, a client's own, staff their
    departments'."""
    query = select(Message).where(Message.tenant == principal.tenant)
    if principal.is_admin("tenant"):
        pass
    elif principal.kind == "client":
        query = query.where(Message.client_id == (principal.client_id or principal.sub))
    elif principal.kind == "staff":
        departments = sorted(principal.departments_with())
        if not departments:
            raise Forbidden("This requires a role in a department or tenant administration.")
        query = query.where(Message.department.in_(departments))
    else:
        raise Forbidden("Citizens read their messages in their inbox.")
    if reference is not None:
        query = query.where(Message.reference == reference)
    query = query.order_by(Message.created_at.desc(), Message.id).limit(limit)
    return (await session.execute(query)).scalars().all()
