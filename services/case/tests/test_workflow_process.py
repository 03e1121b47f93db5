"""The default process end to end through the API: claim, review, a request for information
answered with data and an attachment, approval; the events, history, notes and audit trail a
user and the other services see; and every denial on the way."""

from __future__ import annotations

from typing import Any

from .conftest import CaseHarness
from .test_workflow_kit import (
    DEPT,
    PDF,
    act,
    answer_parts,
    events_of,
    get,
    parking_case,
    staff,
)


async def test_default_process_round_trip_with_information_request(case: CaseHarness) -> None:
    c = await parking_case(case)
    cid = c["id"]
    erika = case.citizen_headers()
    clerk = staff(case, sub="5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
    seen = await get(case, cid, clerk)
    assert [a["action"] for a in seen["actions"]] == ["start_review"]
    assert seen["due_at"] is not None
    assert [a["action"] for a in (await get(case, cid, erika))["actions"]] == ["withdraw"]

    claimed = await case.client.post(f"/cases/{cid}/claim", headers={
        **clerk, "If-Match": f'"{seen["version"]}"'})
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["assignee"] == "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
    assert claimed.headers["ETag"] == f'"{claimed.json()["version"]}"'

    review = await act(case, cid, "start_review", clerk)
    assert review.status_code == 200, review.text
    assert review.json()["status"] == "in_review"

    no_note = await act(case, cid, "request_information", clerk,
                        information={"fields": ["vehicle_registration"]})
    assert (no_note.status_code, no_note.json()["code"]) == (422, "public_note_required")
    asked = await act(case, cid, "request_information", clerk,
                      public_note="Bitte Kennzeichen und Wohnsitznachweis nachreichen.",
                      internal_note="Kennzeichen unleserlich.",
                      information={"fields": ["vehicle_registration"],
                                   "attachment_kinds": ["proof_of_residence"]})
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "information_requested"
    assert asked.json()["state_deadline"] is not None
    [requested] = await events_of(case, cid, "city.case.case.information_requested.v1")
    assert requested["fields"] == ["vehicle_registration"]
    assert requested["attachment_kinds"] == ["proof_of_residence"]
    assert requested["public_note"].startswith("Bitte")
    assert requested["recipient"]["account_id"] == str(case.ERIKA)
    assert requested["status_label"] == "Angaben nachgefordert"

    assert [a["action"] for a in (await get(case, cid, erika))["actions"]] == [
        "provide_information", "withdraw"]
    missing = await act(case, cid, "provide_information", erika,
                        data={"vehicle_registration": "B-XY 99"})
    assert (missing.status_code, missing.json()["code"]) == (422, "attachments_missing")
    upload = await case.client.post(
        f"/cases/{cid}/attachments", params={"kind": "proof_of_residence"}, content=PDF,
        headers={**erika, "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.text
    not_asked = await act(case, cid, "provide_information", erika,
                          data={"family_name": "Musterfrau"})
    assert (not_asked.status_code, not_asked.json()["code"]) == (422, "fields_not_requested")
    invalid = await act(case, cid, "provide_information", erika,
                        data={"vehicle_registration": "not a plate"})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "form_invalid")
    answered = await act(case, cid, "provide_information", erika,
                         data={"vehicle_registration": "B-XY 99"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "in_review"
    assert answered.json()["data"]["vehicle_registration"] == "B-XY 99"
    assert answered.json()["state_deadline"] is None
    assert len(await events_of(case, cid, "city.case.case.information_provided.v1")) == 1

    outcome = {"permit_number": "BP-2026-0042", "valid_until": "2027-06-30"}
    blocked = await act(case, cid, "approve", clerk, outcome=outcome)
    assert (blocked.status_code, blocked.json()["code"]) == (409, "parts_open")
    await answer_parts(case, cid)
    approved = await act(case, cid, "approve", clerk, outcome=outcome)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decision"]) == ("approved", "approved")
    assert body["outcome"]["permit_number"] == "BP-2026-0042"
    assert body["decided_at"] is not None
    assert body["actions"] == []
    [decided] = await events_of(case, cid, "city.case.case.decided.v1")
    assert decided["decision"] == "approved"
    assert decided["previous_status"] == "in_review"
    again = await act(case, cid, "approve", clerk)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")

    history = [h["type"] for h in (await get(case, cid, erika))["history"]
               if h["type"] in ("start_review", "request_information", "provide_information",
                                "approve")]
    assert history == ["start_review", "request_information", "provide_information", "approve"]
    note_ids = [h["detail"].get("note_id") for h in (await get(case, cid, erika))["history"]
                if h["type"] == "request_information"]
    public = (await case.client.get(f"/cases/{cid}/notes", headers=erika)).json()["items"]
    assert [n["visibility"] for n in public] == ["public"]
    assert note_ids == [public[0]["id"]]
    every = (await case.client.get(f"/cases/{cid}/notes", headers=clerk)).json()["items"]
    assert sorted(n["visibility"] for n in every) == ["internal", "public"]

    trail = (await case.client.get(f"/cases/{cid}/audit", headers=clerk)).json()["items"]
    mine = [e for e in trail if "part" not in e["action"]]
    assert [e["action"] for e in mine] == [
        "submit", "paid", "claim", "start_review", "request_information", "attachment_added",
        "provide_information", "approve"]
    assert mine[2]["actor"] == "staff:5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
    assert mine[6]["actor"] == f"citizen:{case.ERIKA}"
    assert mine[7]["before"]["status"] == "in_review"
    assert mine[7]["after"]["status"] == "approved"
    flat = str(trail)
    for private in ("Kennzeichen", "B-XY 99", "Erika"):
        assert private not in flat


async def test_history_rows_follow_the_actions(case: CaseHarness) -> None:
    c = await parking_case(case)
    clerk = staff(case)
    assert (await act(case, c["id"], "start_review", clerk)).status_code == 200
    await answer_parts(case, c["id"])
    assert (await act(case, c["id"], "reject", clerk, public_note="Keine Parkzone.")
            ).status_code == 200
    body = await get(case, c["id"], case.citizen_headers())
    assert [h["type"] for h in body["history"] if "part" not in h["type"]][-2:] == [
        "start_review", "reject"]
    assert body["history"][-1]["status"] == "rejected"
    assert body["decision"] == "rejected"


async def test_who_may_do_what(case: CaseHarness) -> None:
    c = await parking_case(case)
    cid = c["id"]
    version = (await get(case, cid, staff(case)))["version"]
    other_dept = staff(case, department="traffic")
    for method, path in (("GET", ""), ("POST", "/actions/start_review"), ("POST", "/claim"),
                         ("GET", "/notes"), ("GET", "/audit")):
        response = await case.client.request(method, f"/cases/{cid}{path}", json={},
                                             headers={**other_dept, "If-Match": f'"{version}"'})
        assert (response.status_code, response.json()["code"]) == (404, "case_not_found"), path
    max_ = case.citizen_headers(case.MAX)
    assert (await case.client.get(f"/cases/{cid}", headers=max_)).status_code == 404
    response = await case.client.post(f"/cases/{cid}/actions/withdraw", json={},
                                      headers={**max_, "If-Match": f'"{version}"'})
    assert (response.status_code, response.json()["code"]) == (404, "case_not_found")
    other_tenant = case.staff_headers({DEPT: ["clerk"]}, tenant=case.OTHER_TENANT)
    assert (await case.client.get(f"/cases/{cid}", headers=other_tenant)).status_code == 404

    erika = case.citizen_headers()
    response = await act(case, cid, "approve", erika)
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    response = await act(case, cid, "withdraw", staff(case))
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    admin = case.tenant_admin_headers()
    assert (await case.client.get(f"/cases/{cid}", headers=admin)).json()["actions"] == []
    response = await act(case, cid, "start_review", admin)
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    assert (await case.client.get(f"/cases/{cid}/audit", headers=admin)).status_code == 200
    response = await case.client.get(f"/cases/{cid}/audit", headers=erika)
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    response = await case.client.post(f"/cases/{cid}/assign", json={"assignee": None},
                                      headers={**staff(case), "If-Match": f'"{version}"'})
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    response = await case.client.post(f"/cases/{cid}/notes", headers=erika,
                                      json={"visibility": "public", "text": "Hallo"})
    assert (response.status_code, response.json()["code"]) == (403, "action_not_allowed")
    response = await case.client.post(
        f"/cases/{cid}/attachments", params={"kind": "proof_of_residence"}, content=PDF,
        headers={**erika, "Content-Type": "application/pdf"})
    assert (response.status_code, response.json()["code"]) == (409, "no_information_requested")

    assert (await get(case, cid, staff(case)))["version"] == version  # nothing changed


async def test_versions_and_bad_input(case: CaseHarness) -> None:
    c = await parking_case(case)
    cid = c["id"]
    clerk = staff(case)
    version = (await get(case, cid, clerk))["version"]
    cases: list[tuple[dict[str, str], Any, int, str]] = [
        ({}, {}, 428, "precondition_required"),
        ({"If-Match": '"999"'}, {}, 412, "case_version_mismatch"),
        ({"If-Match": "*"}, {}, 412, "case_version_mismatch"),
        ({"If-Match": f'"{version}"'}, {"public_note": 5}, 422, "validation_error"),
        ({"If-Match": f'"{version}"'}, {"unknown": 1}, 422, "validation_error"),
        ({"If-Match": f'"{version}"'}, [], 422, "validation_error"),
    ]
    for headers, body, status, code in cases:
        response = await case.client.post(f"/cases/{cid}/actions/start_review", json=body,
                                          headers={**clerk, **headers})
        assert (response.status_code, response.json()["code"]) == (status, code), (headers, body)
        assert response.headers["content-type"].startswith("application/problem+json")
    response = await act(case, cid, "fly_to_the_moon", clerk)
    assert (response.status_code, response.json()["code"]) == (404, "action_not_found")
    response = await act(case, cid, "approve", clerk)
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert (await act(case, cid, "start_review", clerk)).status_code == 200
    for information, code in (({"fields": ["no_such_field"]}, "unknown_fields"),
                              ({"attachment_kinds": ["passport"]}, "unknown_attachment_kind"),
                              ({"deadline": "2000-01-01"}, "invalid_deadline")):
        response = await act(case, cid, "request_information", clerk, public_note="x",
                             information=information)
        assert (response.status_code, response.json()["code"]) == (422, code), information
    response = await case.client.post(f"/cases/{cid}/actions/{'x' * 65}", json={},
                                      headers={**clerk, "If-Match": f'"{version}"'})
    assert response.status_code == 422
