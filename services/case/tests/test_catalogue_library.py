"""The library API: platform admins add services and versions with validation on save; anyone
reads; nobody else writes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES, LIBRARY

BIRTH = DEMO_SERVICES["geburtsurkunde"]


def _new_service(**changes: Any) -> dict[str, Any]:
    demo = LIBRARY[3]
    body: dict[str, Any] = {
        "leika_key": "urn:de:fim:leika:leistung:99027002099000", "slug": "sterbeurkunde",
        "names": {"de": "Sterbeurkunde", "en": "Death certificate"},
        "descriptions": {"de": "Ausstellung einer Sterbeurkunde.",
                         "en": "Issue of a death certificate."},
        "keywords": ["Urkunde"], "form_schema": copy.deepcopy(demo.form_schema),
        "attachments": [], "trust_level": "substantial", "fee_rule": demo.fee_rule,
        "processing_days": 5}
    body.update(changes)
    return body


def _version(**changes: Any) -> dict[str, Any]:
    body = _new_service(**changes)
    del body["leika_key"], body["slug"]
    return body


async def test_platform_admin_adds_a_service_anyone_reads_it(case_db: Any) -> None:
    created = await case_db.client.post("/library/services", json=_new_service(),
                                        headers=case_db.platform_admin_headers())
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["latest_version"] == 1
    assert service["definition"]["fee_rule"]["components"][0]["amount"] == "values.certificate"
    read = await case_db.client.get(f"/library/services/{service['id']}")
    assert read.status_code == 200
    assert read.json()["definition"]["names"]["en"] == "Death certificate"
    listed = await case_db.client.get("/library/services")
    assert [s["slug"] for s in listed.json()["items"]] == ["sterbeurkunde"]


@pytest.mark.parametrize("who", ["tenant_admin", "manager", "citizen", "client", "anonymous"])
async def test_nobody_but_platform_admins_writes_the_library(case: Any, who: str) -> None:
    headers = {"tenant_admin": case.tenant_admin_headers(), "manager": case.manager_headers(),
               "citizen": case.citizen_headers(), "client": case.client_headers(),
               "anonymous": {}}[who]
    created = await case.client.post("/library/services", json=_new_service(), headers=headers)
    version = await case.client.post(f"/library/services/{BIRTH}/versions",
                                     json=_version(), headers=headers)
    expected = 401 if who == "anonymous" else 403
    assert (created.status_code, version.status_code) == (expected, expected)
    assert await case.scalar("SELECT count(*) FROM service_definitions WHERE service_id = :id",
                             id=BIRTH) == 1


@pytest.mark.parametrize(("changes", "code"), [
    ({"leika_key": "urn:de:fim:leika:leistung:123"}, "invalid_leika_key"),
    ({"leika_key": "99027002099000"}, "invalid_leika_key"),
    ({"form_schema": {"type": "object", "properties": {"a": {"type": "nonsense"}}}},
     "invalid_form_schema"),
    ({"fee_rule": {"components": [{"kind": "fixed", "label": {"de": "G", "en": "F"},
                                   "amount": "values.x +"}]}}, "invalid_fee_rule"),
    ({"fee_rule": {"components": [{"kind": "fixed", "label": {"de": "G", "en": "F"},
                                   "amount": "secret.x"}]}}, "invalid_fee_rule"),
    ({"attachments": [{"kind": "proof", "label": {"de": "N", "en": "P"}, "required": True,
                       "media_types": ["application/x-msdownload"], "max_bytes": 1000}]},
     "invalid_attachments"),
    ({"attachments": [{"kind": "proof", "label": {"de": "N", "en": "P"}, "required": True,
                       "media_types": ["application/pdf"], "max_bytes": 10**9}]},
     "invalid_attachments"),
    ({"anonymous": True}, "invalid_definition"),
    ({"processing_days": 0}, "validation_error"),
    ({"trust_level": "extreme"}, "validation_error"),
])
async def test_invalid_definitions_are_refused(case_db: Any, changes: dict[str, Any],
                                               code: str) -> None:
    response = await case_db.client.post("/library/services", json=_new_service(**changes),
                                         headers=case_db.platform_admin_headers())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await case_db.scalar("SELECT count(*) FROM services") == 0


async def test_duplicate_key_or_slug_is_a_conflict(case: Any) -> None:
    admin = case.platform_admin_headers()
    same_key = await case.client.post("/library/services", headers=admin, json=_new_service(
        leika_key=LIBRARY[3].leika_key))
    same_slug = await case.client.post("/library/services", headers=admin,
                                       json=_new_service(slug="geburtsurkunde"))
    assert (same_key.status_code, same_slug.status_code) == (409, 409)
    assert (same_key.json()["code"], same_key.json()["field"]) == ("service_exists", "leika_key")
    assert same_slug.json()["field"] == "slug"


async def test_a_new_version_keeps_the_old_one(case: Any) -> None:
    body = _version(names={"de": "Geburtsurkunde (neu)", "en": "Birth certificate (new)"})
    created = await case.client.post(f"/library/services/{BIRTH}/versions", json=body,
                                     headers=case.platform_admin_headers())
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2
    newest = (await case.client.get(f"/library/services/{BIRTH}")).json()
    assert (newest["latest_version"], newest["definition"]["names"]["en"]) == (
        2, "Birth certificate (new)")
    first = await case.client.get(f"/library/services/{BIRTH}/versions/1")
    assert first.json()["names"]["en"] == "Birth certificate"
    missing = await case.client.get(f"/library/services/{BIRTH}/versions/3")
    assert missing.json()["code"] == "definition_not_found"


async def test_a_new_version_changes_the_form_new_drafts_get(case: Any) -> None:
    form = copy.deepcopy(LIBRARY[3].form_schema)
    form["properties"]["copies"]["maximum"] = 3
    form["properties"]["copies"]["x-label"] = {"de": "Exemplare", "en": "Copies"}
    created = await case.client.post(f"/library/services/{BIRTH}/versions",
                                     json=_version(form_schema=form),
                                     headers=case.platform_admin_headers())
    assert created.status_code == 201
    public = (await case.client.get(f"/public/musterstadt/services/{BIRTH}")).json()
    assert public["definition_version"] == 2
    assert public["form"]["schema"]["properties"]["copies"]["maximum"] == 3
    assert "Exemplare" in [f["label"] for f in public["form"]["fields"]]
    # The version drafts and cases pinned stays as it was.
    from case_service.catalogue.demo_library import definition_id
    from case_service.catalogue.resolution import definition_by_id

    async with case.sessions() as session:
        first = await definition_by_id(session, definition_id("geburtsurkunde"))
    assert (first.version, first.form_schema["properties"]["copies"]["maximum"]) == (1, 10)


async def test_openapi_has_examples_for_every_catalogue_schema(case_db: Any) -> None:
    spec = (await case_db.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    names = ["ServiceCreate", "DefinitionCreate", "LibraryServiceRead", "DefinitionRead",
             "LibraryServiceList", "AttachmentSpec", "ParametersCreate", "ParametersEnd",
             "ParametersRead", "ParametersList", "RevenueShare", "ParameterTexts",
             "PublicServiceRead", "PublicServiceList", "PublicServiceDetail",
             "FeePreviewCreate", "FeePreviewRead", "PublicFormFieldRead", "PublicForm",
             "PublicAttachment", "FeePreviewLine", "LocalizedText", "ShortText"]
    assert [n for n in names if not schemas[n].get("examples")] == []
    assert {"/library/services", "/tenants/{tenant}/parameters",
            "/public/{tenant}/services/{service_id}/fee-preview"} <= set(spec["paths"])
    example = schemas["ServiceCreate"]["examples"][0]
    created = await case_db.client.post("/library/services", json=example,
                                        headers=case_db.platform_admin_headers())
    assert created.status_code == 201, created.text


async def test_concurrent_creates_of_one_key_give_one_service(case_db: Any) -> None:
    import asyncio

    admin = case_db.platform_admin_headers()
    responses = await asyncio.gather(*(
        case_db.client.post("/library/services", headers=admin,
                            json=_new_service(slug=f"sterbeurkunde-{i}")) for i in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert await case_db.scalar("SELECT count(*) FROM service_definitions") == 1
