"""Opening hours are local wall-clock times of the venue: the API takes and returns them as
``HH:MM[:SS]`` without offset, and its OpenAPI document says so (it said ``format: time``,
RFC 3339's full-time with an offset, so every rule the API returned contradicted it)."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs
import pytest

RULE = {"weekdays": [2, 3], "opens_at": "10:00", "closes_at": "12:00", "slot_minutes": 30,
        "capacity": 10, "valid_from": "2027-01-01"}


async def test_listed_rules_match_the_documented_schema(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    document = (await h.client.get("/openapi.json")).json()
    response = await h.client.get(f"/offerings/{demo.exhibition}/rules",
                                  headers=h.manager_headers())
    assert response.status_code == 200
    listed = response.json()
    assert listed["items"], "the demo exhibition has an opening rule"
    schema = {"$ref": "#/components/schemas/RuleList", "components": document["components"]}
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    assert [e.message for e in validator.iter_errors(listed)] == []


@pytest.mark.parametrize("opens_at", ["10:00Z", "10:00:00+01:00", 36000, "1000", "24:00"])
async def test_an_opening_time_with_an_offset_or_as_a_number_is_refused(
        ticketing: Any, opens_at: Any) -> None:
    h = ticketing
    demo = await h.demo()
    response = await h.client.post(f"/offerings/{demo.exhibition}/rules",
                                   json={**RULE, "opens_at": opens_at},
                                   headers={**h.manager_headers(),
                                            "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_a_local_opening_time_is_taken_and_returned_with_seconds(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    response = await h.client.post(f"/offerings/{demo.exhibition}/rules",
                                   json={**RULE, "opens_at": "10:30", "closes_at": "11:45:30"},
                                   headers={**h.manager_headers(),
                                            "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    assert (response.json()["opens_at"], response.json()["closes_at"]) == ("10:30:00",
                                                                           "11:45:30")
