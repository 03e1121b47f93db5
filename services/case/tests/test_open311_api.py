"""The Open311 GeoReport v2 view: field names exactly as the specification lists them, services
and their attributes, an anonymous report that becomes a case, its public view without personal
data, tenants apart, errors in the Open311 shape."""

from __future__ import annotations

import json
from typing import Any

from .conftest import CaseHarness

BASE = "/open311/v2/musterstadt"
ROAD = "strassenschaden"

# Copied from wiki.open311.org/GeoReport_v2 (the response fields of each method, JSON format).
SPEC_SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                       "keywords", "group"}
SPEC_DEFINITION_FIELDS = {"service_code", "attributes"}
SPEC_ATTRIBUTE_FIELDS = {"variable", "code", "datatype", "required", "datatype_description",
                         "order", "description", "values"}
SPEC_VALUE_FIELDS = {"key", "name"}
SPEC_DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
SPEC_CREATED_FIELDS = {"service_request_id", "service_notice", "account_id"}  # token: batch only
SPEC_REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                       "service_code", "description", "agency_responsible", "service_notice",
                       "requested_datetime", "updated_datetime", "expected_datetime", "address",
                       "address_id", "zipcode", "lat", "long", "media_url"}
SPEC_ERROR_FIELDS = {"code", "description"}

CONTACT = {"email": "erika@example.org", "first_name": "Erika", "last_name": "Mustermann",
           "phone": "+49 30 1234567"}
REPORT = {"service_code": ROAD, "lat": "50.1109", "long": "8.6821",
          "description": "Tiefes Schlagloch vor Hausnummer 12, gefährlich für Radfahrer.",
          "attribute[damage_kind]": "pothole", "api_key": "ignored"}


async def post_report(h: CaseHarness, form: dict[str, str], *, tenant: str = "musterstadt",
                      headers: dict[str, str] | None = None) -> Any:
    return await h.client.post(f"/open311/v2/{tenant}/requests.json", data=form,
                               headers=headers or {})


def assert_open311_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list)
    assert len(body) == 1
    assert set(body[0]) == SPEC_ERROR_FIELDS
    assert body[0]["code"] == status
    assert body[0]["description"]


async def test_every_response_uses_the_georeport_v2_field_names(case: CaseHarness) -> None:
    services = await case.client.get(f"{BASE}/services.json")
    assert services.status_code == 200
    assert [s["service_code"] for s in services.json()] == [ROAD]
    assert all(set(s) == SPEC_SERVICE_FIELDS for s in services.json())
    road = services.json()[0]
    assert road["metadata"] is True
    assert road["type"] == "realtime"
    assert road["group"] == "traffic"
    assert "Schlagloch" in road["keywords"].split(",")

    definition = (await case.client.get(f"{BASE}/services/{ROAD}.json")).json()
    assert set(definition) == SPEC_DEFINITION_FIELDS
    assert definition["service_code"] == ROAD
    for attribute in definition["attributes"]:
        assert set(attribute) == SPEC_ATTRIBUTE_FIELDS
        assert attribute["datatype"] in SPEC_DATATYPES
        assert all(set(v) == SPEC_VALUE_FIELDS for v in attribute["values"])

    created = await post_report(case, REPORT)
    assert created.status_code == 201, created.text
    assert [set(item) for item in created.json()] == [SPEC_CREATED_FIELDS]

    listed = (await case.client.get(f"{BASE}/requests.json")).json()
    one = (await case.client.get(
        f"{BASE}/requests/{created.json()[0]['service_request_id']}.json")).json()
    assert [set(item) for item in listed] == [SPEC_REQUEST_FIELDS]
    assert [set(item) for item in one] == [SPEC_REQUEST_FIELDS]
    assert_open311_error(await case.client.get(f"{BASE}/services/nope.json"), 404)


async def test_the_road_damage_form_becomes_attributes_beyond_the_standard_fields(
        case: CaseHarness) -> None:
    definition = (await case.client.get(f"{BASE}/services/{ROAD}.json",
                                        headers={"Accept-Language": "en"})).json()
    # description, lat, long and address_string are standard request fields, no attributes.
    assert definition["attributes"] == [{
        "variable": True, "code": "damage_kind", "datatype": "singlevaluelist",
        "required": True, "datatype_description": None, "order": 1,
        "description": "Kind of damage",
        "values": [{"key": k, "name": k} for k in ("pothole", "street_light", "sign", "other")],
    }]


async def test_non_public_services_are_neither_listed_nor_described(case: CaseHarness) -> None:
    codes = {s["service_code"] for s in (await case.client.get(f"{BASE}/services.json")).json()}
    assert "geburtsurkunde" not in codes
    assert_open311_error(await case.client.get(f"{BASE}/services/geburtsurkunde.json"), 404)
    assert_open311_error(await post_report(case, {**REPORT, "service_code": "geburtsurkunde"}),
                         404)


