"""Parts for other departments (the shared folder): opened once per case by the tenant's
departments, in parallel or in sequence, listed and read by the asked department only, answered
with ``If-Match``; the case moves on after the last answer. Also the kit the other parts tests
use: a process with a consultation step, a case of it opened through the API, and the step
entered as the workflow does (``parts.service.on_state_entered`` on the locked case)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from case_service.cases import repository as cases_repository
from case_service.cases.events import PART_ANSWERED, PART_REQUESTED
from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id, parameters_id
from case_service.catalogue.models import ServiceDefinition
from case_service.parts import service as parts
from case_service.process.default import STAFF, process_data
from case_service.process.spec import ProcessSpec
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_cases_read import BIRTH_DATA, PDF, submitted
from .test_submit_api import DOG_DATA, make_draft, submit

DOG = "hundesteuer-anmeldung"
CASE_DEPARTMENT = "tax-office"
PART_DEPARTMENTS = {"traffic_check": "traffic", "order_check": "public-order"}
PARTS: list[dict[str, Any]] = [
    {"key": "traffic_check", "label": {"de": "Verkehr", "en": "Traffic"}, "due_days": 5},
    {"key": "order_check", "label": {"de": "Ordnung", "en": "Public order"}, "due_days": 10},
    {"key": "own_check", "label": {"de": "Eigene", "en": "Own"}, "due_days": 3},
]


def consult_process(mode: str = "parallel", parts_: list[dict[str, Any]] | None = None,
                    ) -> dict[str, Any]:
    """The default process with ``consultation`` (from ``in_review``, by staff) whose parts
    lead back to ``in_review`` once all are answered."""
    data = process_data(None)
    data["states"]["consultation"] = {"label": {"de": "Beteiligung", "en": "Consultation"},
                                      "parts": PARTS if parts_ is None else parts_,
                                      "parts_mode": mode}
    data["transitions"].append({"action": "consult", "label": {"de": "Beteiligen",
                                                               "en": "Consult"},
                                "from": ["in_review"], "to": "consultation", "roles": STAFF})
    data["automatic"].append({"on": "parts.answered", "from": "consultation",
                              "to": "in_review"})
    ProcessSpec.model_validate(data)
    return data


async def dog_case(h: CaseHarness, process: dict[str, Any]) -> dict[str, Any]:
    """A dog tax case (tax-office, nothing to pay) under a new definition version with
    ``process``, and the tenant's part departments set."""
    new_id = uuid.uuid4()
    async with unit_of_work(h.sessions) as session:
        old = await session.get(ServiceDefinition, definition_id(DOG))
        assert old is not None
        version = await h.scalar("SELECT max(version) FROM service_definitions "
                                 "WHERE service_id = :s", s=DEMO_SERVICES[DOG]) + 1
        session.add(ServiceDefinition(
            id=new_id, service_id=old.service_id, version=version, names=old.names,
            descriptions=old.descriptions, keywords=old.keywords, form_schema=old.form_schema,
            attachments=old.attachments, trust_level=old.trust_level, fee_rule=old.fee_rule,
            process=process, processing_days=old.processing_days,
            public_report=old.public_report, anonymous=old.anonymous,
            created_by=old.created_by))
    await set_part_departments(h, DOG)
    response = await submit(h, await make_draft(h, DOG, DOG_DATA, definition=new_id),
                            acr="basic")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["department"] == CASE_DEPARTMENT
    return body


async def set_part_departments(h: CaseHarness, slug: str) -> None:
    await h.execute("UPDATE service_parameters SET part_departments = CAST(:d AS jsonb) "
                    "WHERE id = :id", d=json.dumps(PART_DEPARTMENTS),
                    id=parameters_id("musterstadt", slug))


async def enter(h: CaseHarness, case_id: str, process: dict[str, Any],
                state: str = "consultation") -> list[uuid.UUID]:
    """Move the case into ``state`` and open its parts, as the workflow does (case row
    locked); the ids of the parts opened now."""
    async with unit_of_work(h.sessions) as session:
        case = await cases_repository.lock(session, "musterstadt", uuid.UUID(case_id))
        assert case is not None
        case.status = state
        case.version += 1
        opened = await parts.on_state_entered(session, case, ProcessSpec.model_validate(process),
                                              state, datetime.now(UTC))
        return [p.id for p in opened]


