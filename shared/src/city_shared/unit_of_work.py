"""The unit of work: the one owner of a transaction (ADR 0011).

One HTTP request, one job run or one consumed event is one unit of work: it begins a session,
the use case changes aggregates and records their events, and the unit of work commits when
the use case returns or rolls back when it raises. Nothing else commits (``grep
"session.commit()" services/*/src`` finds nothing).

- :func:`unit_of_work` is the unit for jobs, consumers and seeds: ``async with
  unit_of_work(sessions) as session: ...``.
- :class:`city_shared.request_work.RequestWorkMiddleware` is the unit of one HTTP request (it
  also keeps the request's ``Idempotency-Key`` record inside the same transaction); routes get
  its session through :data:`city_shared.request_work.SessionDep`.
- :class:`RecordsEvents` is the mixin of aggregates: ``order.record(topic, event)`` where the
  transition happens; :func:`commit` writes every recorded event of the session's aggregates to
  the outbox in the same transaction, so an event exists exactly when its change is committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction, object_session

from city_shared import outbox
from city_shared.envelope import Event
from city_shared.faults import is_transient

__all__ = [
    "RecordsEvents", "close", "commit", "rollback", "unit_of_work", "write_recorded_events",
]

_RECORDED = "city_shared.recorded_events"


class RecordsEvents:
    """Mixin for aggregates (ORM classes) whose transitions publish events.

    The aggregate's own method records the event where the rule is (``self.record(ORDERS,
    event)``); the unit of work writes it to the outbox when it commits, in the order events
    were recorded. Events are held by the session the aggregate belongs to (or by the
    aggregate until it is added to one), so an aggregate that is flushed and forgotten before
    the commit still publishes; a rollback drops them.
    """

    def record(self, topic: str, event: Event) -> None:
        """Publish ``event`` on ``topic`` when (and only if) this unit of work commits."""
        session = object_session(self)
        if session is not None:
            _queue(session).append((topic, event))
        else:
            self.__dict__.setdefault(_RECORDED, []).append((topic, event))


def _queue(session: Session) -> list[tuple[str, Event]]:
    queue: list[tuple[str, Event]] = session.info.setdefault(_RECORDED, [])
    return queue


@listens_for(Session, "transient_to_pending")
def _adopt_recorded_events(session: Session, instance: object) -> None:
    """An aggregate added to a session hands it the events it recorded before."""
    pending = instance.__dict__.pop(_RECORDED, None) if isinstance(instance, RecordsEvents) \
        else None
    if pending:
        _queue(session).extend(pending)


_SAVEPOINTS = "city_shared.recorded_events.savepoints"


@listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint remembers how many events were recorded when it began."""
    if transaction.nested:
        marks: dict[int, int] = session.info.setdefault(_SAVEPOINTS, {})
        marks[id(transaction)] = len(session.info.get(_RECORDED, ()))


@listens_for(Session, "after_soft_rollback")
def _drop_recorded_events(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rollback drops what was recorded in what it rolled back: since the savepoint began,
    or everything."""
    mark = session.info.get(_SAVEPOINTS, {}).pop(id(previous_transaction), None)
    if previous_transaction.nested and mark is not None:
        del _queue(session)[mark:]
    else:
        session.info.pop(_RECORDED, None)
        session.info.pop(_SAVEPOINTS, None)


async def write_recorded_events(session: AsyncSession) -> int:
    """Write the events recorded in the session to the outbox, oldest first; return how many."""
    recorded = session.sync_session.info.pop(_RECORDED, [])
    await outbox.add_all(session, recorded)
    return len(recorded)


async def commit(session: AsyncSession) -> None:
    """Write the recorded events, then commit: the only commit of the platform's services."""
    await write_recorded_events(session)
    await session.commit()


async def rollback(session: AsyncSession) -> None:
    """Roll back; a connection lost to an outage has no transaction left to roll back (it is
    dropped from the pool instead)."""
    try:
        await session.rollback()
    except Exception as exc:
        if not is_transient(exc):
            raise
        await session.invalidate()


async def close(session: AsyncSession) -> None:
    """Close the session, rolling back what is open; a lost connection is dropped."""
    try:
        await session.close()
    except Exception as exc:
        if not is_transient(exc):
            raise
        await session.invalidate()


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends normally and rolls back when it
    raises (any exception, cancellation included)."""
    session = sessions()
    try:
        yield session
        await commit(session)
    finally:
        await close(session)
