"""JSON logs carry service, trace, span, correlation and event ids."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from city_shared.context import set_correlation_id, set_event_id
from city_shared.logs import configure_logging


def test_a_log_line_is_json_with_the_ids_of_the_trace_and_the_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("payment", level="INFO", json=True)
    tracer = TracerProvider().get_tracer("test")
    set_correlation_id("journey-1")
    set_event_id("6c4f1a0e-0000-4000-8000-000000000001")
    try:
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("city.test").info("payment captured", extra={"attempt": 2})
            context = span.get_span_context()
    finally:
        set_event_id(None)
        logging.getLogger().handlers.clear()

    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "payment captured"
    assert line["level"] == "INFO"
    assert line["service"] == "payment"
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert line["correlation_id"] == "journey-1"
    assert line["event_id"] == "6c4f1a0e-0000-4000-8000-000000000001"
    assert line["attempt"] == 2
