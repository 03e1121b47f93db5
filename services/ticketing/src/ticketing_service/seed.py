"""Seeds the demo city's ticketing (``shared/DEMO.md``) into the ticketing database; safe to run
again.

``python -m ticketing_service.seed --demo-file .local/demo.json`` reads the settings from the
environment like the API, upserts (keyed by names and codes, in one transaction) the venues,
offerings, ticket types, combo components and opening rules of ``musterstadt`` (museum,
pools, 10-visit card, Kulturpass) and ``beispielhausen`` (one offering, so that isolation is
visible), adds the slots of today and the next 14 days (Europe/Berlin) that are missing, and
merges the ids a frontend developer needs under the key ``ticketing`` into the demo file the
identity seed wrote. A second run on the same day changes nothing.

The slot generation here is deliberately small and local; the catalogue's generator is the
general one.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.demo_file import merge_demo_file
from city_shared.production import refuse_demo_seed
from city_shared.unit_of_work import unit_of_work
from ticketing_service.catalogue.models import (
    ComboComponent,
    Offering,
    Slot,
    SlotRule,
    TicketType,
    Venue,
)
from ticketing_service.settings import TicketingSettings

__all__ = ["OFFERINGS", "SLOT_DAYS", "VENUES", "SeedResult", "main", "merge_demo_file", "seed"]

TIMEZONE: Final = "Europe/Berlin"
SLOT_DAYS: Final = 15
"""Slots exist for today and the next 14 days."""
EVERY_DAY: Final = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class VenueSpec:
    key: str
    tenant: str
    department: str
    name: str
    address: str
    max_occupancy: int | None = None


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    price: int
    places: int = 1
    visits: int = 1


@dataclass(frozen=True)
class RuleSpec:
    weekdays: tuple[int, ...]
    opens_at: time
    closes_at: time
    slot_minutes: int
    capacity: int


@dataclass(frozen=True)
class OfferingSpec:
    key: str
    venue: str
    cost_centre: str
    kind: str
    name: str
    description: str
    types: tuple[TypeSpec, ...]
    rule: RuleSpec | None = None
    cancellable_until_hours: int | None = None
    valid_days: int | None = None
    components: tuple[tuple[str, int], ...] = ()
    """A combo's admissions: (offering key, share of the price in cents)."""


VENUES: Final = (
    VenueSpec("stadtmuseum", "musterstadt", "museum", "Stadtmuseum", "Marktplatz 1, Musterstadt"),
    VenueSpec("hallenbad-mitte", "musterstadt", "pools", "Hallenbad Mitte",
              "Badstraße 12, Musterstadt", max_occupancy=300),
    VenueSpec("buergerbuero-beispielhausen", "beispielhausen", "citizens-office",
              "Bürgerbüro Beispielhausen", "Marktplatz 1, Beispielhausen"),
)

