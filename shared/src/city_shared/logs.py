"""JSON logs that carry the service, trace, span, correlation and event ids, never personal data.

Log calls pass only technical facts in ``extra`` (ids, types, counts, error class names); messages
are constant strings. Configure once per process in ``create_app`` / ``worker.main()``.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from city_shared.context import current_correlation_id, current_event_id


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self._service
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        record.correlation_id = current_correlation_id()
        record.event_id = current_event_id()
        return True


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Route the root logger to stderr as JSON lines (or plain text for humans)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(trace_id)s "
                "%(span_id)s %(correlation_id)s %(event_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(service)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # aiokafka logs connection failures at ERROR with tracebacks every retry; the relay reports.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL if level != "DEBUG" else "DEBUG")
    # Access logs would print URLs and query strings (they can hold personal data).
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
