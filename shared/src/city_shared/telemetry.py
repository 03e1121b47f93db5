"""OpenTelemetry tracing: one tracer provider per process, OTLP export when configured.

HTTP (FastAPI) and database (SQLAlchemy) spans come from the contrib instrumentations; Kafka
spans come from the relay (producer) and the consumer, which continue the ``traceparent`` stored
with each event, so a request and the handlers of the events it caused share one trace.
Span attributes never carry personal data: ids of events and aggregates at most.

Spans cost CPU only where something exports them (ADR 0017): while the process's provider has
no span processor (no ``CITY_OTLP_ENDPOINT``, no exporter given), every span is dropped at its
start (a non-recording span that still has a trace id and a span id, so ``traceparent`` values
stored with events and continued by consumers stay valid), and database statements are not
instrumented at all. With an exporter, the SDK's sampler decides, configured by the standard
``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` environment variables (default
``parentbased_always_on``; e.g. ``parentbased_traceidratio`` and ``0.05`` records 5 % of the
journeys, whole, and follows the caller's decision for the rest).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["instrument_app", "instrument_engine", "is_exporting", "setup_tracing"]


class _WhileExporting(Sampler):
    """Drops every span until the provider has a span processor; then asks ``configured``."""

    def __init__(self, configured: Sampler) -> None:
        self.configured = configured
        self.exporting = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = self.configured if self.exporting else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                     trace_state)

    def get_description(self) -> str:
        return f"WhileExporting{{{self.configured.get_description()}}}"


class _PlatformTracerProvider(TracerProvider):
    """The SDK provider whose spans are recorded only once a span processor is added."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource=resource)  # the sampler the OTEL_TRACES_SAMPLER* env names
        self._gate = _WhileExporting(self.sampler)
        self.sampler = self._gate

    @property
    def exporting(self) -> bool:
        return self._gate.exporting

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self._gate.exporting = True


def setup_tracing(
    service_name: str, *, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install the process's tracer provider (once) and attach an exporter if given or configured.

    A second call in the same process (tests build many apps) reuses the installed provider and
    only adds the new exporter. Spans are recorded from the first span processor on, whoever
    adds it (this function or ``provider.add_span_processor``).
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = _PlatformTracerProvider(Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces"))
        )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def is_exporting() -> bool:
    """True if the process's spans can reach an exporter (a provider not installed by
    :func:`setup_tracing`, e.g. by an auto-instrumentation agent, counts as exporting)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, _PlatformTracerProvider):
        return provider.exporting
    return isinstance(provider, TracerProvider)


def instrument_app(app: FastAPI) -> None:
    """Trace every HTTP request of ``app`` (health and metrics endpoints excluded): one server
    span per request, without the child spans of each ASGI ``receive``/``send`` message (a
    request with a streamed upload made dozens of them, and they tell an operator nothing the
    server span's duration does not).

    Always installed, even while nothing exports: the server span (then a cheap non-recording
    one) carries the request's trace, continued from the caller's ``traceparent``, into the
    events the request writes."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics",
                                       exclude_spans=["receive", "send"])


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace the statements of ``engine`` (without their parameters) if spans are exported
    (call it after :func:`setup_tracing`).

    A statement span is a leaf: nothing continues its trace, so without an exporter it would be
    pure cost (about a tenth of an API's CPU per statement-heavy request)."""
    if is_exporting():
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)
