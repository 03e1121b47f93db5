"""Queries of the reports slice; PostgreSQL does the counting and summing. Never commits.

Days are local dates in the time zone of the venue of the offering concerned. Each query first
narrows by a UTC window a day wider on both sides (index-friendly), then by the local date.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["RevenueFigures", "SlotFigures", "revenue_figures", "slot_figures"]


@dataclass(frozen=True)
class SlotFigures:
    """One slot's counters, its tickets and admissions."""

    slot_id: uuid.UUID
    offering_id: uuid.UUID
    offering: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: str
    capacity: int
    held: int
    sold: int
    tickets: int
    not_admitted: int
    admitted: int


@dataclass(frozen=True)
class RevenueFigures:
    """A department's sales of one ticket type in one currency."""

    offering_id: uuid.UUID
    offering: str
    sold_by: str
    ticket_type_id: uuid.UUID
    ticket_type: str
    ticket_type_name: str
    combo: bool
    currency: str
    tickets_sold: int
    gross: int
    tickets_refunded: int
    refunded: int


def _window(start: date, end: date) -> dict[str, object]:
    return {
        "start": start, "end": end,
        "lower": datetime.combine(start - timedelta(days=1), time(), tzinfo=UTC),
        "upper": datetime.combine(end + timedelta(days=2), time(), tzinfo=UTC),
    }


# Tickets of a slot: a single ticket names it, a combo names it in its entitlement.
# Admissions: distinct tickets with an admitted entry of the department for the slot.
_SLOTS = text("""
WITH chosen AS (
    SELECT s.id, s.offering_id, o.name AS offering, v.timezone, s.starts_at, s.ends_at,
           s.status, s.capacity, s.held, s.sold
    FROM slots s
    JOIN offerings o ON o.id = s.offering_id
    JOIN venues v ON v.id = o.venue_id
    WHERE s.tenant = :tenant AND s.department = :department
      AND s.starts_at >= :lower AND s.starts_at < :upper
      AND (s.starts_at AT TIME ZONE v.timezone)::date BETWEEN :start AND :end
),
slot_tickets AS (
    SELECT t.slot_id, t.id AS ticket_id
    FROM tickets t JOIN chosen c ON c.id = t.slot_id
    WHERE t.status = 'valid'
    UNION
    SELECT e.slot_id, e.ticket_id
    FROM ticket_entitlements e
    JOIN chosen c ON c.id = e.slot_id
    JOIN tickets t ON t.id = e.ticket_id
    WHERE e.department = :department AND t.status = 'valid'
),
admissions AS (
    SELECT DISTINCT coalesce(e.slot_id, t.slot_id) AS slot_id, k.ticket_id
    FROM checkins k
    JOIN tickets t ON t.id = k.ticket_id
    LEFT JOIN ticket_entitlements e ON e.id = k.entitlement_id
    WHERE k.tenant = :tenant AND k.department = :department
      AND k.direction = 'entry' AND k.outcome = 'admitted'
      AND coalesce(e.slot_id, t.slot_id) IN (SELECT id FROM chosen)
),
per_slot AS (
    SELECT st.slot_id, count(*) AS tickets,
           count(*) FILTER (WHERE a.ticket_id IS NULL) AS not_admitted
    FROM slot_tickets st
    LEFT JOIN admissions a ON a.slot_id = st.slot_id AND a.ticket_id = st.ticket_id
    GROUP BY st.slot_id
),
admitted AS (
    SELECT slot_id, count(*) AS admitted FROM admissions GROUP BY slot_id
)
SELECT c.id, c.offering_id, c.offering, c.timezone, c.starts_at, c.ends_at, c.status,
       c.capacity, c.held, c.sold,
       coalesce(p.tickets, 0) AS tickets, coalesce(p.not_admitted, 0) AS not_admitted,
       coalesce(a.admitted, 0) AS admitted
FROM chosen c
LEFT JOIN per_slot p ON p.slot_id = c.id
LEFT JOIN admitted a ON a.slot_id = c.id
ORDER BY c.starts_at, c.offering, c.id
""")


async def slot_figures(
    session: AsyncSession, tenant: str, department: str, start: date, end: date
) -> list[SlotFigures]:
    """Every slot of ``department`` starting on a local day from ``start`` to ``end``."""
    params = {"tenant": tenant, "department": department, **_window(start, end)}
    result = await session.execute(_SLOTS, params)
    return [SlotFigures(*row) for row in result.all()]


# A plain line counts for its own department with its amount. A combo line whose components'
# shares add up to its unit price counts for every department with a component, with that
# department's shares times the quantity (its seller sees the row even without a component of
# its own); otherwise it counts whole for its seller, as the order's payment items book it.
_REVENUE = text("""
WITH combo_shares AS (
    SELECT ticket_type_id, sum(share) AS total,
           sum(share) FILTER (WHERE department = :department) AS share
    FROM combo_components
    GROUP BY ticket_type_id
),
lines AS (
    SELECT l.*, o.currency, o.status = 'refunded' AS refunded, cs.share,
           coalesce(cs.total = l.unit_price, false) AS split
    FROM order_lines l
    JOIN orders o ON o.id = l.order_id
    JOIN offerings f ON f.id = l.offering_id
    JOIN venues v ON v.id = f.venue_id
    LEFT JOIN combo_shares cs ON cs.ticket_type_id = l.ticket_type_id
    WHERE o.tenant = :tenant AND l.tenant = :tenant
      AND o.status IN ('confirmed', 'cancellation_requested', 'refunded')
      AND o.confirmed_at >= :lower AND o.confirmed_at < :upper
      AND (o.confirmed_at AT TIME ZONE v.timezone)::date BETWEEN :start AND :end
),
parts AS (
    SELECT offering_id, ticket_type_id, department AS sold_by, currency, refunded, quantity,
           split AS combo,
           CASE WHEN split THEN quantity * coalesce(share, 0) ELSE amount END AS amount
    FROM lines
    WHERE department = :department OR (split AND share IS NOT NULL)
)
SELECT p.offering_id, f.name, p.sold_by, p.ticket_type_id, t.code, t.name, p.combo,
       p.currency,
       sum(p.quantity)::bigint AS tickets_sold,
       sum(p.amount)::bigint AS gross,
       coalesce(sum(p.quantity) FILTER (WHERE p.refunded), 0)::bigint AS tickets_refunded,
       coalesce(sum(p.amount) FILTER (WHERE p.refunded), 0)::bigint AS refunded
FROM parts p
JOIN offerings f ON f.id = p.offering_id
JOIN ticket_types t ON t.id = p.ticket_type_id
GROUP BY p.offering_id, f.name, p.sold_by, p.ticket_type_id, t.code, t.name, t.position,
         p.combo, p.currency
ORDER BY f.name, p.offering_id, t.position, t.code, p.currency
""")


async def revenue_figures(
    session: AsyncSession, tenant: str, department: str, start: date, end: date
) -> list[RevenueFigures]:
    """``department``'s sales per ticket type and currency of the orders confirmed on a local
    day from ``start`` to ``end`` that were not cancelled or expired."""
    params = {"tenant": tenant, "department": department, **_window(start, end)}
    result = await session.execute(_REVENUE, params)
    return [RevenueFigures(*row) for row in result.all()]
