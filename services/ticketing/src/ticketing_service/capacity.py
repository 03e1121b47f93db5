"""Capacity of slots and of per-slot quotas: hold, sell and release places. Nothing else in the
service changes the ``held`` / ``sold`` counters of ``slots`` and ``slot_quota_usage``.

No overbooking, under any concurrency: a reservation is ONE conditional statement per slot
(:func:`reserve_slot`: ``UPDATE slots SET held = held + n WHERE ... AND held + sold + n <=
capacity``) and per (slot, quota) (:func:`reserve_quota`), so the check and the increment cannot
be separated by another transaction; the table's CHECK ``held + sold <= capacity`` is the second
guard. Every function locks rows in one order, slots by id and then quota rows by (slot, quota),
so concurrent orders over several slots cannot deadlock. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service.orders.models import OrderLine

__all__ = [
    "CapacityInconsistent",
    "Places",
    "Shortage",
    "hold",
    "places_left",
    "release_held",
    "release_sold",
    "reserve_quota",
    "reserve_slot",
    "seen_shortage",
    "sell",
]

_RESERVE_SLOT = text(
    "UPDATE slots SET held = held + :n, updated_at = now() "
    "WHERE id = :id AND status = 'open' AND held + sold + :n <= capacity "
    "RETURNING held"
)
_ENSURE_QUOTA_USAGE = text(
    "INSERT INTO slot_quota_usage (slot_id, quota_id) VALUES (:slot, :quota) "
    "ON CONFLICT DO NOTHING"
)
# The quota row is share-locked, so a manager resizing the quota (which locks it for update)
# waits for reservations in flight and then sees them; reservations never block each other.
_RESERVE_QUOTA = text(
    "WITH q AS (SELECT capacity FROM quotas WHERE id = :quota FOR SHARE) "
    "UPDATE slot_quota_usage AS u SET held = u.held + :n FROM q "
    "WHERE u.slot_id = :slot AND u.quota_id = :quota "
    "AND u.held + u.sold + :n <= q.capacity "
    "RETURNING u.held"
)
_SLOT_LEFT = text(
    "SELECT CASE WHEN status = 'open' THEN greatest(capacity - held - sold, 0) ELSE 0 END "
    "FROM slots WHERE id = :id"
)
_QUOTA_LEFT = text(
    "SELECT greatest(q.capacity - coalesce(u.held, 0) - coalesce(u.sold, 0), 0) "
    "FROM quotas AS q LEFT JOIN slot_quota_usage AS u "
    "ON u.quota_id = q.id AND u.slot_id = :slot WHERE q.id = :quota"
)
# Moves between the counters; the condition only catches a bookkeeping bug (never a race:
# these places were reserved by the same order before).
_SLOT_MOVES = {
    "sell": text("UPDATE slots SET held = held - :n, sold = sold + :n, updated_at = now() "
                 "WHERE id = :id AND held >= :n RETURNING id"),
    "release_held": text("UPDATE slots SET held = held - :n, updated_at = now() "
                         "WHERE id = :id AND held >= :n RETURNING id"),
    "release_sold": text("UPDATE slots SET sold = sold - :n, updated_at = now() "
                         "WHERE id = :id AND sold >= :n RETURNING id"),
}
_QUOTA_MOVES = {
    "sell": text("UPDATE slot_quota_usage SET held = held - :n, sold = sold + :n "
                 "WHERE slot_id = :slot AND quota_id = :quota AND held >= :n RETURNING slot_id"),
    "release_held": text("UPDATE slot_quota_usage SET held = held - :n "
                         "WHERE slot_id = :slot AND quota_id = :quota AND held >= :n "
                         "RETURNING slot_id"),
    "release_sold": text("UPDATE slot_quota_usage SET sold = sold - :n "
                         "WHERE slot_id = :slot AND quota_id = :quota AND sold >= :n "
                         "RETURNING slot_id"),
}

class CapacityInconsistent(RuntimeError):
    """The counters do not hold the places an order says it holds (a bug, never a race)."""


@dataclass(frozen=True)
class Places:
    """Places per slot and per (slot, quota), e.g. of one order's lines."""

    slots: dict[uuid.UUID, int] = field(default_factory=dict)
    quotas: dict[tuple[uuid.UUID, uuid.UUID], int] = field(default_factory=dict)

    @classmethod
    def of_lines(cls, lines: Iterable[OrderLine]) -> Places:
        """What ``lines`` take: ``quantity * places`` per slot, and per quota of the slot
        (lines without a slot take no places)."""
        slots: dict[uuid.UUID, int] = {}
        quotas: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        for line in lines:
            if line.slot_id is None:
                continue
            slots[line.slot_id] = slots.get(line.slot_id, 0) + line.total_places
            if line.quota_id is not None:
                key = (line.slot_id, line.quota_id)
                quotas[key] = quotas.get(key, 0) + line.total_places
        return cls(slots, quotas)

    def __bool__(self) -> bool:
        return bool(self.slots)


