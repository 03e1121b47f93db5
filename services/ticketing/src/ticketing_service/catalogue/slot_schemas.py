"""HTTP models of opening rules and slots (staff views); shared field types come from
:mod:`ticketing_service.catalogue.schemas`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.config import JsonDict

from ticketing_service.catalogue.models import (
    Slot,
    SlotRule,
)
from ticketing_service.catalogue.schemas import (
    Capacity,
    Day,
    Instant,
    LocalTime,
    _no_null,
)

__all__ = [
    "GenerateResult",
    "GenerateSlots",
    "RuleCreate",
    "RuleList",
    "RuleRead",
    "SlotCreate",
    "SlotList",
    "SlotRead",
    "SlotUpdate",
]


# -- opening rules and slots ------------------------------------------------------------------

_RULE_EXAMPLE: JsonDict = {
    "weekdays": [2, 3, 4, 5, 6, 7], "opens_at": "10:00", "closes_at": "18:00",
    "slot_minutes": 30, "capacity": 40, "valid_from": "2027-01-01", "valid_until": None,
}


class RuleCreate(BaseModel):
    """Opening hours that generate slots: on these ISO weekdays (1 = Monday), from ``opens_at``
    to ``closes_at`` local time of the venue, one slot every ``slot_minutes`` (the last slot
    ends at or before ``closes_at``), each with ``capacity`` places."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RULE_EXAMPLE]})

    weekdays: Annotated[list[Annotated[int, Field(strict=True, ge=1, le=7)]],
                        Field(min_length=1, max_length=7)]
    opens_at: LocalTime
    closes_at: LocalTime
    slot_minutes: Annotated[int, Field(strict=True, ge=5, le=1440)]
    capacity: Capacity
    valid_from: Day
    valid_until: Day | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RuleCreate:
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays must not repeat")
        if self.opens_at >= self.closes_at:
            raise ValueError("opens_at must lie before closes_at")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not lie before valid_from")
        return self


class RuleRead(BaseModel):
    rule_id: uuid.UUID
    offering_id: uuid.UUID
    weekdays: list[int]
    opens_at: LocalTime
    closes_at: LocalTime
    slot_minutes: int
    capacity: int
    valid_from: date
    valid_until: date | None

    @classmethod
    def of(cls, r: SlotRule) -> RuleRead:
        return cls(rule_id=r.id, offering_id=r.offering_id, weekdays=sorted(r.weekdays),
                   opens_at=r.opens_at, closes_at=r.closes_at, slot_minutes=r.slot_minutes,
                   capacity=r.capacity, valid_from=r.valid_from, valid_until=r.valid_until)


class RuleList(BaseModel):
    items: list[RuleRead]


class GenerateSlots(BaseModel):
    """Local dates of the venue, both inclusive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={
        "examples": [{"from": "2027-03-22", "to": "2027-04-04"}]})

    from_: Day = Field(alias="from")
    to: Day


class GenerateResult(BaseModel):
    """``created``: new slots; ``skipped``: slots the rules describe that were not created
    because the offering already has a slot starting then (a second run skips all) or because
    the local start time does not exist (the hour skipped when clocks go forward)."""

    created: int
    skipped: int


class SlotCreate(BaseModel):
    """One slot by hand (e.g. a special evening opening)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"starts_at": "2027-05-14T19:00:00+02:00", "ends_at": "2027-05-14T22:00:00+02:00",
         "capacity": 60}]})

    starts_at: Instant
    ends_at: Instant
    capacity: Capacity

    @model_validator(mode="after")
    def _ordered(self) -> SlotCreate:
        if self.starts_at >= self.ends_at:
            raise ValueError("starts_at must lie before ends_at")
        return self


class SlotUpdate(BaseModel):
    """A capacity override (never below the places held and sold: 409
    ``capacity_below_reserved``) and/or a status: ``closed`` stops sales, ``open`` resumes
    them, ``cancelled`` (final) only while no place is held or sold."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"capacity": 25}, {"status": "closed"}]})

    capacity: Capacity | None = None
    status: Literal["open", "closed", "cancelled"] | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> SlotUpdate:
        _no_null(self, "capacity", "status")
        return self


class SlotRead(BaseModel):
    slot_id: uuid.UUID
    offering_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    held: int
    sold: int
    available: int
    status: str

    @classmethod
    def of(cls, s: Slot) -> SlotRead:
        return cls(slot_id=s.id, offering_id=s.offering_id, starts_at=s.starts_at,
                   ends_at=s.ends_at, capacity=s.capacity, held=s.held, sold=s.sold,
                   available=s.available, status=s.status)


class SlotList(BaseModel):
    items: list[SlotRead]


