"""Parts through the workflow's API: a clerk's transition into the consultation step opens its
parts, the asked departments answer, the case comes back to review by itself and can be
decided; a withdrawal during the consultation cancels the unanswered parts, and a late answer
is refused."""

from __future__ import annotations

from typing import Any

from .conftest import CaseHarness
from .test_parts_api import CASE_DEPARTMENT, answer, consult_process, dog_case, parts_of


def _withdrawable(process: dict[str, Any]) -> dict[str, Any]:
    for transition in process["transitions"]:
        if transition["action"] == "withdraw" and "in_review" in transition["from"]:
            transition["from"].append("consultation")
    return process


async def _act(h: CaseHarness, case_id: str, action: str, headers: dict[str, str],
               **body: Any) -> dict[str, Any]:
    current = await h.client.get(f"/cases/{case_id}", headers=headers)
    assert current.status_code == 200, current.text
    response = await h.client.post(f"/cases/{case_id}/actions/{action}", json=body, headers={
        **headers, "If-Match": current.headers["ETag"]})
    assert response.status_code == 200, (action, response.text)
    result: dict[str, Any] = response.json()
    return result


async def test_the_consultation_opens_parts_and_returns_to_review(case: CaseHarness) -> None:
    body = await dog_case(case, consult_process())
    clerk = case.clerk_headers(CASE_DEPARTMENT)
    await _act(case, body["id"], "start_review", clerk)
    consulting = await _act(case, body["id"], "consult", clerk)
    assert consulting["status"] == "consultation"
    rows = await parts_of(case, body["id"])
    assert {k: r.status for k, r in rows.items()} == {
        "traffic_check": "open", "order_check": "open", "own_check": "open"}

    for key, department in (("traffic_check", "traffic"), ("order_check", "public-order")):
        response = await answer(case, rows[key].id, case.clerk_headers(department))
        assert response.status_code == 200, response.text
        assert response.json()["case"]["status"] == "consultation"
    own = await answer(case, rows["own_check"].id, clerk)
    assert own.json()["case"]["status"] == "in_review"

    decided = await _act(case, body["id"], "approve", clerk)
    assert decided["status"] == "approved"


async def test_a_withdrawal_cancels_the_open_parts(case: CaseHarness) -> None:
    body = await dog_case(case, _withdrawable(consult_process("sequence")))
    clerk = case.clerk_headers(CASE_DEPARTMENT)
    await _act(case, body["id"], "start_review", clerk)
    await _act(case, body["id"], "consult", clerk)
    await _act(case, body["id"], "withdraw", case.citizen_headers())

    rows = await parts_of(case, body["id"])
    assert {r.status for r in rows.values()} == {"cancelled"}
    late = await answer(case, rows["traffic_check"].id, case.clerk_headers("traffic"))
    assert (late.status_code, late.json()["code"]) == (412, "part_version_mismatch")
    fresh = await answer(case, rows["traffic_check"].id, case.clerk_headers("traffic"),
                         version=rows["traffic_check"].version)
    assert (fresh.status_code, fresh.json()["code"]) == (409, "part_not_open")
    assert fresh.json()["part_status"] == "cancelled"
