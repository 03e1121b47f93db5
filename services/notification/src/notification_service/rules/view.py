"""The worker's in-memory view of the rules: which ``(tenant, event type)`` has an enabled rule.

Most events on the citizen topics (an order placed, a payment created) have no rule: no one is
told about them. The worker asks this view first, in memory, and skips such an event before
opening a transaction (no inbox row, no statement; its offset is committed all the same). An
event the view lets through goes to the handler, which reads the exact rule (the department's
own, else the tenant-wide one) from the database as before, so the view only has to be a
superset: it holds every pair with at least one enabled rule, of any department.

Freshness: the view is read again every ``rules_refresh_seconds`` (5 s by default). A rule
created or enabled just now takes effect for events consumed after the next refresh, so an
event consumed within that interval of the change may still be skipped; a rule deleted or
disabled takes effect at once (the handler reads the database). Until the first read succeeds
every event is let through; a failed read keeps the last view and is tried again next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.envelope import Event
from city_shared.faults import is_transient
from notification_service.rules.models import Rule

__all__ = ["RuleView"]

log = logging.getLogger(__name__)


class RuleView:
    """``accepts(event)``: might a rule match this event? Refreshed by :meth:`run`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 refresh_seconds: float = 5.0) -> None:
        self._sessions = sessions
        self._refresh_seconds = refresh_seconds
        self._keys: frozenset[tuple[str, str]] | None = None

    @property
    def loaded(self) -> bool:
        """Whether the rules were read at least once (before that every event is accepted)."""
        return self._keys is not None

    def accepts(self, event: Event) -> bool:
        """False only if no enabled rule of the event's tenant names its type."""
        keys = self._keys
        return keys is None or (event.tenant, event.type) in keys

    async def refresh(self) -> None:
        """Read the enabled rules' ``(tenant, event type)`` pairs (one statement)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Rule.tenant, Rule.event_type).where(Rule.enabled).distinct())
            self._keys = frozenset((tenant, event_type) for tenant, event_type in rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``refresh_seconds`` until ``stop`` is set; a database fault keeps the
        last view."""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("rules view not refreshed; keeping the last one",
                            extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._refresh_seconds)
