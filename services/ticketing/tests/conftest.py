"""Shared fixtures of the ticketing tests: a migrated database, the app running on it, tokens the
app trusts, and a demo catalogue written straight through the ORM (so order and ticket tests do
not depend on the catalogue API).

``migrated_url`` and ``token_factory`` come from the devstack plugin, the harness base
(:class:`~city_shared.testing.ServiceHarness`: headers, ``scalar``/``rows``/``outbox``) from
``city_shared.testing``.

- ``ticketing_app(**overrides)``: ``async with`` a :class:`TicketingHarness` with other settings;
  ``ticketing``: one with the default test settings.
- ``harness.demo()``: the demo city's catalogue (museum, pools, 10-visit card, Kulturpass) as a
  :class:`DemoCatalogue` of ids; ``harness.add_slot(offering_id, starts_at=, capacity=)``;
  ``harness.confirmed_order(lines)``: a paid order with its tickets, without the saga.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from city_shared.auth.testing import TokenFactory
from city_shared.envelope import Event, new_event
from city_shared.testing import ERIKA, TENANT, ServiceHarness, harness_starter
from city_shared.unit_of_work import unit_of_work
from ticketing_service.catalogue.models import (
    ComboComponent,
    Offering,
    Quota,
    Slot,
    SlotRule,
    TicketType,
    Venue,
)
from ticketing_service.main import create_app
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.settings import TicketingSettings
from ticketing_service.subscriptions import build_subscriptions
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.tickets.service import issue_tickets

BASE_URL = "http://ticketing.test"
#: base64url seeds of two Ed25519 test keys (signing, previous).
SIGNING_KEY = "dGVzdC10aWNrZXQtc2lnbmluZy1rZXktbnVtYmVyLTE"
OLD_SIGNING_KEY = "dGVzdC10aWNrZXQtc2lnbmluZy1rZXktbnVtYmVyLTI"


def ticketing_settings(url: str, **overrides: Any) -> TicketingSettings:
    """Settings for a test app on ``url``."""
    values: dict[str, Any] = {
        "database_url": url, "log_json": False, "public_base_url": BASE_URL,
        "ticket_signing_keys": [SIGNING_KEY, OLD_SIGNING_KEY], "database_pool_size": 10,
        **overrides,
    }
    return TicketingSettings(**values)


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


def payment_answer(kind: str, order: dict[str, Any], *, payment_id: str | None = None,
                   amount: int | None = None, currency: str = "EUR", **extra: Any) -> Event:
    """``city.payment.<kind>.v1`` about ``order`` (an order as the API returns it) as payment
    publishes it; its payment id is the one ticketing derives from the order unless told."""
    pid = payment_id or str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))
    data: dict[str, Any] = {
        "payment_id": pid, "tenant": order["tenant"], "source": "ticketing",
        "reference": order["reference"], "currency": currency,
        "amount": order["total"] if amount is None else amount, "reason": None, **extra}
    if kind == "payment.created":
        data.update(description="Tickets", expires_at=datetime.now(UTC).isoformat(),
                    next_url=f"http://payment.test/sandbox/pay/{pid[:8]}")
    return new_event(type=f"city.payment.{kind}.v1", source="/payment", subject=pid,
                     tenant=order["tenant"], data=_Data(**data))


def next_weekday_at(hour: int, minute: int = 0, *, days_ahead: int = 1) -> datetime:
    """A UTC instant ``days_ahead`` days from now at ``hour:minute`` UTC."""
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@dataclass(frozen=True)
class DemoCatalogue:
    """Ids of the demo city's catalogue (tenant musterstadt) as :meth:`TicketingHarness.demo`
    writes it. Slots start tomorrow; prices as in the demo city."""

    museum_venue: uuid.UUID
    pools_venue: uuid.UUID
    exhibition: uuid.UUID          # museum, timed; adult 800, reduced 500, child 0
    exhibition_slot: uuid.UUID     # 40 places
    museum_adult: uuid.UUID
    museum_reduced: uuid.UUID
    museum_child: uuid.UUID
    reduced_quota: uuid.UUID       # "Ermäßigt": reduced + child, 10 per slot
    indoor_pool: uuid.UUID         # pools, timed; adult 450, reduced 300, family 1100 (4 places)
    pool_slot: uuid.UUID           # 120 places
    pool_adult: uuid.UUID
    pool_reduced: uuid.UUID
    pool_family: uuid.UUID
    ten_visit_card: uuid.UUID      # pools, pass offering, valid 365 days
    ten_visit_type: uuid.UUID      # 4000, 10 visits
    kulturpass: uuid.UUID          # combo offering owned by the museum
    kulturpass_type: uuid.UUID     # 1000 = museum 600 + pools 400


@dataclass
class TicketingHarness(ServiceHarness[TicketingSettings]):
    """A running ticketing app on its own database, and the means to drive it. Constants are
    reachable through it (test modules cannot import conftest)."""

    BASE_URL = BASE_URL
    CLIENT_ID = "city-erp"
    CLIENT_SCOPE = "ticketing:read ticketing:write"
    next_weekday_at = staticmethod(next_weekday_at)
    payment_answer = staticmethod(payment_answer)

    # -- tokens ------------------------------------------------------------------------------

    def citizen_headers(self, account_id: uuid.UUID | str = ERIKA, tenant: str = TENANT,
                        acr: str = "basic", **claims: Any) -> dict[str, str]:
        """A citizen's token; a plain login (``basic``) unless ``acr`` says otherwise."""
        return super().citizen_headers(account_id, tenant, acr=acr, **claims)

    def manager_headers(self, department: str = "museum") -> dict[str, str]:
        return self.staff_headers({department: ["manager"]})

    def gatekeeper_headers(self, department: str = "pools") -> dict[str, str]:
        return self.staff_headers({department: ["gatekeeper"]})

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None,
                   expect: int = 201) -> dict[str, Any]:
        """POST ``body`` (as a museum manager unless ``headers``); asserts ``expect``."""
        response = await self.client.post(path, json=body,
                                          headers=headers or self.manager_headers())
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    # -- orders ------------------------------------------------------------------------------

    async def deliver_payment(self, event: Event) -> None:
        """Run the worker's handler of a payment answer (``payment.payments``) in one
        transaction, as the consumer does."""
        [handler] = [s.handler for s in build_subscriptions(self.settings)
                     if s.event_type == event.type and s.topic == "payment.payments"]
        async with unit_of_work(self.sessions) as session:
            await handler(session, event)

    async def answer_payment(self, kind: str, order: dict[str, Any], **fields: Any) -> None:
        """Deliver :func:`payment_answer` ``(kind, order, **fields)``."""
        await self.deliver_payment(payment_answer(kind, order, **fields))

    async def confirmed_order(
        self, lines: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, int]], *,
        account_id: uuid.UUID | None = None, now: datetime | None = None, issue: bool = True,
    ) -> tuple[uuid.UUID, list[IssuedTicket]]:
        """A confirmed order of ``lines`` (offering, ticket type, slot, quantity) written
        through the ORM (as if paid), and (if ``issue``) its tickets issued in the same
        transaction. Returns the order id and the issued tickets."""
        now = now or datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            order_id = uuid.uuid4()
            order_lines = []
            for position, (offering_id, type_id, slot_id, quantity) in enumerate(lines):
                offering = await session.get(Offering, offering_id)
                ticket_type = await session.get(TicketType, type_id)
                assert offering is not None
                assert ticket_type is not None
                order_lines.append(OrderLine(
                    position=position, tenant=offering.tenant, department=offering.department,
                    cost_centre=offering.cost_centre, offering_id=offering_id,
                    ticket_type_id=type_id, slot_id=slot_id, quantity=quantity,
                    places=ticket_type.places, unit_price=ticket_type.price,
                    amount=ticket_type.price * quantity,
                    description=f"{offering.name} {ticket_type.name}"))
            buyer = account_id or ERIKA
            order = Order(id=order_id, tenant=order_lines[0].tenant, account_id=buyer,
                          placed_by=f"citizen:{buyer}", status="confirmed",
                          total=sum(line.amount for line in order_lines), currency="EUR",
                          reference=f"ticketing/order/{order_id}", hold_expires_at=now,
                          confirmed_at=now, lines=order_lines)
            session.add(order)
            await session.flush()
            if not issue:
                return order_id, []
            issued = await issue_tickets(session, order, settings=self.settings, now=now)
        return order_id, issued

    # -- catalogue ---------------------------------------------------------------------------

    async def add_slot(self, offering_id: uuid.UUID, *, starts_at: datetime,
                       minutes: int = 60, capacity: int = 40) -> uuid.UUID:
        """A new open slot of a timed offering."""
        async with self.sessions() as session, session.begin():
            offering = await session.get(Offering, offering_id)
            assert offering is not None
            slot = Slot(offering_id=offering_id, tenant=offering.tenant,
                        department=offering.department, starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=minutes), capacity=capacity)
            session.add(slot)
            await session.flush()
            return slot.id

    async def demo(self, *, tenant: str = TENANT, slot_starts_at: datetime | None = None,
                   published: bool = True) -> DemoCatalogue:
        """Write the demo city's catalogue for ``tenant`` (one slot per timed offering)."""
        starts = slot_starts_at or next_weekday_at(10)
        status = "published" if published else "draft"
        async with self.sessions() as session, session.begin():
            museum = Venue(tenant=tenant, department="museum", name="Stadtmuseum")
            pools = Venue(tenant=tenant, department="pools", name="Hallenbad Mitte",
                          max_occupancy=300)
            session.add_all([museum, pools])
            await session.flush()
            exhibition = Offering(
                tenant=tenant, department="museum", cost_centre="MUS-4100", venue_id=museum.id,
                kind="timed", name="Dauerausstellung", status=status,
                cancellable_until_hours=24)
            quota = Quota(name="Ermäßigt", capacity=10)
            exhibition.quotas.append(quota)
            session.add(exhibition)
            await session.flush()
            adult = TicketType(offering_id=exhibition.id, code="adult", name="Erwachsene",
                               price=800, position=0)
            reduced = TicketType(offering_id=exhibition.id, code="reduced", name="Ermäßigt",
                                 price=500, quota_id=quota.id, position=1)
            child = TicketType(offering_id=exhibition.id, code="child", name="Kinder",
                               price=0, quota_id=quota.id, position=2)
            session.add_all([adult, reduced, child])
            session.add(SlotRule(offering_id=exhibition.id, weekdays=[2, 3, 4, 5, 6, 7],
                                 opens_at=time(10), closes_at=time(18), slot_minutes=30,
                                 capacity=40, valid_from=date.today()))
            pool = Offering(
                tenant=tenant, department="pools", cost_centre="BAD-5700", venue_id=pools.id,
                kind="timed", name="Hallenbad", status=status, cancellable_until_hours=24)
            session.add(pool)
            await session.flush()
            p_adult = TicketType(offering_id=pool.id, code="adult", name="Erwachsene",
                                 price=450, position=0)
            p_reduced = TicketType(offering_id=pool.id, code="reduced", name="Ermäßigt",
                                   price=300, position=1)
            p_family = TicketType(offering_id=pool.id, code="family", name="Familie",
                                  price=1100, places=4, position=2)
            session.add_all([p_adult, p_reduced, p_family])
            session.add(SlotRule(offering_id=pool.id, weekdays=[1, 2, 3, 4, 5, 6, 7],
                                 opens_at=time(7), closes_at=time(21), slot_minutes=120,
                                 capacity=120, valid_from=date.today()))
            card = Offering(
                tenant=tenant, department="pools", cost_centre="BAD-5700", venue_id=pools.id,
                kind="pass", name="10er-Karte Hallenbad", status=status, valid_days=365,
                cancellable_until_hours=0)
            session.add(card)
            await session.flush()
            card_type = TicketType(offering_id=card.id, code="ten-visits", name="10er-Karte",
                                   price=4000, visits=10)
            session.add(card_type)
            kulturpass = Offering(
                tenant=tenant, department="museum", cost_centre="MUS-4100",
                venue_id=museum.id, kind="combo", name="Kulturpass", status=status,
                valid_days=365)
            session.add(kulturpass)
            await session.flush()
            kp_type = TicketType(offering_id=kulturpass.id, code="kulturpass",
                                 name="Kulturpass", price=1000)
            kp_type.components.extend([
                ComboComponent(position=0, offering_id=exhibition.id, department="museum",
                               cost_centre="MUS-4100", visits=1, share=600),
                ComboComponent(position=1, offering_id=pool.id, department="pools",
                               cost_centre="BAD-5700", visits=1, share=400),
            ])
            session.add(kp_type)
            await session.flush()
            ex_slot = Slot(offering_id=exhibition.id, tenant=tenant, department="museum",
                           starts_at=starts, ends_at=starts + timedelta(minutes=30),
                           capacity=40)
            pool_slot = Slot(offering_id=pool.id, tenant=tenant, department="pools",
                             starts_at=starts, ends_at=starts + timedelta(hours=2),
                             capacity=120)
            session.add_all([ex_slot, pool_slot])
            await session.flush()
            return DemoCatalogue(
                museum_venue=museum.id, pools_venue=pools.id, exhibition=exhibition.id,
                exhibition_slot=ex_slot.id, museum_adult=adult.id, museum_reduced=reduced.id,
                museum_child=child.id, reduced_quota=quota.id, indoor_pool=pool.id,
                pool_slot=pool_slot.id, pool_adult=p_adult.id, pool_reduced=p_reduced.id,
                pool_family=p_family.id, ten_visit_card=card.id, ten_visit_type=card_type.id,
                kulturpass=kulturpass.id, kulturpass_type=kp_type.id,
            )


@pytest.fixture
def ticketing_app(migrated_url: str, token_factory: TokenFactory) -> Any:
    """``async with ticketing_app(**settings) as harness``: the app with other settings."""

    return harness_starter(TicketingHarness, create_app, partial(ticketing_settings, migrated_url),
                           url=migrated_url, tokens=token_factory, base_url=BASE_URL)


@pytest.fixture
async def ticketing(ticketing_app: Any) -> AsyncIterator[TicketingHarness]:
    """The app with default test settings."""
    async with ticketing_app() as harness:
        yield harness
