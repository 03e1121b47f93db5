"""Stalled payment sagas of cases are visible on ``/readyz`` and in the gauge
``city_stalled_sagas``: a case whose payment request payment never answered, and one whose
created payment never got an outcome. Answered, fresh and paid cases are not stalled; a stall is
detail: ``/readyz`` stays 200."""

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
                               "stalled_sagas": {UNANSWERED: 1, WITHOUT_OUTCOME: 1}}
    assert gauge(UNANSWERED) == 1
    assert gauge(WITHOUT_OUTCOME) == 1


async def test_cases_within_their_thresholds_are_not_stalled(case: CaseHarness) -> None:
    requested = await submitted_case(case)
    pending = await submitted_case(case)
    await deliver(case, answer("created", pending))
    await age(case, requested, 240)
    await age(case, pending, 2 * 3600)

    assert await stalled(case) == {UNANSWERED: 0, WITHOUT_OUTCOME: 0}
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
    assert await stalled(case) == {UNANSWERED: 0, WITHOUT_OUTCOME: 0}


async def test_thresholds_come_from_the_settings(case_app: Any) -> None:
    async with case_app(payment_answer_stall_seconds=5, payment_outcome_stall_seconds=5) as h:
        await seed_library(h.engine)
        unanswered = await submitted_case(h)
        pending = await submitted_case(h)
        await deliver(h, answer("created", pending))
        await age(h, unanswered, 10)
        await age(h, pending, 10)

        assert await stalled(h) == {UNANSWERED: 1, WITHOUT_OUTCOME: 1}


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

    assert all("ix_cases_awaiting_payment" in plan for plan in plans.values()), plans