OFFERINGS: Final = (
    OfferingSpec(
        "dauerausstellung", "stadtmuseum", "MUS-4100", "timed", "Dauerausstellung",
        "Die Dauerausstellung zur Stadtgeschichte.",
        (TypeSpec("adult", "Erwachsene", 800), TypeSpec("reduced", "Ermäßigt", 500),
         TypeSpec("child", "Kinder", 0)),
        rule=RuleSpec((2, 3, 4, 5, 6, 7), time(10), time(18), 30, 40),
        cancellable_until_hours=24),
    OfferingSpec(
        "hallenbad", "hallenbad-mitte", "BAD-5700", "timed", "Hallenbad",
        "Schwimmen im Hallenbad Mitte, zwei Stunden.",
        (TypeSpec("adult", "Erwachsene", 450), TypeSpec("reduced", "Ermäßigt", 300),
         TypeSpec("family", "Familie", 1100, places=4)),
        rule=RuleSpec(EVERY_DAY, time(7), time(21), 120, 120),
        cancellable_until_hours=24),
    OfferingSpec(
        "10er-karte-hallenbad", "hallenbad-mitte", "BAD-5700", "pass", "10er-Karte Hallenbad",
        "Zehn Eintritte ins Hallenbad, ein Jahr gültig.",
        (TypeSpec("ten-visits", "10er-Karte", 4000, visits=10),),
        valid_days=365, cancellable_until_hours=0),
    OfferingSpec(
        "kulturpass", "stadtmuseum", "MUS-4100", "combo", "Kulturpass",
        "Ein Besuch der Dauerausstellung und ein Besuch im Hallenbad.",
        (TypeSpec("kulturpass", "Kulturpass", 1000),),
        valid_days=365, components=(("dauerausstellung", 600), ("hallenbad", 400))),
    OfferingSpec(
        "stadtfuehrung", "buergerbuero-beispielhausen", "BB-0100", "timed", "Stadtführung",
        "Historische Altstadt, zwei Stunden, Treffpunkt am Bürgerbüro.",
        (TypeSpec("adult", "Erwachsene", 900), TypeSpec("reduced", "Ermäßigt", 600)),
        rule=RuleSpec(EVERY_DAY, time(10), time(18), 120, 25),
        cancellable_until_hours=24),
)


