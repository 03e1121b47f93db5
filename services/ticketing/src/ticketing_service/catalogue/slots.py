"""Opening rules and the time slots of timed offerings: generating slots in bulk from the rules,
listing them for staff, adding one by hand and overriding capacity or status.

Generation works on local dates and wall-clock times of the venue's time zone: a rule "10:00"
gives 09:00 UTC in winter and 08:00 UTC in summer in Europe/Berlin. A slot whose local start
does not exist (the hour skipped when clocks go forward) is skipped; a local start that exists
twice (when clocks go back) is taken at its first occurrence. Every slot lasts exactly
``slot_minutes``. May flush, never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.errors import InvalidTransition
from ticketing_service.access import require_manager
from ticketing_service.catalogue import repository, service
from ticketing_service.catalogue.errors import (
    CapacityBelowReserved,
    InvalidRange,
    RangeTooLong,
    RuleNotFound,
    SlotExists,
    SlotHasReservations,
    SlotNotFound,
)
from ticketing_service.catalogue.models import Slot, SlotRule
from ticketing_service.catalogue.repository import PlannedSlot
from ticketing_service.catalogue.slot_schemas import (
    GenerateResult,
    RuleCreate,
    SlotCreate,
    SlotUpdate,
)

__all__ = [
    "SlotPlan",
    "add_rule",
    "add_slot",
    "change_slot",
    "check_range",
    "delete_rule",
    "generate_slots",
    "list_rules",
    "list_slots",
    "local_day_bounds",
    "plan_slots",
]


# -- opening rules ----------------------------------------------------------------------------


async def add_rule(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                   data: RuleCreate) -> SlotRule:
    """An opening rule of a timed offering; slots appear only when generated.

    :raises OfferingNotFound, Forbidden: :raises NotApplicable: (422)
    """
    offering = await service.managed_offering(session, principal, offering_id)
    service.require_timed(offering, "opening rules")
    rule = SlotRule(id=uuid.uuid4(), offering_id=offering.id, weekdays=sorted(data.weekdays),
                    opens_at=data.opens_at, closes_at=data.closes_at,
                    slot_minutes=data.slot_minutes, capacity=data.capacity,
                    valid_from=data.valid_from, valid_until=data.valid_until)
    offering.rules.append(rule)
    service.touch(offering)
    await session.flush()
    return rule


async def list_rules(session: AsyncSession, principal: Principal,
                     offering_id: uuid.UUID) -> list[SlotRule]:
    """The offering's opening rules, oldest validity first."""
    offering = await service.get_offering(session, principal, offering_id)
    return sorted(offering.rules, key=lambda r: (r.valid_from, r.opens_at, str(r.id)))


async def delete_rule(session: AsyncSession, principal: Principal, rule_id: uuid.UUID) -> None:
    """Delete a rule; slots it generated stay.

    :raises RuleNotFound: (404) :raises Forbidden: (403)
    """
    found = await repository.get_rule(session, principal.tenant, rule_id)
    if found is None:
        raise RuleNotFound()
    offering = await service.managed_offering(session, principal, found.offering_id)
    offering.rules.remove(found)
    service.touch(offering)
    await session.flush()


