"""Check-in at the gate: one scan (QR payload or typed code) gets one answer, recorded for audit,
and venue occupancy. Never commits.

Entry outcomes, checked in this order: ``invalid_signature`` (the payload does not verify with
a published key; nothing else is told), ``unknown`` (no such ticket in the tenant, or a
verified payload whose ticket does not exist), ``voided``, ``cancelled`` (its order is not
``confirmed``: the citizen cancelled and the refund is pending), ``wrong_department`` (no
entitlement for the scanning department), ``not_valid_now`` (outside ``valid_from`` ..
``valid_until``), ``already_used`` (no visit left), ``admitted`` (one visit used, the venue's
``present`` + 1, ``ticket.checked_in`` published). Entries are not refused when the venue is
over ``max_occupancy``: occupancy is shown to staff, who decide.

Exit outcomes: ``exited`` when the ticket is inside by the log (more admitted entries than
counted exits in this department): the venue's ``present`` - 1, never below zero;
``not_admitted`` when it was never admitted there or has already left (nothing changes; the
gate may still let the person out); ``invalid_signature`` / ``unknown`` / ``wrong_department``
as for entries. Voided tickets may exit.

Idempotent per scan: the first answer to a ``scan_id`` is stored with a hash of the request and
returned again for the same request, however the ticket changed since; another request with
that ``scan_id`` is refused (422 ``scan_id_reused``). A transaction-scoped advisory lock on the
scan id serialises concurrent retries of one scan. Concurrent scans of one ticket with
different scan ids are safe because a visit is used by one conditional UPDATE
(:func:`repository.admit`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.auth import Principal
from city_shared.errors import Forbidden
from ticketing_service.access import READ_SCOPE, require_gate
from ticketing_service.catalogue.models import Offering, Venue
from ticketing_service.settings import TicketingSettings
from ticketing_service.tickets import events, repository
from ticketing_service.tickets.errors import ScanIdReused, VenueNotFound
from ticketing_service.tickets.models import CheckIn, Entitlement, Ticket
from ticketing_service.tickets.schemas import (
    CheckInCreate,
    CheckInRead,
    CheckInTicket,
    GateOutcome,
    OccupancyRead,
)
from ticketing_service.tickets.service import normalise_code, signer
from ticketing_service.tickets.signing import InvalidPayload, verify
from ticketing_service.topics import TICKETS

__all__ = ["check_in", "occupancy"]

_LOCK_NAMESPACE: Final = "ticketing.checkin:"


def _request_hash(data: CheckInCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _lock_scan(session: AsyncSession, tenant: str, scan_id: str) -> None:
    key = f"{_LOCK_NAMESPACE}{tenant}:{scan_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def _resolve(session: AsyncSession, tenant: str, data: CheckInCreate,
                   settings: TicketingSettings) -> Ticket | GateOutcome:
    """The scanned ticket, or the outcome that says why there is none."""
    if data.payload is not None:
        try:
            claims = verify(data.payload, signer(settings).jwks())
        except InvalidPayload:
            return "invalid_signature"
        if claims.tn != tenant:
            return "unknown"
        ticket = await repository.ticket_by_id(session, tenant, claims.tid)
        if ticket is None or ticket.code != claims.c:
            return "unknown"
        return ticket
    assert data.code is not None
    ticket = await repository.ticket_by_code(session, tenant, normalise_code(data.code))
    return "unknown" if ticket is None else ticket


async def _venue_of(session: AsyncSession, data: CheckInCreate,
                    entitlement: Entitlement | None) -> uuid.UUID | None:
    if data.venue_id is not None:
        return data.venue_id
    if entitlement is None:
        return None
    offering = await session.get(Offering, entitlement.offering_id)
    return offering.venue_id if offering is not None else None


async def _check_venue(session: AsyncSession, tenant: str, data: CheckInCreate) -> None:
    if data.venue_id is None:
        return
    venue = await session.get(Venue, data.venue_id)
    if venue is None or venue.tenant != tenant or venue.department != data.department:
        raise VenueNotFound()


async def _inside(session: AsyncSession, ticket_id: uuid.UUID, department: str) -> bool:
    """True if the ticket's admitted entries in ``department`` outnumber its exits there."""
    rows = await session.execute(
        select(CheckIn.outcome, func.count())
        .where(CheckIn.ticket_id == ticket_id, CheckIn.department == department,
               CheckIn.outcome.in_(("admitted", "exited")))
        .group_by(CheckIn.outcome))
    counts = {outcome: int(n) for outcome, n in rows.tuples()}
    return counts.get("admitted", 0) > counts.get("exited", 0)