@dataclass(frozen=True)
class Shortage:
    """Why a hold failed: the slot (or its quota) has ``left`` places, ``requested`` wanted."""

    slot_id: uuid.UUID
    quota_id: uuid.UUID | None
    requested: int
    left: int


async def reserve_slot(session: AsyncSession, slot_id: uuid.UUID, places: int) -> bool:
    """Hold ``places`` of an open slot if they are free: check and increment in one statement
    (the row stays locked until the transaction ends). False if they are not free."""
    held = (await session.execute(_RESERVE_SLOT, {"id": slot_id, "n": places})).scalar()
    return held is not None


async def reserve_quota(session: AsyncSession, slot_id: uuid.UUID, quota_id: uuid.UUID,
                        places: int) -> bool:
    """Hold ``places`` of a quota in a slot if the quota has them, in one statement (after
    making sure the usage row exists). False if the quota is used up."""
    params = {"slot": slot_id, "quota": quota_id, "n": places}
    await session.execute(_ENSURE_QUOTA_USAGE, params)
    held = (await session.execute(_RESERVE_QUOTA, params)).scalar()
    return held is not None


async def places_left(session: AsyncSession, slot_id: uuid.UUID,
                      quota_id: uuid.UUID | None = None) -> int:
    """Free places of a slot (0 unless open), or of a quota in it; for messages only (the
    answer may be outdated as soon as it is read)."""
    if quota_id is None:
        left = (await session.execute(_SLOT_LEFT, {"id": slot_id})).scalar()
    else:
        left = (await session.execute(_QUOTA_LEFT, {"slot": slot_id, "quota": quota_id})).scalar()
    return int(left or 0)


class _Counted(Protocol):
    @property
    def available(self) -> int: ...


def seen_shortage(places: Places, slots: Mapping[uuid.UUID, _Counted]) -> Shortage | None:
    """A slot that lacked the places when ``slots`` were read, without locking anything: a
    cheap early refusal. Never a guarantee either way; :func:`hold` decides."""
    for slot_id in sorted(places.slots):
        slot = slots.get(slot_id)
        if slot is not None and slot.available < places.slots[slot_id]:
            return Shortage(slot_id, None, places.slots[slot_id], slot.available)
    return None


async def hold(session: AsyncSession, places: Places) -> Shortage | None:
    """Hold all of ``places`` (slots by id, then quotas by (slot, quota)); None on success.

    On a :class:`Shortage` some places may already be held in this transaction: the caller must
    roll it back (raising a domain error does, as the route never commits then).
    """
    for slot_id in sorted(places.slots):
        wanted = places.slots[slot_id]
        if not await reserve_slot(session, slot_id, wanted):
            return Shortage(slot_id, None, wanted, await places_left(session, slot_id))
    for slot_id, quota_id in sorted(places.quotas):
        wanted = places.quotas[(slot_id, quota_id)]
        if not await reserve_quota(session, slot_id, quota_id, wanted):
            return Shortage(slot_id, quota_id, wanted,
                            await places_left(session, slot_id, quota_id))
    return None


async def _move(session: AsyncSession, move: str, places: Places) -> None:
    for slot_id in sorted(places.slots):
        result = await session.execute(
            _SLOT_MOVES[move], {"id": slot_id, "n": places.slots[slot_id]})
        if result.scalar() is None:
            raise CapacityInconsistent(f"{move}: slot {slot_id} lacks the places")
    for slot_id, quota_id in sorted(places.quotas):
        result = await session.execute(
            _QUOTA_MOVES[move],
            {"slot": slot_id, "quota": quota_id, "n": places.quotas[(slot_id, quota_id)]})
        if result.scalar() is None:
            raise CapacityInconsistent(f"{move}: quota {quota_id} of slot {slot_id} lacks them")


async def sell(session: AsyncSession, places: Places) -> None:
    """Turn held places into sold ones (a paid order).

    :raises CapacityInconsistent: fewer places are held than ``places``.
    """
    await _move(session, "sell", places)


async def release_held(session: AsyncSession, places: Places) -> None:
    """Give held places back (an order that was not paid).

    :raises CapacityInconsistent: fewer places are held than ``places``.
    """
    await _move(session, "release_held", places)


async def release_sold(session: AsyncSession, places: Places) -> None:
    """Give sold places back (a refunded order).

    :raises CapacityInconsistent: fewer places are sold than ``places``.
    """
    await _move(session, "release_sold", places)
