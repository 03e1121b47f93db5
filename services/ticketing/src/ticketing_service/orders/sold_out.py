"""A per-process memory of slots seen sold out, so that during a sell-out the buyers who come
after the last place are refused without a catalogue read, an account lock or a slot row lock:
the rush's refusals cost the API a few microseconds and the database nothing.

A slot is remembered for :data:`TTL_SECONDS` when an order found it with no place left (the
slot as read, or a hold that failed with 0 places left). Possibly stale by at most the TTL: a
place freed meanwhile (an unpaid order expiring, a refund, a manager adding capacity) is sold
again once the entry ran out, and a slot closed meanwhile is refused as ``sold_out`` rather
than ``sales_closed`` for that long. Nothing is ever sold because of the memory; it only
refuses, and :func:`ticketing_service.capacity.hold` stays the one guard against overselling.

Each API process has its own memory (``app.state``); they do not need to agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["TTL_SECONDS", "SoldOutSlots"]

TTL_SECONDS: Final = 1.0
"""How long a slot seen sold out is refused from memory."""
MAX_SLOTS: Final = 10_000
"""More remembered slots than this: the expired ones are dropped (all, if none expired)."""


@dataclass
class _Entry:
    until: float
    places: dict[uuid.UUID, int]
    """Places per ticket of the ticket types seen in the refused baskets (for the problem's
    ``places_requested``)."""


@dataclass
class SoldOutSlots:
    """Slots (per tenant) seen with no place left, each for ``ttl`` seconds of ``clock``."""

    ttl: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _slots: dict[tuple[str, uuid.UUID], _Entry] = field(default_factory=dict)

    def remember(self, tenant: str, slot_id: uuid.UUID, places: dict[uuid.UUID, int]) -> None:
        """``slot_id`` had no place left just now; ``places``: places per ticket of the ticket
        types the refused basket wanted of it."""
        now = self.clock()
        if len(self._slots) >= MAX_SLOTS:
            self._slots = {k: e for k, e in self._slots.items() if e.until > now}
            if len(self._slots) >= MAX_SLOTS:
                self._slots.clear()
        entry = self._slots.get((tenant, slot_id))
        if entry is None or entry.until <= now:
            self._slots[(tenant, slot_id)] = _Entry(now + self.ttl, dict(places))
        else:
            entry.until = now + self.ttl
            entry.places.update(places)

    def places_per_ticket(self, tenant: str,
                          slot_id: uuid.UUID) -> dict[uuid.UUID, int] | None:
        """None unless ``slot_id`` was seen sold out less than the TTL ago; then the places per
        ticket of the ticket types seen wanting it (a type not among them: not known)."""
        entry = self._slots.get((tenant, slot_id))
        if entry is None:
            return None
        if entry.until <= self.clock():
            del self._slots[(tenant, slot_id)]
            return None
        return entry.places
