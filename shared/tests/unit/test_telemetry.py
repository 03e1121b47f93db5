"""Tracing costs nothing much where nothing exports spans, yet every request still has a trace
that events carry and consumers continue (ADR 0017). Each case runs in a fresh interpreter: the
tracer provider is process-wide and, once set, stays."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

_PROLOGUE = """
import json
from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel
from city_shared.db import create_engine
from city_shared.envelope import new_event
from city_shared.telemetry import instrument_engine, setup_tracing

class Data(BaseModel):
    n: int

def journey():
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("request") as request:
        recording = request.is_recording()
        event = new_event(type="city.test.thing.happened.v1", source="/t", subject="s",
                          tenant="t", data=Data(n=1))
    parent = TraceContextTextMapPropagator().extract({"traceparent": event.traceparent})
    with tracer.start_as_current_span("handler", context=parent) as handler:
        pass
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    instrument_engine(engine)
    return {
        "request_recording": recording,
        "request_trace": f"{request.get_span_context().trace_id:032x}",
        "traceparent": event.traceparent,
        "handler_trace": f"{handler.get_span_context().trace_id:032x}",
        "statements_traced": SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry,
    }
"""


def _run(body: str) -> dict[str, object]:
    script = _PROLOGUE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_without_an_exporter_nothing_is_recorded_but_the_trace_continues() -> None:
    seen = _run("""
        setup_tracing("t")
        print(json.dumps(journey()))
    """)

    assert seen["request_recording"] is False
    assert seen["statements_traced"] is False
    version, trace_id, span_id, flags = str(seen["traceparent"]).split("-")
    assert (version, trace_id, len(span_id)) == ("00", seen["request_trace"], 16)
    assert int(trace_id, 16) != 0
    assert int(span_id, 16) != 0
    assert not int(flags, 16) & 1  # not sampled: nobody downstream records it either
    assert seen["handler_trace"] == seen["request_trace"]  # a consumer continues the trace


def test_with_an_exporter_every_span_is_recorded_and_exported() -> None:
    seen = _run("""
        exporter = InMemorySpanExporter()
        provider = setup_tracing("t", exporter=exporter)
        result = journey()
        provider.force_flush()
        result["exported"] = sorted(span.name for span in exporter.get_finished_spans())
        print(json.dumps(result))
    """)

    assert seen["request_recording"] is True
    assert seen["statements_traced"] is True
    assert int(str(seen["traceparent"]).split("-")[3], 16) & 1  # sampled
    assert seen["handler_trace"] == seen["request_trace"]
    assert seen["exported"] == ["handler", "request"]


def test_the_standard_sampler_variables_decide_once_something_exports() -> None:
    seen = _run("""
        import os
        os.environ["OTEL_TRACES_SAMPLER"] = "always_off"
        provider = setup_tracing("t", exporter=InMemorySpanExporter())
        result = journey()
        result["sampler"] = provider.sampler.get_description()
        print(json.dumps(result))
    """)

    assert seen["request_recording"] is False
    assert "AlwaysOffSampler" in str(seen["sampler"])
    assert seen["handler_trace"] == seen["request_trace"]
