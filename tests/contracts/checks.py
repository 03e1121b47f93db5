"""The contract checks of one (consumer handler, event type) pair against the AsyncAPI
document as the producers' models generate it now (the one committed as ``docs/asyncapi.yaml``
is checked to be the same): the producer's published schema and examples. Using the generated
document means a producer's change fails its consumers' tests at once, not only after
``make asyncapi``."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import yaml

from city_shared.consumer import ANY_TYPE
from tests.contracts.asyncapi import DOCUMENT, render
from tests.contracts.catalogue import NEEDS, Consumed, Published, consumed_pairs
from tests.contracts.compat import example_problems, incompatibilities

__all__ = ["Record", "assert_reads", "committed", "document", "pair_id", "pairs", "problems",
           "records"]

Record = tuple[dict[str, str], str, bytes]


@functools.cache
def _generated() -> dict[str, Any]:
    # Through YAML, so the checks see exactly what the committed text says.
    loaded: dict[str, Any] = yaml.safe_load(render())
    return loaded


def document() -> dict[str, Any]:
    """A copy of the generated AsyncAPI document (safe to change)."""
    return copy.deepcopy(_generated())


def committed() -> dict[str, Any]:
    """The committed ``docs/asyncapi.yaml``, parsed."""
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def records(doc: dict[str, Any], event_type: str) -> list[Record]:
    """The message examples of ``event_type`` as Kafka records (headers, key, value)."""
    out = []
    for example in doc["components"]["messages"][event_type]["examples"]:
        headers = {k: str(v) for k, v in example["headers"].items()}
        value = json.dumps(example["payload"], separators=(",", ":")).encode()
        out.append((headers, headers["ce_subject"], value))
    return out


def problems(doc: dict[str, Any], consumer: Consumed, event: Published) -> list[str]:
    """Everything the pair's consumer cannot read in ``doc``'s schema and examples of the
    event type (empty: the contract holds)."""
    needs = NEEDS.get((consumer.handler, event.type), frozenset())
    payload = doc["components"]["messages"][event.type]["payload"]
    found = incompatibilities(consumer.model, payload, doc,
                              strict=consumer.event_type != ANY_TYPE,
                              may_be_absent=consumer.may_be_absent, needs=needs)
    return found + example_problems(consumer.model, records(doc, event.type), needs)


def pairs(consumer: str, producer: str) -> list[tuple[Consumed, Published]]:
    """The pairs of ``consumer`` reading ``producer`` (never empty: that would test nothing)."""
    found = consumed_pairs(consumer, producer)
    assert found, f"{consumer} reads nothing of {producer}"
    return found


def pair_id(pair: tuple[Consumed, Published]) -> str:
    return f"{pair[0].handler}<-{pair[1].type}"


def assert_reads(consumer: Consumed, event: Published) -> None:
    """The consumer's narrow model reads the producer's published schema and examples."""
    found = problems(document(), consumer, event)
    assert not found, (f"{consumer.consumer}.{consumer.handler} cannot read {event.type} as "
                       f"{event.producer} publishes it: {found}")
