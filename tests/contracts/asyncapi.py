"""Generate ``docs/asyncapi.yaml`` (AsyncAPI 3.0) from the producers' pydantic models.

One channel per Kafka topic, one message per event type (its data schema from the producer's
model, its example from the model's ``examples`` sent through the real CloudEvents Kafka
binding), the CloudEvents headers documented once, a ``send`` operation per producing service
and topic and a ``receive`` operation per consuming service and topic (from
:mod:`tests.contracts.catalogue`, checked against the services' subscriptions).

Rewrite the committed document with ``make asyncapi``
(``uv run --frozen python -m tests.contracts.asyncapi``); a test fails while it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import yaml

from city_shared.consumer import ANY_TYPE
from city_shared.envelope import EVENT_TYPE_PATTERN, Event
from tests.contracts.catalogue import (
    CONSUMED,
    PUBLISHED,
    TOPICS,
    Published,
    examples,
    kafka_example,
)

__all__ = ["DOCUMENT", "REGENERATE", "build", "render"]

DOCUMENT: Final = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
REGENERATE: Final = "make asyncapi  (uv run --frozen python -m tests.contracts.asyncapi)"
KAFKA_BINDING: Final = "0.5.0"
HEADERS: Final = "CloudEventHeaders"

_HEADER_DESCRIPTIONS: Final[dict[str, str]] = {
    "id": "UUID of the event; the deduplication key everywhere.",
    "type": "`city.<service>.<aggregate>.<event>.v<major>` (commands: "
            "`city.<service>.<command>.v<major>`).",
    "source": "`/<service>` of the producer.",
    "subject": "The aggregate id; also the record key.",
    "time": "When the event happened (RFC 3339).",
    "tenant": "The tenant (city) the event belongs to.",
    "department": "The department, when the event belongs to exactly one.",
    "correlationid": "One per user journey, carried into every event it causes.",
    "causationid": "Id of the event or request that caused this one.",
    "traceparent": "W3C trace context of the producing span.",
}
_REQUIRED_HEADERS: Final = ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject",
                            "ce_time", "ce_tenant", "ce_correlationid", "content-type")


def _headers_schema() -> dict[str, Any]:
    """The CloudEvents binary-mode headers (``ce_*``), from the envelope model's constraints."""
    event = Event.model_json_schema()["properties"]
    properties: dict[str, Any] = {
        "ce_specversion": {"type": "string", "const": "1.0",
                           "description": "CloudEvents version."},
        "content-type": {"type": "string", "const": "application/json",
                         "description": "The record value is the JSON `data`."},
    }
    for name, description in _HEADER_DESCRIPTIONS.items():
        field = event[name]
        variant = next((v for v in field.get("anyOf", [field]) if v.get("type") == "string"),
                       field)
        header: dict[str, Any] = {"type": "string", "description": description}
        for key in ("format", "pattern", "minLength", "maxLength"):
            if key in variant:
                header[key] = variant[key]
        properties[f"ce_{name}"] = header
    properties["ce_type"]["pattern"] = EVENT_TYPE_PATTERN
    return {
        "type": "object",
        "description": "CloudEvents 1.0, Kafka protocol binding, binary content mode: the "
                       "attributes travel as `ce_*` record headers, the record value is the "
                       "JSON `data`, the record key is `subject`.",
        "required": list(_REQUIRED_HEADERS),
        "properties": properties,
    }


def _schema_name(entry: Published, model_name: str) -> str:
    return f"{entry.producer}.{model_name}"


def _add_schemas(schemas: dict[str, Any], entry: Published) -> str:
    """Put the data schema of ``entry`` (and its nested models) into ``schemas``; returns its
    name. Nested models are named ``<producer>.<Model>``; two different schemas of one name
    are an error."""
    prefix = _schema_name(entry, "")
    schema = entry.model.model_json_schema(
        mode="serialization", ref_template=f"#/components/schemas/{prefix}{{model}}")
    found = {f"{prefix}{name}": sub for name, sub in schema.pop("$defs", {}).items()}
    found[_schema_name(entry, entry.model.__name__)] = schema
    for name, sub in found.items():
        if name in schemas and schemas[name] != sub:
            raise ValueError(f"two different schemas named {name}")
        schemas[name] = sub
    return _schema_name(entry, entry.model.__name__)


