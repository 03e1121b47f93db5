"""Queries of the catalogue slice. Every query is filtered by tenant (another tenant's row is
never found); ``for_update`` locks the offering row, which serialises all changes of one
offering and of its ticket types, quotas and rules. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import DateTime, Integer

from ticketing_service.catalogue.models import (
    Offering,
    Quota,
    Slot,
    SlotQuotaUsage,
    SlotRule,
    TicketType,
    Venue,
)

__all__ = [
    "PlannedSlot",
    "get_offering",
    "get_quota",
    "get_rule",
    "get_slot",
    "get_ticket_type",
    "get_venue",
    "has_slots",
    "insert_slots",
    "list_offerings",
    "list_slots",
    "list_venues",
    "lock_quota",
    "offerings_by_id",
    "quota_overused",
    "update_slot_guarded",
    "venue_name_taken",
]


def _in_departments(column: InstrumentedAttribute[str],
                    departments: frozenset[str] | None) -> list[ColumnElement[bool]]:
    return [] if departments is None else [column.in_(sorted(departments))]


# -- venues -----------------------------------------------------------------------------------


async def get_venue(session: AsyncSession, tenant: str, venue_id: uuid.UUID, *,
                    for_update: bool = False) -> Venue | None:
    stmt = select(Venue).where(Venue.id == venue_id, Venue.tenant == tenant)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_venues(session: AsyncSession, tenant: str, *,
                      departments: frozenset[str] | None,
                      department: str | None = None) -> Sequence[Venue]:
    """Venues of ``tenant``, of ``departments`` only unless None, by department and name."""
    stmt = select(Venue).where(Venue.tenant == tenant,
                               *_in_departments(Venue.department, departments))
    if department is not None:
        stmt = stmt.where(Venue.department == department)
    return (await session.execute(stmt.order_by(Venue.department, Venue.name))).scalars().all()


async def venue_name_taken(session: AsyncSession, tenant: str, department: str, name: str,
                           *, other_than: uuid.UUID | None = None) -> bool:
    conditions = [Venue.tenant == tenant, Venue.department == department, Venue.name == name]
    if other_than is not None:
        conditions.append(Venue.id != other_than)
    stmt = select(exists().where(*conditions))
    return bool((await session.execute(stmt)).scalar_one())


# -- offerings --------------------------------------------------------------------------------


def _offering(tenant: str) -> Select[tuple[Offering]]:
    return select(Offering).where(Offering.tenant == tenant)


async def get_offering(session: AsyncSession, tenant: str, offering_id: uuid.UUID, *,
                       for_update: bool = False) -> Offering | None:
    """The offering with its ticket types, quotas and venue; ``for_update`` locks its row."""
    stmt = _offering(tenant).where(Offering.id == offering_id)
    if for_update:
        stmt = stmt.with_for_update(of=Offering).execution_options(populate_existing=True)
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def list_offerings(session: AsyncSession, tenant: str, *,
                         departments: frozenset[str] | None, department: str | None = None,
                         status: str | None = None) -> Sequence[Offering]:
    stmt = _offering(tenant).where(*_in_departments(Offering.department, departments))
    if department is not None:
        stmt = stmt.where(Offering.department == department)
    if status is not None:
        stmt = stmt.where(Offering.status == status)
    stmt = stmt.order_by(Offering.department, Offering.name, Offering.id)
    return (await session.execute(stmt)).unique().scalars().all()


async def offerings_by_id(session: AsyncSession, tenant: str,
                          ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Offering]:
    """The offerings of ``tenant`` among ``ids`` (others are simply missing)."""
    stmt = _offering(tenant).where(Offering.id.in_(list(set(ids))))
    return {o.id: o for o in (await session.execute(stmt)).unique().scalars()}


async def has_slots(session: AsyncSession, offering_id: uuid.UUID) -> bool:
    """True if the offering has a slot that is not cancelled."""
    stmt = select(exists().where(Slot.offering_id == offering_id, Slot.status != "cancelled"))
    return bool((await session.execute(stmt)).scalar_one())


# -- children of an offering (tenant checked through the offering) ----------------------------


async def get_ticket_type(session: AsyncSession, tenant: str,
                          ticket_type_id: uuid.UUID) -> TicketType | None:
    stmt = (select(TicketType).join(Offering, Offering.id == TicketType.offering_id)
            .where(TicketType.id == ticket_type_id, Offering.tenant == tenant))
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_quota(session: AsyncSession, tenant: str, quota_id: uuid.UUID) -> Quota | None:
    stmt = (select(Quota).join(Offering, Offering.id == Quota.offering_id)
            .where(Quota.id == quota_id, Offering.tenant == tenant))
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_rule(session: AsyncSession, tenant: str, rule_id: uuid.UUID) -> SlotRule | None:
    stmt = (select(SlotRule).join(Offering, Offering.id == SlotRule.offering_id)
            .where(SlotRule.id == rule_id, Offering.tenant == tenant))
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_quota(session: AsyncSession, quota_id: uuid.UUID) -> None:
    """Lock the quota's row for update until the transaction ends (reservations share-lock it,
    see :mod:`ticketing_service.capacity`)."""
    await session.execute(select(Quota.id).where(Quota.id == quota_id).with_for_update())


async def quota_overused(session: AsyncSession, quota_id: uuid.UUID, capacity: int,
                         now: datetime) -> int:
    """The most places of the quota held and sold in one slot that has not ended, if that is
    more than ``capacity``; else 0."""
    stmt = (select(func.coalesce(func.max(SlotQuotaUsage.held + SlotQuotaUsage.sold), 0))
            .join(Slot, Slot.id == SlotQuotaUsage.slot_id)
            .where(SlotQuotaUsage.quota_id == quota_id, Slot.ends_at > now))
    most = int((await session.execute(stmt)).scalar_one())
    return most if most > capacity else 0


# -- slots ------------------------------------------------------------------------------------


async def get_slot(session: AsyncSession, tenant: str, slot_id: uuid.UUID) -> Slot | None:
    stmt = select(Slot).where(Slot.id == slot_id, Slot.tenant == tenant)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_slots(session: AsyncSession, offering_id: uuid.UUID, start: datetime,
                     end: datetime) -> Sequence[Slot]:
    """Slots of the offering starting in ``[start, end)``, by start."""
    stmt = (select(Slot).where(Slot.offering_id == offering_id, Slot.starts_at >= start,
                               Slot.starts_at < end)
            .order_by(Slot.starts_at))
    return (await session.execute(stmt)).scalars().all()


@dataclass(frozen=True)
class PlannedSlot:
    """A slot to create: UTC instants and capacity."""

    starts_at: datetime
    ends_at: datetime
    capacity: int


_INSERT_SLOTS = text("""
    INSERT INTO slots (id, offering_id, tenant, department, starts_at, ends_at, capacity)
    SELECT gen_random_uuid(), :offering_id, :tenant, :department, s.starts_at, s.ends_at,
           s.capacity
    FROM unnest(:starts, :ends, :capacities) AS s(starts_at, ends_at, capacity)
    ON CONFLICT (offering_id, starts_at) DO NOTHING
