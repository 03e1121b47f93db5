"""OpenTelemetry tracing: one tracer provider per process, OTLP export when configured.

HTTP (FastAPI) and database (SQLAlchemy) spans come from the contrib instrumentations; Kafka
spans come from the relay (producer) and the consumer, which continue the ``traceparent`` stored
with each event, so a request and the handlers of the events it caused share one trace.
Span attributes never carry personal data: ids of events and aggregates at most.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine


def setup_tracing(
    service_name: str, *, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install the process's tracer provider (once) and attach an exporter if given or configured.

    A second call in the same process (tests build many apps) reuses the installed provider and
    only adds the new exporter.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces"))
        )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_app(app: FastAPI) -> None:
    """Trace every HTTP request of ``app`` (health and metrics endpoints excluded): one server
    span per request, without the child spans of each ASGI ``receive``/``send`` message (a
    request with a streamed upload made dozens of them, and they tell an operator nothing the
    server span's duration does not)."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics",
                                       exclude_spans=["receive", "send"])


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace the statements of ``engine`` (without their parameters)."""
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)
