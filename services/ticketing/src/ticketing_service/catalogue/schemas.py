"""HTTP models of the catalogue: ``XCreate`` / ``XUpdate`` / ``XRead`` for venues, offerings,
ticket types and quotas, and the field types every catalogue model shares (opening rules and
slots: :mod:`.slot_schemas`; the public views: :mod:`.public_schemas`).

Every string a client sends is bounded and free of control characters; integers are strict
(``"12"``, ``12.0`` and ``true`` are refused, not coerced); money is integer cents. In an
``XUpdate`` an absent field stays unchanged and ``null`` clears a nullable one.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Final, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.config import JsonDict, JsonValue

from city_shared.dates import CalendarDate
from city_shared.slugs import Slug
from city_shared.text import SINGLE_LINE, MultilineText
from ticketing_service.catalogue.models import (
    ComboComponent,
    Offering,
    Quota,
    TicketType,
    Venue,
)

__all__ = [
    "ComponentCreate",
    "ComponentRead",
    "OfferingCreate",
    "OfferingList",
    "OfferingRead",
    "OfferingUpdate",
    "QuotaCreate",
    "QuotaRead",
    "QuotaUpdate",
    "TicketTypeCreate",
    "TicketTypeRead",
    "TicketTypeUpdate",
    "VenueCreate",
    "VenueList",
    "VenueRead",
    "VenueUpdate",
]

AMOUNT_MAX: Final = 100_000_000_000
CAPACITY_MAX: Final = 1_000_000
FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2199, 12, 31)
#: A wall-clock time without offset, ``HH:MM`` or ``HH:MM:SS[.ffffff]`` (JSON Schema's
#: ``format: time`` is RFC 3339's full-time, which needs an offset: not what a venue's
#: opening hours are).
LOCAL_TIME_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
_LOCAL_TIME: Final = re.compile(LOCAL_TIME_PATTERN)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone, e.g. Europe/Berlin")
    return value


def _plausible_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError("must lie between 2000-01-01 and 2199-12-31")
    return value


def _plausible_instant(value: datetime) -> datetime:
    _plausible_day(value.date())
    return value


def _local_time(value: object) -> object:
    """Only ``HH:MM[:SS[.ffffff]]`` text (or a naive ``time``): no offset, no seconds count."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _LOCAL_TIME.fullmatch(value):
        return value
    raise ValueError("must be a local time without offset, e.g. 10:00")


Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$"),
                 Field(examples=["adult"])]
CostCentre = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$"),
                       Field(examples=["MUS-4100"])]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 SINGLE_LINE]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                      SINGLE_LINE]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300),
                    SINGLE_LINE]
Description = MultilineText
Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone),
                     Field(examples=["Europe/Berlin"])]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(examples=["EUR"])]
Price = Annotated[int, Field(strict=True, ge=0, le=AMOUNT_MAX, examples=[800])]
Capacity = Annotated[int, Field(strict=True, ge=0, le=CAPACITY_MAX, examples=[40])]
Day = Annotated[CalendarDate, AfterValidator(_plausible_day)]
Instant = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]
LocalTime = Annotated[time, BeforeValidator(_local_time), WithJsonSchema(
    {"type": "string", "pattern": LOCAL_TIME_PATTERN, "examples": ["10:00"]})]
Flag = Annotated[bool, Field(strict=True)]
OfferingKindField = Literal["timed", "pass", "combo"]
OfferingStatusField = Literal["draft", "published", "archived"]


def _no_null(model: BaseModel, *fields: str) -> None:
    """PATCH: these fields may be left out but not set to null."""
    for name in fields:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"'{name}' cannot be null")


# -- venues -----------------------------------------------------------------------------------

_VENUE_EXAMPLE: JsonDict = {
    "department": "museum", "name": "Stadtmuseum", "address": "Marktplatz 1, 12345 Musterstadt",
    "timezone": "Europe/Berlin", "max_occupancy": 250,
}


class VenueCreate(BaseModel):
    """A place of a department; its time zone decides how opening rules become slots."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_VENUE_EXAMPLE]})

    department: Slug
    name: Name
    address: Address | None = None
    timezone: Timezone = "Europe/Berlin"
    max_occupancy: Annotated[int, Field(strict=True, ge=1, le=CAPACITY_MAX)] | None = None


class VenueUpdate(BaseModel):
    """Changes of a venue; the department cannot change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"address": "Marktplatz 2, 12345 Musterstadt", "max_occupancy": 300}]})

    name: Name | None = None
    address: Address | None = None
    timezone: Timezone | None = None
    max_occupancy: Annotated[int, Field(strict=True, ge=1, le=CAPACITY_MAX)] | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> VenueUpdate:
        _no_null(self, "name", "timezone")
        return self


class VenueRead(BaseModel):
    """A venue as stored."""

    venue_id: uuid.UUID
    tenant: str
    department: str
    name: str
    address: str | None
    timezone: str
    max_occupancy: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, venue: Venue) -> VenueRead:
        return cls(venue_id=venue.id, tenant=venue.tenant, department=venue.department,
                   name=venue.name, address=venue.address, timezone=venue.timezone,
                   max_occupancy=venue.max_occupancy, created_at=venue.created_at,
                   updated_at=venue.updated_at)


