"""HTTP models of the rules API: ``RuleCreate`` / ``RuleUpdate`` / ``RuleRead``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from city_shared.slugs import Slug
from notification_service.rules.models import Rule
from notification_service.types import Channel, EventType, Flag, TemplateKey

__all__ = ["RuleCreate", "RuleRead", "RuleUpdate"]

Channels = Annotated[list[Channel], Field(min_length=1, max_length=3)]


def _unique(channels: list[Channel]) -> list[Channel]:
    return list(dict.fromkeys(channels))


class RuleUpdate(BaseModel):
    """What a rule sends: the template key, the channels, and whether the message is legally
    required (then it is sent whatever the person's preferences)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"template_key": "ticketing-order-confirmed", "channels": ["email", "inbox"],
         "legally_required": False, "enabled": True}]})

    template_key: TemplateKey
    channels: Channels
    legally_required: Flag = False
    enabled: Flag = True

    _dedupe = field_validator("channels")(_unique)


class RuleCreate(RuleUpdate):
    """A rule for an event type in a scope (``department`` null: tenant-wide). 409
    ``rule_exists`` when the scope already has a rule for the type."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"event_type": "city.ticketing.order.confirmed.v1", "department": None,
         "template_key": "ticketing-order-confirmed", "channels": ["email", "inbox"],
         "legally_required": False}]})

    event_type: EventType
    department: Slug | None = None


class RuleRead(BaseModel):
    """A rule."""

    rule_id: uuid.UUID
    tenant: str
    department: str | None
    event_type: str
    template_key: str
    channels: list[Channel]
    legally_required: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: Rule) -> RuleRead:
        return cls.model_validate({
            "rule_id": rule.id, "tenant": rule.tenant, "department": rule.department,
            "event_type": rule.event_type, "template_key": rule.template_key,
            "channels": rule.channels, "legally_required": rule.legally_required,
            "enabled": rule.enabled, "created_at": rule.created_at,
            "updated_at": rule.updated_at,
        })
