"""Drafts through the API: started on the newest definition (and kept on it), labelled in the
caller's language, changed by JSON merge patch with field errors per pointer, guarded by
If-Match, read-only once submitted, never a 500 for bad input."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

MERGE = {"Content-Type": "application/merge-patch+json"}


async def parking(case: Any) -> uuid.UUID:
    return uuid.UUID(str(await case.scalar(
        "SELECT id FROM services WHERE slug = 'bewohnerparkausweis'")))


async def mark_submitted(case: Any, draft_id: uuid.UUID) -> None:
    """Mark the draft submitted as the cases slice does, without a case row (foreign keys
    are not checked for this one statement)."""
    async with case.engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("UPDATE drafts SET submitted_case_id = gen_random_uuid() "
                                "WHERE id = :id"), {"id": draft_id})


async def start(case: Any, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"service_id": str(await parking(case))}
    if data is not None:
        body["data"] = data
    response = await case.client.post("/drafts", json=body,
                                      headers=headers or case.client_headers())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_new_draft_shows_the_form_the_partial_errors_and_the_fee(case: Any) -> None:
    response = await case.client.post(
        "/drafts", json={"service_id": str(await parking(case)),
                         "data": {"vehicle_registration": "MS-AB 123"}},
        headers=case.citizen_headers())

    assert response.status_code == 201, response.text
    draft = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"].endswith(f"/drafts/{draft['id']}")
    assert draft["service"]["leika_key"] == "urn:de:fim:leika:leistung:99108001001000"
    assert draft["definition_version"] == 1
    assert draft["data"] == {"vehicle_registration": "MS-AB 123"}
    assert draft["errors"] == []  # missing entries are no error in a draft
    labels = {f["name"]: f["label"] for f in draft["form"]["fields"]}
    assert labels["vehicle_registration"] == "Kennzeichen"
    assert draft["form"]["schema"]["type"] == "object"
    assert draft["fee"]["amount"] == 3070
    assert draft["account_id"] == str(case.ERIKA)
    assert draft["status"] == "open"
    assert draft["version"] == 1
    assert datetime.fromisoformat(draft["expires_at"]) > datetime.fromisoformat(
        draft["updated_at"])


async def test_labels_follow_accept_language(case: Any) -> None:
    draft = await start(case)

    english = await case.client.get(f"/drafts/{draft['id']}",
                                    headers={**case.client_headers(),
                                             "Accept-Language": "en-GB,de;q=0.5"})

    labels = {f["name"]: f["label"] for f in english.json()["form"]["fields"]}
    assert labels["vehicle_registration"] == "Licence plate"


async def test_merge_patch_sets_and_removes_entries_and_extends_the_draft(
        case: Any) -> None:
    draft = await start(case, {"vehicle_registration": "MS-AB 123", "vehicle_owner": "self"})

    response = await case.client.patch(
        f"/drafts/{draft['id']}",
        content=json.dumps({"data": {"vehicle_owner": None, "locality": "Musterstadt"}}),
        headers={**case.client_headers(), **MERGE})

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["data"] == {"vehicle_registration": "MS-AB 123", "locality": "Musterstadt"}
    assert changed["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert changed["expires_at"] > draft["expires_at"]
    again = await case.client.get(f"/drafts/{draft['id']}", headers=case.client_headers())
    assert again.json()["data"] == changed["data"]


async def test_the_draft_as_read_may_be_sent_back_as_plain_json(case: Any) -> None:
    draft = await start(case)
    draft["data"] = {"postal_code": "12345"}

    response = await case.client.patch(f"/drafts/{draft['id']}", json=draft,
                                       headers=case.client_headers())

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"postal_code": "12345"}


@pytest.mark.parametrize(("language", "message"), [
    ("de", "Postleitzahl"), ("en", "Postal code"),
])
async def test_wrong_entries_are_refused_with_pointers_in_the_callers_language(
        case: Any, language: str, message: str) -> None:
    draft = await start(case, {"locality": "Musterstadt"})

    response = await case.client.patch(
        f"/drafts/{draft['id']}",
        json={"data": {"postal_code": "1234x", "valid_from": 20260101, "locality": None}},
        headers={**case.client_headers(), "Accept-Language": language})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "form_invalid"
    pointers = {(e["pointer"], e["code"]) for e in problem["errors"]}
    assert pointers == {("/postal_code", "pattern"), ("/valid_from", "type")}
    assert any(message in e["message"] for e in problem["errors"])
    kept = await case.client.get(f"/drafts/{draft['id']}", headers=case.client_headers())
    assert kept.json()["data"] == {"locality": "Musterstadt"}
    assert kept.json()["version"] == 1


async def test_if_match_refuses_a_change_to_a_draft_changed_meanwhile(case: Any) -> None:
    draft = await start(case)
    url = f"/drafts/{draft['id']}"
    first = await case.client.patch(url, json={"data": {"locality": "A"}},
                                    headers={**case.client_headers(), "If-Match": '"1"'})
    assert first.status_code == 200

    stale = await case.client.patch(url, json={"data": {"locality": "B"}},
                                    headers={**case.client_headers(), "If-Match": '"1"'})

    assert stale.status_code == 412
    assert stale.json()["code"] == "draft_version_mismatch"
    assert stale.json()["current_version"] == 2
    current = await case.client.get(url, headers=case.client_headers())
    assert current.json()["data"] == {"locality": "A"}
    weak = await case.client.patch(url, json={"data": {"locality": "C"}},
                                   headers={**case.client_headers(), "If-Match": 'W/"2"'})
    assert weak.status_code == 200
    stale_delete = await case.client.delete(url, headers={**case.client_headers(),
                                                          "If-Match": '"2"'})
    assert stale_delete.status_code == 412


async def test_a_draft_keeps_its_definition_version(case: Any) -> None:
    service_id = await parking(case)
    old = await start(case)
    await case.execute(
        "INSERT INTO service_definitions (id, service_id, version, names, descriptions, "
        "keywords, form_schema, attachments, trust_level, fee_rule, process, processing_days, "
        "public_report, anonymous, created_by) "
        "SELECT gen_random_uuid(), service_id, 2, names, descriptions, keywords, "
        "jsonb_set(form_schema, '{properties,vehicle_registration,x-label,de}', "
        "'\"Amtliches Kennzeichen\"'), attachments, trust_level, fee_rule, process, "
        "processing_days, public_report, anonymous, 'test' "
        "FROM service_definitions WHERE service_id = :id AND version = 1", id=service_id)

    kept = await case.client.get(f"/drafts/{old['id']}", headers=case.client_headers())
    new = await start(case)

    assert kept.json()["definition_version"] == 1
    assert {f["name"]: f["label"] for f in kept.json()["form"]["fields"]}[
        "vehicle_registration"] == "Kennzeichen"
    assert new["definition_version"] == 2
    assert {f["name"]: f["label"] for f in new["form"]["fields"]}[
        "vehicle_registration"] == "Amtliches Kennzeichen"


async def test_a_submitted_draft_is_read_only(case: Any) -> None:
    draft = await start(case)
    await mark_submitted(case, uuid.UUID(draft["id"]))
    url = f"/drafts/{draft['id']}"

    patched = await case.client.patch(url, json={"data": {"locality": "X"}},
                                      headers=case.client_headers())
    deleted = await case.client.delete(url, headers=case.client_headers())
    uploaded = await case.client.post(
        f"{url}/attachments", params={"kind": "proof_of_residence"},
        content=b"%PDF-1.7\n", headers={**case.client_headers(), "Content-Type": "application/pdf"})
    read = await case.client.get(url, headers=case.client_headers())

    assert (patched.status_code, patched.json()["code"]) == (409, "draft_submitted")
    assert (deleted.status_code, deleted.json()["code"]) == (409, "draft_submitted")
    assert (uploaded.status_code, uploaded.json()["code"]) == (409, "draft_submitted")
    assert read.json()["status"] == "submitted"


async def test_a_deleted_draft_is_gone(case: Any) -> None:
    draft = await start(case)

    deleted = await case.client.delete(f"/drafts/{draft['id']}", headers=case.client_headers())

    assert deleted.status_code == 204
    gone = await case.client.get(f"/drafts/{draft['id']}", headers=case.client_headers())
    assert gone.status_code == 404
    assert gone.json()["code"] == "draft_not_found"


async def test_my_drafts_are_listed_newest_first_page_by_page(case: Any) -> None:
    ids = [(await start(case, headers=case.citizen_headers()))["id"] for _ in range(3)]
    await start(case, headers=case.citizen_headers(case.MAX))

    first = await case.client.get("/drafts", params={"limit": 2},
                                  headers=case.citizen_headers())
    second = await case.client.get("/drafts", params={"limit": 2,
                                                      "cursor": first.json()["next_cursor"]},
                                   headers=case.citizen_headers())

    listed = [d["id"] for d in first.json()["items"] + second.json()["items"]]
    assert listed == ids[::-1]
    assert second.json()["next_cursor"] is None


async def test_a_citizen_applies_only_for_themself(case: Any) -> None:
    response = await case.client.post(
        "/drafts", json={"service_id": str(await parking(case)), "account_id": str(case.MAX)},
        headers=case.citizen_headers())

    assert response.status_code == 422
    assert response.json()["code"] == "account_id_not_allowed"
    assert await case.scalar("SELECT count(*) FROM drafts") == 0


async def test_a_city_system_applies_for_the_citizen_it_names(case: Any) -> None:
    draft = await start(case, headers=case.client_headers())
    named = await case.client.post(
        "/drafts", json={"service_id": str(await parking(case)), "account_id": str(case.MAX)},
        headers=case.client_headers())

    assert draft["account_id"] is None
    assert draft["prefill"] == "not_applicable"
    assert named.json()["account_id"] == str(case.MAX)


async def test_unknown_services_and_other_tenants_are_not_found(case: Any) -> None:
    unknown = await case.client.post("/drafts", json={"service_id": str(uuid.uuid4())},
                                     headers=case.client_headers())
    foreign = await case.client.post(
        "/drafts", json={"service_id": str(await parking(case)), "tenant": case.OTHER_TENANT},
        headers=case.client_headers())

    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_not_found")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "service_not_found")
