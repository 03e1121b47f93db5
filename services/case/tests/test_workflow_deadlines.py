"""Deadlines and withdrawal: the deadline job reminds once before an answer is due and, after
it, expires the request and takes the process's ``deadline.expired`` transition (back to
review); a withdrawal before processing asks payment for the fee back, after it does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from case_service.cases.payments import REFUND_REQUEST
from case_service.workflow.deadlines import sweep_deadlines
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness
from .test_workflow_kit import act, events_of, get, parking_case, staff

REMINDER = "city.case.case.information_reminder.v1"


async def _sweep(case: CaseHarness, now: datetime) -> int:
    async with unit_of_work(case.sessions) as session:
        return await sweep_deadlines(session, now, settings=case.settings)


async def _information_requested(case: CaseHarness) -> tuple[str, datetime]:
    c = await parking_case(case)
    clerk = staff(case)
    assert (await act(case, c["id"], "start_review", clerk)).status_code == 200
    asked = await act(case, c["id"], "request_information", clerk, public_note="Bitte Nachweis.",
                      information={"attachment_kinds": ["proof_of_residence"]})
    assert asked.status_code == 200, asked.text
    return c["id"], datetime.fromisoformat(asked.json()["state_deadline"])


async def test_reminder_once_then_expiry_returns_the_case_to_review(case: CaseHarness) -> None:
    cid, deadline = await _information_requested(case)
    early = deadline - timedelta(days=4)
    assert await _sweep(case, early) == 0
    assert await events_of(case, cid, REMINDER) == []

    soon = deadline - timedelta(days=2)
    assert await _sweep(case, soon) == 1
    assert await _sweep(case, soon + timedelta(hours=1)) == 0
    [reminder] = await events_of(case, cid, REMINDER)
    assert datetime.fromisoformat(reminder["deadline"]) == deadline
    assert reminder["recipient"]["account_id"] == str(case.ERIKA)
    assert (await get(case, cid, staff(case)))["status"] == "information_requested"

    after = deadline + timedelta(seconds=1)
    assert await _sweep(case, after) == 1
    assert await _sweep(case, after + timedelta(days=1)) == 0
    body = await get(case, cid, staff(case))
    assert body["status"] == "in_review"
    assert body["state_deadline"] is None
    assert await case.scalar("SELECT status FROM case_information_requests") == "expired"
    changed = [e for e in await events_of(case, cid, "city.case.case.status_changed.v1")
               if e["action"] == "deadline.expired"]
    assert [(e["previous_status"], e["status"], e["actor_kind"]) for e in changed] == [
        ("information_requested", "in_review", "system")]
    trail = await case.rows("SELECT actor, action FROM case_audit WHERE case_id = :c "
                            "AND (action LIKE 'information_%' OR action = 'deadline.expired') "
                            "ORDER BY id", c=cid)
    assert [tuple(r) for r in trail] == [("system", "information_reminder"),
                                         ("system", "information_expired"),
                                         ("system", "deadline.expired")]
    late = await case.client.post(
        f"/cases/{cid}/attachments", params={"kind": "proof_of_residence"}, content=b"%PDF-1.7",
        headers={**case.citizen_headers(), "Content-Type": "application/pdf"})
    assert (late.status_code, late.json()["code"]) == (409, "no_information_requested")


async def _refunds(case: CaseHarness, cid: str) -> list[dict[str, Any]]:
    return [r.data for r in await case.outbox(REFUND_REQUEST) if cid in r.key]


async def test_withdrawal_before_processing_refunds_the_fee(case: CaseHarness) -> None:
    c = await parking_case(case)
    withdrawn = await act(case, c["id"], "withdraw", case.citizen_headers())
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["refund_status"] == "requested"
    [event] = await events_of(case, c["id"], "city.case.case.withdrawn.v1")
    assert event["refund_amount"] == c["fee_amount"] > 0
    [refund] = await _refunds(case, c["id"])
    assert refund["amount"] == c["fee_amount"]
    again = await act(case, c["id"], "withdraw", case.citizen_headers())
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert len(await _refunds(case, c["id"])) == 1


async def test_withdrawal_after_processing_started_refunds_nothing(case: CaseHarness) -> None:
    c = await parking_case(case)
    assert (await act(case, c["id"], "start_review", staff(case))).status_code == 200
    withdrawn = await act(case, c["id"], "withdraw", case.citizen_headers())
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["refund_status"] is None
    [event] = await events_of(case, c["id"], "city.case.case.withdrawn.v1")
    assert event["refund_amount"] == 0
    assert await _refunds(case, c["id"]) == []
    assert await case.scalar("SELECT count(*) FROM case_parts WHERE case_id = :c "
                             "AND status IN ('open', 'waiting')", c=c["id"]) == 0


async def test_withdrawal_while_unpaid_refunds_nothing(case: CaseHarness) -> None:
    c = await parking_case(case, paid=False)
    withdrawn = await act(case, c["id"], "withdraw", case.citizen_headers())
    assert withdrawn.status_code == 200, withdrawn.text
    [event] = await events_of(case, c["id"], "city.case.case.withdrawn.v1")
    assert event["refund_amount"] == 0
    assert await _refunds(case, c["id"]) == []
