"""What counts as a transient infrastructure fault, and how the backbone waits one out.

A transient fault is one the code cannot fix and time usually does: PostgreSQL or Kafka
unreachable, restarting, recovering, a connection cut mid-statement, a consumer-group
rebalance. The backbone (consumer, relay, worker tasks) waits these out with capped
exponential backoff and never dead-letters a record because of them; everything else is either
a bad record (dead letters) or a programming error (the worker stops, loudly).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import asyncpg
from aiokafka import errors as kafka_errors
from sqlalchemy import exc as sa_exc

_DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # connection refused, reset, does not exist
    asyncpg.CannotConnectNowError,  # the server is starting up or recovering
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,  # a fail-over moved the primary
    asyncpg.InterfaceError,  # the connection was closed under the statement
    asyncpg.InternalClientError,  # e.g. "cannot switch to state 12" after a cut connection
    sa_exc.TimeoutError,  # the pool found no connection in time
)

#: Subclasses of the classes above that are about the input or the code, not the infrastructure.
_NOT_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,  # an argument of the wrong type (an InterfaceError subclass)
    FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
)

#: Kafka errors that time does not fix: a wrong configuration, a refused authorization, a record
#: the broker will never take.
_KAFKA_PERMANENT: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConfigurationError,
    kafka_errors.IllegalArgumentError,
    kafka_errors.IllegalOperation,
    kafka_errors.RecordTooLargeError,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.UnsupportedVersionError,
    kafka_errors.UnsupportedCodecError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.AuthenticationFailedError,
)


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps (SQLAlchemy's ``orig``, ``__cause__``, ``__context__``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend([orig if isinstance(orig, BaseException) else None,
                     current.__cause__, current.__context__])


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or what it wraps) is an infrastructure fault that retrying after a
    pause can overcome: database or broker unreachable, restarting or recovering."""
    for cause in causes(error):
        if isinstance(cause, _NOT_FAULTS):
            return False
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        # OSError: refused, reset, timed out (ConnectionError and TimeoutError are OSErrors)
        if isinstance(cause, (*_DATABASE_FAULTS, OSError)):
            return True
        if isinstance(cause, kafka_errors.KafkaError) and not isinstance(cause, _KAFKA_PERMANENT):
            return True
    return False


class Backoff:
    """Capped exponential backoff: ``initial``, doubling, at most ``maximum`` seconds."""

    def __init__(self, initial: float = 0.2, maximum: float = 10.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.next = initial

    def reset(self) -> None:
        self.next = self.initial

    async def wait(self, *stops: asyncio.Event) -> bool:
        """Sleep the next delay, or less if one of ``stops`` is set; True if one was set."""
        delay, self.next = self.next, min(self.next * 2, self.maximum)
        return await wait_any(delay, *stops)


async def wait_any(timeout: float, *events: asyncio.Event) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` passed; True if an event was set."""
    if any(event.is_set() for event in events):
        return True
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return any(event.is_set() for event in events)