def _assign(obj: object, **values: object) -> bool:
    """Set the attributes that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


class _Seeder:
    """One seeding run in one session: upserts and counts what it created or changed."""

    def __init__(self, session: AsyncSession, today: date, now: datetime) -> None:
        self.session = session
        self.today = today
        self.now = now
        self.counts: Counter[str] = Counter()
        self.venues: dict[str, Venue] = {}
        self.offerings: dict[str, Offering] = {}

    async def venue(self, spec: VenueSpec) -> Venue:
        venue = (await self.session.execute(select(Venue).where(
            Venue.tenant == spec.tenant, Venue.department == spec.department,
            Venue.name == spec.name))).scalar_one_or_none()
        if venue is None:
            venue = Venue(id=uuid.uuid4(), tenant=spec.tenant, department=spec.department,
                          name=spec.name, present=0)
            self.session.add(venue)
            self.counts["venues created"] += 1
        if _assign(venue, address=spec.address, timezone=TIMEZONE,
                   max_occupancy=spec.max_occupancy):
            venue.updated_at = self.now
        self.venues[spec.key] = venue
        return venue

    async def offering(self, spec: OfferingSpec) -> Offering:
        venue = self.venues[spec.venue]
        offering = (await self.session.execute(
            select(Offering)
            .where(Offering.tenant == venue.tenant, Offering.department == venue.department,
                   Offering.name == spec.name)
            .order_by(Offering.created_at, Offering.id).limit(1)
        )).unique().scalar_one_or_none()
        if offering is None:
            offering = Offering(id=uuid.uuid4(), tenant=venue.tenant,
                                department=venue.department, name=spec.name, version=1)
            self.session.add(offering)
            self.counts["offerings created"] += 1
        changed = _assign(
            offering, cost_centre=spec.cost_centre, venue_id=venue.id, kind=spec.kind,
            description=spec.description, status="published", currency="EUR",
            hold_minutes=15, cancellable_until_hours=spec.cancellable_until_hours,
            sales_close_minutes_before=0, max_tickets_per_order=10,
            valid_days=spec.valid_days, sales_start_at=None, sales_end_at=None)
        changed |= self._ticket_types(offering, spec)
        changed |= self._rule(offering, spec.rule)
        if changed and offering.created_at is not None:
            offering.version += 1
            offering.updated_at = self.now
            self.counts["offerings reset"] += 1
        self.offerings[spec.key] = offering
        return offering

    def _ticket_types(self, offering: Offering, spec: OfferingSpec) -> bool:
        existing = {t.code: t for t in offering.ticket_types}
        changed = False
        for position, t in enumerate(spec.types):
            ticket_type = existing.get(t.code)
            if ticket_type is None:
                ticket_type = TicketType(id=uuid.uuid4(), code=t.code)
                offering.ticket_types.append(ticket_type)
                self.counts["ticket types created"] += 1
                changed = True
            changed |= _assign(ticket_type, name=t.name, price=t.price, places=t.places,
                               visits=t.visits, active=True, position=position, quota_id=None)
            changed |= self._components(ticket_type, spec.components)
        return changed

    def _components(self, ticket_type: TicketType, components: Sequence[tuple[str, int]]) -> bool:
        existing = {c.position: c for c in ticket_type.components}
        changed = False
        for position, (key, share) in enumerate(components):
            target = self.offerings[key]
            component = existing.pop(position, None)
            if component is None:
                component = ComboComponent(position=position)
                ticket_type.components.append(component)
                changed = True
            changed |= _assign(component, offering_id=target.id, department=target.department,
                               cost_centre=target.cost_centre, visits=1, share=share)
        for extra in existing.values():
            ticket_type.components.remove(extra)
            changed = True
        return changed

    def _rule(self, offering: Offering, spec: RuleSpec | None) -> bool:
        rules = list(offering.rules)
        changed = False
        keep = rules[:1] if spec is not None else []
        for extra in rules[len(keep):]:
            offering.rules.remove(extra)
            changed = True
        if spec is None:
            return changed
        if not keep:
            rule = SlotRule(id=uuid.uuid4(), valid_from=self.today, valid_until=None)
            offering.rules.append(rule)
            changed = True
        else:
            rule = keep[0]
        return _assign(rule, weekdays=list(spec.weekdays), opens_at=spec.opens_at,
                       closes_at=spec.closes_at, slot_minutes=spec.slot_minutes,
                       capacity=spec.capacity, valid_until=None) or changed

    async def slots(self, offering: Offering, spec: RuleSpec) -> None:
        """Insert the missing slots of ``offering`` for :data:`SLOT_DAYS` days from today;
        existing slots (perhaps with sales) stay as they are."""
        zone = ZoneInfo(TIMEZONE)
        rows = []
        for offset in range(SLOT_DAYS):
            day = self.today + timedelta(days=offset)
            if day.isoweekday() not in spec.weekdays:
                continue
            start = datetime.combine(day, spec.opens_at, tzinfo=zone)
            closes = datetime.combine(day, spec.closes_at, tzinfo=zone)
            step = timedelta(minutes=spec.slot_minutes)
            while start + step <= closes:
                rows.append({
                    "id": uuid.uuid4(), "offering_id": offering.id, "tenant": offering.tenant,
                    "department": offering.department, "starts_at": start.astimezone(UTC),
                    "ends_at": (start + step).astimezone(UTC), "capacity": spec.capacity,
                    "held": 0, "sold": 0, "status": "open",
                })
                start += step
        if not rows:
            return
        stmt = insert(Slot).values(rows).on_conflict_do_nothing(
            index_elements=[Slot.offering_id, Slot.starts_at]).returning(Slot.id)
        created = len((await self.session.execute(stmt)).all())
        if created:
            self.counts["slots created"] += created

    async def slot_summary(self, offering: Offering) -> dict[str, object]:
        """Today's first slot and the next one still to start (ids and local start times)."""
        zone = ZoneInfo(TIMEZONE)
        midnight = datetime.combine(self.today, time(), tzinfo=zone)
        first = await self._first_slot(offering, midnight.astimezone(UTC),
                                       (midnight + timedelta(days=1)).astimezone(UTC))
        upcoming = await self._first_slot(offering, self.now, None)
        return {"first_slot_today": first, "next_slot": upcoming}

    async def _first_slot(self, offering: Offering, after: datetime,
                          before: datetime | None) -> dict[str, object] | None:
        stmt = select(Slot).where(Slot.offering_id == offering.id, Slot.starts_at >= after,
                                  Slot.status == "open")
        if before is not None:
            stmt = stmt.where(Slot.starts_at < before)
        slot = (await self.session.execute(
            stmt.order_by(Slot.starts_at).limit(1))).scalar_one_or_none()
        if slot is None:
            return None
        zone = ZoneInfo(TIMEZONE)
        return {"id": str(slot.id), "starts_at": slot.starts_at.astimezone(zone).isoformat(),
                "capacity": slot.capacity}