@dataclass(frozen=True)
class SlotPlan:
    """What the rules describe for a date range: distinct slots by UTC start, and how many
    rule occurrences produced no slot (a non-existent local start, or a start another rule
    already gave)."""

    slots: list[PlannedSlot]
    dropped: int


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    """True if the wall-clock time ``naive`` occurs in ``zone`` (is not in a DST gap)."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _applies(rule: SlotRule, day: date) -> bool:
    return (day.isoweekday() in rule.weekdays and rule.valid_from <= day
            and (rule.valid_until is None or day <= rule.valid_until))


def plan_slots(rules: Sequence[SlotRule], first: date, last: date, zone: ZoneInfo) -> SlotPlan:
    """The slots ``rules`` describe from local date ``first`` to ``last`` (inclusive) in
    ``zone``. Pure; rules earlier in ``rules`` win when two give the same start."""
    planned: dict[datetime, PlannedSlot] = {}
    dropped = 0
    for day in _days(first, last):
        for rule in rules:
            if not _applies(rule, day):
                continue
            step = timedelta(minutes=rule.slot_minutes)
            start = datetime.combine(day, rule.opens_at)
            close = datetime.combine(day, rule.closes_at)
            while start + step <= close:
                if not _exists(start, zone):
                    dropped += 1
                else:
                    starts_at = start.replace(tzinfo=zone).astimezone(UTC)
                    if starts_at in planned:
                        dropped += 1
                    else:
                        planned[starts_at] = PlannedSlot(starts_at, starts_at + step,
                                                         rule.capacity)
                start += step
    return SlotPlan(sorted(planned.values(), key=lambda p: p.starts_at), dropped)


def check_range(first: date, last: date, max_days: int) -> None:
    """:raises InvalidRange: (422) ``first`` after ``last``;
    :raises RangeTooLong: (422) more than ``max_days`` days (both ends inclusive)."""
    if first > last:
        raise InvalidRange("'from' must not lie after 'to'.")
    if (last - first).days + 1 > max_days:
        raise RangeTooLong(max_days)


def local_day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where local date ``first`` begins and the day after ``last`` begins."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


async def generate_slots(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                         first: date, last: date, *, max_days: int) -> GenerateResult:
    """Create the slots of all the offering's rules from local date ``first`` to ``last``.

    Idempotent: a start the offering already has (generated or added by hand) is left alone,
    so a second run creates nothing. One INSERT per 10,000 slots.

    :raises OfferingNotFound: (404) :raises Forbidden: (403)
    :raises NotApplicable, InvalidRange, RangeTooLong: (422)
    """
    offering = await service.managed_offering(session, principal, offering_id)
    service.require_timed(offering, "slots")
    check_range(first, last, max_days)
    plan = plan_slots(offering.rules, first, last, ZoneInfo(offering.venue.timezone))
    created = await repository.insert_slots(
        session, offering_id=offering.id, tenant=offering.tenant,
        department=offering.department, planned=plan.slots)
    return GenerateResult(created=created, skipped=plan.dropped + len(plan.slots) - created)


async def list_slots(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                     first: date, last: date, *, max_days: int) -> Sequence[Slot]:
    """All slots (any status) starting on local dates ``first`` to ``last`` of the venue.

    :raises OfferingNotFound: (404) :raises Forbidden: (403)
    :raises InvalidRange, RangeTooLong: (422)
    """
    offering = await service.get_offering(session, principal, offering_id)
    check_range(first, last, max_days)
    start, end = local_day_bounds(first, last, ZoneInfo(offering.venue.timezone))
    return await repository.list_slots(session, offering.id, start, end)


async def add_slot(session: AsyncSession, principal: Principal, offering_id: uuid.UUID,
                   data: SlotCreate) -> Slot:
    """One extra slot of a timed offering.

    :raises OfferingNotFound: (404) :raises Forbidden: (403) :raises NotApplicable: (422)
    :raises SlotExists: (409) the offering has a slot starting then.
    """
    offering = await service.managed_offering(session, principal, offering_id)
    service.require_timed(offering, "slots")
    now = datetime.now(UTC)
    stmt = (insert(Slot)
            .values(id=uuid.uuid4(), offering_id=offering.id, tenant=offering.tenant,
                    department=offering.department, starts_at=data.starts_at,
                    ends_at=data.ends_at, capacity=data.capacity, created_at=now,
                    updated_at=now)
            .on_conflict_do_nothing(index_elements=[Slot.offering_id, Slot.starts_at])
            .returning(Slot.id))
    slot_id = (await session.execute(stmt)).scalar_one_or_none()
    if slot_id is None:
        raise SlotExists("The offering already has a slot starting at that time.")
    slot = await repository.get_slot(session, offering.tenant, slot_id)
    assert slot is not None
    return slot


async def change_slot(session: AsyncSession, principal: Principal, slot_id: uuid.UUID,
                      data: SlotUpdate) -> Slot:
    """Override the capacity and/or the status in one guarded UPDATE (see
    :func:`repository.update_slot_guarded`): race-free against concurrent reservations.

    :raises SlotNotFound: (404) :raises Forbidden: (403)
    :raises CapacityBelowReserved, SlotHasReservations, InvalidTransition: (409)
    """
    slot = await repository.get_slot(session, principal.tenant, slot_id)
    if slot is None:
        raise SlotNotFound()
    require_manager(principal, slot.department)
    if data.capacity is None and data.status is None:
        return slot
    changed = await repository.update_slot_guarded(
        session, principal.tenant, slot_id, capacity=data.capacity, status=data.status,
        now=datetime.now(UTC))
    await session.refresh(slot)
    if not changed:
        reserved = slot.held + slot.sold
        if slot.status == "cancelled":
            raise InvalidTransition("cancelled", data.status or slot.status)
        if data.capacity is not None and reserved > data.capacity:
            raise CapacityBelowReserved(reserved)
        if data.status == "cancelled" and reserved:
            raise SlotHasReservations("Slots with held or sold places cannot be cancelled.")
        raise SlotNotFound()
    return slot
