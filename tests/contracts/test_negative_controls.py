"""Negative controls: the contract checks fail when a producer renames or retypes a field a
consumer relies on, so the passing contract tests are not vacuous.

Each control changes a copy of the committed document (the producer's schema and its
examples) the way a careless change of the producer's model would, and runs the same check
the contract tests run."""

from __future__ import annotations

from typing import Any

import pytest

from city_shared.consumer import ANY_TYPE
from tests.contracts.catalogue import (
    CONSUMED,
    NEEDS,
    PUBLISHED,
    Consumed,
    Published,
    consumed_pairs,
)
from tests.contracts.checks import document, problems

_PRODUCERS = sorted({p.producer for p in PUBLISHED})
_ALL_PAIRS = [pair for consumer in sorted({c.consumer for c in CONSUMED})
              for producer in _PRODUCERS
              for pair in consumed_pairs(consumer, producer)]


def _relied_on(consumer: Consumed, event: Published) -> list[str]:
    """The top-level fields the pair relies on: required by the consumer model, or needed."""
    required = set(consumer.model.model_json_schema().get("required", []))
    return sorted(required | NEEDS.get((consumer.handler, event.type), frozenset()))


_CONTROLS = [(consumer, event, name) for consumer, event in _ALL_PAIRS
             for name in _relied_on(consumer, event)]


def _payload_schema(doc: dict[str, Any], event_type: str) -> dict[str, Any]:
    ref = doc["components"]["messages"][event_type]["payload"]["$ref"]
    schema: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def _rename(doc: dict[str, Any], event_type: str, old: str, new: str) -> None:
    """The producer renames data field ``old`` to ``new`` (schema and examples)."""
    schema = _payload_schema(doc, event_type)
    schema["properties"] = {new if k == old else k: v for k, v in schema["properties"].items()}
    schema["required"] = [new if k == old else k for k in schema.get("required", [])]
    for example in doc["components"]["messages"][event_type]["examples"]:
        example["payload"] = {new if k == old else k: v for k, v in example["payload"].items()}


def test_every_pair_has_a_control() -> None:
    controlled = {(c.handler, e.type) for c, e, _ in _CONTROLS}
    uncontrolled = [(c.handler, e.type) for c, e in _ALL_PAIRS
                    if (c.handler, e.type) not in controlled
                    and c.event_type != ANY_TYPE]
    assert uncontrolled == []


@pytest.mark.parametrize(("consumer", "event", "name"), _CONTROLS,
                         ids=[f"{c.handler}<-{e.type}:{n}" for c, e, n in _CONTROLS])
def test_renaming_a_field_the_consumer_relies_on_fails_the_contract(
        consumer: Consumed, event: Published, name: str) -> None:
    doc = document()
    assert problems(doc, consumer, event) == []
    _rename(doc, event.type, name, f"{name}_renamed")
    found = problems(doc, consumer, event)
    assert any(p.startswith(f"{name}:") and "missing in the producer's schema" in p
               for p in found), found
    assert any(p.startswith(f"{event.type}:") for p in found), (
        f"the renamed examples still parse: {found}")


def test_changing_a_field_type_fails_the_contract() -> None:
    """ticketing reads payment.created's ``amount`` as an integer; a string fails."""
    [(consumer, event)] = [(c, e) for c, e in _ALL_PAIRS
                           if c.handler == "on_payment_created" and c.consumer == "ticketing"]
    doc = document()
    _payload_schema(doc, event.type)["properties"]["amount"] = {"type": "string"}
    for example in doc["components"]["messages"][event.type]["examples"]:
        example["payload"]["amount"] = "16,00 EUR"
    found = problems(doc, consumer, event)
    assert any(p.startswith("amount: producer sends string") for p in found), found
    assert any(p.startswith(f"{event.type}: rejected amount") for p in found), found


def test_renaming_a_nested_field_fails_the_contract() -> None:
    """payment reads ``line_items[].cost_centre`` of ticketing's payment request."""
    [(consumer, event)] = [(c, e) for c, e in _ALL_PAIRS
                           if c.handler == "on_payment_requested"]
    doc = document()
    line_item = doc["components"]["schemas"]["ticketing.LineItem"]
    line_item["properties"]["cost_center"] = line_item["properties"].pop("cost_centre")
    line_item["required"] = ["cost_center" if n == "cost_centre" else n
                             for n in line_item["required"]]
    for example in doc["components"]["messages"][event.type]["examples"]:
        for item in example["payload"]["line_items"]:
            item["cost_center"] = item.pop("cost_centre")
    found = problems(doc, consumer, event)
    assert any(p.startswith("line_items[].cost_centre: required by the consumer") for p in found)
    assert any(p.startswith(f"{event.type}: rejected line_items.0.cost_centre") for p in found)


def test_dropping_an_optional_field_a_strict_consumer_reads_fails_the_contract() -> None:
    """ticketing reads ``next_url`` (optional in its model) of payment.created: dropping it
    would silently lose the checkout page."""
    [(consumer, event)] = [(c, e) for c, e in _ALL_PAIRS
                           if c.handler == "on_payment_created" and c.consumer == "ticketing"]
    doc = document()
    _rename(doc, event.type, "next_url", "checkout_url")
    found = problems(doc, consumer, event)
    assert any(p.startswith("next_url: read by the consumer") for p in found), found