class VenueList(BaseModel):
    items: list[VenueRead]


# -- offerings --------------------------------------------------------------------------------

_OFFERING_EXAMPLE: JsonDict = {
    "department": "museum", "cost_centre": "MUS-4100",
    "venue_id": "0e5b8a8e-2f4c-4d8e-9a61-3b1f0f7d2c11", "kind": "timed",
    "name": "Dauerausstellung", "description": "Die Stadtgeschichte in 12 Räumen.",
    "hold_minutes": 15, "cancellable_until_hours": 24, "sales_close_minutes_before": 0,
    "max_tickets_per_order": 10, "max_tickets_per_account": 10, "max_open_orders_per_account": 2,
}
HoldMinutes = Annotated[int, Field(strict=True, ge=1, le=120)]
CancellableHours = Annotated[int, Field(strict=True, ge=0, le=24 * 366)]
CloseMinutes = Annotated[int, Field(strict=True, ge=0, le=60 * 24 * 60)]
MaxPerOrder = Annotated[int, Field(strict=True, ge=1, le=100)]
MaxPerAccount = Annotated[int, Field(strict=True, ge=1, le=10_000)]
MaxOpenOrders = Annotated[int, Field(strict=True, ge=1, le=100)]
ValidDays = Annotated[int, Field(strict=True, ge=1, le=3660)]


class OfferingCreate(BaseModel):
    """Something a department sells tickets for; created as ``draft``. Passes and combos need
    ``valid_days`` (days of validity from purchase)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [_OFFERING_EXAMPLE]})

    department: Slug
    cost_centre: CostCentre
    venue_id: uuid.UUID
    kind: OfferingKindField
    name: Name
    description: Description = ""
    currency: Currency = "EUR"
    hold_minutes: HoldMinutes = 15
    cancellable_until_hours: CancellableHours | None = None
    sales_close_minutes_before: CloseMinutes = 0
    max_tickets_per_order: MaxPerOrder = 10
    max_tickets_per_account: MaxPerAccount | None = None
    """Timed offerings: tickets one account may hold of one slot (unpaid, paid or free;
    409 ``account_ticket_limit`` beyond). Default: ``max_tickets_per_order``."""
    max_open_orders_per_account: MaxOpenOrders = 2
    """Orders of one account awaiting payment with tickets of this offering (409
    ``too_many_open_orders`` beyond)."""
    valid_days: ValidDays | None = None
    sales_start_at: Instant | None = None
    sales_end_at: Instant | None = None


class OfferingUpdate(BaseModel):
    """Changes of an offering, including its status (``draft`` -> ``published`` ->
    ``archived``; a draft may be archived directly). Send ``If-Match`` with the ``ETag`` you
    read to fail with 412 instead of overwriting someone else's change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"status": "published"},
                     {"name": "Dauerausstellung (neu)", "sales_end_at": "2027-12-31T23:00:00Z"}]})

    cost_centre: CostCentre | None = None
    venue_id: uuid.UUID | None = None
    name: Name | None = None
    description: Description | None = None
    status: OfferingStatusField | None = None
    hold_minutes: HoldMinutes | None = None
    cancellable_until_hours: CancellableHours | None = None
    sales_close_minutes_before: CloseMinutes | None = None
    max_tickets_per_order: MaxPerOrder | None = None
    max_tickets_per_account: MaxPerAccount | None = None
    max_open_orders_per_account: MaxOpenOrders | None = None
    valid_days: ValidDays | None = None
    sales_start_at: Instant | None = None
    sales_end_at: Instant | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> OfferingUpdate:
        _no_null(self, "cost_centre", "venue_id", "name", "description", "status",
                 "hold_minutes", "sales_close_minutes_before", "max_tickets_per_order",
                 "max_tickets_per_account", "max_open_orders_per_account")
        return self


class ComponentCreate(BaseModel):
    """One admission of a combo ticket type: to which offering (any department of the tenant),
    how many visits, and the share of the price booked to that offering's department."""

    model_config = ConfigDict(extra="forbid")

    offering_id: uuid.UUID
    visits: Annotated[int, Field(strict=True, ge=1, le=100)] = 1
    share: Price


class ComponentRead(BaseModel):
    offering_id: uuid.UUID
    department: str
    cost_centre: str
    visits: int
    share: int

    @classmethod
    def of(cls, c: ComboComponent) -> ComponentRead:
        return cls(offering_id=c.offering_id, department=c.department,
                   cost_centre=c.cost_centre, visits=c.visits, share=c.share)


Components = Annotated[list[ComponentCreate], Field(min_length=1, max_length=10)]
Places = Annotated[int, Field(strict=True, ge=1, le=20)]
Visits = Annotated[int, Field(strict=True, ge=1, le=100)]
Position = Annotated[int, Field(strict=True, ge=0, le=1000)]

