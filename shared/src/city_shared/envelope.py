"""CloudEvents 1.0 envelope and its Kafka binary-mode binding.

Attributes travel in ``ce_*`` headers, the JSON data is the record value, ``content-type`` is
``application/json`` and the record key is the aggregate id (``subject``), so one aggregate's
events stay on one partition. The binding itself is the ``cloudevents`` SDK's.
"""

from __future__ import annotations

import builtins
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage, from_binary, to_binary
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from city_shared.context import current_correlation_id

EVENT_TYPE_PATTERN = r"^city\.[a-z][a-z0-9-]*(\.[a-z][a-z0-9_-]*){1,3}\.v[1-9][0-9]*$"
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_CORE = ("id", "type", "source", "subject", "time")
_EXTENSIONS = ("tenant", "department", "correlationid", "causationid", "traceparent")
_REQUIRED_HEADERS = (
    "ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time",
    "ce_tenant", "ce_correlationid",
)
_PROPAGATOR = TraceContextTextMapPropagator()

M = TypeVar("M", bound=BaseModel)


class MalformedEvent(Exception):
    """A Kafka record that is not a valid event of this platform (goes to the dead letters)."""


class Event(BaseModel):
    """One CloudEvent as the platform uses it; immutable once built.

    ``id`` is the deduplication key everywhere. ``correlationid`` is shared by every event of one
    user journey; ``causationid`` is the id of the event or request that caused this one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    source: str = Field(pattern=r"^/[a-z][a-z0-9-]*$")
    subject: str = Field(min_length=1, max_length=200)
    time: datetime
    tenant: str = Field(min_length=1, max_length=63)
    department: str | None = None
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = None
    traceparent: str | None = None
    data: dict[str, JsonValue]

    def parse(self, model: builtins.type[M]) -> M:
        """The data read through a consumer's narrow model (tolerant reader: extra fields ignored).

        Raises ``pydantic.ValidationError`` when the fields the consumer needs are missing.
        """
        return model.model_validate(self.data)


def new_event(
    *,
    type: str,
    source: str,
    subject: str,
    tenant: str,
    data: BaseModel,
    department: str | None = None,
    caused_by: Event | None = None,
    correlation_id: str | None = None,
) -> Event:
    """Build an event stamped with the current journey and trace.

    The correlation id comes from ``caused_by`` if given, else from ``correlation_id``, else from
    the task context (set by the HTTP middleware or the consumer), else a new UUID. The trace
    context is the current span's, so the consumer continues this trace.
    """
    if caused_by is not None:
        correlation = caused_by.correlationid
        causation: str | None = str(caused_by.id)
    else:
        correlation = correlation_id or current_correlation_id() or str(uuid.uuid4())
        causation = None
    return Event(
        type=type,
        source=source,
        subject=subject,
        time=datetime.now(UTC),
        tenant=tenant,
        department=department,
        correlationid=correlation,
        causationid=causation,
        traceparent=current_traceparent(),
        data=data.model_dump(mode="json"),
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside a recorded trace."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def to_kafka(event: Event) -> KafkaMessage:
    """The binary-mode Kafka record (headers, key, value) of an event."""
    attributes = event.model_dump(mode="json", exclude={"data"}, exclude_none=True)
    return _binary(attributes, event.data, _dump_json)


def stored_to_kafka(attributes: dict[str, Any], data_json: str) -> KafkaMessage:
    """The Kafka record of an event stored by the outbox, without parsing its data again.

    ``attributes`` are the event's attributes as :func:`city_shared.outbox.add` stored them
    (validated then) and ``data_json`` the stored JSON text of its data, sent as the value.
    """
    return _binary(attributes, data_json, _encode_text)


def _binary(
    attributes: dict[str, Any], data: Any, marshaller: Callable[[Any], bytes]
) -> KafkaMessage:
    cloud_attributes = {
        **{name: attributes[name] for name in _CORE if name in attributes},
        **{name: attributes[name] for name in _EXTENSIONS if attributes.get(name) is not None},
        "datacontenttype": "application/json",
        "partitionkey": attributes["subject"],
    }
    return to_binary(CloudEvent.create(cloud_attributes, data), data_marshaller=marshaller)


def from_kafka(
    headers: Sequence[tuple[str, bytes]], key: bytes | None, value: bytes | None
) -> Event:
    """Parse a binary-mode record; raises :class:`MalformedEvent` with a reason if it is not one."""
    if value is None:
        raise MalformedEvent("record has no value")
    header_map = {name.lower(): raw for name, raw in headers}
    # The SDK invents an id and a time when they are missing; an event without them is malformed.
    missing = [name for name in _REQUIRED_HEADERS if name not in header_map]
    if missing:
        raise MalformedEvent(f"missing headers: {', '.join(missing)}")
    try:
        message = KafkaMessage(headers=header_map, key=key, value=value)
        cloud_event = from_binary(message, data_unmarshaller=json.loads)
    except Exception as exc:  # the SDK raises several unrelated types for bad input
        raise MalformedEvent(f"not a binary-mode CloudEvent: {type(exc).__name__}") from exc
    if cloud_event.get("specversion") != "1.0":
        raise MalformedEvent("specversion must be 1.0")
    content_type = cloud_event.get("datacontenttype")
    if content_type is not None and not str(content_type).startswith("application/json"):
        raise MalformedEvent("content-type must be application/json")
    if not _EVENT_TYPE.match(str(cloud_event.get("type", ""))):
        raise MalformedEvent("type does not follow city.<service>.<aggregate>.<event>.v<major>")
    fields: dict[str, Any] = {
        name: cloud_event.get(name)
        for name in ("id", "type", "source", "subject", "time", *_EXTENSIONS)
    }
    fields["data"] = cloud_event.get_data()
    try:
        return Event.model_validate(fields)
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise MalformedEvent(f"invalid attributes: {', '.join(names)}") from exc


def _encode_text(data: Any) -> bytes:
    return str(data).encode()


def _dump_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
