"""The CloudEvents envelope: binary-mode round trip and rejection of malformed records."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from city_shared.context import set_correlation_id
from city_shared.envelope import Event, MalformedEvent, from_kafka, new_event, to_kafka


class OrderPlaced(BaseModel):
    order_id: str
    total_cents: int


class NarrowView(BaseModel):
    total_cents: int


def _event(**overrides: object) -> Event:
    event = new_event(
        type="city.ticketing.order.placed.v1", source="/ticketing", subject="o-1",
        tenant="musterstadt", department="museum",
        data=OrderPlaced(order_id="o-1", total_cents=800),
    )
    return event.model_copy(update=overrides)


def _headers(event: Event) -> list[tuple[str, bytes]]:
    return list(to_kafka(event).headers.items())


def test_round_trip_keeps_every_attribute_and_extension() -> None:
    event = _event(causationid="c-9")
    message = to_kafka(event)
    assert message.key == "o-1"
    assert json.loads(message.value) == {"order_id": "o-1", "total_cents": 800}
    headers = dict(message.headers)
    assert headers["content-type"] == b"application/json"
    assert headers["ce_tenant"] == b"musterstadt"
    assert headers["ce_department"] == b"museum"
    assert headers["ce_causationid"] == b"c-9"

    parsed = from_kafka(_headers(event), b"o-1", bytes(message.value))
    assert parsed == event


def test_correlation_comes_from_the_cause_or_the_task_context() -> None:
    set_correlation_id("journey-1")
    first = _event()
    assert first.correlationid == "journey-1"
    assert first.causationid is None
    set_correlation_id("another")
    caused = new_event(type="city.payment.payment.created.v1", source="/payment", subject="p-1",
                       tenant="musterstadt", data=NarrowView(total_cents=1), caused_by=first)
    assert caused.correlationid == "journey-1"
    assert caused.causationid == str(first.id)


def test_tolerant_reader_parses_only_what_it_needs() -> None:
    assert _event().parse(NarrowView) == NarrowView(total_cents=800)


@pytest.mark.parametrize("missing", ["ce_id", "ce_type", "ce_time", "ce_tenant", "ce_subject"])
def test_a_record_missing_a_required_attribute_is_malformed(missing: str) -> None:
    event = _event()
    headers = [(k, v) for k, v in _headers(event) if k != missing]
    with pytest.raises(MalformedEvent):
        from_kafka(headers, b"o-1", bytes(to_kafka(event).value))


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ce_type", b"OrderPlaced"),
        ("ce_specversion", b"0.3"),
        ("ce_id", b"not-a-uuid"),
        ("ce_source", b"ticketing"),
        ("content-type", b"application/xml"),
    ],
)
def test_invalid_attributes_are_malformed(header: str, value: bytes) -> None:
    event = _event()
    headers = [(k, value if k == header else v) for k, v in _headers(event)]
    with pytest.raises(MalformedEvent):
        from_kafka(headers, b"o-1", bytes(to_kafka(event).value))


@pytest.mark.parametrize("value", [b"{not json", b"[1, 2]", None, b"[" * 100_000,
                                   b'{"a": "\xff"}'])
def test_a_value_that_is_not_a_json_object_is_malformed(value: bytes | None) -> None:
    with pytest.raises(MalformedEvent):
        from_kafka(_headers(_event()), b"o-1", value)


def test_an_event_type_must_follow_the_naming_contract() -> None:
    with pytest.raises(ValidationError):
        _event().model_validate({**_event().model_dump(), "type": "order.placed"})


@pytest.mark.parametrize(("header", "value"), [("ce_subject", b"\xff"), ("content-type", b"\xff")])
def test_a_header_that_is_not_utf8_is_malformed(header: str, value: bytes) -> None:
    event = _event()
    headers = [(k, value if k == header else v) for k, v in _headers(event)]
    with pytest.raises(MalformedEvent):
        from_kafka(headers, b"o-1", bytes(to_kafka(event).value))


def test_extra_attributes_and_header_case_are_tolerated() -> None:
    event = _event()
    headers = [(k.upper(), v) for k, v in _headers(event)] + [("ce_unknownext", b"x"),
                                                              ("other", b"\xff")]
    assert from_kafka(headers, b"o-1", bytes(to_kafka(event).value)) == event
