"""Transactional outbox: events are written in the caller's transaction, never sent from a request.

:func:`add` inserts the event into the service's ``outbox`` table in the session's open
transaction, so the event exists exactly when the state change it describes was committed.
The relay (:mod:`city_shared.relay`) publishes committed rows to Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import column, table
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.envelope import Event

_OUTBOX = table(
    "outbox",
    column("event_id", UUID(as_uuid=True)),
    column("topic"),
    column("key"),
    column("event_type"),
    column("attributes", JSONB),
    column("data", JSONB),
)

# Built once (constructing the statement per event costs more CPU than executing it).
_INSERT = _OUTBOX.insert()


async def add(session: AsyncSession, topic: str, event: Event) -> None:
    """Write ``event`` for ``topic`` into the outbox within the session's transaction.

    Does not commit. The record key will be ``event.subject`` (the aggregate id). Adding the
    same event id twice violates the unique constraint: an event is published once.
    """
    await add_all(session, [(topic, event)])


async def add_all(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    """Write ``events`` ((topic, event) pairs) into the outbox in this order, as one
    statement executed for all of them (one round trip); otherwise as :func:`add`."""
    if not events:
        return
    await session.execute(_INSERT, [_row(topic, event) for topic, event in events])


def _row(topic: str, event: Event) -> dict[str, object]:
    attributes = event.model_dump(mode="json", exclude={"data"}, exclude_none=True)
    return {"event_id": event.id, "topic": topic, "key": event.subject,
            "event_type": event.type, "attributes": attributes, "data": event.data}
