"""A department's worklist: who may read it, its filters, its order by due date with a keyset
cursor over pages (cases without a due date last), its counts and its text search over case
number and applicant name (tsquery syntax in the search text is only text)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id, parameters_id
from case_service.process.default import process_data

from .conftest import CaseHarness

NOW = datetime.now(UTC)
BIRTH = DEMO_SERVICES["geburtsurkunde"]
TRADE = DEMO_SERVICES["gewerbeanmeldung"]


async def insert_case(h: CaseHarness, *, number: str, status: str = "submitted",
                      slug: str = "geburtsurkunde", tenant: str = "musterstadt",
                      department: str = "citizens-office", due_at: datetime | None = None,
                      applicant_name: str | None = "Erika Mustermann",
                      assignee: str | None = None, submitted_at: datetime | None = None,
                      decided_at: datetime | None = None) -> uuid.UUID:
    """A case row as open_case leaves it (and as staff moved it on), written directly."""
    case_id = uuid.uuid4()
    await h.execute(
        "INSERT INTO cases (id, tenant, department, number, service_id, definition_id, "
        "definition_version, parameters_id, parameters_version, submitted_by, channel, status, "
        "data, reference, retain_until, due_at, applicant_name, assignee, submitted_at, "
        "decided_at, decision) VALUES (:id, :tenant, :department, :number, :service, :definition,"
        " 1, :parameters, 1, 'anonymous', 'online', :status, '{}', :reference, '2036-01-01', "
        ":due_at, :name, :assignee, :submitted_at, :decided_at, :decision)",
        id=case_id, tenant=tenant, department=department, number=number,
        service=DEMO_SERVICES[slug], definition=definition_id(slug),
        parameters=parameters_id(tenant, slug), status=status,
        reference=f"case/case/{case_id}", due_at=due_at, name=applicant_name,
        assignee=assignee, submitted_at=submitted_at or NOW - timedelta(days=3),
        decided_at=decided_at,
        decision=status if status in ("approved", "rejected") else None)
    return case_id


async def worklist(h: CaseHarness, headers: dict[str, str], query: str = "",
                   department: str = "citizens-office", expect: int = 200) -> Any:
    response = await h.client.get(f"/departments/{department}/worklist{query}",
                                  headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


def numbers(body: Any) -> list[str]:
    return [item["number"] for item in body["items"]]


async def test_only_the_departments_staff_and_tenant_admins_read_its_worklist(
        case: CaseHarness) -> None:
    await insert_case(case, number="MS-2026-000001")
    assert numbers(await worklist(case, case.clerk_headers())) == ["MS-2026-000001"]
    assert numbers(await worklist(case, case.manager_headers())) == ["MS-2026-000001"]
    assert numbers(await worklist(case, case.tenant_admin_headers())) == ["MS-2026-000001"]
    for headers in (case.clerk_headers("tax-office"), case.citizen_headers(),
                    case.client_headers("case:read"), case.staff_headers({})):
        body = await worklist(case, headers, expect=403)
        assert body["code"] == "not_your_department"
    counts = await case.client.get("/departments/citizens-office/worklist/counts",
                                   headers=case.clerk_headers("tax-office"))
    assert counts.status_code == 403
    assert counts.json()["code"] == "not_your_department"
    other = case.clerk_headers(tenant="beispielhausen")
    assert numbers(await worklist(case, other)) == []
    assert (await case.client.get("/departments/citizens-office/worklist/counts",
                                  headers=other)).json()["statuses"] == {}
    assert numbers(await worklist(case, case.tenant_admin_headers("beispielhausen"))) == []


async def test_filters(case: CaseHarness) -> None:
    me = str(uuid.uuid4())
    await insert_case(case, number="A-1", due_at=NOW - timedelta(days=2), assignee=me)
    await insert_case(case, number="A-2", status="in_review", due_at=NOW + timedelta(days=5),
                      assignee="someone-else")
    await insert_case(case, number="A-3", status="in_review", slug="gewerbeanmeldung",
                      due_at=NOW + timedelta(days=20))
    await insert_case(case, number="A-4", status="information_requested")
    await insert_case(case, number="A-5", status="approved", due_at=NOW - timedelta(days=9),
                      decided_at=NOW - timedelta(days=1))
    await insert_case(case, number="A-6", status="withdrawn", due_at=NOW - timedelta(days=8))
    await insert_case(case, number="T-1", department="tax-office", slug="hundesteuer-anmeldung")
    clerk = case.staff_headers({"citizens-office": ["clerk"]}, sub=me)

    async def listed(query: str) -> list[str]:
        return numbers(await worklist(case, clerk, query))

    assert await listed("") == ["A-1", "A-2", "A-3", "A-4"]  # open ones, undated last
    assert await listed("?status=in_review") == ["A-2", "A-3"]
    assert await listed("?status=in_review&status=approved") == ["A-5", "A-2", "A-3"]
    assert await listed(f"?service_id={TRADE}") == ["A-3"]
    assert await listed("?assignee=me") == ["A-1"]
    assert await listed("?assignee=someone-else") == ["A-2"]
    assert await listed("?assignee=none") == ["A-3", "A-4"]
    due = (NOW + timedelta(days=10)).isoformat()
    assert await listed(f"?due_before={due.replace('+', '%2B')}") == ["A-1", "A-2"]
    assert await listed("?overdue=true") == ["A-1"]
    assert await listed("?overdue=true&status=approved&status=submitted") == ["A-1"]
    body = await worklist(case, clerk, "?status=submitted&status=approved")
    flags = {item["number"]: item["overdue"] for item in body["items"]}
    assert flags == {"A-5": False, "A-1": True}
    first = body["items"][1]
    assert first["assignee"] == me
    assert first["applicant_name"] == "Erika Mustermann"
    assert first["service_id"] == str(BIRTH)
    assert first["state_deadline"] is None
    for bad in ("?status=Not-A-Status", "?limit=0", "?limit=101", "?cursor=%21%21",
                "?due_before=tomorrow", f"?cursor={'x' * 201}"):
        problem = await worklist(case, clerk, bad, expect=422)
        assert problem["status"] == 422


async def test_cursor_walks_every_case_once_in_due_order(case: CaseHarness) -> None:
    tie = NOW + timedelta(days=3)
    expected: list[tuple[bool, datetime, str]] = []
    for i in range(23):
        due = None if i % 5 == 0 else tie if i % 4 == 0 else NOW + timedelta(hours=7 * i - 40)
        case_id = await insert_case(case, number=f"P-{i:03d}", due_at=due,
                                    status="submitted" if i % 2 else "in_review")
        expected.append((due is None, due or NOW, str(case_id)))
    expected.sort()
    clerk = case.clerk_headers()
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        body = await worklist(case, clerk, f"?limit=4{cursor}")
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == [case_id for _, _, case_id in expected]
    assert pages == 6  # 23 cases, 4 a page: the last page is not followed by an empty one
    undated = sum(1 for none, _, _ in expected if none)
    assert undated == 5
    assert seen[-undated:] == [c for n, _, c in expected if n]
    # A page boundary right between the dated and the undated cases, and inside them.
    for limit in (18, 19, 20):
        body = await worklist(case, clerk, f"?limit={limit}")
        rest = await worklist(case, clerk, f"?limit=100&cursor={body['next_cursor']}")
        assert [i["id"] for i in body["items"] + rest["items"]] == seen


async def test_counts_per_status_and_overdue(case: CaseHarness) -> None:
    process = process_data(None)
    process["states"]["archived"] = {"label": {"de": "Abgelegt", "en": "Filed"},
                                     "kind": "decision", "decision": "approved"}
    await case.execute("UPDATE service_definitions SET process = CAST(:p AS jsonb) "
                       "WHERE id = :id", p=json.dumps(process),
                       id=definition_id("gewerbeanmeldung"))
    await insert_case(case, number="C-6", status="archived", slug="gewerbeanmeldung",
                      due_at=NOW - timedelta(days=30), decided_at=NOW - timedelta(days=20))
    await insert_case(case, number="C-1", due_at=NOW - timedelta(days=1))
    await insert_case(case, number="C-2", due_at=NOW + timedelta(days=1))
    await insert_case(case, number="C-3", status="in_review", due_at=NOW - timedelta(hours=1))
    await insert_case(case, number="C-4", status="information_requested")
    await insert_case(case, number="C-5", status="rejected", due_at=NOW - timedelta(days=4),
                      decided_at=NOW - timedelta(days=1))
    await insert_case(case, number="T-1", department="tax-office", slug="hundesteuer-anmeldung",
                      due_at=NOW - timedelta(days=1))
    response = await case.client.get("/departments/citizens-office/worklist/counts",
                                     headers=case.tenant_admin_headers())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "department": "citizens-office", "open": 4, "overdue": 2,
        "statuses": {"submitted": 2, "in_review": 1, "information_requested": 1,
                     "rejected": 1, "archived": 1}}
    # A final state of a stored process is final in the worklist too.
    assert "C-6" not in numbers(await worklist(case, case.clerk_headers()))
    archived = await worklist(case, case.clerk_headers(), "?status=archived")
    assert [(i["number"], i["overdue"]) for i in archived["items"]] == [("C-6", False)]
    assert numbers(await worklist(case, case.clerk_headers(), "?overdue=true")) == ["C-1", "C-3"]


@pytest.mark.parametrize("q", ["&|!():*'\\", "Muster & | !", "'erika':* | x", "(((", ":*",
                               "\\'", "a:* & !b", "Müller)'", "'", "<->", "x <2> y", "é"])
async def test_search_text_with_query_syntax_is_only_text(case: CaseHarness, q: str) -> None:
    await insert_case(case, number="MS-2026-000123", applicant_name="Erika Mustermann")
    response = await case.client.get("/departments/citizens-office/worklist",
                                     params={"q": q}, headers=case.clerk_headers())
    assert response.status_code == 200, response.text


async def test_search_by_number_and_by_applicant_name(case: CaseHarness) -> None:
    await insert_case(case, number="MS-2026-000123", applicant_name="Erika Mustermann")
    await insert_case(case, number="MS-2026-000124", applicant_name="Max Müller-Lüdenscheidt")
    await insert_case(case, number="MS-2026-000200", applicant_name=None)
    await insert_case(case, number="MS-2026-000999", department="tax-office",
                      slug="hundesteuer-anmeldung", applicant_name="Erika Mustermann")
    clerk = case.clerk_headers()

    async def found(q: str) -> list[str]:
        response = await case.client.get("/departments/citizens-office/worklist",
                                          params={"q": q}, headers=clerk)
        assert response.status_code == 200, response.text
        return numbers(response.json())

    assert await found("MS-2026-000123") == ["MS-2026-000123"]
    assert await found("ms-2026-000124") == ["MS-2026-000124"]
    assert await found("000200") == ["MS-2026-000200"]
    assert await found("Mustermann") == ["MS-2026-000123"]
    assert await found("erika muster") == ["MS-2026-000123"]
    assert await found("müller") == ["MS-2026-000124"]
    assert await found("Lüdensch") == ["MS-2026-000124"]
    assert sorted(await found("MS-2026")) == ["MS-2026-000123", "MS-2026-000124",
                                              "MS-2026-000200"]
    assert await found("Erika Schmidt") == []
    assert await found("&|!") == []
    refused = await case.client.get("/departments/citizens-office/worklist",
                                    params={"q": "Mustermann"}, headers=case.citizen_headers())
    assert refused.status_code == 403


async def test_search_text_that_cannot_be_text_is_refused_not_a_crash(case: CaseHarness) -> None:
    for params in ({"q": "Muster\x00mann"}, {"assignee": "\x00"}, {"q": "x" * 201}):
        response = await case.client.get("/departments/citizens-office/worklist",
                                          params=params, headers=case.clerk_headers())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
