"""Resuming a journey: a later, unrelated request writes events in the journey's correlation and
trace, and its span stays linked to the request that triggered it."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from city_shared.context import correlation_scope, current_correlation_id
from city_shared.envelope import new_event
from city_shared.journey import JourneyContext, capture, resume
from city_shared.telemetry import setup_tracing


class _Data(BaseModel):
    n: int


def _event() -> object:
    return new_event(type="city.test.thing.happened.v1", source="/test", subject="s",
                     tenant="t", data=_Data(n=1))


def test_a_resumed_journey_keeps_its_correlation_and_trace_and_links_the_trigger() -> None:
    exporter = InMemorySpanExporter()
    provider = setup_tracing("journey-test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = trace.get_tracer("test")

    with correlation_scope("journey-1"), tracer.start_as_current_span("order placed") as start:
        stored = capture()
    journey_trace = start.get_span_context().trace_id
    assert stored.correlation_id == "journey-1"

    with correlation_scope("webhook-7"), tracer.start_as_current_span("webhook") as webhook:
        with resume("payment outcome", stored):
            event = _event()
        after = current_correlation_id()

    assert event.correlationid == "journey-1"  # type: ignore[attr-defined]
    assert event.traceparent.split("-")[1] == f"{journey_trace:032x}"  # type: ignore[attr-defined]
    assert after == "webhook-7"  # restored
    [resumed] = [s for s in exporter.get_finished_spans() if s.name == "payment outcome"]
    assert resumed.context.trace_id == journey_trace
    assert [link.context.span_id for link in resumed.links] == [
        webhook.get_span_context().span_id]


def test_without_a_stored_trace_the_current_trace_continues() -> None:
    setup_tracing("journey-test")
    tracer = trace.get_tracer("test")
    with correlation_scope("req"), tracer.start_as_current_span("request") as request, \
            resume("job", JourneyContext(None, None)):
        event = _event()
    assert event.correlationid == "req"  # type: ignore[attr-defined]
    assert event.traceparent.split("-")[1] == (  # type: ignore[attr-defined]
        f"{request.get_span_context().trace_id:032x}")