async def test_an_anonymous_report_opens_an_open311_case_without_account(
        case: CaseHarness) -> None:
    response = await post_report(case, {**REPORT, **CONTACT})
    assert response.status_code == 201, response.text
    [created] = response.json()
    assert created["service_request_id"].startswith("MS-")
    assert created["account_id"] is None
    assert "10" in created["service_notice"]
    row = (await case.rows("SELECT channel, account_id, submitted_by, department, status, data "
                           "FROM cases WHERE number = :n", n=created["service_request_id"]))[0]
    assert (row.channel, row.account_id, row.submitted_by) == ("open311", None, "anonymous")
    assert (row.department, row.status) == ("traffic", "submitted")
    assert row.data == {"damage_kind": "pothole", "lat": 50.1109, "long": 8.6821,
                        "description": REPORT["description"]}
    [event] = await case.outbox("city.case.case.submitted.v1")
    assert event.data["channel"] == "open311"
    assert event.data["account_id"] is None
    for value in CONTACT.values():
        assert value not in str(event.data)
        assert value not in str(event.attributes)


async def test_a_citizen_report_belongs_to_the_citizen(case: CaseHarness) -> None:
    response = await post_report(case, REPORT, headers=case.citizen_headers())
    assert response.status_code == 201, response.text
    assert response.json()[0]["account_id"] == str(case.ERIKA)
    row = (await case.rows("SELECT account_id, submitted_by FROM cases"))[0]
    assert (row.account_id, row.submitted_by) == (case.ERIKA, f"citizen:{case.ERIKA}")
    other_tenant = case.citizen_headers(tenant="beispielhausen")
    assert_open311_error(await post_report(case, REPORT, headers=other_tenant), 403)
    assert_open311_error(await post_report(case, REPORT, headers={
        "Authorization": "Bearer not-a-token"}), 401)


async def test_reports_are_public_without_personal_data(case: CaseHarness) -> None:
    form = {**REPORT, **CONTACT, "address_string": "Hauptstraße 12"}
    number = (await post_report(case, form)).json()[0]["service_request_id"]
    listed = await case.client.get(f"{BASE}/requests.json")
    assert listed.status_code == 200
    [report] = listed.json()
    assert report["service_request_id"] == number
    assert report["status"] == "open"
    assert report["service_code"] == ROAD
    assert report["service_name"] == "Straßenschaden melden"
    assert report["agency_responsible"] == "traffic"
    assert report["description"] == REPORT["description"]
    assert (report["lat"], report["long"]) == (50.1109, 8.6821)
    assert report["requested_datetime"] <= report["expected_datetime"]
    assert report["address"] == "Hauptstraße 12"
    for value in CONTACT.values():
        assert value not in listed.text
    assert (await case.client.get(f"{BASE}/requests/{number}.json")).json() == [report]
    assert (await case.client.get(f"{BASE}/requests.json",
                                  params={"service_request_id": f"{number},MS-0-0"})).json() \
        == [report]
    assert (await case.client.get(f"{BASE}/requests.json",
                                  params={"status": "closed"})).json() == []
    assert (await case.client.get(f"{BASE}/requests.json",
                                  params={"service_code": "geburtsurkunde"})).json() == []
    old = await case.client.get(f"{BASE}/requests.json",
                                params={"end_date": "2020-01-01T00:00:00Z"})
    assert old.status_code == 200
    assert old.json() == []


async def test_another_tenants_reports_are_not_visible(case: CaseHarness) -> None:
    number = (await post_report(case, REPORT)).json()[0]["service_request_id"]
    other = "/open311/v2/beispielhausen"
    assert (await case.client.get(f"{other}/requests.json")).json() == []
    assert_open311_error(await case.client.get(f"{other}/requests/{number}.json"), 404)
    assert (await case.client.get(f"{other}/requests.json",
                                  params={"service_request_id": number})).json() == []
    theirs = await post_report(case, REPORT, tenant="beispielhausen")
    assert theirs.status_code == 201
    assert theirs.json()[0]["service_request_id"].startswith("BH-")
    mine = (await case.client.get(f"{BASE}/requests.json")).json()
    assert [r["service_request_id"] for r in mine] == [number]
    assert_open311_error(await case.client.get("/open311/v2/nowhere/services.json"), 404)


async def test_client_errors_answer_in_the_open311_shape(case: CaseHarness) -> None:
    assert_open311_error(await post_report(case, {**REPORT, "service_code": "nope"}), 404)
    no_location = {k: v for k, v in REPORT.items() if k not in ("lat", "long")}
    assert_open311_error(await post_report(case, no_location), 400)
    assert_open311_error(await post_report(case, {**REPORT, "lat": "91"}), 400)
    assert_open311_error(await post_report(case, {**REPORT, "long": "nan"}), 400)
    assert_open311_error(await post_report(case, {**REPORT, "lat": "north"}), 400)
    assert_open311_error(await post_report(case, {k: v for k, v in REPORT.items()
                                                  if k != "long"}), 400)
    assert_open311_error(await post_report(case, {**REPORT, "attribute[color]": "red"}), 400)
    assert_open311_error(await post_report(case, {**REPORT,
                                                  "attribute[damage_kind]": "volcano"}), 400)
    assert_open311_error(await case.client.get(f"{BASE}/requests.json",
                                               params={"status": "pending"}), 400)
    assert_open311_error(await case.client.get(f"{BASE}/requests.json",
                                               params={"start_date": "yesterday"}), 400)
    assert_open311_error(await case.client.get(f"{BASE}/requests/MS-2026-999999.json"), 404)
    assert await case.scalar("SELECT count(*) FROM cases") == 0


