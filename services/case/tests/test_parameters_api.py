"""The parameters API: new versions after closing a period, overlap refused with a readable
409, validation against the definition (trust level, fee values, shares), and who may write and
read (department managers only their own department, tenant admins all, nobody another tenant)."""

from __future__ import annotations

from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES, parameters_id

BIRTH = DEMO_SERVICES["geburtsurkunde"]
ROAD = DEMO_SERVICES["strassenschaden"]
URL = "/tenants/musterstadt/parameters"
BIRTH_V1 = parameters_id("musterstadt", "geburtsurkunde")
ROAD_V1 = parameters_id("musterstadt", "strassenschaden")


def body(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_id": str(BIRTH), "department": "citizens-office", "valid_from": "2027-01-01",
        "cost_centre": "BB-1100", "fee_values": {"certificate": 1300}, "retention_days": 365,
        "texts": {"legal_basis": {"de": "§ 55 PStG", "en": "Section 55 PStG"}}}
    values.update(changes)
    return values


async def test_close_a_period_then_start_the_next_version(case: Any) -> None:
    admin = case.tenant_admin_headers()
    ended = await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                                   headers=admin)
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == "2027-01-01"
    created = await case.client.post(URL, json=body(), headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["fee_values"]) == (
        2, {"certificate": 1300})
    assert created.headers["Location"].endswith(f"{URL}/{created.json()['id']}")
    again = await case.client.get(f"{URL}/{created.json()['id']}", headers=admin)
    assert again.json()["texts"]["legal_basis"]["en"] == "Section 55 PStG"


async def test_overlap_is_refused_naming_the_conflicting_version(case: Any) -> None:
    response = await case.client.post(URL, json=body(), headers=case.manager_headers())
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "parameters_overlap"
    assert problem["conflicting"] == {"version": 1, "valid_from": "2026-01-01",
                                      "valid_to": None}
    assert "version 1" in problem["detail"]
    # Moving an end past the start of the next version is an overlap too.
    admin = case.tenant_admin_headers()
    await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                           headers=admin)
    assert (await case.client.post(URL, json=body(), headers=admin)).status_code == 201
    later = await case.client.patch(f"{URL}/{BIRTH_V1}", json={"valid_to": "2027-02-01"},
                                    headers=admin)
    assert (later.status_code, later.json()["conflicting"]["version"]) == (409, 2)


@pytest.mark.parametrize(("changes", "code", "pointer"), [
    ({"valid_to": "2027-01-01"}, "invalid_parameters", "/valid_to"),
    ({"valid_to": "2026-12-31"}, "invalid_parameters", "/valid_to"),
    ({"trust_level": "basic"}, "trust_level_too_low", None),
    ({"fee_values": {}}, "invalid_fee_values", "/fee_values/certificate"),
    ({"fee_values": {"certificate": -5}}, "invalid_fee_values", "/fee_values/certificate"),
    ({"revenue_shares": [
        {"department": "traffic", "cost_centre": "SVB-6600", "percent": 60},
        {"department": "public-order", "cost_centre": "OA-3200", "percent": 41}]},
     "invalid_parameters", "/revenue_shares"),
    ({"revenue_shares": [{"department": "traffic", "cost_centre": "SVB-6600"}]},
     "validation_error", None),
    ({"retention_days": 0}, "validation_error", None),
    ({"version": 7}, "validation_error", None),
    ({"texts": {"legal_basis": {"de": "a\x00", "en": "b"}}}, None, None),
])
async def test_invalid_parameters_are_refused(case: Any, changes: dict[str, Any],
                                              code: str | None,
                                              pointer: str | None) -> None:
    admin = case.tenant_admin_headers()
    await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                           headers=admin)
    response = await case.client.post(URL, json=body(**changes), headers=admin)
    assert response.status_code == 422, response.text
    assert code is None or response.json()["code"] == code
    if pointer is not None:
        assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert await case.scalar("SELECT count(*) FROM service_parameters WHERE service_id = :id "
                             "AND tenant = 'musterstadt'", id=BIRTH) == 1


async def test_a_version_changes_only_its_end(case: Any) -> None:
    admin = case.tenant_admin_headers()
    changed = await case.client.patch(f"{URL}/{BIRTH_V1}", headers=admin, json={
        "valid_to": "2027-01-01", "fee_values": {"certificate": 1}})
    assert changed.status_code == 422
    fee = await case.scalar("SELECT fee_values->>'certificate' FROM service_parameters "
                            "WHERE id = :id", id=BIRTH_V1)
    assert fee == "1200"


async def test_a_stricter_trust_level_is_accepted(case: Any) -> None:
    admin = case.tenant_admin_headers()
    await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                           headers=admin)
    created = await case.client.post(URL, json=body(trust_level="high"), headers=admin)
    assert (created.status_code, created.json()["trust_level"]) == (201, "high")


async def test_a_department_manager_sees_and_changes_only_its_department(case: Any) -> None:
    traffic = case.manager_headers("traffic")
    listed = await case.client.get(URL, headers=traffic)
    assert {p["department"] for p in listed.json()["items"]} == {"traffic"}
    assert [p["id"] for p in listed.json()["items"]] == [str(ROAD_V1)]
    filtered = await case.client.get(URL, params={"department": "citizens-office"},
                                     headers=traffic)
    assert filtered.json()["items"] == []
    assert (await case.client.get(f"{URL}/{BIRTH_V1}", headers=traffic)).status_code == 403
    ended = await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                                   headers=traffic)
    created = await case.client.post(URL, json=body(valid_from="2030-01-01"), headers=traffic)
    assert (ended.status_code, created.status_code) == (403, 403)
    assert await case.scalar("SELECT valid_to FROM service_parameters WHERE id = :id",
                             id=BIRTH_V1) is None
    # Its own department: allowed.
    own = await case.client.post(f"{URL}/{ROAD_V1}/end", json={"valid_to": "2027-01-01"},
                                 headers=traffic)
    assert own.status_code == 200


async def test_a_clerk_reads_but_does_not_write(case: Any) -> None:
    clerk = case.clerk_headers()
    assert (await case.client.get(f"{URL}/{BIRTH_V1}", headers=clerk)).status_code == 200
    ended = await case.client.post(f"{URL}/{BIRTH_V1}/end", json={"valid_to": "2027-01-01"},
                                   headers=clerk)
    assert ended.status_code == 403


@pytest.mark.parametrize("who", ["citizen", "client", "anonymous"])
async def test_citizens_clients_and_strangers_get_nothing(case: Any, who: str) -> None:
    headers = {"citizen": case.citizen_headers(), "client": case.client_headers(),
               "anonymous": {}}[who]
    expected = 401 if who == "anonymous" else 403
    assert (await case.client.get(URL, headers=headers)).status_code == expected
    assert (await case.client.post(URL, json=body(valid_from="2030-01-01"),
                                   headers=headers)).status_code == expected


async def test_another_tenant_is_not_found(case: Any) -> None:
    other = case.tenant_admin_headers("beispielhausen")
    assert (await case.client.get(URL, headers=other)).json()["code"] == "tenant_not_found"
    own_path = f"/tenants/beispielhausen/parameters/{BIRTH_V1}"
    response = await case.client.get(own_path, headers=other)
    assert (response.status_code, response.json()["code"]) == (404, "parameters_not_found")
    ended = await case.client.post(f"{own_path}/end", json={"valid_to": "2027-01-01"},
                                   headers=other)
    assert ended.status_code == 404
    created = await case.client.post(URL, json=body(valid_from="2030-01-01"), headers=other)
    assert created.status_code == 404
