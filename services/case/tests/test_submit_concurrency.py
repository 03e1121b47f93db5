"""Submitting one draft exactly once under real concurrency: 20 concurrent retries with one
``Idempotency-Key``, and 20 concurrent submissions with distinct keys (with a negative control
that removes the draft's row lock)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import draft_owner
from case_service.catalogue.demo_library import DEMO_SERVICES, definition_id
from case_service.drafts import submit as submit_module
from case_service.drafts.models import Draft
from city_shared.auth import Principal
from city_shared.unit_of_work import unit_of_work

from .conftest import CaseHarness

BIRTH_DATA: dict[str, Any] = {
    "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-04-01",
    "place_of_birth": "Musterstadt", "copies": 1, "purpose": "passport", "delivery": "post",
    "confirmation": True,
}
N = 20


async def make_draft(h: CaseHarness) -> uuid.UUID:
    draft = Draft(tenant="musterstadt", service_id=DEMO_SERVICES["geburtsurkunde"],
                  definition_id=definition_id("geburtsurkunde"), owner=f"citizen:{h.ERIKA}",
                  account_id=h.ERIKA, data=BIRTH_DATA, verified={}, locale="de",
                  expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(h.sessions) as session:
        session.add(draft)
    return draft.id


async def post(h: CaseHarness, draft: uuid.UUID, key: str, headers: dict[str, str],
               *, retry_in_flight: bool) -> httpx.Response:
    """One client's submission; with ``retry_in_flight`` it retries while the first request
    with its key is still running (409 ``idempotency_key_in_flight``), as ``Retry-After``
    tells it to (shortened for the test)."""
    while True:
        response = await h.client.post(f"/drafts/{draft}/submit",
                                       headers={**headers, "Idempotency-Key": key})
        if not (retry_in_flight and response.status_code == 409
                and response.json()["code"] == "idempotency_key_in_flight"):
            return response
        await asyncio.sleep(0.05)


async def counts(h: CaseHarness) -> tuple[int, int, int]:
    """Cases, payment requests in the outbox, case numbers given out."""
    return (await h.scalar("SELECT count(*) FROM cases"),
            len(await h.outbox("city.payment.request.v1")),
            await h.scalar("SELECT coalesce(sum(last), 0) FROM case_number_counters"))


async def test_twenty_concurrent_retries_with_one_key_make_one_case(case: CaseHarness) -> None:
    """All 20 clients send the same key at once. Exactly one request runs the submission;
    the others get 409 ``idempotency_key_in_flight`` while it runs and retry: then they get
    the stored 201 replayed (``Idempotent-Replayed: true``). So every client ends with the
    same case, and exactly one answer was not a replay."""
    draft = await make_draft(case)
    headers = case.citizen_headers(acr="substantial")
    answers = await asyncio.gather(*(post(case, draft, "one-key", headers,
                                          retry_in_flight=True) for _ in range(N)))
    assert [a.status_code for a in answers] == [201] * N
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
    assert await counts(case) == (1, 1, 1)


async def test_twenty_concurrent_submissions_with_distinct_keys_make_one_case(
        case: CaseHarness) -> None:
    """Distinct keys: the idempotency record cannot help (each key is a new request). What
    makes one case is the draft's row lock (``SELECT ... FOR UPDATE``): the first submission
    holds it until it commits, the other 19 wait, then read ``submitted_case_id`` and answer
    409 ``draft_submitted`` naming the case, before taking a case number (none is wasted).
    The negative control below removes the lock and the same run no longer gives this."""
    draft = await make_draft(case)
    headers = case.citizen_headers(acr="substantial")
    answers = await asyncio.gather(*(post(case, draft, f"key-{i}", headers,
                                          retry_in_flight=False) for i in range(N)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (N - 1)
    [created] = [a.json() for a in answers if a.status_code == 201]
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {r["code"] for r in refused} == {"draft_submitted"}
    assert {r["case_id"] for r in refused} == {created["id"]}
    assert await counts(case) == (1, 1, 1)


async def test_negative_control_without_the_row_lock(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The draft read without ``FOR UPDATE``: concurrent submissions all see an unsubmitted
    draft and open a case each; only the unique ``cases.draft_id`` stops them, as a server
    error instead of ``draft_submitted``. The assertions of the test above would fail."""

    async def unlocked(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                       now: datetime) -> Draft:
        draft = await session.scalar(select(Draft).where(
            Draft.id == draft_id, Draft.owner == draft_owner(principal)))
        assert draft is not None
        await asyncio.sleep(0.2)  # widen the window a real interleaving leaves open
        return draft

    monkeypatch.setattr(submit_module, "_lock_draft", unlocked)
    draft = await make_draft(case)
    headers = case.citizen_headers(acr="substantial")
    answers = await asyncio.gather(*(post(case, draft, f"key-{i}", headers,
                                          retry_in_flight=False) for i in range(N)),
                                   return_exceptions=True)  # the unique violation surfaces
    refused = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 409
               and a.json()["code"] == "draft_submitted"]
    errors = [a for a in answers if not isinstance(a, httpx.Response) or a.status_code >= 500]
    assert len(refused) < N - 1
    assert errors
