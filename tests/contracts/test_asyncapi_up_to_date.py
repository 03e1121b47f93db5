"""docs/asyncapi.yaml is what the producers' models generate, and a structurally valid
AsyncAPI 3.0 document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contracts.asyncapi import DOCUMENT, REGENERATE, render
from tests.contracts.catalogue import PUBLISHED, TOPICS
from tests.contracts.checks import committed

_COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


def test_committed_document_is_what_the_models_generate() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert text == render(), f"docs/asyncapi.yaml is stale; regenerate it: {REGENERATE}"


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _target(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _validity_problems(doc: dict[str, Any]) -> list[str]:
    """What makes ``doc`` no AsyncAPI 3.0 document (the structural rules of the spec that
    matter here: required fields, resolvable references, operations on their channel's
    messages, component keys)."""
    problems = []
    if doc.get("asyncapi") != "3.0.0":
        problems.append("asyncapi must be 3.0.0")
    info = doc.get("info", {})
    problems += [f"info.{key} missing" for key in ("title", "version") if not info.get(key)]
    for where, ref in _refs(doc):
        try:
            _target(doc, ref)
        except AssertionError:
            problems.append(f"{where}: $ref {ref} does not resolve")
    for name, channel in doc.get("channels", {}).items():
        if "address" not in channel:
            problems.append(f"channel {name}: no address")
        for key, message in channel.get("messages", {}).items():
            if set(message) != {"$ref"} or not message["$ref"].startswith("#/components/"):
                problems.append(f"channel {name} message {key}: not a component reference")
    for name, operation in doc.get("operations", {}).items():
        if operation.get("action") not in ("send", "receive"):
            problems.append(f"operation {name}: action must be send or receive")
        channel_ref = operation.get("channel", {}).get("$ref", "")
        if not channel_ref.startswith("#/channels/"):
            problems.append(f"operation {name}: channel must reference #/channels/...")
        for message in operation.get("messages", []):
            # AsyncAPI 3.0: an operation's messages are a subset of its channel's.
            if not message.get("$ref", "").startswith(f"{channel_ref}/messages/"):
                problems.append(f"operation {name}: {message} is not a message of its channel")
    components = doc.get("components", {})
    for section, entries in components.items():
        problems += [f"components.{section}.{key}: invalid key" for key in entries
                     if not _COMPONENT_KEY.match(key)]
    for name, message in components.get("messages", {}).items():
        if "payload" not in message:
            problems.append(f"message {name}: no payload")
        for example in message.get("examples", []):
            if not ({"headers", "payload"} & set(example)):
                problems.append(f"message {name}: an example needs headers or payload")
    return problems


def test_document_is_structurally_valid_asyncapi_3() -> None:
    assert _validity_problems(committed()) == []


def test_validity_check_finds_a_dangling_reference() -> None:
    """Negative control of the structural check: it is not vacuous."""
    doc = committed()
    doc["channels"]["ticketing.orders"]["messages"]["city.ticketing.order.placed.v1"] = {
        "$ref": "#/components/messages/city.ticketing.order.placed.v9"}
    doc["operations"]["ticketing.send.ticketing.orders"]["channel"] = {
        "$ref": "#/channels/ticketing.order"}
    problems = _validity_problems(doc)
    assert any("placed.v9 does not resolve" in p for p in problems)
    assert any("#/channels/ticketing.order does not resolve" in p for p in problems)


def test_one_channel_per_topic_and_one_message_per_event_type() -> None:
    doc = committed()
    assert {c["address"] for c in doc["channels"].values()} == {t.name for t in TOPICS}
    assert set(doc["components"]["messages"]) == {p.type for p in PUBLISHED}
    for entry in PUBLISHED:
        assert entry.type in doc["channels"][entry.topic]["messages"], entry.type
        send = doc["operations"][f"{entry.producer}.send.{entry.topic}"]
        assert {"$ref": f"#/channels/{entry.topic}/messages/{entry.type}"} in send["messages"]


@pytest.mark.parametrize("entry", PUBLISHED, ids=lambda e: e.type)
def test_message_payload_is_the_producer_model_schema(entry: Any) -> None:
    doc = committed()
    payload = _target(doc, doc["components"]["messages"][entry.type]["payload"]["$ref"])
    schema = entry.model.model_json_schema(mode="serialization")
    assert payload["title"] == schema["title"]
    assert payload["properties"].keys() == schema["properties"].keys()
    assert payload.get("required") == schema.get("required")
