"""Stalled cases are visible on ``/readyz`` and in the gauge ``city_stalled_sagas``: a case
whose payment request payment never answered, one whose created payment never got an outcome, a
state deadline the deadline job did not act on, a part overdue at another department.
Answered, fresh and paid cases are not stalled; a stall is detail: ``/readyz`` stays 200."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import text

from case_service.cases.stalls import stalled_case_queries
from case_service.seed import seed_library

from .conftest import CaseHarness
from .test_cases_payment import answer, deliver, submitted_case

UNANSWERED = "case_payment_unanswered"
WITHOUT_OUTCOME = "case_payment_without_outcome"
DEADLINE = "case_deadline_not_acted"
PART = "case_part_overdue"
NONE_INSIDE = {DEADLINE: 0, PART: 0}


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("city_stalled_sagas", {"service": "case", "kind": kind})


async def age(h: CaseHarness, case: dict[str, Any], seconds: float) -> None:
    """Move the case's last payment step ``seconds`` into the past."""
    async with h.engine.begin() as conn:
        updated = await conn.execute(
            text("UPDATE cases SET updated_at = now() - make_interval(secs => :s),"
                 " submitted_at = now() - make_interval(secs => :s) WHERE id = :id"),
            {"s": seconds, "id": uuid.UUID(case["id"])})
    assert updated.rowcount == 1


async def stalled(h: CaseHarness) -> dict[str, int]:
    response = await h.client.get("/readyz")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()["stalled_sagas"]
    return body


async def payment_stalls(h: CaseHarness) -> dict[str, int]:
    """The payment kinds, with nothing stalled inside the city meanwhile."""
    found = await stalled(h)
    assert {k: found.pop(k) for k in (DEADLINE, PART)} == NONE_INSIDE
    return found


async def test_readyz_and_the_gauge_show_cases_whose_payment_never_answered(
        case: CaseHarness) -> None:
    await submitted_case(case)  # fresh: payment may still answer
    unanswered = await submitted_case(case)
    answered = await submitted_case(case)
    await deliver(case, answer("created", answered))
    without_outcome = await submitted_case(case)
    await deliver(case, answer("created", without_outcome))
    paid = await submitted_case(case)
    await deliver(case, answer("succeeded", paid))
    await age(case, unanswered, 600)
    await age(case, answered, 600)  # has its checkout page: the citizen can pay
    await age(case, without_outcome, 4 * 3600)
    await age(case, paid, 4 * 3600)

    response = await case.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up",
                               "stalled_sagas": {UNANSWERED: 1, WITHOUT_OUTCOME: 1,
                                                 **NONE_INSIDE}}
    assert gauge(UNANSWERED) == 1
    assert gauge(WITHOUT_OUTCOME) == 1


async def test_cases_within_their_thresholds_are_not_stalled(case: CaseHarness) -> None:
    requested = await submitted_case(case)
    pending = await submitted_case(case)
    await deliver(case, answer("created", pending))
    await age(case, requested, 240)
    await age(case, pending, 2 * 3600)

    assert await payment_stalls(case) == {UNANSWERED: 0, WITHOUT_OUTCOME: 0}
    assert gauge(UNANSWERED) == 0
    assert gauge(WITHOUT_OUTCOME) == 0


async def test_a_new_attempt_is_a_new_request_and_its_clock_starts_again(
        case: CaseHarness) -> None:
    c = await submitted_case(case)
    await deliver(case, answer("created", c))
    await deliver(case, answer("failed", c))
    await age(case, c, 3600)
    retry = await case.client.post(f"/cases/{c['id']}/payment", headers={
        **case.citizen_headers(), "Idempotency-Key": "again"})

    assert retry.status_code < 300, retry.text
    assert await payment_stalls(case) == {UNANSWERED: 0, WITHOUT_OUTCOME: 0}


async def test_thresholds_come_from_the_settings(case_app: Any) -> None:
    async with case_app(payment_answer_stall_seconds=5, payment_outcome_stall_seconds=5) as h:
        await seed_library(h.engine)
        unanswered = await submitted_case(h)
        pending = await submitted_case(h)
        await deliver(h, answer("created", pending))
        await age(h, unanswered, 10)
        await age(h, pending, 10)

        assert await payment_stalls(h) == {UNANSWERED: 1, WITHOUT_OUTCOME: 1}


async def test_each_count_reads_the_partial_index_of_unpaid_cases(case: CaseHarness) -> None:
    """Never the whole table of case files: with sequential scans off, each kind's query still
    plans on the partial index (it could not if the query's predicate did not match the
    index's)."""
    queries = stalled_case_queries(case.settings, datetime.now(UTC))
    async with case.engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        plans = {}
        for kind, query in queries.items():
            compiled = query.compile(dialect=case.engine.dialect,
                                     compile_kwargs={"literal_binds": True})
            explained = await conn.execute(text(f"EXPLAIN {compiled}"))
            plans[kind] = "\n".join(row[0] for row in explained.all())

    assert all("ix_cases_awaiting_payment" in plans[kind] for kind in (UNANSWERED,
                                                                       WITHOUT_OUTCOME)), plans
    assert "ix_cases_state_deadline" in plans[DEADLINE], plans
    assert "ix_case_parts_open_due" in plans[PART], plans


async def test_a_deadline_nobody_acted_on_and_an_overdue_part_are_stalls(
        case: CaseHarness) -> None:
    """A case whose state deadline passed long ago (the deadline job is down) and a part still
    open past its due date count; a deadline within the grace and a part not yet due do not."""
    await seed_library(case.engine)
    late, fresh = await submitted_case(case), await submitted_case(case)
    async with case.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE cases SET state_deadline = now() - make_interval(mins => :m) WHERE id = :id"),
            [{"m": 31, "id": uuid.UUID(late["id"])}, {"m": 5, "id": uuid.UUID(fresh["id"])}])
        for case_id, due_hours, key in ((late["id"], -1, "overdue"), (fresh["id"], 1, "due")):
            await conn.execute(text(
                "INSERT INTO case_parts (id, case_id, tenant, department, key, step, position, "
                "status, due_at) VALUES (:id, :case_id, 'musterstadt', 'traffic', :key, "
                "'in_review', 0, 'open', now() + make_interval(hours => :h))"),
                {"id": uuid.uuid4(), "case_id": uuid.UUID(case_id), "key": key,
                 "h": due_hours})

    found = await stalled(case)

    assert (found[DEADLINE], found[PART]) == (1, 1)