""").bindparams(
    bindparam("starts", type_=ARRAY(DateTime(timezone=True))),
    bindparam("ends", type_=ARRAY(DateTime(timezone=True))),
    bindparam("capacities", type_=ARRAY(Integer)),
)
#: Rows per INSERT: a year of 5-minute slots is a handful of statements, never one per slot.
INSERT_CHUNK = 10_000


async def insert_slots(session: AsyncSession, *, offering_id: uuid.UUID, tenant: str,
                       department: str, planned: Sequence[PlannedSlot]) -> int:
    """Insert ``planned`` with one statement per :data:`INSERT_CHUNK` rows; a start that the
    offering already has is left alone. Returns how many rows were inserted."""
    created = 0
    for i in range(0, len(planned), INSERT_CHUNK):
        chunk = planned[i:i + INSERT_CHUNK]
        result = await session.execute(_INSERT_SLOTS, {
            "offering_id": offering_id, "tenant": tenant, "department": department,
            "starts": [p.starts_at for p in chunk], "ends": [p.ends_at for p in chunk],
            "capacities": [p.capacity for p in chunk],
        })
        created += int(result.rowcount)  # type: ignore[attr-defined]
    return created


async def update_slot_guarded(session: AsyncSession, tenant: str, slot_id: uuid.UUID, *,
                              capacity: int | None, status: str | None,
                              now: datetime) -> bool:
    """Change capacity and/or status in one conditional UPDATE, so that a concurrent
    reservation can never be squeezed out: the capacity only if ``held + sold`` fits, the status
    ``cancelled`` only while nothing is held or sold, never a cancelled slot. False if a
    condition failed (or the slot does not exist)."""
    values: dict[str, object] = {"updated_at": now}
    conditions: list[ColumnElement[bool]] = [Slot.id == slot_id, Slot.tenant == tenant,
                                             Slot.status != "cancelled"]
    if capacity is not None:
        values["capacity"] = capacity
        conditions.append(Slot.held + Slot.sold <= capacity)
    if status is not None:
        values["status"] = status
        if status == "cancelled":
            conditions.append(Slot.held + Slot.sold == 0)
    stmt = (update(Slot).where(*conditions).values(**values)
            .execution_options(synchronize_session=False))
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
