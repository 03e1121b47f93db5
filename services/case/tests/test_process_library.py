"""Processes through the library and parameters APIs: a definition's process is checked when
saved and read back (the default one when it has none); a tenant's parameters name the
department of each part of the process, and nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES, LIBRARY, parameters_id
from case_service.process.default import DEFAULT_PROCESS

PARKING = DEMO_SERVICES["bewohnerparkausweis"]
BIRTH = DEMO_SERVICES["geburtsurkunde"]
EXEMPTION = next(s for s in LIBRARY if s.slug == "hundesteuer-befreiung")
URL = "/tenants/musterstadt/parameters"


def _service(**changes: Any) -> dict[str, Any]:
    demo = LIBRARY[3]
    body: dict[str, Any] = {
        "leika_key": "urn:de:fim:leika:leistung:99027002099000", "slug": "sterbeurkunde",
        "names": {"de": "Sterbeurkunde", "en": "Death certificate"},
        "descriptions": {"de": "Ausstellung einer Sterbeurkunde.",
                         "en": "Issue of a death certificate."},
        "form_schema": copy.deepcopy(demo.form_schema), "fee_rule": demo.fee_rule,
        "processing_days": 5}
    body.update(changes)
    return body


def _signoff_process() -> dict[str, Any]:
    assert EXEMPTION.process is not None
    return copy.deepcopy(EXEMPTION.process)


def _approve(process: dict[str, Any]) -> int:
    return next(i for i, t in enumerate(process["transitions"]) if t["action"] == "approve")


async def test_a_process_is_saved_and_read_back(case_db: Any) -> None:
    created = await case_db.client.post("/library/services",
                                        json=_service(process=_signoff_process()),
                                        headers=case_db.platform_admin_headers())
    assert created.status_code == 201, created.text
    service = created.json()
    read = (await case_db.client.get(f"/library/services/{service['id']}/versions/1")).json()
    process = read["process"]
    assert process["states"]["awaiting_signoff"]["label"]["en"] == "Awaiting sign-off"
    approve = process["transitions"][_approve(process)]
    assert (approve["from"], approve["roles"]) == (["awaiting_signoff"], ["manager"])
    assert await case_db.scalar(
        "SELECT process->'states' ? 'awaiting_signoff' FROM service_definitions "
        "WHERE service_id = :id", id=service["id"]) is True


async def test_without_a_process_the_default_one_is_read(case_db: Any) -> None:
    created = await case_db.client.post("/library/services", json=_service(),
                                        headers=case_db.platform_admin_headers())
    assert created.status_code == 201, created.text
    assert created.json()["definition"]["process"] == DEFAULT_PROCESS.model_dump(
        mode="json", by_alias=True)
    assert await case_db.scalar("SELECT process FROM service_definitions") is None


async def test_an_unsound_process_is_refused_with_its_pointer(case: Any) -> None:
    process = _signoff_process()
    process["transitions"][_approve(process)]["roles"] = []
    admin = case.platform_admin_headers()
    created = await case.client.post("/library/services", json=_service(process=process),
                                     headers=admin)
    body = _service(process=process)
    del body["leika_key"], body["slug"]
    version = await case.client.post(f"/library/services/{BIRTH}/versions", json=body,
                                     headers=admin)
    for response in (created, version):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid_process"
        assert [e["pointer"] for e in response.json()["errors"]] == [
            f"/process/transitions/{_approve(process)}/roles"]
    assert await case.scalar("SELECT count(*) FROM services WHERE slug = 'sterbeurkunde'") == 0
    assert await case.scalar("SELECT latest_version FROM services WHERE id = :id",
                             id=BIRTH) == 1


async def test_a_process_of_the_wrong_shape_is_a_validation_error(case_db: Any) -> None:
    process = _signoff_process()
    process["transitions"][0]["roles"] = ["mayor"]
    response = await case_db.client.post("/library/services", json=_service(process=process),
                                         headers=case_db.platform_admin_headers())
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_the_demo_parking_permit_asks_the_traffic_authority(case: Any) -> None:
    service = (await case.client.get(f"/library/services/{PARKING}")).json()
    part = service["definition"]["process"]["states"]["in_review"]["parts"][0]
    assert (part["key"], part["label"]["en"]) == ("traffic_check",
                                                  "Check by the traffic authority")
    parameters = await case.client.get(
        f"{URL}/{parameters_id('musterstadt', 'bewohnerparkausweis')}",
        headers=case.tenant_admin_headers())
    assert parameters.json()["part_departments"] == {"traffic_check": "traffic"}
    other = await case.client.get(
        f"/tenants/beispielhausen/parameters/"
        f"{parameters_id('beispielhausen', 'bewohnerparkausweis')}",
        headers=case.tenant_admin_headers("beispielhausen"))
    assert other.json()["part_departments"] == {}


def _parking_parameters(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_id": str(PARKING), "department": "citizens-office",
        "valid_from": "2027-01-01", "cost_centre": "BB-1100", "fee_values": {"permit": 3570},
        "retention_days": 1095}
    values.update(changes)
    return values


async def _end_first_period(case: Any) -> None:
    ended = await case.client.post(
        f"{URL}/{parameters_id('musterstadt', 'bewohnerparkausweis')}/end",
        json={"valid_to": "2027-01-01"}, headers=case.tenant_admin_headers())
    assert ended.status_code == 200, ended.text


async def test_a_new_parameter_version_routes_a_part_elsewhere(case: Any) -> None:
    await _end_first_period(case)
    created = await case.client.post(URL, headers=case.tenant_admin_headers(),
                                     json=_parking_parameters(
                                         part_departments={"traffic_check": "public-order"}))
    assert created.status_code == 201, created.text
    read = await case.client.get(f"{URL}/{created.json()['id']}",
                                 headers=case.manager_headers())
    assert read.json()["part_departments"] == {"traffic_check": "public-order"}


@pytest.mark.parametrize(("service", "mapping", "pointer", "code"), [
    (PARKING, {"public_order_check": "public-order"}, "/part_departments/public_order_check",
     "unknown_part"),
    (PARKING, {"traffic_check": "Traffic Office"}, "/part_departments/traffic_check",
     "pattern"),
    (PARKING, {"a/b": "traffic"}, "/part_departments/a~1b", "unknown_part"),
    (BIRTH, {"traffic_check": "traffic"}, "/part_departments/traffic_check", "unknown_part"),
])
async def test_part_departments_outside_the_process_are_refused(
        case: Any, service: Any, mapping: dict[str, str], pointer: str, code: str) -> None:
    admin = case.tenant_admin_headers()
    slug = "bewohnerparkausweis" if service == PARKING else "geburtsurkunde"
    await case.client.post(f"{URL}/{parameters_id('musterstadt', slug)}/end",
                           json={"valid_to": "2027-01-01"}, headers=admin)
    values = ({"permit": 3570} if service == PARKING else {"certificate": 1300})
    response = await case.client.post(URL, headers=admin, json=_parking_parameters(
        service_id=str(service), fee_values=values, part_departments=mapping))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_parameters"
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [(pointer, code)]
    assert "Traffic Office" not in response.text
    assert await case.scalar("SELECT count(*) FROM service_parameters WHERE service_id = :id "
                             "AND tenant = 'musterstadt'", id=service) == 1


async def test_the_public_detail_shows_the_steps_in_the_citizens_language(case: Any) -> None:
    parking = (await case.client.get(f"/public/musterstadt/services/{PARKING}",
                                     params={"lang": "en"})).json()
    assert [s["label"] for s in parking["steps"]] == [
        "Awaiting payment", "Received", "In review", "Information requested", "Approved",
        "Rejected", "Withdrawn"]
    exemption = (await case.client.get(f"/public/musterstadt/services/{EXEMPTION.id}")).json()
    assert [s["state"] for s in exemption["steps"]] == [
        "submitted", "in_review", "information_requested", "awaiting_signoff", "approved",
        "rejected", "withdrawn"]
    assert exemption["steps"][3]["label"] == "Zur Freigabe vorgelegt"
