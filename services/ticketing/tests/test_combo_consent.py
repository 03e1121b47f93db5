"""A combo's component of another department grants admissions at that department's gates and
books money to it, so only someone who speaks for that department too (a tenant admin, a
manager of both, a machine client with ``ticketing:write``) may add or change it. A museum
manager who tries to give away 100 free pool visits is refused and the pools gate admits
nothing extra."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest


def _free_swims(demo: Any) -> dict[str, Any]:
    """The attack: a combo ticket type priced 0 with 100 pool visits."""
    return {"code": "free-swim", "name": "Freibad", "price": 0, "components": [
        {"offering_id": str(demo.indoor_pool), "visits": 100, "share": 0}]}


async def _types_of(h: Any, offering_id: uuid.UUID) -> list[str]:
    return [r[0] for r in await h.rows(
        "SELECT code FROM ticket_types WHERE offering_id = :o ORDER BY code", o=offering_id)]


async def _scan(h: Any, payload: str) -> str:
    response = await h.client.post("/checkins", headers=h.gatekeeper_headers("pools"), json={
        "scan_id": str(uuid.uuid4()), "department": "pools", "payload": payload})
    assert response.status_code == 200, response.text
    outcome: str = response.json()["outcome"]
    return outcome


async def test_a_museum_manager_cannot_grant_pool_visits_through_a_combo(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()

    created = await h.client.post(f"/offerings/{demo.kulturpass}/ticket-types",
                                  json=_free_swims(demo), headers=h.manager_headers("museum"))

    assert created.status_code == 403, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert created.json()["code"] == "combo_component_consent_required"
    assert created.json()["department"] == "pools"
    assert await _types_of(h, demo.kulturpass) == ["kulturpass"]

    # Nor by editing the existing Kulturpass: pools' share to 0 and 100 visits.
    edited = await h.client.patch(
        f"/ticket-types/{demo.kulturpass_type}", headers=h.manager_headers("museum"),
        json={"price": 600, "components": [
            {"offering_id": str(demo.exhibition), "share": 600},
            {"offering_id": str(demo.indoor_pool), "visits": 100, "share": 0}]})
    assert edited.status_code == 403, edited.text
    assert edited.json()["code"] == "combo_component_consent_required"
    rows = await h.rows("SELECT department, visits, share FROM combo_components "
                        "WHERE ticket_type_id = :t ORDER BY position", t=demo.kulturpass_type)
    assert [tuple(r) for r in rows] == [("museum", 1, 600), ("pools", 1, 400)]

    # A Kulturpass bought now still admits once at the pools gate, not a hundred times.
    _, (ticket,) = await h.confirmed_order([(demo.kulturpass, demo.kulturpass_type, None, 1)])
    assert ticket.valid_from <= datetime.now(UTC)
    assert await _scan(h, ticket.qr_payload) == "admitted"
    assert await _scan(h, ticket.qr_payload) == "already_used"


async def test_the_museum_manager_still_edits_what_pools_agreed_to(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()

    renamed = await h.client.patch(
        f"/ticket-types/{demo.kulturpass_type}", headers=h.manager_headers("museum"),
        json={"name": "Kulturpass Plus", "price": 1100, "components": [
            {"offering_id": str(demo.exhibition), "share": 700},
            {"offering_id": str(demo.indoor_pool), "share": 400}]})

    assert renamed.status_code == 200, renamed.text
    assert [c["share"] for c in renamed.json()["components"]] == [700, 400]


@pytest.mark.parametrize("who", ["tenant_admin", "manager_of_both", "machine_client"])
async def test_someone_who_speaks_for_both_departments_may(ticketing: Any, who: str) -> None:
    h = ticketing
    demo = await h.demo()
    headers = {
        "tenant_admin": h.staff_headers(admin="tenant"),
        "manager_of_both": h.staff_headers({"museum": ["manager"], "pools": ["manager"]}),
        "machine_client": h.client_headers(),
    }[who]

    created = await h.client.post(f"/offerings/{demo.kulturpass}/ticket-types",
                                  json=_free_swims(demo), headers=headers)

    assert created.status_code == 201, created.text
    assert await _types_of(h, demo.kulturpass) == ["free-swim", "kulturpass"]