def _message(entry: Published, payload: str) -> dict[str, Any]:
    records = []
    for index, data in enumerate(examples(entry), start=1):
        headers, key, value = kafka_example(entry, data)
        records.append({"name": f"example{index}", "summary": f"record key: {key}",
                        "headers": headers, "payload": json.loads(value)})
    return {
        "name": entry.type,
        "title": entry.type,
        "summary": entry.summary,
        "description": (f"{'Command' if entry.command else 'Event'} published by "
                        f"{entry.producer} (source `{entry.source}`) on `{entry.topic}`; "
                        f"subject and record key: `data.{entry.subject}`."),
        "contentType": "application/json",
        "headers": {"allOf": [
            {"$ref": f"#/components/schemas/{HEADERS}"},
            {"type": "object", "properties": {"ce_type": {"const": entry.type},
                                              "ce_source": {"const": entry.source}}},
        ]},
        "payload": {"$ref": f"#/components/schemas/{payload}"},
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": {
            "key": {"type": "string", "description": f"subject: data.{entry.subject}"},
            "bindingVersion": KAFKA_BINDING,
        }},
        "examples": records,
    }


def build() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every published event and command."""
    schemas: dict[str, Any] = {HEADERS: _headers_schema()}
    messages: dict[str, Any] = {}
    for entry in PUBLISHED:
        messages[entry.type] = _message(entry, _add_schemas(schemas, entry))
    channels: dict[str, Any] = {}
    for topic in TOPICS:
        types = [e.type for e in PUBLISHED if e.topic == topic.name]
        channels[topic.name] = {
            "address": topic.name,
            "description": f"{topic.description} Owned (provisioned) by {topic.owner}.",
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
            "bindings": {"kafka": {"topic": topic.name, "bindingVersion": KAFKA_BINDING}},
        }
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        producers = sorted({e.producer for e in PUBLISHED if e.topic == topic.name})
        for service in producers:
            sent = [e.type for e in PUBLISHED if e.topic == topic.name and e.producer == service]
            operations[f"{service}.send.{topic.name}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic.name}"},
                "summary": f"{service} publishes (through its outbox) on {topic.name}.",
                "messages": [{"$ref": f"#/channels/{topic.name}/messages/{t}"} for t in sent],
            }
    for topic in TOPICS:
        consumers = sorted({c.consumer for c in CONSUMED if c.topic == topic.name})
        for service in consumers:
            read = [c for c in CONSUMED if c.topic == topic.name and c.consumer == service]
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic.name}"},
                "summary": f"{service} handles "
                           + ("every event" if any(c.event_type == ANY_TYPE for c in read)
                              else "these events") + f" of {topic.name}.",
            }
            if not any(c.event_type == ANY_TYPE for c in read):
                operation["messages"] = [
                    {"$ref": f"#/channels/{topic.name}/messages/{c.event_type}"}
                    for c in read]
            operations[f"{service}.receive.{topic.name}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "City platform events",
            "version": "1.0.0",
            "description": (
                "Every event and command the services publish on Kafka. Generated from the "
                "producers' pydantic models by `tests/contracts/asyncapi.py` (`make asyncapi`); "
                "do not edit by hand. Format rules: shared/ARCHITECTURE.md, section Events; "
                "catalogue with consumers and delivery semantics: docs/events.md."),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render() -> str:
    """The YAML text of :func:`build` as committed."""
    header = ("# Generated by `make asyncapi` from the producers' pydantic models "
              "(tests/contracts/asyncapi.py).\n# Do not edit by hand.\n")
    body: str = yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=100)
    return header + body


def main() -> None:
    DOCUMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCUMENT}")


if __name__ == "__main__":
    main()