_TICKET_TYPE_EXAMPLES: list[JsonValue] = [
    {"code": "reduced", "name": "Ermäßigt", "price": 500, "places": 1, "visits": 1,
     "quota_id": "5d0f3f0e-8f7b-4d7e-8e0a-2a9b0c4d1e22", "position": 1, "active": True},
    {"code": "kulturpass", "name": "Kulturpass", "price": 1000, "components": [
        {"offering_id": "8a2d7c1e-1b3a-4c5d-9e8f-0a1b2c3d4e5f", "visits": 1, "share": 600},
        {"offering_id": "9b3e8d2f-2c4b-4d6e-8f9a-1b2c3d4e5f6a", "visits": 1, "share": 400}]},
]


class TicketTypeCreate(BaseModel):
    """A price of an offering. ``visits > 1`` only for passes; ``components`` exactly for
    combos, whose shares add up to ``price`` (422 ``combo_shares_mismatch``)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": _TICKET_TYPE_EXAMPLES})

    code: Code
    name: ShortName
    price: Price
    places: Places = 1
    visits: Visits = 1
    quota_id: uuid.UUID | None = None
    position: Position = 0
    active: Flag = True
    components: Components | None = None


class TicketTypeUpdate(BaseModel):
    """Changes of a ticket type; ``components`` replaces all of a combo's components."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"price": 900}, {"active": False}, {"quota_id": None}]})

    code: Code | None = None
    name: ShortName | None = None
    price: Price | None = None
    places: Places | None = None
    visits: Visits | None = None
    quota_id: uuid.UUID | None = None
    position: Position | None = None
    active: Flag | None = None
    components: Components | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> TicketTypeUpdate:
        _no_null(self, "code", "name", "price", "places", "visits", "position", "active",
                 "components")
        return self


class TicketTypeRead(BaseModel):
    ticket_type_id: uuid.UUID
    offering_id: uuid.UUID
    code: str
    name: str
    price: int
    places: int
    visits: int
    quota_id: uuid.UUID | None
    position: int
    active: bool
    components: list[ComponentRead]

    @classmethod
    def of(cls, t: TicketType) -> TicketTypeRead:
        return cls(ticket_type_id=t.id, offering_id=t.offering_id, code=t.code, name=t.name,
                   price=t.price, places=t.places, visits=t.visits, quota_id=t.quota_id,
                   position=t.position, active=t.active,
                   components=[ComponentRead.of(c) for c in t.components])


class QuotaCreate(BaseModel):
    """A per-slot limit shared by the ticket types that name it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "Ermäßigt", "capacity": 10}]})

    name: ShortName
    capacity: Capacity


class QuotaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"capacity": 12}]})

    name: ShortName | None = None
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> QuotaUpdate:
        _no_null(self, "name", "capacity")
        return self


class QuotaRead(BaseModel):
    quota_id: uuid.UUID
    offering_id: uuid.UUID
    name: str
    capacity: int

    @classmethod
    def of(cls, q: Quota) -> QuotaRead:
        return cls(quota_id=q.id, offering_id=q.offering_id, name=q.name, capacity=q.capacity)


class OfferingRead(BaseModel):
    """An offering with its ticket types (by position) and quotas. ``version`` is also the
    ``ETag``."""

    offering_id: uuid.UUID
    tenant: str
    department: str
    cost_centre: str
    venue_id: uuid.UUID
    kind: str
    name: str
    description: str
    status: str
    currency: str
    hold_minutes: int
    cancellable_until_hours: int | None
    sales_close_minutes_before: int
    max_tickets_per_order: int
    max_tickets_per_account: int
    max_open_orders_per_account: int
    valid_days: int | None
    sales_start_at: datetime | None
    sales_end_at: datetime | None
    version: int
    ticket_types: list[TicketTypeRead]
    quotas: list[QuotaRead]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, o: Offering) -> OfferingRead:
        return cls(
            offering_id=o.id, tenant=o.tenant, department=o.department,
            cost_centre=o.cost_centre, venue_id=o.venue_id, kind=o.kind, name=o.name,
            description=o.description, status=o.status, currency=o.currency,
            hold_minutes=o.hold_minutes, cancellable_until_hours=o.cancellable_until_hours,
            sales_close_minutes_before=o.sales_close_minutes_before,
            max_tickets_per_order=o.max_tickets_per_order,
            max_tickets_per_account=o.max_tickets_per_account,
            max_open_orders_per_account=o.max_open_orders_per_account, valid_days=o.valid_days,
            sales_start_at=o.sales_start_at, sales_end_at=o.sales_end_at, version=o.version,
            ticket_types=[TicketTypeRead.of(t) for t in
                          sorted(o.ticket_types, key=lambda t: (t.position, t.code))],
            quotas=[QuotaRead.of(q) for q in sorted(o.quotas, key=lambda q: q.name)],
            created_at=o.created_at, updated_at=o.updated_at,
        )


class OfferingList(BaseModel):
    items: list[OfferingRead]
