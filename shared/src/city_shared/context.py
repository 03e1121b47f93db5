"""Per-task context that travels with a user journey: the correlation id.

The HTTP middleware sets it from ``X-Correlation-ID`` (or a new one) and the consumer sets it from
the event it handles, so every event written meanwhile carries the journey's correlation id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_correlation_id() -> str | None:
    """The correlation id of the journey this task works for, if one is set."""
    return _CORRELATION_ID.get()


def set_correlation_id(value: str | None) -> str:
    """Set the task's correlation id; an absent or unsafe value is replaced by a new UUID."""
    cid = value if value is not None and _VALID.match(value) else str(uuid.uuid4())
    _CORRELATION_ID.set(cid)
    return cid


@contextmanager
def correlation_scope(value: str | None) -> Iterator[str]:
    """Within the block the task's correlation id is ``value`` (kept as it is when None, a new
    one when there is none); the previous value is restored afterwards."""
    chosen = value or current_correlation_id()
    token = _CORRELATION_ID.set(chosen if chosen and _VALID.match(chosen) else str(uuid.uuid4()))
    try:
        yield _CORRELATION_ID.get() or ""
    finally:
        _CORRELATION_ID.reset(token)


_EVENT_ID: ContextVar[str | None] = ContextVar("event_id", default=None)


def current_event_id() -> str | None:
    """The id of the event the current task is handling, if any (for log lines)."""
    return _EVENT_ID.get()


def set_event_id(value: str | None) -> None:
    """Mark the task as handling the event ``value`` (None when done)."""
    _EVENT_ID.set(value)
