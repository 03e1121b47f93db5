"""Use cases of tickets: issue the tickets of a confirmed order, void them, read them (list,
one, the page a citizen prints) and publish the keys that verify them. Check-in lives in
:mod:`ticketing_service.tickets.checkin`. Never commits; writes events to the outbox.

Ticket validity:

- timed (a slot): one entitlement (the line's department, offering and slot, 1 visit), valid
  from ``checkin_early_minutes`` before the slot starts until it ends;
- pass: one entitlement with the ticket type's ``visits``, valid ``valid_days`` from issue;
- combo: one entitlement per combo component (its department, offering and visits), valid
  ``valid_days`` from issue.

``valid_days`` missing on a pass or combo falls back to :data:`DEFAULT_VALID_DAYS`.

Codes are 12 characters of Crockford base32 from :mod:`secrets` (60 bits). Issuing does not
retry on a (unique) code collision: with a million tickets in the table the chance that a new
code collides is about 1e-12, and for the whole million about 4e-7; a collision would fail the
confirming transaction, which the consumer retries with fresh codes.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.envelope import Event
from city_shared.pagination import Cursor, next_page
from ticketing_service.access import OrderVisibility
from ticketing_service.catalogue.models import Offering, Slot, TicketType, Venue
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.settings import TicketingSettings
from ticketing_service.tickets import events, repository
from ticketing_service.tickets.errors import (
    TicketCredentialsForbidden,
    TicketNotFound,
)
from ticketing_service.tickets.models import Entitlement, Ticket
from ticketing_service.tickets.qr import svg_data_uri
from ticketing_service.tickets.repository import Catalogue
from ticketing_service.tickets.schemas import (
    EntitlementRead,
    IssuedTicket,
    PriceInfo,
    TicketList,
    TicketPage,
    TicketRead,
    VenueInfo,
)
from ticketing_service.tickets.signing import TicketSigner, claims_for
from ticketing_service.topics import TICKETS

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_VALID_DAYS",
    "get_ticket",
    "issue_tickets",
    "list_tickets",
    "new_code",
    "normalise_code",
    "qr_payload",
    "signer",
    "ticket_page",
    "ticket_read",
    "tickets_used",
    "void_tickets",
]

CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I L O U
CODE_LENGTH: Final = 12
DEFAULT_VALID_DAYS: Final = 365
_TYPED_ALIASES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """A fresh ticket code (60 random bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """A typed-in code as stored: upper case, without spaces and dashes, with the letters
    Crockford reads as digits (O -> 0, I/L -> 1) replaced."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -\t")
    return cleaned.translate(_TYPED_ALIASES)


@lru_cache(maxsize=8)
def _signer(seeds: tuple[str, ...]) -> TicketSigner:
    return TicketSigner(seeds)


def signer(settings: TicketingSettings) -> TicketSigner:
    """The signer of ``settings``' keys (built once per key set)."""
    return _signer(tuple(k.get_secret_value() for k in settings.ticket_signing_keys))


def qr_payload(ticket: Ticket, settings: TicketingSettings) -> str:
    """The signed payload of ``ticket`` (what its QR code encodes). Deterministic: Ed25519
    signatures are, so the same ticket always gives the same payload under the same key."""
    departments = list(dict.fromkeys(e.department for e in ticket.entitlements))
    claims = claims_for(ticket.id, ticket.code, ticket.tenant, departments, ticket.valid_from,
                        ticket.valid_until)
    return signer(settings).sign(claims)


def _page_url(ticket_id: uuid.UUID, settings: TicketingSettings) -> str:
    return f"{settings.base_url}/tickets/{ticket_id}"


# -- issuing -------------------------------------------------------------------------------------


def _validity(offering: Offering, slot: Slot | None, *, settings: TicketingSettings,
              now: datetime) -> tuple[datetime, datetime]:
    if offering.kind == "timed" and slot is not None:
        return (slot.starts_at - timedelta(minutes=settings.checkin_early_minutes),
                slot.ends_at)
    return now, now + timedelta(days=offering.valid_days or DEFAULT_VALID_DAYS)


def _entitlements(line: OrderLine, offering: Offering,
                  ticket_type: TicketType) -> list[Entitlement]:
    if offering.kind == "combo" and ticket_type.components:
        return [Entitlement(department=c.department, offering_id=c.offering_id, slot_id=None,
                            visits_total=c.visits, visits_used=0)
                for c in ticket_type.components]
    if offering.kind == "pass":
        return [Entitlement(department=line.department, offering_id=offering.id, slot_id=None,
                            visits_total=ticket_type.visits, visits_used=0)]
    return [Entitlement(department=line.department, offering_id=offering.id,
                        slot_id=line.slot_id, visits_total=1, visits_used=0)]


async def _catalogue_of(session: AsyncSession, tickets: list[Ticket]) -> Catalogue:
    return await repository.load_catalogue(
        session,
        offering_ids={t.offering_id for t in tickets}
        | {e.offering_id for t in tickets for e in t.entitlements},
        ticket_type_ids={t.ticket_type_id for t in tickets},
        slot_ids={t.slot_id for t in tickets},
        line_ids={t.order_line_id for t in tickets},
    )


def _issued(ticket: Ticket, catalogue: Catalogue, settings: TicketingSettings) -> IssuedTicket:
    slot = catalogue.slots.get(ticket.slot_id) if ticket.slot_id else None
    return IssuedTicket(
        ticket_id=ticket.id, code=ticket.code, department=ticket.department,
        offering_name=catalogue.offerings[ticket.offering_id].name,
        ticket_type_name=catalogue.ticket_types[ticket.ticket_type_id].name,
        starts_at=slot.starts_at if slot else None, ends_at=slot.ends_at if slot else None,
        valid_from=ticket.valid_from, valid_until=ticket.valid_until,
        visits=sum(e.visits_total for e in ticket.entitlements),
        qr_payload=qr_payload(ticket, settings), page_url=_page_url(ticket.id, settings),
    )


async def issue_tickets(session: AsyncSession, order: Order, *, settings: TicketingSettings,
                        now: datetime, caused_by: Event | None = None) -> list[IssuedTicket]:
    """Create the tickets of a just-confirmed order: ``quantity`` tickets per order line, each
    with its entitlements, and one ``city.ticketing.ticket.issued.v1`` each on
    ``ticketing.tickets`` (outbox).

    Idempotent: an order that already has tickets gets them back, nothing new written; both
    calls list them in the same order (line position, then code). Locks the order's row first,
    so two concurrent calls for one order cannot both issue. Does not check the order's status
    (the caller confirms it in the same transaction). ``order.lines`` must be loaded.
    """
    await repository.lock_order(session, order.id)
    existing = await repository.tickets_of_order(session, order.id)
    if existing:
        catalogue = await _catalogue_of(session, existing)
        return [_issued(t, catalogue, settings) for t in existing]

    lines = list(order.lines)
    catalogue = await repository.load_catalogue(
        session, offering_ids={line.offering_id for line in lines},
        ticket_type_ids={line.ticket_type_id for line in lines},
        slot_ids={line.slot_id for line in lines})
    tickets: list[Ticket] = []
    for line in sorted(lines, key=lambda item: item.position):
        offering = catalogue.offerings[line.offering_id]
        ticket_type = catalogue.ticket_types[line.ticket_type_id]
        slot = catalogue.slots.get(line.slot_id) if line.slot_id else None
        valid_from, valid_until = _validity(offering, slot, settings=settings, now=now)
        for _ in range(line.quantity):
            ticket = Ticket(
                id=uuid.uuid4(), tenant=order.tenant, department=line.department,
                order_id=order.id, order_line_id=line.id, offering_id=line.offering_id,
                ticket_type_id=line.ticket_type_id, slot_id=line.slot_id, code=new_code(),
                status="valid", holder_account_id=order.account_id, valid_from=valid_from,
                valid_until=valid_until, issued_at=now,
                entitlements=_entitlements(line, offering, ticket_type),
            )
            session.add(ticket)
            tickets.append(ticket)
    await session.flush()
    # The order a repeated call returns them in (line, then code), so both calls agree.
    positions = {line.id: line.position for line in lines}
    tickets.sort(key=lambda t: (positions[t.order_line_id], t.code))
    for ticket in tickets:
        data = events.TicketIssuedData(
            ticket_id=ticket.id, order_id=order.id, tenant=ticket.tenant,
            department=ticket.department, offering_id=ticket.offering_id,
            ticket_type_id=ticket.ticket_type_id, code=ticket.code,
            valid_from=ticket.valid_from, valid_until=ticket.valid_until,
            entitlements=[events.EntitlementData(department=e.department,
                                                 offering_id=e.offering_id,
                                                 visits=e.visits_total)
                          for e in ticket.entitlements],
        )
        await outbox.add(session, TICKETS, events.ticket_event(
            events.ISSUED, ticket.id, ticket.tenant, ticket.department, data, caused_by))
    return [_issued(t, catalogue, settings) for t in tickets]


async def void_tickets(session: AsyncSession, order: Order, *, reason: str, now: datetime,
                       caused_by: Event | None = None,
                       departments: Iterable[str] | None = None) -> int:
    """Void the order's valid tickets (``city.ticketing.ticket.voided.v1`` each); with
    ``departments`` only those sold by or admitting to one of them. Returns how many this call
    voided. Idempotent: already voided tickets are left alone and announced once. ``reason``
    is stored cut to 64 characters."""
    reason = reason[:64]
    voided = await repository.void_valid_tickets(session, order.id, reason=reason, now=now,
                                                 departments=departments)
    for ticket in voided:
        data = events.TicketVoidedData(ticket_id=ticket.id, order_id=order.id,
                                       tenant=ticket.tenant, reason=reason)
        await outbox.add(session, TICKETS, events.ticket_event(
            events.VOIDED, ticket.id, ticket.tenant, ticket.department, data, caused_by))
    return len(voided)


async def tickets_used(session: AsyncSession, order: Order) -> bool:
    """True once any ticket of ``order`` has admitted someone (a pass or combo is then no
    longer cancellable by the citizen)."""
    return await repository.any_visit_used(session, order.id)


# -- reading -------------------------------------------------------------------------------------


def _departments(ticket: Ticket) -> set[str]:
    return {ticket.department} | {e.department for e in ticket.entitlements}


def ticket_read(ticket: Ticket, catalogue: Catalogue, settings: TicketingSettings,
                v: OrderVisibility | None = None) -> TicketRead:
    """The API view of ``ticket`` (``catalogue`` must hold its rows); without its code if
    ``v`` may not read the ticket's credentials."""
    slot = catalogue.slots.get(ticket.slot_id) if ticket.slot_id else None
    voided = ticket.status != "valid"
    entitlements = [
        EntitlementRead(
            department=e.department, offering_id=e.offering_id,
            offering_name=catalogue.offerings[e.offering_id].name, slot_id=e.slot_id,
            visits_total=e.visits_total, visits_used=e.visits_used,
            visits_left=0 if voided else e.visits_left)
        for e in ticket.entitlements]
    page_url = _page_url(ticket.id, settings)
    return TicketRead(
        ticket_id=ticket.id,
        code=ticket.code if v is None or v.may_read_credentials(_departments(ticket)) else None,
        status="voided" if voided else "valid",
        tenant=ticket.tenant, department=ticket.department, order_id=ticket.order_id,
        offering_id=ticket.offering_id,
        offering_name=catalogue.offerings[ticket.offering_id].name,
        ticket_type_id=ticket.ticket_type_id,
        ticket_type_name=catalogue.ticket_types[ticket.ticket_type_id].name,
        slot_id=ticket.slot_id, starts_at=slot.starts_at if slot else None,
        ends_at=slot.ends_at if slot else None, valid_from=ticket.valid_from,
        valid_until=ticket.valid_until, issued_at=ticket.issued_at,
        voided_at=ticket.voided_at, void_reason=ticket.void_reason,
        visits_left=sum(e.visits_left for e in entitlements), entitlements=entitlements,
        qr_png_url=f"{page_url}/qr.png", page_url=page_url,
    )


async def get_ticket(session: AsyncSession, v: OrderVisibility,
                     ticket_id: uuid.UUID) -> Ticket:
    """The ticket if the caller may see it.

    :raises TicketNotFound: (404) also when it exists but is not the caller's to see.
    """
    ticket = await repository.visible_ticket(session, v, ticket_id)
    if ticket is None:
        raise TicketNotFound()
    return ticket


async def _ticket_with_credentials(session: AsyncSession, v: OrderVisibility,
                                   ticket_id: uuid.UUID) -> Ticket:
    """:raises TicketNotFound: (404) see :func:`get_ticket`.
    :raises TicketCredentialsForbidden: (403) ``v`` sees the ticket but not its code."""
    ticket = await get_ticket(session, v, ticket_id)
    if not v.may_read_credentials(_departments(ticket)):
        raise TicketCredentialsForbidden()
    return ticket


async def read_ticket(session: AsyncSession, v: OrderVisibility, ticket_id: uuid.UUID,
                      settings: TicketingSettings) -> TicketRead:
    """:raises TicketNotFound: (404) see :func:`get_ticket`."""
    ticket = await get_ticket(session, v, ticket_id)
    return ticket_read(ticket, await _catalogue_of(session, [ticket]), settings, v)


async def list_tickets(
    session: AsyncSession, v: OrderVisibility, settings: TicketingSettings, *,
    status: str | None = None, department: str | None = None,
    order_id: uuid.UUID | None = None, cursor: str | None = None, limit: int = 20,
) -> TicketList:
    """Visible tickets, newest first, a page of ``limit``.

    :raises InvalidCursor: (422) ``cursor`` is not one this API handed out.
    """
    rows = await repository.list_tickets(session, v, status=status, department=department,
                                         order_id=order_id, after=Cursor.parse(cursor),
                                         limit=limit)
    page, next_cursor = next_page(rows, limit, lambda t: Cursor(t.issued_at, t.id))
    catalogue = await _catalogue_of(session, page)
    return TicketList(items=[ticket_read(t, catalogue, settings, v) for t in page],
                      next_cursor=next_cursor)


async def ticket_page(session: AsyncSession, v: OrderVisibility, ticket_id: uuid.UUID,
                      settings: TicketingSettings) -> TicketPage:
    """Everything a ticket page or PDF needs: the ticket, venue, price, the QR payload and
    the QR code as an SVG data URI.

    :raises TicketNotFound: (404) see :func:`get_ticket`.
    :raises TicketCredentialsForbidden: (403) a reader who may not read its code.
    """
    ticket = await _ticket_with_credentials(session, v, ticket_id)
    catalogue = await _catalogue_of(session, [ticket])
    offering = catalogue.offerings[ticket.offering_id]
    venue = await session.get(Venue, offering.venue_id)
    assert venue is not None  # a foreign key
    line = catalogue.lines.get(ticket.order_line_id)
    ticket_type = catalogue.ticket_types[ticket.ticket_type_id]
    payload = qr_payload(ticket, settings)
    return TicketPage(
        ticket=ticket_read(ticket, catalogue, settings),
        venue=VenueInfo(id=venue.id, name=venue.name, address=venue.address),
        price=PriceInfo(amount=line.unit_price if line else ticket_type.price,
                        currency=offering.currency),
        qr_payload=payload, qr_svg_data_uri=svg_data_uri(payload),
    )


async def ticket_payload(session: AsyncSession, v: OrderVisibility, ticket_id: uuid.UUID,
                         settings: TicketingSettings) -> str:
    """The signed QR payload of a visible ticket.

    :raises TicketNotFound: (404) see :func:`get_ticket`.
    :raises TicketCredentialsForbidden: (403) a reader who may not read its code.
    """
    return qr_payload(await _ticket_with_credentials(session, v, ticket_id), settings)