async def _summary(seeder: _Seeder) -> dict[str, object]:
    """Tenant -> {"venues": key -> ids, "offerings": key -> ids, ticket types, slots}."""
    venues: dict[str, dict[str, object]] = {}
    offerings: dict[str, dict[str, object]] = {}
    for spec in VENUES:
        venue = seeder.venues[spec.key]
        venues.setdefault(venue.tenant, {})[spec.key] = {
            "id": str(venue.id), "name": venue.name, "department": venue.department}
    for o_spec in OFFERINGS:
        offering = seeder.offerings[o_spec.key]
        item: dict[str, object] = {
            "id": str(offering.id), "name": offering.name, "department": offering.department,
            "kind": offering.kind, "venue_id": str(offering.venue_id),
            "currency": offering.currency,
            "ticket_types": {
                t.code: {"id": str(t.id), "name": t.name, "price": t.price, "places": t.places,
                         "visits": t.visits}
                for t in offering.ticket_types
            },
        }
        if o_spec.rule is not None:
            item.update(await seeder.slot_summary(offering))
        offerings.setdefault(offering.tenant, {})[o_spec.key] = item
    return {tenant: {"venues": venues[tenant], "offerings": offerings.get(tenant, {})}
            for tenant in venues}


@dataclass(frozen=True)
class SeedResult:
    """What a run wrote: the ids for the demo file (by tenant and key) and what it created."""

    tenants: dict[str, object]
    counts: dict[str, int]
    offerings: int


async def seed(database_url: str, *, now: datetime | None = None) -> SeedResult:
    """Upsert the demo catalogue and today's and the next 14 days' slots in one transaction;
    returns the ids (by tenant and key) and counts of what this run created."""
    now = now or datetime.now(UTC)
    today = now.astimezone(ZoneInfo(TIMEZONE)).date()
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            seeder = _Seeder(session, today, now)
            for venue in VENUES:
                await seeder.venue(venue)
            await session.flush()
            for spec in OFFERINGS:
                await seeder.offering(spec)
                await session.flush()
            for spec in OFFERINGS:
                if spec.rule is not None:
                    await seeder.slots(seeder.offerings[spec.key], spec.rule)
            tenants = await _summary(seeder)
    finally:
        await engine.dispose()
    return SeedResult(tenants=tenants, counts=dict(seeder.counts), offerings=len(OFFERINGS))


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Entry point: seed, merge the ids into ``--demo-file`` (if given), print a summary and
    return the ``ticketing`` part of the demo file."""
    parser = argparse.ArgumentParser(prog="python -m ticketing_service.seed")
    parser.add_argument("--demo-file", type=Path, default=None,
                        help="JSON file to merge the ids into (key 'ticketing')")
    args = parser.parse_args(argv)
    settings = TicketingSettings()
    refuse_demo_seed(settings.env)
    result = asyncio.run(seed(settings.database_url.get_secret_value()))
    ticketing: dict[str, object] = {"api": settings.base_url, "tenants": result.tenants}
    if args.demo_file is not None:
        merge_demo_file(args.demo_file, "ticketing", ticketing)
    created = ", ".join(f"{n} {what}" for what, n in sorted(result.counts.items()))
    print(f"ticketing seed: {len(result.tenants)} tenants, {result.offerings} offerings; "
          f"{created or 'nothing new'}"
          + (f"; ids in {args.demo_file}" if args.demo_file else ""))
    return ticketing


if __name__ == "__main__":
    main()