async def _entry(session: AsyncSession, ticket: Ticket, entitlement: Entitlement | None,
                 now: datetime) -> tuple[GateOutcome, int]:
    if ticket.status != "valid":
        return "voided", 0
    if await repository.share_lock_order_status(session, ticket.order_id) != "confirmed":
        return "cancelled", 0
    if entitlement is None:
        return "wrong_department", 0
    if not ticket.valid_from <= now <= ticket.valid_until:
        return "not_valid_now", entitlement.visits_left
    left = await repository.admit(session, entitlement.id)
    if left is None:
        return "already_used", 0
    return "admitted", left


async def check_in(session: AsyncSession, principal: Principal, data: CheckInCreate, *,
                   settings: TicketingSettings, now: datetime) -> CheckInRead:
    """Answer one scan at a gate of ``data.department`` and record it (see the module doc).

    :raises Forbidden: (403) the caller is not gate staff (gatekeeper, manager) there.
    :raises ScanIdReused: (422) ``scan_id`` was used for a different request.
    :raises VenueNotFound: (404) ``venue_id`` is not a venue of that department.
    """
    require_gate(principal, data.department)
    tenant = principal.tenant
    request_hash = _request_hash(data)
    await _lock_scan(session, tenant, data.scan_id)
    previous = await repository.checkin_by_scan(session, tenant, data.scan_id)
    if previous is not None:
        if previous.request_hash != request_hash:
            raise ScanIdReused()
        return CheckInRead.model_validate(previous.response)
    await _check_venue(session, tenant, data)

    resolved = await _resolve(session, tenant, data, settings)
    ticket = resolved if isinstance(resolved, Ticket) else None
    entitlement = None
    visits_left = 0
    venue_id = data.venue_id
    if ticket is None:
        assert not isinstance(resolved, Ticket)
        outcome: GateOutcome = resolved
    else:
        entitlement = next((e for e in ticket.entitlements if e.department == data.department),
                           None)
        venue_id = await _venue_of(session, data, entitlement)
        if data.direction == "entry":
            outcome, visits_left = await _entry(session, ticket, entitlement, now)
            if outcome == "admitted" and venue_id is not None:
                await repository.increment_present(session, venue_id, now)
        elif entitlement is None:
            outcome = "wrong_department"
        else:
            await repository.lock_ticket(session, ticket.id)
            visits_left = 0 if ticket.status != "valid" else entitlement.visits_left
            if await _inside(session, ticket.id, data.department):
                outcome = "exited"
                if venue_id is not None:
                    await repository.decrement_present(session, venue_id, now)
            else:
                outcome = "not_admitted"

    answer = CheckInRead(
        scan_id=data.scan_id, outcome=outcome, scanned_at=now,
        ticket=None if ticket is None else CheckInTicket(
            ticket_id=ticket.id, code=ticket.code,
            ticket_type_name=await repository.ticket_type_name(session, ticket.ticket_type_id),
            visits_left=visits_left),
    )
    session.add(CheckIn(
        tenant=tenant, scan_id=data.scan_id, department=data.department, venue_id=venue_id,
        ticket_id=ticket.id if ticket else None,
        entitlement_id=entitlement.id if entitlement else None, direction=data.direction,
        outcome=outcome, gate=data.gate, scanned_by=principal.sub, request_hash=request_hash,
        response=answer.model_dump(mode="json"), scanned_at=now))
    if outcome == "admitted" and ticket is not None:
        data_ = events.TicketCheckedInData(ticket_id=ticket.id, tenant=tenant,
                                           department=data.department, venue_id=venue_id,
                                           visits_left=visits_left)
        await outbox.add(session, TICKETS, events.ticket_event(
            events.CHECKED_IN, ticket.id, tenant, data.department, data_))
    await session.flush()
    return answer


async def occupancy(session: AsyncSession, principal: Principal,
                    venue_id: uuid.UUID) -> OccupancyRead:
    """People inside the venue now.

    :raises VenueNotFound: (404) no such venue in the caller's tenant.
    :raises Forbidden: (403) neither staff of the venue's department, a tenant admin nor a
        client with ``ticketing:read``.
    """
    venue = await repository.venue(session, principal.tenant, venue_id)
    if venue is None:
        raise VenueNotFound()
    allowed = (principal.kind == "client" and principal.has_scope(READ_SCOPE)) or (
        principal.kind == "staff"
        and (principal.is_admin("tenant") or venue.department in principal.departments_with()))
    if not allowed:
        raise Forbidden(f"Occupancy of '{venue.department}' venues is for its staff.",
                        extra={"department": venue.department})
    return OccupancyRead(venue_id=venue.id, present=venue.present,
                         max_occupancy=venue.max_occupancy, updated_at=venue.updated_at)