async def test_only_json_is_offered(case: CaseHarness) -> None:
    for path in ("services.xml", f"services/{ROAD}.xml", "requests.xml",
                 "requests/MS-2026-000001.xml"):
        assert_open311_error(await case.client.get(f"{BASE}/{path}"), 404)
    assert_open311_error(await case.client.post(f"{BASE}/requests.xml", data=REPORT), 404)
    assert await case.scalar("SELECT count(*) FROM cases") == 0


async def test_hostile_input_never_answers_500_and_stores_nothing(case: CaseHarness) -> None:
    hostile = [
        {**REPORT, "description": "x" * 9000},
        {**REPORT, "description": "x" * 20_000},
        {**REPORT, "description": "Schlagloch\x00 mit NUL"},
        {**REPORT, "attribute[damage_kind]\x00": "pothole"},
        {**REPORT, "service_code": "strassen\x00schaden"},
        {**REPORT, "lat": "1e999", "long": "-1e999"},
        {**REPORT, "lat": "", "long": "", "address_string": ""},
        {**REPORT, "service_code": "ö" * 500},
        {**REPORT, "attribute[damage_kind][]": "pothole"},
        {"service_code": ""},
        {},
    ]
    for form in hostile:
        response = await post_report(case, form)
        assert 400 <= response.status_code < 500, (form.keys(), response.text)
        assert_open311_error(response, response.status_code)
    for params in ({"service_request_id": "\x00"}, {"service_code": "\x00"},
                   {"status": "open\x00"}, {"service_request_id": ",".join(["x"] * 101)},
                   {"start_date": "2026-02-30T00:00:00Z"},
                   {"start_date": "2026-01-02T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}):
        response = await case.client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 400, (params, response.text)
    for path in (f"{BASE}/requests/{'9' * 500}.json", f"{BASE}/services/{'a' * 500}.json",
                 "/open311/v2/%00/services.json"):
        assert_open311_error(await case.client.get(path), 404)
    multipart = await case.client.post(
        f"{BASE}/requests.json", content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= multipart.status_code < 500
    assert await case.scalar("SELECT count(*) FROM cases") == 0
    assert await case.scalar("SELECT count(*) FROM open311_report_log") == 0


async def test_contact_data_a_form_asks_for_stays_in_the_case_only(case: CaseHarness) -> None:
    contact_fields = {name: {"type": "string", "maxLength": 200} for name in CONTACT}
    await case.execute(
        "UPDATE service_definitions SET form_schema = jsonb_set(form_schema, '{properties}', "
        "(form_schema->'properties') || CAST(:fields AS jsonb)) WHERE public_report",
        fields=json.dumps(contact_fields))
    definition = (await case.client.get(f"{BASE}/services/{ROAD}.json")).json()
    assert [a["code"] for a in definition["attributes"]] == ["damage_kind"]
    number = (await post_report(case, {**REPORT, **CONTACT})).json()[0]["service_request_id"]
    data = await case.scalar("SELECT data FROM cases WHERE number = :n", n=number)
    assert {name: data[name] for name in CONTACT} == CONTACT
    shown = [await case.client.get(f"{BASE}/requests.json"),
             await case.client.get(f"{BASE}/requests/{number}.json")]
    history = str(await case.rows("SELECT * FROM case_history"))
    for value in CONTACT.values():
        assert all(value not in response.text for response in shown)
        assert value not in str(await case.outbox())
        assert value not in history


async def test_a_decided_case_is_a_closed_report(case: CaseHarness) -> None:
    number = (await post_report(case, REPORT)).json()[0]["service_request_id"]
    await case.execute("UPDATE cases SET status = 'decided' WHERE number = :n", n=number)
    [report] = (await case.client.get(f"{BASE}/requests/{number}.json")).json()
    assert report["status"] == "closed"
    assert (await case.client.get(f"{BASE}/requests.json", params={"status": "open"})).json() \
        == []
    closed = await case.client.get(f"{BASE}/requests.json", params={"status": "closed"})
    assert [r["service_request_id"] for r in closed.json()] == [number]


async def test_a_service_without_anonymous_reports_wants_a_citizen(case: CaseHarness) -> None:
    await case.execute("UPDATE service_definitions SET anonymous = false WHERE public_report")
    refused = await post_report(case, REPORT)
    assert_open311_error(refused, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    staff = await post_report(case, REPORT, headers=case.clerk_headers("traffic"))
    assert_open311_error(staff, 403)
    assert await case.scalar("SELECT count(*) FROM cases") == 0
    assert (await post_report(case, REPORT, headers=case.citizen_headers())).status_code == 201
