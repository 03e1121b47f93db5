"""Overlapping parameter versions written at the same time: exactly one wins, the others get
the same 409 as a sequential writer; non-overlapping ones all succeed with distinct versions.
The negative control drops the database guards and shows the requests really race past the
check in code."""

from __future__ import annotations

import asyncio
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES, parameters_id

BIRTH = DEMO_SERVICES["geburtsurkunde"]
URL = "/tenants/musterstadt/parameters"
WRITERS = 8


def _body(month: int, *, until: int | None = None) -> dict[str, Any]:
    return {"service_id": str(BIRTH), "department": "citizens-office",
            "valid_from": f"2027-{month:02d}-01",
            "valid_to": None if until is None else f"2027-{until:02d}-01",
            "cost_centre": "BB-1100", "fee_values": {"certificate": 1300},
            "retention_days": 365}


async def _close_first_version(case: Any) -> None:
    ended = await case.client.post(f"{URL}/{parameters_id('musterstadt', 'geburtsurkunde')}/end",
                                   json={"valid_to": "2027-01-01"},
                                   headers=case.tenant_admin_headers())
    assert ended.status_code == 200


async def _race(case: Any, bodies: list[dict[str, Any]]) -> list[Any]:
    headers = case.tenant_admin_headers()
    return list(await asyncio.gather(
        *(case.client.post(URL, json=b, headers=headers) for b in bodies)))


async def test_concurrent_overlapping_writers_one_wins(case: Any) -> None:
    await _close_first_version(case)
    responses = await _race(case, [_body(1 + i) for i in range(WRITERS)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (WRITERS - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "parameters_overlap"}
    assert await case.scalar("SELECT count(*) FROM service_parameters WHERE service_id = :id "
                             "AND tenant = 'musterstadt' AND valid_from >= '2027-01-01'",
                             id=BIRTH) == 1


async def test_concurrent_adjacent_writers_all_succeed(case: Any) -> None:
    await _close_first_version(case)
    responses = await _race(case, [_body(1 + i, until=2 + i) for i in range(WRITERS)])
    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 2 + WRITERS))


async def test_negative_control_without_the_database_guards(case: Any) -> None:
    """Without the exclusion constraint (and the version uniqueness, which would also
    serialize the writers), overlapping writers slip past the check in code: the constraint is
    what makes the first test pass."""
    await case.execute("ALTER TABLE service_parameters "
                       "DROP CONSTRAINT ex_service_parameters_validity, "
                       "DROP CONSTRAINT uq_service_parameters_version")
    await _close_first_version(case)
    responses = await _race(case, [_body(1 + i) for i in range(WRITERS)])
    assert sum(r.status_code == 201 for r in responses) > 1
