"""Bad input on every catalogue endpoint is a 4xx problem+json with a code, never a 500, never
echoes what was sent, and writes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

HUGE = "x" * 100_000
MARKER = "Geheimnis-Marker-7731"
GARBAGE: list[bytes] = [b"", b"{not json", b"\xff\xfe\x00", b"[]", b'"text"', b"42", b"null",
                        b"[" * 5000 + b"]" * 5000]


def _variants(good: dict[str, Any], changes: list[dict[str, Any]]) -> list[bytes]:
    return [*GARBAGE, *(json.dumps({**good, **c}).encode() for c in changes)]


def _text_attacks(field: str) -> list[dict[str, Any]]:
    return [{field: HUGE}, {field: "a\u0000b"}, {field: "\ud800"}, {field: MARKER + "\u0007"},
            {field: 5}, {field: ["a"]}, {field: {"a": 1}}]


def _int_attacks(field: str) -> list[dict[str, Any]]:
    return [{field: "12"}, {field: 12.5}, {field: True}, {field: -1}, {field: 10**30},
            {field: MARKER}]


def _cases(demo: Any, rule_id: str) -> list[tuple[str, str, list[bytes]]]:
    venue = {"department": "museum", "name": "Depot", "timezone": "Europe/Berlin"}
    offering = {"department": "museum", "cost_centre": "MUS-4100",
                "venue_id": str(demo.museum_venue), "kind": "timed", "name": "Führung"}
    ticket_type = {"code": "senior", "name": "Senioren", "price": 600}
    rule = {"weekdays": [2, 3], "opens_at": "10:00", "closes_at": "12:00", "slot_minutes": 30,
            "capacity": 10, "valid_from": "2027-01-01"}
    slot = {"starts_at": "2027-05-14T19:00:00+02:00", "ends_at": "2027-05-14T22:00:00+02:00",
            "capacity": 60}
    ex = demo.exhibition
    return [
        ("POST", "/venues", _variants(venue, [
            *_text_attacks("name"), {"department": "Museum"}, {"department": MARKER},
            {"timezone": "Mars/Olympus"}, {"timezone": "../../etc/passwd"}, {"timezone": HUGE},
            {"timezone": ""}, {"timezone": "Europe/Berlin\u0000"}, {"timezone": None},
            {"max_occupancy": 0}, *_int_attacks("max_occupancy"), {"address": HUGE},
            {"tenant": "beispielhausen"}, {"name": None}, {"name": "   "}])),
        ("PATCH", f"/venues/{demo.museum_venue}", _variants({}, [
            {"name": None}, {"timezone": "Nowhere/Town"}, {"timezone": None},
            {"department": "pools"}, *_text_attacks("address")])),
        ("POST", "/offerings", _variants(offering, [
            {"kind": "lottery"}, {"venue_id": "nope"}, {"venue_id": MARKER},
            {"cost_centre": MARKER + "/<>"}, {"cost_centre": ""}, *_text_attacks("name"),
            {"description": "x" * 5001}, {"description": "a\u0000b"},
            *_int_attacks("hold_minutes"), {"hold_minutes": 0}, {"hold_minutes": 121},
            *_int_attacks("max_tickets_per_order"), {"max_tickets_per_order": 101},
            {"valid_days": 0}, {"sales_start_at": "yesterday"},
            {"sales_start_at": "2027-01-01T00:00:00"},
            {"sales_start_at": "9999-12-31T23:59:59+00:00"},
            {"sales_start_at": "2027-02-01T00:00:00Z", "sales_end_at": "2027-01-01T00:00:00Z"},
            {"status": "published"}, {"currency": "eur"}, {"tenant": "beispielhausen"},
            {"kind": "pass"}, {"valid_days": 30}])),
        ("PATCH", f"/offerings/{ex}", _variants({}, [
            {"status": "deleted"}, {"status": None}, {"name": None}, {"kind": "pass"},
            {"department": "pools"}, {"version": 7}, {"venue_id": str(demo.pools_venue)},
            {"venue_id": str(uuid.uuid4())}, {"hold_minutes": None}, {"valid_days": 10},
            {"sales_start_at": "2027-02-01T00:00:00Z", "sales_end_at": "2027-01-01T00:00:00Z"},
            *_text_attacks("description")])),
        ("POST", f"/offerings/{ex}/ticket-types", _variants(ticket_type, [
            {"price": -1}, *_int_attacks("price"), {"code": "Adult"}, {"code": MARKER},
            {"code": "a" * 41}, {"code": "adult"}, {"places": 0}, {"places": 21},
            {"visits": 0}, {"visits": 101}, {"visits": 2}, {"quota_id": "x"},
            {"quota_id": str(uuid.uuid4())}, {"position": -1}, {"active": "yes"},
            {"components": []}, {"components": [{"offering_id": str(ex), "share": 600}]},
            *_text_attacks("name")])),
        ("PATCH", f"/ticket-types/{demo.museum_adult}", _variants({}, [
            {"price": -5}, {"price": None}, {"code": None}, {"code": "reduced"},
            {"components": None}, {"places": 25}, {"offering_id": str(demo.indoor_pool)}])),
        ("PATCH", f"/ticket-types/{demo.kulturpass_type}", _variants({}, [
            {"price": 1001}, {"components": [{"offering_id": str(demo.exhibition),
                                              "share": 999}]},
            {"components": [{"offering_id": str(demo.kulturpass), "share": 1000}]},
            {"components": [{"offering_id": str(demo.exhibition), "share": -1}]},
            {"components": [{"offering_id": str(demo.exhibition), "share": 1000}] * 11}])),
        ("POST", f"/offerings/{ex}/quotas", _variants({"name": "Schulen", "capacity": 5}, [
            *_int_attacks("capacity"), *_text_attacks("name"), {"name": "Ermäßigt"}])),
        ("PATCH", f"/quotas/{demo.reduced_quota}", _variants({}, [
            {"capacity": -1}, {"capacity": None}, {"name": None}])),
        ("POST", f"/offerings/{ex}/rules", _variants(rule, [
            {"weekdays": []}, {"weekdays": [0]}, {"weekdays": [8]}, {"weekdays": [1, 1]},
            {"weekdays": "mon"}, {"weekdays": list(range(1, 9))}, {"opens_at": "25:00"},
            {"opens_at": "12:00", "closes_at": "10:00"}, {"opens_at": "10:00+02:00"},
            {"opens_at": MARKER}, {"slot_minutes": 4}, {"slot_minutes": 1441},
            *_int_attacks("slot_minutes"), {"capacity": -1}, {"valid_from": "2027-02-30"},
            {"valid_from": "9999-01-01"}, {"valid_from": "2027-02-01",
                                           "valid_until": "2027-01-01"}])),
        ("POST", f"/offerings/{ex}/slots/generate", _variants(
            {"from": "2027-01-04", "to": "2027-01-10"}, [
                {"from": "2027-02-01", "to": "2027-01-01"}, {"from": "2027-01-01",
                                                             "to": "2029-01-01"},
                {"from": "01.01.2027"}, {"from": MARKER}, {"from": None}, {"to": 20270101.5},
                {"from": "0001-01-01"}, {"to": "9999-12-31"}])),
        ("POST", f"/offerings/{ex}/slots", _variants(slot, [
            {"starts_at": "2027-05-14T19:00:00"}, {"ends_at": "2027-05-14T18:00:00+02:00"},
            {"capacity": -1}, *_int_attacks("capacity"), {"starts_at": MARKER},
            {"starts_at": "0001-01-01T00:00:00+00:00"}])),
        ("PATCH", f"/slots/{demo.exhibition_slot}", _variants({}, [
            {"capacity": -1}, {"capacity": None}, {"status": "sold"}, {"status": None},
            *_int_attacks("capacity")])),
    ]


def _assert_problem(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/problem+json", what
    assert "code" in response.json(), what
    assert MARKER not in response.text, what
    assert HUGE not in response.text, what


async def _snapshot(h: Any) -> list[Any]:
    tables = ("venues", "offerings", "ticket_types", "combo_components", "quotas",
              "slot_rules", "slots")
    return [await h.rows(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables]  # noqa: S608


async def test_bad_bodies_are_refused_everywhere(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    rule_id = str(await h.scalar("SELECT id FROM slot_rules WHERE offering_id = :o",
                                 o=demo.exhibition))
    before = await _snapshot(h)
    headers = h.manager_headers("museum")
    for method, path, bodies in _cases(demo, rule_id):
        for body in bodies:
            for content_type in ("application/json", "text/plain"):
                response = await h.client.request(
                    method, path, content=body,
                    headers={**headers, "Content-Type": content_type,
                             "Idempotency-Key": str(uuid.uuid4())})
                _assert_problem(response, f"{method} {path} {body[:100]!r} {content_type}")
    assert await _snapshot(h) == before


QUERY_CASES: list[tuple[str, Callable[[Any], str]]] = [
    ("offerings", lambda d: "/offerings?status=deleted"),
    ("offerings", lambda d: f"/offerings?department={MARKER}"),
    ("venues", lambda d: "/venues?department=" + "a" * 70),
    ("slots", lambda d: f"/offerings/{d.exhibition}/slots?from=2027-01-01"),
    ("slots", lambda d: f"/offerings/{d.exhibition}/slots?from=x&to=2027-01-01"),
    ("slots", lambda d: f"/offerings/{d.exhibition}/slots?from=2027-01-02&to=2027-01-01"),
    ("slots", lambda d: f"/offerings/{d.exhibition}/slots?from=2027-01-01&to=2029-01-01"),
    ("slots", lambda d: f"/offerings/{d.exhibition}/slots?from=0001-01-01&to=0001-01-02"),
    ("offering", lambda d: "/offerings/not-a-uuid"),
    ("offering", lambda d: "/offerings/%00%ff"),
    ("venue", lambda d: f"/venues/{uuid.uuid4()}"),
    ("public", lambda d: "/public/Not-A-Slug/offerings"),
    ("public", lambda d: f"/public/musterstadt/offerings/{d.exhibition}/availability"
                         f"?from={MARKER}&to=2027-01-01"),
    ("public", lambda d: "/public/musterstadt/offerings/x/availability"
                         "?from=2027-01-01&to=2027-01-01"),
]


@pytest.mark.parametrize(("what", "path"), QUERY_CASES)
async def test_bad_paths_and_queries_are_refused(ticketing: Any, what: str,
                                                 path: Callable[[Any], str]) -> None:
    h = ticketing
    demo = await h.demo()
    response = await h.client.get(path(demo), headers=h.manager_headers())
    _assert_problem(response, f"{what} {path(demo)}")


async def test_bad_if_match_and_if_none_match_headers(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    for value in ("x" * 2000, '"1", ' * 300, "\u00e4", '"99999999999999999999"'):
        response = await h.client.patch(f"/offerings/{demo.exhibition}", json={"name": "X"},
                                        headers={**h.manager_headers(),
                                                 "If-Match": value.encode()})
        _assert_problem(response, value[:40])
    for value in ("x" * 5000, "W/", '"', ","):
        response = await h.client.get(
            f"/public/musterstadt/offerings/{demo.exhibition}/availability"
            "?from=2027-01-01&to=2027-01-01", headers={"If-None-Match": value})
        assert response.status_code in (200, 422), value[:40]