async def parts_of(h: CaseHarness, case_id: str) -> dict[str, Any]:
    """key -> row of the case's parts."""
    rows = await h.rows("SELECT * FROM case_parts WHERE case_id = :c ORDER BY position",
                        c=uuid.UUID(case_id))
    return {r.key: r for r in rows}


async def answer(h: CaseHarness, part_id: object, headers: dict[str, str], *,
                 version: int | str | None = 1, **body: Any) -> Any:
    if_match = {} if version is None else {"If-Match": version if isinstance(version, str)
                                           else f'"{version}"'}
    return await h.client.post(f"/parts/{part_id}/answer",
                               json=body or {"result": "agreed"},
                               headers={**headers, **if_match})


def _traffic(h: CaseHarness, tenant: str = "musterstadt") -> dict[str, str]:
    return h.clerk_headers("traffic", tenant=tenant)


async def test_a_state_opens_its_parts_once_asked_of_the_tenants_departments(
        case: CaseHarness) -> None:
    process = consult_process()
    body = await dog_case(case, process)
    before = datetime.now(UTC)
    first = await enter(case, body["id"], process)
    again = await enter(case, body["id"], process)  # the state entered a second time

    assert len(first) == 3
    assert again == []
    rows = await parts_of(case, body["id"])
    assert {k: (r.department, r.status) for k, r in rows.items()} == {
        "traffic_check": ("traffic", "open"), "order_check": ("public-order", "open"),
        "own_check": (CASE_DEPARTMENT, "open")}
    assert before + timedelta(days=5) <= rows["traffic_check"].due_at \
        <= datetime.now(UTC) + timedelta(days=5)
    requested = await case.outbox(PART_REQUESTED)
    assert len(requested) == 3
    assert sorted(e.attributes["department"] for e in requested) == sorted(
        ["traffic", "public-order", CASE_DEPARTMENT])
    assert {e.data["department"] for e in requested} == {CASE_DEPARTMENT}
    assert {e.data["part_status"] for e in requested} == {"open"}
    assert "Mustermann" not in str([e.data for e in requested])
    history = await case.rows("SELECT detail FROM case_history WHERE case_id = :c AND "
                              "type = 'part_requested'", c=uuid.UUID(body["id"]))
    assert sorted(h.detail["key"] for h in history) == sorted([*PART_DEPARTMENTS, "own_check"])
    assert await case.scalar("SELECT count(*) FROM case_audit WHERE case_id = :c AND "
                             "action = 'part_requested'", c=uuid.UUID(body["id"])) == 3


