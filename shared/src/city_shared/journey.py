"""Resuming a user journey where nothing carries it: a provider's webhook, a browser coming back
to a payment page, a periodic job acting on an aggregate.

An aggregate that starts a journey stores :func:`capture` (the correlation id and the W3C
``traceparent`` of the moment it was created). Whoever later changes it on its own initiative
wraps the change in :func:`resume`: events written inside carry the journey's correlation id
and continue its trace, and the new span links to the span that triggered it (the webhook
request), so both traces stay navigable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from city_shared.context import correlation_scope, current_correlation_id
from city_shared.envelope import current_traceparent

__all__ = ["JourneyContext", "capture", "resume"]

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("city_shared.journey")


@dataclass(frozen=True)
class JourneyContext:
    """What identifies a journey: its correlation id and where its trace stands."""

    correlation_id: str | None
    traceparent: str | None


def capture() -> JourneyContext:
    """The current task's journey (to store with an aggregate that starts or joins one)."""
    return JourneyContext(current_correlation_id(), current_traceparent())


@contextmanager
def resume(name: str, journey: JourneyContext) -> Iterator[None]:
    """Run the block as part of ``journey``: its correlation id is the task's, and a span
    ``name`` is a child of the journey's trace with a link to the current span. Without a
    stored trace the span simply continues the current one. Restores both afterwards."""
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if current.is_valid else []
    token = None
    if journey.traceparent:
        token = otel_context.attach(_PROPAGATOR.extract({"traceparent": journey.traceparent}))
    try:
        with correlation_scope(journey.correlation_id), \
                _tracer.start_as_current_span(name, links=links):
            yield
    finally:
        if token is not None:
            otel_context.detach(token)
