"""The worker's in-memory view of the rules: which ``(tenant, event type)`` has an enabled rule.

Most events on the citizen topics (an order placed, a payment created) have no rule: no one is
told about them. The worker asks this view first, in memory, and skips such an event before
opening a transaction (no inbox row, no statement; its offset is committed all the same). An
event the view lets through goes to the handler, which reads the exact rule (the department's
own, else the tenant-wide one) from the database as before, so the view only has to be a
superset: it holds every pair with at least one enabled rule, of any department.

Freshness is pushed, not polled. Every statement that changes ``rules`` fires a PostgreSQL
notification on :data:`RULES_CHANNEL` (trigger of migration 0004) when it commits. The view
LISTENs on a connection of its own; a notification empties the view at once (every event is let
through to the handler, which reads the database) and the view is read again. So a rule created
or enabled is honoured for every event consumed after PostgreSQL delivered its commit's
notification (milliseconds), not after a polling interval: an event caused by a later action
travels through another service's outbox, its relay and Kafka before it gets here. (An earlier
version polled every 5 s and skipped a case's receipt e-mail when the demo seed created the
rules 1.3 s before the case was submitted.)

Whenever the view cannot be sure it is current it lets everything through: before the first
read, after a notification until the next read finished, and while the listening connection is
lost (it reconnects with back-off). ``refresh_seconds`` is the safety net: the view is read again
at that interval on the listening connection, which also proves the connection alive.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import asyncpg

from city_shared.envelope import Event
from city_shared.faults import Backoff, is_transient, wait_any

__all__ = ["RULES_CHANNEL", "VIEW_APPLICATION_NAME", "RuleView"]

log = logging.getLogger(__name__)

#: The channel migration 0004's trigger notifies on every change of ``rules``.
RULES_CHANNEL: Final = "notification_rules"

#: How the listening connection shows in ``pg_stat_activity``.
VIEW_APPLICATION_NAME: Final = "notification-rules-view"

_ENABLED_PAIRS: Final = "SELECT DISTINCT tenant, event_type FROM rules WHERE enabled"


class RuleView:
    """``accepts(event)``: might a rule match this event? Kept current by :meth:`run`."""

    def __init__(self, dsn: str, *, refresh_seconds: float = 5.0,
                 channel: str = RULES_CHANNEL) -> None:
        self._dsn = dsn
        self._refresh_seconds = refresh_seconds
        self._channel = channel
        self._keys: frozenset[tuple[str, str]] | None = None
        self._generation = 0
        self._changed = asyncio.Event()

    @property
    def loaded(self) -> bool:
        """Whether the view is current (else every event is accepted)."""
        return self._keys is not None

    def accepts(self, event: Event) -> bool:
        """False only if no enabled rule of the event's tenant names its type."""
        keys = self._keys
        return keys is None or (event.tenant, event.type) in keys

    def _invalidate(self, *_: object) -> None:
        """A change was committed, or the connection that would hear of one is gone."""
        self._generation += 1
        self._keys = None
        self._changed.set()

    async def _read(self, conn: asyncpg.Connection) -> None:
        """Read the enabled pairs; a change heard while reading means reading again."""
        while True:
            generation = self._generation
            rows = await conn.fetch(_ENABLED_PAIRS)
            if generation == self._generation:
                self._keys = frozenset((row["tenant"], row["event_type"]) for row in rows)
                return

    async def run(self, stop: asyncio.Event) -> None:
        """Listen and keep the view current until ``stop`` is set; a database fault empties
        the view (everything passes) until the connection is back."""
        backoff = Backoff(1.0, 30.0)
        while not stop.is_set():
            try:
                await self._listen(stop, backoff)
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, asyncpg.PostgresError)):
                    raise
                self._invalidate()
                log.warning("rules view lost its database connection; every event goes to "
                            "the rules until it is back", extra={"error": type(exc).__name__})
                await backoff.wait(stop)

    async def _listen(self, stop: asyncio.Event, backoff: Backoff) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": VIEW_APPLICATION_NAME})
        try:
            conn.add_termination_listener(self._invalidate)
            # Listen before the first read, so that no change can fall between the two.
            await conn.add_listener(self._channel, self._invalidate)
            backoff.reset()
            while not stop.is_set():
                self._changed.clear()
                await self._read(conn)
                await wait_any(self._refresh_seconds, stop, self._changed)
        finally:
            self._keys = None
            try:
                await conn.close(timeout=5)
            except Exception:  # a cut connection cannot close politely
                conn.terminate()

