"""Document templates over HTTP: platform admins write the library's default, a tenant admin or
the responsible department's manager the tenant's own; every version is checked when saved
(422 with a JSON pointer, never 500); the tenant's newest version wins over the library's."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from case_service.catalogue.demo_library import DEMO_SERVICES
from case_service.documents.seed import SEEDED_BY, demo_templates, template_id
from case_service.documents.template_versions import template_for
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_documents_api import decided, seeded, submitted

BIRTH = DEMO_SERVICES["geburtsurkunde"]
LIBRARY = f"/library/services/{BIRTH}/document-templates"
TENANT = f"/tenants/musterstadt/services/{BIRTH}/document-templates"
TEXTS: dict[str, Any] = {
    "title": "Bescheid", "subject": "Ihr Antrag {{ case.number }}",
    "body": ["Guten Tag {{ applicant.name }},",
             "{% if case.approved %}Bewilligt.{% else %}Abgelehnt.{% endif %}"],
    "closing": "Mit freundlichen Grüßen", "legal_remedy": "Widerspruch binnen eines Monats.",
}


def body(**de: Any) -> dict[str, Any]:
    return {"kind": "decision", "content": {"de": {**copy.deepcopy(TEXTS), **de}}}


async def test_who_writes_which_templates(case: CaseHarness) -> None:
    post = case.client.post
    assert (await post(LIBRARY, json=body(), headers=case.tenant_admin_headers())
            ).status_code == 403
    first = await post(LIBRARY, json=body(), headers=case.platform_admin_headers())
    assert first.status_code == 201, first.text
    second = await post(LIBRARY, json=body(title="Bescheid v2"),
                        headers=case.platform_admin_headers())
    assert (first.json()["tenant"], first.json()["version"], second.json()["version"]) == (
        None, 1, 2)

    for headers in (case.clerk_headers(), case.manager_headers("tax-office"),
                    case.citizen_headers(), case.client_headers("case:read case:write")):
        response = await post(TENANT, json=body(), headers=headers)
        assert response.status_code == 403, response.text
    manager = await post(TENANT, json=body(), headers=case.manager_headers())
    assert manager.status_code == 201, manager.text
    admin = await post(TENANT, json=body(), headers=case.tenant_admin_headers())
    assert (manager.json()["tenant"], manager.json()["version"], admin.json()["version"]) == (
        "musterstadt", 1, 2)
    other = await post(TENANT, json=body(),
                       headers=case.tenant_admin_headers("beispielhausen"))
    assert (other.status_code, other.json()["code"]) == (404, "tenant_not_found")
    unknown = await post(f"/tenants/musterstadt/services/{uuid.uuid4()}/document-templates",
                         json=body(), headers=case.tenant_admin_headers())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_not_found")

    listed = await case.client.get(TENANT, headers=case.clerk_headers())
    assert [t["version"] for t in listed.json()["items"]] == [2, 1]
    assert (await case.client.get(TENANT, headers=case.clerk_headers("tax-office"))
            ).status_code == 403
    library = await case.client.get(LIBRARY, headers=case.clerk_headers("tax-office"))
    assert [t["version"] for t in library.json()["items"]] == [2, 1]
    assert (await case.client.get(LIBRARY, headers=case.citizen_headers())).status_code == 403


async def test_broken_templates_are_refused_with_a_pointer(case: CaseHarness) -> None:
    cases = [
        (body(body=["Hallo", "{% if case.approved %}offen"]), "/content/de/body/1",
         "syntax_error"),
        (body(subject="{{ case.numbr }}"), "/content/de/subject", "unknown_variable"),
        (body(closing="{{ secret_key }}"), "/content/de/closing", "unknown_variable"),
        (body(title="{{ ''.__class__.__mro__ }}"), "/content/de/title", "not_allowed"),
        (body(title="{{ case.__class__ }}"), "/content/de/title", "not_allowed"),
        (body(title="{{ range(100000) | join }}"), "/content/de/title", "not_allowed"),
        (body(title="{{ 'x' * 999999999 }}"), "/content/de/title", "not_allowed"),
        (body(title="{% set x = 1 %}"), "/content/de/title", "not_allowed"),
        (body(title="{{ case | attr('__class__') }}"), "/content/de/title", "not_allowed"),
        (body(title="{% include 'x' %}"), "/content/de/title", "not_allowed"),
        (body(legal_remedy="{{ case.outcome.permit_number }}"), "/content/de/legal_remedy",
         "unknown_variable"),  # a rejection has no outcome
    ]
    for payload, pointer, code in cases:
        response = await case.client.post(TENANT, json=payload,
                                          headers=case.tenant_admin_headers())
        assert response.status_code == 422, (payload, response.text)
        problem = response.json()
        assert problem["code"] == "invalid_template", problem
        assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [(pointer, code)]
    english = {"kind": "decision", "content": {"de": TEXTS, "en": {**TEXTS, "title": "{{"}}}
    response = await case.client.post(TENANT, json=english, headers=case.tenant_admin_headers())
    assert [e["pointer"] for e in response.json()["errors"]] == ["/content/en/title"]
    for shape in ({"kind": "decision", "content": {"en": TEXTS}},
                  {"kind": "decision", "content": {"de": {**TEXTS, "body": "x"}}},
                  {"kind": "letter", "content": {"de": TEXTS}},
                  {"kind": "decision", "content": {"de": {**TEXTS, "title": "x" * 10_001}}}):
        response = await case.client.post(TENANT, json=shape,
                                          headers=case.tenant_admin_headers())
        assert response.status_code == 422, response.text
    assert await case.scalar("SELECT count(*) FROM document_templates") == 0


async def test_the_tenants_newest_version_wins(case: CaseHarness) -> None:
    await case.client.post(LIBRARY, json=body(title="Bibliothek"),
                           headers=case.platform_admin_headers())
    opened = await submitted(case)
    document = await decided(case, opened["id"])
    assert document is not None
    assert document.template_version == 1
    own = await case.client.post(TENANT, json=body(title="Musterstadt"),
                                 headers=case.manager_headers())
    newer_library = await case.client.post(LIBRARY, json=body(title="Bibliothek 2"),
                                           headers=case.platform_admin_headers())
    assert newer_library.json()["version"] == 2
    second = await submitted(case)
    document = await decided(case, second["id"])
    assert document is not None
    assert (str(document.template_id), document.template_version) == (own.json()["id"], 1)
    async with unit_of_work(case.sessions) as session:
        elsewhere = await template_for(session, "beispielhausen", BIRTH)
    assert elsewhere is not None
    assert (elsewhere.tenant, elsewhere.version) == (None, 2)


async def test_demo_templates_seed_once_and_musterstadt_has_its_own(case: CaseHarness) -> None:
    await seeded(case)
    await seeded(case)
    assert await case.scalar("SELECT count(*) FROM document_templates WHERE created_by = :b",
                             b=SEEDED_BY) == len(demo_templates()) == len(DEMO_SERVICES) + 1
    parking = DEMO_SERVICES["bewohnerparkausweis"]
    async with unit_of_work(case.sessions) as session:
        own = await template_for(session, "musterstadt", parking)
        default = await template_for(session, "beispielhausen", parking)
    assert own is not None
    assert default is not None
    assert own.id == template_id("bewohnerparkausweis", "musterstadt")
    assert default.id == template_id("bewohnerparkausweis", None)
    listed = await case.client.get(
        f"/tenants/musterstadt/services/{parking}/document-templates",
        headers=case.clerk_headers())
    assert [t["id"] for t in listed.json()["items"]] == [str(own.id)]


async def test_concurrent_writers_get_consecutive_versions(case: CaseHarness) -> None:
    import asyncio

    responses = await asyncio.gather(*(
        case.client.post(TENANT, json=body(title=f"Version {n}"),
                         headers=case.tenant_admin_headers()) for n in range(6)))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == [1, 2, 3, 4, 5, 6]
    assert await case.scalar("SELECT count(DISTINCT version) FROM document_templates "
                             "WHERE tenant = 'musterstadt'") == 6
