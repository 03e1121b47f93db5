"""Two departments answer the case's last two parts at the same time: the case takes its
``parts.answered`` transition exactly once. The first answer is held after its check, inside
its transaction, until the second is seen waiting for the case row; the negative control
reads the case without the row lock and shows that both answers then miss the step."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.parts import answer as answer_module

from .conftest import CaseHarness
from .test_parts_api import PARTS, answer, consult_process, dog_case, enter, parts_of

_LOCK_WAIT_POLLS = 600


async def _waiting_for_a_lock(h: CaseHarness) -> None:
    """Return once a session of the app waits for a row lock (polls pg_stat_activity)."""
    for _ in range(_LOCK_WAIT_POLLS):
        if await h.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND wait_event_type = 'Lock'"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the second answer never waited for the case row")


async def _race(h: CaseHarness, monkeypatch: pytest.MonkeyPatch, *,
                locked: bool) -> tuple[list[Any], str]:
    """Answer the two open parts of a new case at once, the first held after its check
    until the second has gone as far as it can: waiting for the case row (``locked``) or
    finished; the responses and the case id."""
    process = consult_process(parts_=PARTS[:2])
    body = await dog_case(h, process)
    await enter(h, body["id"], process)
    rows = await parts_of(h, body["id"])
    checked, release = asyncio.Event(), asyncio.Event()
    real = answer_module.all_answered

    async def held(session: AsyncSession, case: Case) -> bool:
        result = await real(session, case)
        if not checked.is_set():
            checked.set()
            await release.wait()
        return result

    monkeypatch.setattr(answer_module, "all_answered", held)
    first = asyncio.create_task(answer(h, rows["traffic_check"].id,
                                       h.clerk_headers("traffic")))
    await checked.wait()
    second = asyncio.create_task(answer(h, rows["order_check"].id,
                                        h.clerk_headers("public-order")))
    if locked:
        await _waiting_for_a_lock(h)
        assert not second.done()
    else:
        await asyncio.wait_for(asyncio.shield(second), timeout=60)
    release.set()
    responses = [await first, await second]
    return responses, body["id"]


async def _moves(h: CaseHarness, case_id: str) -> list[str]:
    rows = await h.rows("SELECT status FROM case_history WHERE case_id = :c AND "
                        "type = 'parts.answered'", c=uuid.UUID(case_id))
    return [r.status for r in rows]


async def test_the_last_two_answers_at_once_move_the_case_once(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    responses, case_id = await _race(case, monkeypatch, locked=True)

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert await _moves(case, case_id) == ["in_review"]
    assert [r.json()["case"]["status"] for r in responses] == ["consultation", "in_review"]
    status = (await case.client.get(f"/cases/{case_id}", headers=case.citizen_headers())
              ).json()["status"]
    assert status == "in_review"
    changed = [e for e in await case.outbox("city.case.case.status_changed.v1")
               if e.key == case_id]
    assert [e.data["action"] for e in changed] == ["parts.answered"]


async def test_negative_control_without_the_case_row_lock(
        case: CaseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the case without ``FOR UPDATE``, each answer checks while the other's is not
    committed: both parts end answered, and the case never moves on."""

    async def unlocked(session: AsyncSession, tenant: str, case_id: uuid.UUID) -> Case | None:
        found: Case | None = await session.scalar(
            select(Case).where(Case.id == case_id, Case.tenant == tenant))
        return found

    monkeypatch.setattr(answer_module, "lock_case", unlocked)
    responses, case_id = await _race(case, monkeypatch, locked=False)

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert {r.status for r in (await parts_of(case, case_id)).values()} == {"answered"}
    assert await _moves(case, case_id) == []