async def test_a_sequence_opens_each_part_after_the_one_before(case: CaseHarness) -> None:
    process = consult_process("sequence")
    body = await dog_case(case, process)
    await enter(case, body["id"], process)
    rows = await parts_of(case, body["id"])
    assert [(r.key, r.status, r.due_at is None) for r in rows.values()] == [
        ("traffic_check", "open", False), ("order_check", "waiting", True),
        ("own_check", "waiting", True)]
    order = case.clerk_headers("public-order")
    early = await answer(case, rows["order_check"].id, order)
    assert early.status_code == 409, early.text
    assert (early.json()["code"], early.json()["part_status"]) == ("part_not_open", "waiting")

    done = await answer(case, rows["traffic_check"].id, _traffic(case), result="objection",
                        note="Zone voll.", data={"zone": "B"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "answered"
    assert done.json()["answer"] == {"result": "objection", "note": "Zone voll.",
                                     "data": {"zone": "B"}}
    rows = await parts_of(case, body["id"])
    assert [r.status for r in rows.values()] == ["answered", "open", "waiting"]
    assert rows["order_check"].due_at is not None
    assert (await case.client.get(f"/cases/{body['id']}", headers=case.citizen_headers())
            ).json()["status"] == "consultation"

    second = await answer(case, rows["order_check"].id, order, version=2)
    assert second.status_code == 200, second.text
    own = await answer(case, rows["own_check"].id, case.clerk_headers(CASE_DEPARTMENT),
                       version=2)
    assert own.status_code == 200, own.text

    assert own.json()["case"]["status"] == "in_review"  # parts.answered taken
    requested = await case.outbox(PART_REQUESTED)
    assert [(e.data["key"], e.data["part_status"]) for e in requested] == [
        ("traffic_check", "open"), ("order_check", "waiting"), ("own_check", "waiting"),
        ("order_check", "open"), ("own_check", "open")]
    answered = await case.outbox(PART_ANSWERED)
    assert [(e.data["key"], e.data["result"]) for e in answered] == [
        ("traffic_check", "objection"), ("order_check", "agreed"), ("own_check", "agreed")]
    assert "Zone voll" not in str([e.data for e in answered])
    moved = await case.rows("SELECT status FROM case_history WHERE case_id = :c AND "
                            "type = 'parts.answered'", c=uuid.UUID(body["id"]))
    assert [m.status for m in moved] == ["in_review"]


async def test_only_the_asked_department_sees_its_part(case: CaseHarness) -> None:
    birth = await submitted(case, "geburtsurkunde", BIRTH_DATA, with_file=True)
    await set_part_departments(case, "geburtsurkunde")
    await enter(case, birth["id"], consult_process())
    rows = await parts_of(case, birth["id"])
    traffic_part = f"/parts/{rows['traffic_check'].id}"

    mine = await case.client.get(traffic_part, headers=_traffic(case))
    assert mine.status_code == 200, mine.text
    assert mine.headers["ETag"] == '"1"'
    view = mine.json()
    assert (view["department"], view["status"], view["key"]) == ("traffic", "open",
                                                                 "traffic_check")
    assert view["case"]["number"] == birth["number"]
    assert view["case"]["data"] == BIRTH_DATA
    assert view["case"]["service_name"]["de"] == "Geburtsurkunde"
    assert set(view["case"]) == {"id", "number", "service_id", "service_name", "status",
                                 "submitted_at", "data", "attachments"}
    [attachment] = view["case"]["attachments"]
    assert attachment["download_url"] == (
        f"{case.BASE_URL}{traffic_part}/attachments/{attachment['id']}")
    download = await case.client.get(attachment["download_url"], headers=_traffic(case))
    assert download.status_code == 200
    assert download.content == PDF
    listed = await case.client.get("/parts", headers=_traffic(case))
    assert [p["id"] for p in listed.json()["items"]] == [str(rows["traffic_check"].id)]

    # The case itself stays hidden from the asked department (the workflow's visibility).
    assert (await case.client.get(f"/cases/{birth['id']}", headers=_traffic(case))
            ).status_code == 404
    file_via_case = f"/cases/{birth['id']}/attachments/{attachment['id']}"
    assert (await case.client.get(file_via_case, headers=_traffic(case))).status_code == 404
    order_part = f"/parts/{rows['order_check'].id}"
    denials = {
        "another asked department's part": (order_part, _traffic(case), 404),
        "third department": (traffic_part, case.clerk_headers("library"), 404),
        "another tenant's traffic clerk": (traffic_part, _traffic(case, "beispielhausen"), 404),
        "the applicant herself": (traffic_part, case.citizen_headers(), 403),
        "machine client": (traffic_part, case.client_headers("case:read"), 403),
        "staff without a role": (traffic_part, case.staff_headers({}), 403),
        "anonymous": (traffic_part, {}, 401),
    }
    for who, (path, headers, status) in denials.items():
        for suffix in ("", f"/attachments/{attachment['id']}"):
            response = await case.client.get(path + suffix, headers=headers)
            assert response.status_code == status, (who, suffix, response.text)
        answered = await answer(case, path.removeprefix("/parts/"), headers)
        assert answered.status_code == status, (who, answered.text)
    assert (await case.client.get("/parts", headers=case.clerk_headers("library"))
            ).json()["items"] == []
    assert (await case.client.get("/parts?department=public-order", headers=_traffic(case))
            ).status_code == 403
    assert (await case.client.get("/parts", headers=case.citizen_headers())).status_code == 403
    admin = case.tenant_admin_headers()
    assert (await case.client.get(traffic_part, headers=admin)).status_code == 200
    by_admin = await answer(case, rows["traffic_check"].id, admin)
    assert by_admin.status_code == 403, by_admin.text  # admins read, take no actions
    assert (await parts_of(case, birth["id"]))["traffic_check"].status == "open"


async def test_if_match_guards_the_answer(case: CaseHarness) -> None:
    process = consult_process()
    body = await dog_case(case, process)
    await enter(case, body["id"], process)
    part = (await parts_of(case, body["id"]))["traffic_check"].id
    headers = _traffic(case)

    missing = await answer(case, part, headers, version=None)
    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    for stale in ('"0"', 'W/"1"', "1", '"2"'):
        response = await answer(case, part, headers, version=stale)
        assert (response.status_code, response.json()["code"]) == (
            412, "part_version_mismatch"), stale
        assert response.json()["current_version"] == 1
    assert await case.outbox(PART_ANSWERED) == []
    done = await answer(case, part, headers, version='"7", "1"')
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"2"'
    twice = await answer(case, part, headers, version=2)
    assert (twice.status_code, twice.json()["code"]) == (409, "part_not_open")
    replay = await answer(case, part, headers, version=1)
    assert replay.status_code == 412
    assert len(await case.outbox(PART_ANSWERED)) == 1


async def test_pages_of_parts_most_urgent_first(case: CaseHarness) -> None:
    process = consult_process("sequence", [PARTS[1], PARTS[0]])  # traffic waits for order
    parallel = consult_process()
    waiting = await dog_case(case, process)
    await enter(case, waiting["id"], process)
    cases = [await dog_case(case, parallel) for _ in range(3)]
    for c in cases:
        await enter(case, c["id"], parallel)
    headers = _traffic(case)
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await case.client.get(f"/parts?department=traffic&limit=2{cursor}",
                                     headers=headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        if page.json()["next_cursor"] is None:
            break
        cursor = f"&cursor={page.json()['next_cursor']}"
    assert [p["case_number"] for p in seen] == [c["number"] for c in cases] + [
        waiting["number"]]
    assert [p["status"] for p in seen] == ["open", "open", "open", "waiting"]
    only_waiting = await case.client.get("/parts?status=waiting", headers=headers)
    assert [p["case_id"] for p in only_waiting.json()["items"]] == [waiting["id"]]


async def test_bad_input_is_a_problem_never_a_500(case: CaseHarness) -> None:
    process = consult_process()
    body = await dog_case(case, process)
    await enter(case, body["id"], process)
    part = (await parts_of(case, body["id"]))["traffic_check"].id
    headers = {**_traffic(case), "If-Match": '"1"'}
    bodies: list[Any] = [
        {"result": "maybe"}, {}, {"result": "agreed", "extra": 1},
        {"result": "agreed", "note": "x" * 4001}, {"result": "agreed", "note": ""},
        {"result": "agreed", "note": "a\x00b"},
        {"result": "agreed", "data": {"x": "a\x00b"}},
        {"result": "agreed", "data": {"blob": "x" * 20_000}},
        {"result": "agreed", "data": [1, 2]}, "agreed", None,
    ]
    for bad in bodies:
        response = await case.client.post(f"/parts/{part}/answer", json=bad, headers=headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    raw = await case.client.post(f"/parts/{part}/answer", content=b"{nope",
                                 headers={**headers, "Content-Type": "application/json"})
    assert raw.status_code == 422
    for path in ("/parts/not-a-uuid", "/parts?cursor=nope", "/parts?status=done",
                 "/parts?limit=0", "/parts?limit=101", "/parts?department=NO%20WAY",
                 f"/parts/{part}/attachments/nope"):
        response = await case.client.get(path, headers=_traffic(case))
        assert response.status_code == 422, (path, response.text)
    assert (await case.client.get(f"/parts/{uuid.uuid4()}", headers=_traffic(case))
            ).json()["code"] == "part_not_found"
    assert (await parts_of(case, body["id"]))["traffic_check"].status == "open"
